# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 11: a small GPT
#
# In this assignment you build the pieces of a GPT (chapter 22): attention that cannot see the
# future, GPT-2's self-attention layer, the attention step of cached generation, and a small
# character-level GPT that the grader trains on Tiny Shakespeare.
#
# | task | what you write | points |
# |---|---|---|
# | Task 1 | `causal_attention`: scaled dot-product attention with the causal mask | 3 |
# | Task 2 | `CausalSelfAttention`: GPT-2's fused projection, heads, the causal mask | 4 |
# | Task 3 | `attend_with_cache`: new queries against cached keys and values | 3 |
# | Task 4 | `SmallGPT`: a decoder-only model; its loss at the start, then trained (two tests) | 2 + 2 |
# | total | | 14 |
#
# **How to work.**
#
# 1. Run the setup cell below first.
# 2. Replace each `# YOUR CODE HERE` / `raise NotImplementedError()` with your code. Keep the
#    names, signatures and attribute names the docstrings give.
# 3. Run the test cell under each task. Tasks 1-3 compare your outputs **and gradients** with
#    PyTorch's and the course's GPT (`dlcourse.models.gpt`, equal to transformers' GPT-2) given
#    the same inputs and weights. A failing test names the usual mistake it recognises (the
#    mask off by one or the wrong way round, the softmax over the queries, heads split the
#    wrong way, the cache appended on the wrong side) and the fix. When you are graded the same
#    cells run hidden tests too (other shapes and seeds). Each test cell scores only its own
#    task: **do not call a function or class of one task from another**.
# 4. Before you submit: *Kernel → Restart & Run All* (or **Validate**) must run with no
#    errors. The visible tests take about 10 seconds on a 2-core CPU (Task 4's training runs only
#    when you are graded, about 12 seconds more).
#
# **Rules.**
#
# * Task 1: matrix products, `.transpose`, `masked_fill`, `torch.softmax`, `math.sqrt`; not
#   `F.scaled_dot_product_attention`, `nn.MultiheadAttention` or `dlcourse.models.attention`
#   (the list is `dlcourse.exercises.assignments.a11_small_gpt.READY_MADE_ATTENTION`; the tests
#   disable them).
# * Tasks 2 and 3: `F.scaled_dot_product_attention` is allowed (so they do not depend on Task 1).
# * Task 4: any `torch.nn` layer and `F.scaled_dot_product_attention`; not `dlcourse.models.gpt`.
# * Do not change the test cells (they are read-only and are replaced by the originals at
#   grading time).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.exercises.assignments.a11_small_gpt import (check_cached_attention, check_causal_attention,
                                                          check_self_attention, check_small_gpt, check_training)

_ = torch.manual_seed(0)  # `_ =`: no output

# %% [markdown]
# ## Task 1: causal attention (3 points)
#
# For queries, keys and values of shape (N, H, T, d), position $t$ may attend to positions
# $0, \dots, t$ only: in a training window every position predicts the token after it, and if it
# could read that token the task would be copying.
#
# $$ \text{output} = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d}} + M\right) V, \qquad
#    M_{ts} = \begin{cases} 0 & s \le t \\ -\infty & s > t \end{cases} $$
#
# The softmax runs over the keys (the last dimension). Build the mask with
# `torch.ones(T, T, dtype=torch.bool).tril()` (True = may attend) and apply it with
# `masked_fill` before the softmax.

