"""Worked solutions to the exercises of chapter 20 · The Transformer.

Run it from the repository root: ``python solutions/chapters/20_transformer.py``. Each solution is
checked by the same function the notebook calls (``dlcourse.exercises.chapters.ch20_transformer``); a wrong
answer raises ``dlcourse.CheckError``.
"""
import torch

import dlcourse
from dlcourse.exercises.chapters import ch20_transformer as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: the sinusoidal table
#
# Feature pair (2i, 2i+1) is a clock of frequency 1 / 10000^(2i/d): sine on the even feature,
# cosine on the odd one. Computed in float64 (pos * frequency loses digits in float32 at large
# positions), returned in float32 like the reference's buffer.
def sinusoidal_table(max_len, d_model):
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    frequency = 10000.0 ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * frequency)
    pe[:, 1::2] = torch.cos(pos * frequency)
    return pe.float()


exercises.check_sinusoidal_table(sinusoidal_table)


# %% Exercise 2: the causal mask
#
# Query i (a row) may see keys j <= i: 0 on and below the diagonal, -inf strictly above it.
def subsequent_mask(size):
    return torch.full((size, size), float("-inf")).triu(1)


exercises.check_subsequent_mask(subsequent_mask)


# %% Exercise 3: teacher forcing
#
# The decoder reads <bos> y_1 .. y_n (everything but the last token) and must predict
# y_1 .. y_n <eos> (everything but the first): the same row, shifted by one.
def teacher_forcing(tgt):
    return tgt[:, :-1], tgt[:, 1:]


exercises.check_teacher_forcing(teacher_forcing)
