"""Worked solutions to the exercises of chapter 19 · Attention.

Run it from the repository root: ``python solutions/chapters/19_attention.py``. Each solution is
checked by the same function the notebook calls (``dlcourse.exercises.chapters.ch19_attention``); a wrong
answer raises ``dlcourse.CheckError``.
"""
import math

import torch

import dlcourse
from dlcourse.exercises.chapters import ch19_attention as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: attention with a mask
#
# Scores q.k / sqrt(d_k) (the variance of q.k is d_k; dividing by its square root keeps the softmax
# out of saturation), -inf where the mask (True = may attend) is False, softmax over the KEYS
# (the last dimension: each query's weights sum to one), then the weighted sum of the values.
def attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d_k), masked) v."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


exercises.check_attention(attention)


# %% Exercise 2: a padding mask
#
# nn.MultiheadAttention's key_padding_mask is True where a key is HIDDEN. A sequence of length n
# has real tokens at positions 0 .. n-1, so padding is every position >= n: one broadcast comparison.
def padding_mask(lengths, max_len):
    """(N, max_len) bool, True at padding."""
    return torch.arange(max_len, device=lengths.device)[None, :] >= lengths[:, None]


exercises.check_padding_mask(padding_mask)


# %% Exercise 3: splitting the heads
#
# Head h owns the consecutive features h*d .. (h+1)*d - 1: split the LAST dimension into (H, d),
# then move the head dimension before the positions, so each head is a batch of (L, d) matrices.
def split_heads(x, num_heads):
    """(N, L, E) -> (N, num_heads, L, E // num_heads)."""
    N, L, E = x.shape
    return x.view(N, L, num_heads, E // num_heads).transpose(1, 2)


exercises.check_split_heads(split_heads)