# %% nbgrader={"grade": false, "grade_id": "task1_causal_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def causal_attention(q, k, v):
    """softmax(q k^T / sqrt(d), causal mask) v for q, k, v of shape (N, H, T, d)."""
    ### BEGIN SOLUTION
    T = q.size(-2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    sees = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
    return torch.softmax(scores.masked_fill(~sees, float("-inf")), dim=-1) @ v
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task1_causal_attention_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Task 1 tests: against F.scaled_dot_product_attention(is_causal=True), values and gradients
check_causal_attention(causal_attention)
### BEGIN HIDDEN TESTS
check_causal_attention(causal_attention, N=1, H=2, T=9, d=8, seed=41)
check_causal_attention(causal_attention, N=3, H=1, T=1, d=4, seed=42)
### END HIDDEN TESTS
print("causal_attention: tests passed")

# %% [markdown]
# ## Task 2: causal self-attention, GPT-2's layout (4 points)
#
# `CausalSelfAttention(n_embd, n_head)` maps $x$ (N, T, n_embd) to (N, T, n_embd):
#
# 1. `self.c_attn = nn.Linear(n_embd, 3 * n_embd)` makes queries, keys and values at once:
#    `q, k, v = self.c_attn(x).split(n_embd, dim=2)`, in that order;
# 2. each of them splits into `n_head` heads of `n_embd // n_head` features, head $h$ reading
#    features $h d, \dots, (h+1) d - 1$: `.view(N, T, n_head, d).transpose(1, 2)` gives (N, H, T, d);
# 3. causal attention per head (`F.scaled_dot_product_attention(q, k, v, is_causal=True)` is
#    allowed here), the heads joined back: `.transpose(1, 2).reshape(N, T, n_embd)`;
# 4. `self.c_proj = nn.Linear(n_embd, n_embd)` mixes them.
#
# The names `c_attn` and `c_proj` are GPT-2's: the test loads given weights by them.

# %% nbgrader={"grade": false, "grade_id": "task2_self_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
class CausalSelfAttention(nn.Module):
    """GPT-2's masked multi-head self-attention: (N, T, n_embd) -> (N, T, n_embd)."""

    def __init__(self, n_embd, n_head):
        super().__init__()
        ### BEGIN SOLUTION
        self.n_head = n_head
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        N, T, C = x.shape
        q, k, v = (t.view(N, T, self.n_head, C // self.n_head).transpose(1, 2)
                   for t in self.c_attn(x).split(C, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).reshape(N, T, C))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task2_self_attention_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Task 2 tests: against dlcourse.models.gpt.CausalSelfAttention with the same weights
check_self_attention(CausalSelfAttention)
### BEGIN HIDDEN TESTS
check_self_attention(CausalSelfAttention, n_embd=48, n_head=6, N=3, T=5, seed=41)
check_self_attention(CausalSelfAttention, n_embd=16, n_head=1, N=1, T=9, seed=42)
### END HIDDEN TESTS
print("CausalSelfAttention: tests passed")

# %% [markdown]
# ## Task 3: attention with a KV cache (3 points)
#
# In generation, the keys and values of the positions already seen do not change, so they are
# kept (the KV cache) and each step computes them for the new positions only. Write
# `attend_with_cache(q, k, v, past_k, past_v)`: `q`, `k`, `v` (N, H, T, d) for T new positions,
# `past_k`, `past_v` (N, H, P, d) for the P cached ones. Return `(output, k_all, v_all)`:
#
# * `k_all`, `v_all`: the cache grown by the new positions along the time axis, past first
#   (N, H, P + T, d);
# * `output` (N, H, T, d): new query $i$ (at position $P + i$) sees every cached key and the new
#   keys up to its own, so the mask is `torch.ones(T, P + T, dtype=torch.bool).tril(P)`.
#   (`is_causal=True` would align the triangle top-left and hide most of the past.)

# %% nbgrader={"grade": false, "grade_id": "task3_cached_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def attend_with_cache(q, k, v, past_k, past_v):
    """(output (N, H, T, d), k_all (N, H, P + T, d), v_all (N, H, P + T, d))."""
    ### BEGIN SOLUTION
    k_all, v_all = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)
    T, P = q.size(-2), past_k.size(-2)
    sees = torch.ones(T, P + T, dtype=torch.bool, device=q.device).tril(P)
    return F.scaled_dot_product_attention(q, k_all, v_all, attn_mask=sees), k_all, v_all
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task3_cached_attention_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Task 3 tests: against the course's cached attention, values and gradients
check_cached_attention(attend_with_cache)
### BEGIN HIDDEN TESTS
check_cached_attention(attend_with_cache, N=1, H=2, past=7, T=1, d=4, seed=41)
check_cached_attention(attend_with_cache, N=3, H=1, past=1, T=4, d=8, seed=42)
### END HIDDEN TESTS
print("attend_with_cache: tests passed")

# %% [markdown]
# ## Task 4: a small GPT on Tiny Shakespeare (2 + 2 points)
#
# Write `SmallGPT(vocab_size, block_size)`: `forward(idx)` takes token ids (N, T), T ≤
# block_size, and returns next-token logits (N, T, vocab_size). A design that works:
#
# * `nn.Embedding(vocab_size, n_embd)` for the tokens plus `nn.Embedding(block_size, n_embd)` for
#   the positions (`torch.arange(T)`), n_embd = 64;
# * 2 pre-LN blocks: `x = x + attn(ln_1(x))`, `x = x + mlp(ln_2(x))`, with your Task 2 layer's
#   design (write it again inside this class or a helper of this task: each task is graded on its
#   own) and an MLP of `nn.Linear(n_embd, 4 * n_embd)`, GELU, `nn.Linear(4 * n_embd, n_embd)`;
# * a final `nn.LayerNorm(n_embd)` and `nn.Linear(n_embd, vocab_size, bias=False)`.
#
# The tests trace your class once (`torch.export`: forward may branch on shapes, not on a
# tensor's values), rebuild it in the grader with every layer started as PyTorch starts it, and:
#
# 1. (2 points) check the logits' shape and the **loss at initialisation** on validation text:
#    an untrained model should predict about uniformly, a loss within 0.5 of ln(65) = 4.17
#    (the design above starts at 4.40);
# 2. (2 points, hidden) train that copy with the course's loop: 300 steps of AdamW (lr 3e-3) on
#    batches of 32 windows of 32 characters of Tiny Shakespeare's first 90%, then measure the loss
#    on 256 windows of the last 10%. It passes at **2.35** or below. The design above reaches
#    about 2.2 (a model that reads only the current character, a bigram, stays near 2.5), in
#    about 12 seconds.

# %% nbgrader={"grade": false, "grade_id": "task4_small_gpt", "locked": false, "schema_version": 3, "solution": true, "task": false}
class SmallGPT(nn.Module):
    """Token ids (N, T) -> next-token logits (N, T, vocab_size)."""

    def __init__(self, vocab_size, block_size, n_embd=64, n_head=4, n_layer=2):
        super().__init__()
        ### BEGIN SOLUTION
        self.n_head = n_head
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.blocks = nn.ModuleList(nn.ModuleDict(dict(
            ln_1=nn.LayerNorm(n_embd), c_attn=nn.Linear(n_embd, 3 * n_embd), c_proj=nn.Linear(n_embd, n_embd),
            ln_2=nn.LayerNorm(n_embd), c_fc=nn.Linear(n_embd, 4 * n_embd), mlp_proj=nn.Linear(4 * n_embd, n_embd)))
            for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        ### END SOLUTION

    def forward(self, idx):
        ### BEGIN SOLUTION
        N, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        for b in self.blocks:
            h = b["ln_1"](x)
            C = h.shape[-1]
            q, k, v = (t.view(N, T, self.n_head, C // self.n_head).transpose(1, 2)
                       for t in b["c_attn"](h).split(C, dim=2))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(N, T, C)
            x = x + b["c_proj"](y)
            x = x + b["mlp_proj"](F.gelu(b["c_fc"](b["ln_2"](x))))
        return self.lm_head(self.ln_f(x))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task4_small_gpt_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 4 tests: the logits' shape, and the loss at initialisation close to ln(vocabulary)
check_small_gpt(SmallGPT)
### BEGIN HIDDEN TESTS
check_small_gpt(SmallGPT, seed=1)
### END HIDDEN TESTS
print("SmallGPT: tests passed")

# %% nbgrader={"grade": true, "grade_id": "task4_small_gpt_training_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 4, trained (hidden): the grader trains its copy of your design and measures the validation loss
### BEGIN HIDDEN TESTS
check_training(SmallGPT, seed=0)
### END HIDDEN TESTS
print("SmallGPT, trained: checked when you are graded (hidden test)")
