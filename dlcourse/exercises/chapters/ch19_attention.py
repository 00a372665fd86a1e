"""Checks of chapter 19's exercises: scaled dot-product attention with a mask, a padding mask, splitting heads.

Each check first compares the answer with the usual wrong answers (no 1/sqrt(d_k), the mask read
the other way round, the softmax over the queries, heads interleaved) so its hint names the
mistake that was made, then proves the answer equal to PyTorch's.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from dlcourse.checks import CheckError, check_close, check_like_torch, matches
from dlcourse.exercises import not_attempted

__all__ = ["check_attention", "check_padding_mask", "check_split_heads"]


def _randn(*shape, seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _diagnose(got, candidates: dict[str, torch.Tensor]) -> str | None:
    """The first named wrong answer that ``got`` equals."""
    return next((hint for hint, value in candidates.items() if torch.is_tensor(got)
                 and got.dtype == value.dtype and matches(got, value)), None)


def check_attention(attention: Callable) -> None:
    """Exercise 1: attention(q, k, v, mask) == F.scaled_dot_product_attention(q, k, v, attn_mask=mask).

    mask: boolean, True where a query may attend to a key (F.'s convention), or None.
    """
    __tracebackhide__ = True
    d_k = 16                      # large enough that forgetting the scaling changes the answer a lot
    q, k, v = _randn(2, 5, d_k, seed=0), _randn(2, 6, d_k, seed=1), _randn(2, 6, 3, seed=2)
    # Every query (row) sees some keys and loses others, and so does the inverted mask; no column is all hidden.
    keep = (torch.arange(5)[:, None] + torch.arange(6)[None, :]) % 3 != 2
    got = attention(q, k, v, keep)
    if not_attempted(got, 1, "make attention(q, k, v, mask) return softmax(q k^T / sqrt(d_k), masked) v."):
        return
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)
    hint = _diagnose(got, {
        "The scores are not divided by sqrt(d_k): with d_k = 16 they are 4 times too large and the softmax "
        "too sharp. Use q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)).":
            F.scaled_dot_product_attention(q, k, v, attn_mask=keep, scale=1.0),
        "The scores are divided by d_k, not sqrt(d_k): the variance of q.k is d_k, so its standard deviation, "
        "the scale to remove, is sqrt(d_k).":
            F.scaled_dot_product_attention(q, k, v, attn_mask=keep, scale=1.0 / d_k),
        "The mask is read the wrong way round: here True means 'may attend'. Fill the scores with -inf where "
        "the mask is False: scores.masked_fill(~mask, float('-inf')).":
            F.scaled_dot_product_attention(q, k, v, attn_mask=~keep),
        "The mask is ignored: fill the scores with -inf where the mask is False, before the softmax.":
            F.scaled_dot_product_attention(q, k, v),
        "The softmax runs over the queries (dim=-2): each query's weights must sum to one over the keys, "
        "softmax(..., dim=-1).":
            torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-2).nan_to_num() @ v,
    })
    check_like_torch("attention(q, k, v, mask)", lambda q, k, v: attention(q, k, v, keep),
                     lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=keep), q, k, v,
                     hint=hint or "Compute scores = q @ k^T / sqrt(d_k), set them to -inf where the mask is False, "
                                  "softmax over the last dimension (the keys), then multiply by v.")
    check_like_torch("attention(q, k, v, None)", lambda q, k, v: attention(q, k, v, None),
                     lambda q, k, v: F.scaled_dot_product_attention(q, k, v), q, k, v,
                     hint="With mask=None every key is visible: skip the masking step.")


def check_padding_mask(padding_mask: Callable) -> None:
    """Exercise 2: padding_mask(lengths, max_len) -> (N, max_len) bool, True at padding (nn.MultiheadAttention's)."""
    __tracebackhide__ = True
    lengths = torch.tensor([4, 1, 6, 3])
    got = padding_mask(lengths, 6)
    if not_attempted(got, 2, "make padding_mask(lengths, max_len) return a boolean (N, max_len) mask."):
        return
    expected = torch.arange(6)[None, :] >= lengths[:, None]
    if not torch.is_tensor(got) or got.shape != expected.shape:
        raise CheckError(f"padding_mask: expected a tensor of shape {tuple(expected.shape)} (one row per sequence, "
                         f"one column per position), got {tuple(got.shape) if torch.is_tensor(got) else type(got)}.")
    if got.dtype != torch.bool:
        raise CheckError(f"padding_mask: expected dtype torch.bool, got {got.dtype}. A float mask is added to the "
                         "scores (0 keeps, -inf hides), so 1.0 would not hide anything: compare to get booleans.")
    hint = _diagnose(got, {
        "True marks the real tokens: nn.MultiheadAttention's key_padding_mask is True where a key is HIDDEN "
        "(the padding). Negate it.": ~expected,
        "Off by one: a sequence of length 4 has real tokens at positions 0..3, padding from position 4 on "
        "(position >= length).": torch.arange(6)[None, :] > lengths[:, None],
    })
    check_close("padding_mask(lengths, 6)", got.int(), expected.int(), atol=0, rtol=0,
                hint=hint or "Compare torch.arange(max_len)[None, :] with lengths[:, None]: True at every "
                             "position >= the sequence's length.")


def check_split_heads(split_heads: Callable) -> None:
    """Exercise 3: split_heads(x (N, L, E), num_heads) -> (N, H, L, E / H) in torch's order."""
    __tracebackhide__ = True
    x = _randn(2, 5, 12, seed=4)
    got = split_heads(x, 3)
    if not_attempted(got, 3, "make split_heads(x, num_heads) return x split into heads, (N, H, L, d)."):
        return
    hint = _diagnose(got, {
        "The heads are interleaved: head h must get the CONSECUTIVE features h*d .. (h+1)*d - 1, as "
        "nn.MultiheadAttention does. View as (N, L, H, d), not (N, L, d, H).":
            x.view(2, 5, 4, 3).permute(0, 3, 1, 2),
        "A plain view(N, H, L, d) mixes positions into heads: split the last dimension first, "
        "view(N, L, H, d), then swap L and H with transpose(1, 2).": x.reshape(2, 3, 5, 4),
    })
    check_like_torch("split_heads(x, 3)", lambda x: split_heads(x, 3), lambda x: x.view(2, 5, 3, 4).transpose(1, 2),
                     x, atol=0, rtol=0,
                     hint=hint or "x.view(N, L, num_heads, E // num_heads).transpose(1, 2) gives (N, H, L, d).")
