"""Checks of chapter 22's exercises: causal self-attention, and top-k filtering of next-token logits.

Each check first compares the answer with the usual wrong answers (the mask off by one, the mask
the wrong way round, the softmax over the queries; the k smallest kept, zeros instead of -inf)
so its hint names the mistake, then proves the answer equal to PyTorch's
(``F.scaled_dot_product_attention(is_causal=True)``) or to the course's ``top_k_filter``, which
``tests/test_gpt.py`` proves equal to transformers' ``TopKLogitsWarper``.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from dlcourse.checks import CheckError, check_close, check_like_torch
from dlcourse.exercises import not_attempted
from dlcourse.exercises.chapters.ch19_attention import _diagnose, _randn
from dlcourse.models.sampling import top_k_filter

__all__ = ["check_causal_attention", "check_top_k"]


def _masked(q, k, v, keep, dim=-1):
    scores = (q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))).masked_fill(~keep, float("-inf"))
    return torch.softmax(scores, dim=dim).nan_to_num() @ v


def check_causal_attention(causal_attention: Callable) -> None:
    """Exercise 1: causal_attention(q, k, v) == F.scaled_dot_product_attention(q, k, v, is_causal=True),
    for q, k, v of shape (N, H, T, d): position t attends to positions 0..t only."""
    __tracebackhide__ = True
    T, d = 6, 16
    q, k, v = (_randn(2, 3, T, d, seed=s) for s in (0, 1, 2))
    got = causal_attention(q, k, v)
    if not_attempted(got, 1, "make causal_attention(q, k, v) return softmax(q k^T / sqrt(d) + causal mask) v."):
        return
    lower = torch.ones(T, T, dtype=torch.bool).tril()
    hint = _diagnose(got, {
        "No mask: every position reads the future, so the model can copy the token it is asked to predict. "
        "Hide the keys after each query: scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), "
        "float('-inf')).": F.scaled_dot_product_attention(q, k, v),
        "The mask is off by one: it hides the diagonal, so position t cannot read itself (and position 0 "
        "reads nothing). tril() with its default diagonal=0 keeps the diagonal.": _masked(q, k, v, lower.tril(-1)),
        "The mask is the wrong way round: it keeps the future and hides the past. Keep the lower triangle "
        "(tril), hide the upper one.": _masked(q, k, v, lower.T),
        "The softmax runs over the queries (dim=-2): each query's weights must sum to one over its keys, "
        "softmax(..., dim=-1).": _masked(q, k, v, lower, dim=-2),
        "The scores are not divided by sqrt(d): with d = 16 they are 4 times too large. Use "
        "q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)).": F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                                                           scale=1.0),
    })
    check_like_torch("causal_attention(q, k, v)", causal_attention,
                     lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), q, k, v,
                     hint=hint or "scores = q @ k^T / sqrt(d); -inf above the diagonal; softmax over the keys "
                                  "(dim=-1); times v.")
    later = (v.clone(), k.clone())
    later[0][..., -1, :] += 1.0
    later[1][..., -1, :] += 1.0
    moved = causal_attention(q, later[1], later[0])
    check_close("causal_attention: outputs before the last position when only the last key and value change",
                moved[..., :-1, :], got[..., :-1, :], atol=1e-6, rtol=0, verbose=False,
                hint="a position must not read any later one: the last key and value moved earlier outputs.")


def check_top_k(top_k_logits: Callable) -> None:
    """Exercise 2: top_k_logits(logits, k): each row's logits below its k-th largest set to -inf."""
    __tracebackhide__ = True
    logits = _randn(4, 20, seed=3) * 2
    k = 5
    got = top_k_logits(logits.clone(), k)
    if not_attempted(got, 2, "make top_k_logits(logits, k) return the logits with all but each row's k largest "
                             "set to -inf."):
        return
    if not torch.is_tensor(got) or got.shape != logits.shape:
        raise CheckError(f"top_k_logits: return a tensor of the logits' shape {tuple(logits.shape)}, got "
                         f"{tuple(got.shape) if torch.is_tensor(got) else type(got).__name__}.")
    expected = top_k_filter(logits, k)
    kept = ~torch.isinf(got)
    smallest = -top_k_filter(-logits, k)
    if torch.equal(kept, ~torch.isinf(smallest)):
        raise CheckError("top_k_logits keeps the k SMALLEST logits: keep the largest, torch.topk(logits, k) "
                         "(its values are sorted largest first; the k-th is values[..., -1:]).")
    if not torch.isinf(got).any() and (got == 0).any():
        raise CheckError("top_k_logits sets the dropped logits to 0, which the softmax still turns into a "
                         "probability (e^0 = 1): set them to float('-inf').")
    counts = kept.sum(-1)
    if not torch.all(counts == k):
        raise CheckError(f"top_k_logits keeps {counts.tolist()} logits per row, expected {k}: compare with the "
                         "k-th largest itself (logits < values[..., -1:] is dropped), not the (k+1)-th or (k-1)-th.")
    check_close("top_k_logits: the kept logits", got[kept], expected[~torch.isinf(expected)], atol=0, rtol=0,
                hint="the kept logits must be unchanged (no softmax, no temperature here).")
    print(f"OK top_k_logits: {k} logits kept per row, the rest -inf")
