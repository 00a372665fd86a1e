"""Checks of chapter 21's exercises: WordPiece's greedy longest-match-first, and mean pooling over padding.

As in chapters 19 and 20, each check recognises the usual wrong answers first, so its hint names the
mistake; the right answer must equal the course's reference (``dlcourse.data.WordPiece``,
``dlcourse.models.bert.mean_pool``), which ``tests/test_wordpiece.py`` and ``tests/test_bert.py``
prove equal to transformers and sentence-transformers.
"""
from __future__ import annotations

from typing import Callable

import torch

from dlcourse.checks import CheckError, check_close
from dlcourse.exercises import not_attempted
from dlcourse.exercises.chapters.ch19_attention import _diagnose

__all__ = ["check_wordpiece", "check_mean_pool", "WORDS"]

# Words with several pieces, a piece that only exists as a continuation, and one with no way through.
WORDS = ["unaffable", "playing", "tokenization", "embeddings", "bert", "snow☃"]
_VOCAB = None


def _vocab() -> set[str]:
    global _VOCAB
    if _VOCAB is None:
        from dlcourse.data import WordPiece
        _VOCAB = set(WordPiece.minilm().itos)
    return _VOCAB


def _pieces(word: str, vocab: set[str], *, hashes: bool = True, shortest: bool = False,
            partial_unk: bool = False) -> list[str]:
    """The right pieces, or one of the usual wrong versions."""
    out, start = [], 0
    while start < len(word):
        ends = range(start + 1, len(word) + 1) if shortest else range(len(word), start, -1)
        for end in ends:
            piece = ("##" if start and hashes else "") + word[start:end]
            if piece in vocab:
                break
        else:
            return out + ["[UNK]"] if partial_unk else ["[UNK]"]
        out.append(piece)
        start = end
    return out


def check_wordpiece(wordpiece: Callable) -> None:
    """Exercise 1: wordpiece(word, vocab) -> the word's pieces, greedy longest-match-first, "##" on
    every piece after the first, ["[UNK]"] for a word with no way through; vocab is a set of pieces."""
    __tracebackhide__ = True
    vocab = _vocab()
    got = [wordpiece(w, vocab) for w in WORDS]
    if not_attempted(got[0], 1, "make wordpiece(word, vocab) return the list of the word's pieces."):
        return
    if not all(isinstance(g, list) and all(isinstance(p, str) for p in g) for g in got):
        raise CheckError(f"wordpiece: return a list of strings for each word; got {got[0]!r} for {WORDS[0]!r}.")
    mistakes = {
        "Pieces after the first need the '##' prefix: the vocabulary holds 'aff' and '##aff' as different pieces "
        "(a word start and a continuation), so look up '##' + word[start:end] when start > 0.": dict(hashes=False),
        "Greedy means LONGEST match first: at each start, try end = len(word), then len(word) - 1, ..., and take "
        "the first piece in the vocabulary.": dict(shortest=True),
        "When no piece fits, the WHOLE word becomes ['[UNK]'] (BERT's rule), not the pieces found so far plus "
        "'[UNK]'.": dict(partial_unk=True),
    }
    for hint, options in mistakes.items():
        wrong = [_pieces(w, vocab, **options) for w in WORDS]
        if got == wrong and wrong != [_pieces(w, vocab) for w in WORDS]:
            raise CheckError(f"wordpiece: {hint}")
    for word, pieces in zip(WORDS, got):
        expected = _pieces(word, vocab)
        if pieces != expected:
            raise CheckError(f"wordpiece({word!r}): expected {expected}, got {pieces}. Start at 0; find the longest "
                             "word[start:end] (with '##' when start > 0) in vocab; append it; start = end; repeat.")
    print(f"OK wordpiece: the pieces of {len(WORDS)} words equal dlcourse.data.WordPiece's (and so BERT's)")


def _states(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    states = torch.randn(3, 6, 8, generator=g, dtype=torch.float64).float()
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0]])
    return states, mask


def check_mean_pool(mean_pool: Callable) -> None:
    """Exercise 2: mean_pool(states (N, T, D), attention_mask (N, T)) -> (N, D), the mean of the real
    tokens' states only, as sentence-transformers pools all-MiniLM-L6-v2."""
    __tracebackhide__ = True
    from dlcourse.models.bert import mean_pool as reference
    states, mask = _states()
    got = mean_pool(states, mask)
    if not_attempted(got, 2, "make mean_pool(states, attention_mask) return the (N, D) sentence embeddings."):
        return
    m = mask[..., None].float()
    hint = _diagnose(got, {
        "The padding is averaged in: states.mean(dim=1) counts every position; multiply by the mask first.":
            states.mean(dim=1),
        "Padding is zeroed but the sum is divided by T, not by each sentence's number of real tokens: "
        "divide by attention_mask.sum(dim=1, keepdim=True).": (states * m).sum(1) / states.size(1),
        "The mean runs over the features, not over the tokens: reduce dim=1 (positions), keep D.":
            (states * m).mean(dim=-1),
    })
    check_close("mean_pool(states, attention_mask)", got, reference(states, mask),
                hint=hint or "(states * mask[..., None]).sum(dim=1) / mask.sum(dim=1, keepdim=True)")
