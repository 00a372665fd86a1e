"""Worked solutions to the exercises of chapter 22 · GPT.

Run it from the repository root: ``python solutions/chapters/22_gpt.py``. Each solution is checked by
the same function the notebook calls (``dlcourse.exercises.chapters.ch22_gpt``); a wrong answer raises
``dlcourse.CheckError``.
"""
import math

import torch

import dlcourse
from dlcourse.exercises.chapters import ch22_gpt as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: causal attention
#
# The lower triangle, diagonal included, is what each query may see; -inf elsewhere gives weight 0.
def causal_attention(q, k, v):
    T = q.size(-2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))                 # (N, H, T, T)
    sees = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
    return torch.softmax(scores.masked_fill(~sees, float("-inf")), dim=-1) @ v


exercises.check_causal_attention(causal_attention)


# %% Exercise 2: top-k filtering
#
# torch.topk's values come sorted, largest first: the k-th is the threshold; ties with it stay.
def top_k_logits(logits, k):
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


exercises.check_top_k(top_k_logits)
