"""Worked solutions to the exercises of chapter 21 · BERT.

Run it from the repository root: ``python solutions/chapters/21_bert.py``. Each solution is checked by
the same function the notebook calls (``dlcourse.exercises.chapters.ch21_bert``); a wrong answer raises
``dlcourse.CheckError``.
"""
import torch

import dlcourse
from dlcourse.exercises.chapters import ch21_bert as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: WordPiece, greedy longest-match-first
#
# From each start, the longest slice in the vocabulary wins; a continuation is looked up with "##".
# If no slice fits, BERT gives up on the whole word: one [UNK].
def wordpiece(word, vocab):
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
        else:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


exercises.check_wordpiece(wordpiece)


# %% Exercise 2: mean pooling over the real tokens
#
# Zero the padded positions, sum over the positions, divide by each sentence's number of real tokens.
def mean_pool(states, attention_mask):
    m = attention_mask.unsqueeze(-1).to(states.dtype)                  # (N, T, 1)
    return (states * m).sum(dim=1) / m.sum(dim=1)


exercises.check_mean_pool(mean_pool)
