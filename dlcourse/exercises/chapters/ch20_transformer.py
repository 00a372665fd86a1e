"""Checks of chapter 20's exercises: the sinusoidal table, the causal mask, teacher forcing's shift.

As in chapter 19, each check recognises the usual wrong answers first, so its hint names the
mistake; the right answer must equal the course's reference and PyTorch's.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn

from dlcourse.checks import CheckError, check_close
from dlcourse.exercises import not_attempted
from dlcourse.exercises.chapters.ch19_attention import _diagnose
from dlcourse.models.transformer import SinusoidalPositionalEncoding

__all__ = ["check_sinusoidal_table", "check_subsequent_mask", "check_teacher_forcing"]


def _table(max_len: int, d_model: int, *, swap: bool = False, per_column: bool = False) -> torch.Tensor:
    """The sinusoidal table, or one of its usual wrong versions."""
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    i = torch.arange(0, d_model, 2, dtype=torch.float64)
    exponent = torch.arange(d_model // 2, dtype=torch.float64) / d_model if per_column else i / d_model
    angle = pos / 10000 ** exponent
    first, second = (torch.cos, torch.sin) if swap else (torch.sin, torch.cos)
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = first(angle), second(angle)
    return pe.float()


def check_sinusoidal_table(sinusoidal_table: Callable) -> None:
    """Exercise 1: sinusoidal_table(max_len, d_model) -> (max_len, d_model), PE[p, 2i] = sin(p / 10000^(2i/d)),
    PE[p, 2i+1] = cos(same); equal to the table dlcourse's SinusoidalPositionalEncoding adds."""
    __tracebackhide__ = True
    got = sinusoidal_table(50, 16)
    if not_attempted(got, 1, "make sinusoidal_table(max_len, d_model) return the (max_len, d_model) table."):
        return
    reference = SinusoidalPositionalEncoding(16, max_len=50).pe
    if torch.is_tensor(got) and got.shape == reference.shape:
        got = got.float()
    hint = _diagnose(got, {
        "sin and cos are swapped: even features (0, 2, 4, ...) take the sine, odd ones the cosine.":
            _table(50, 16, swap=True),
        "Each pair (2i, 2i+1) shares ONE frequency, 1 / 10000^(2i / d_model), with 2i the even feature's index; "
        "here the exponent uses i, so the frequencies fall half as fast.": _table(50, 16, per_column=True),
        "The table is transposed: rows are positions, columns are features.": _table(16, 50).T,
    })
    check_close("sinusoidal_table(50, 16)", got, reference, atol=1e-5,
                hint=hint or "pos = arange(max_len)[:, None], frequency = 10000 ** (-arange(0, d_model, 2) / d_model); "
                             "pe[:, 0::2] = sin(pos * frequency), pe[:, 1::2] = cos(pos * frequency).")


def check_subsequent_mask(subsequent_mask: Callable) -> None:
    """Exercise 2: subsequent_mask(size) -> float (size, size): 0 where position i may see j <= i, -inf above."""
    __tracebackhide__ = True
    got = subsequent_mask(5)
    if not_attempted(got, 2, "make subsequent_mask(size) return the (size, size) float mask."):
        return
    expected = nn.Transformer.generate_square_subsequent_mask(5)
    if torch.is_tensor(got) and got.dtype == torch.bool:
        raise CheckError("subsequent_mask: got a boolean mask; this exercise asks for torch.nn.Transformer's float "
                         "form, added to the scores: 0.0 where attention is allowed, float('-inf') where it is not.")
    ones = torch.ones(5, 5)
    hint = _diagnose(got, {
        "The diagonal is masked too: a position must see itself (j <= i), or the first position sees nothing "
        "and its softmax is 0/0. Use triu(diagonal=1).": torch.full((5, 5), float("-inf")).triu(0),
        "The mask hides the past instead of the future: -inf goes ABOVE the diagonal (key j > query i), "
        "rows are queries.": torch.full((5, 5), float("-inf")).tril(-1),
        "Allowed is 0.0, not 1.0: the mask is ADDED to the scores, so 1 would shift them.":
            torch.where(ones.triu(1).bool(), float("-inf"), 1.0),
    })
    if torch.is_tensor(got) and got.shape == expected.shape and torch.equal(got.isinf(), expected.isinf()) \
            and torch.equal(got.nan_to_num(0, 0, 0), expected.nan_to_num(0, 0, 0)):
        print("OK subsequent_mask(5): equal to nn.Transformer.generate_square_subsequent_mask(5)")
        return
    raise CheckError("subsequent_mask(5): differs from nn.Transformer.generate_square_subsequent_mask(5). " +
                     (hint or "torch.full((size, size), float('-inf')).triu(1): -inf strictly above the diagonal, "
                              "0 on and below it."))


def check_teacher_forcing(teacher_forcing: Callable) -> None:
    """Exercise 3: teacher_forcing(tgt) -> (decoder input, labels) for <bos> y_1 .. y_n <eos> rows."""
    __tracebackhide__ = True
    tgt = torch.tensor([[1, 7, 8, 9, 2], [1, 5, 2, 0, 0]])           # <bos>=1, <eos>=2, <pad>=0
    got = teacher_forcing(tgt)
    if not_attempted(got, 3, "make teacher_forcing(tgt) return (decoder_input, labels)."):
        return
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckError(f"teacher_forcing: return a pair (decoder_input, labels); got {type(got).__name__}.")
    expected = (tgt[:, :-1], tgt[:, 1:])
    hint = _diagnose(got[0], {
        "The decoder input is the whole target: then at position t it is shown token t, the one it must "
        "predict, and learns to copy. Drop the last token: tgt[:, :-1].": tgt,
        "Input and labels are swapped: the input starts with <bos> (tgt[:, :-1]), the labels are the same "
        "sequence one step ahead (tgt[:, 1:]).": tgt[:, 1:],
    })
    for name, value, want in (("decoder input", got[0], expected[0]), ("labels", got[1], expected[1])):
        check_close(f"teacher_forcing: {name}", value, want, atol=0, rtol=0,
                    hint=hint or "Position t of the decoder sees <bos> y_1 .. y_t and predicts y_{t+1}: "
                                 "input tgt[:, :-1], labels tgt[:, 1:].")
