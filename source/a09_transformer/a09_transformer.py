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
# # Assignment 9: a simple Transformer
#
# You write scaled dot-product attention, multi-head attention and a Transformer encoder block
# (Vaswani et al. 2017), prove each equal to PyTorch's given the same weights, then train a
# small Transformer that reverses sequences of digits.
#
# | task | what you write | points |
# |---|---|---|
# | Task 1 | `attention`: scaled dot-product attention with a mask | 4 |
# | Task 2 | `MultiHeadAttention.forward`: heads, projections, padding mask | 4 |
# | Task 3 | `EncoderBlock.forward`: a pre-LN encoder block | 3 |
# | Task 4 | `ToyTransformer`: embeddings, positions, blocks, a head; trained to reverse | 4 |
# | total | | 15 |
#
# **How to work.**
#
# 1. Run the setup cell below first.
# 2. Replace each `# YOUR CODE HERE` / `raise NotImplementedError()` with your code. Keep the
#    names, signatures and return values the docstrings give.
# 3. Run the test cell under each task. Tasks 1-3 compare your outputs **and gradients** with
#    PyTorch's given the same inputs and weights (a right answer differs by rounding, below
#    1e-6; the tests allow 1e-5 + 1e-4 × |value|). A failing test names the usual mistake it
#    recognises (a missing $1/\sqrt{d_k}$, a mask of the wrong sign, heads split the wrong
#    way, post-LN instead of pre-LN...) and the fix. When you are graded the same cells run
#    hidden tests too (other shapes, masks and seeds). Each test cell scores only its own
#    task, so partial work earns partial credit: **do not call a function or class of one task
#    from another** (each task may use PyTorch's version of the earlier ones, see the rules).
# 4. Before you submit: *Kernel → Restart & Run All* (or **Validate**) must run with no
#    errors. The notebook runs in about 20 seconds on a laptop CPU (Task 4 trains twice).
#
# **Rules.**
#
# * Task 1: matrix products, `.transpose`, `masked_fill`, `torch.softmax`, `math.sqrt`; not
#   `F.scaled_dot_product_attention`, `nn.MultiheadAttention`, `F.multi_head_attention_forward`
#   or `dlcourse.models.attention` (the list is
#   `dlcourse.exercises.assignments.a09_transformer.READY_MADE_ATTENTION`; the tests disable them).
# * Task 2: `F.scaled_dot_product_attention` is allowed (so Task 2 does not depend on Task 1);
#   `nn.MultiheadAttention` and `F.multi_head_attention_forward` are not.
# * Task 3: `nn.MultiheadAttention` is allowed (it is `self.self_attn`); not
#   `nn.TransformerEncoderLayer` or `nn.TransformerEncoder`.
# * Task 4: any `torch.nn` layer, `nn.TransformerEncoderLayer` included.
# * Do not change the test cells (they are read-only and are replaced by the originals at
#   grading time).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.exercises.assignments.a09_transformer import (check_attention, check_encoder_block, check_multihead,
                                                check_reverser, check_reverser_shape)

_ = torch.manual_seed(0)  # `_ =`: no output

# %% [markdown]
# ## Task 1: scaled dot-product attention (4 points)
#
# For queries $Q$ (..., L, d_k), keys $K$ (..., S, d_k) and values $V$ (..., S, d_v):
#
# $$ \text{weights} = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right), \qquad
#    \text{output} = \text{weights}\; V , $$
#
# with the softmax over the keys (the last dimension): each query's weights sum to 1. Why
# $\sqrt{d_k}$: a dot product of two vectors of $d_k$ unit-variance entries has variance
# $d_k$; unscaled, the softmax saturates as $d_k$ grows and its gradients vanish.
#
# `mask` (optional) is boolean and broadcasts to the scores' shape (..., L, S). **True means
# the query may attend to that key**, as in `F.scaled_dot_product_attention`: set the scores
# where the mask is False to $-\infty$ *before* the softmax, so those keys get weight 0 and the
# others still sum to 1. The leading dimensions (...) are any batch dimensions: use
# `k.transpose(-2, -1)`, not `.T`. Return `(output, weights)`.

# %% nbgrader={"grade": false, "grade_id": "task1_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d_k), masked) v: returns (output (..., L, d_v), weights (..., L, S))."""
    ### BEGIN SOLUTION
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task1_attention_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Task 1 tests: attention against F.scaled_dot_product_attention, values and gradients
check_attention(attention)
check_attention(attention, mask="causal")
check_attention(attention, batch=(2, 3), mask="padding", seed=1)
### BEGIN HIDDEN TESTS
check_attention(attention, batch=(), L=1, S=3, d=4, dv=4, seed=41)
check_attention(attention, batch=(3,), L=6, S=6, d=32, dv=5, mask="causal", seed=42)
check_attention(attention, batch=(1, 2), L=3, S=7, d=16, dv=2, mask="padding", seed=43)
### END HIDDEN TESTS
print("attention: tests passed")

# %% [markdown]
# ## Task 2: multi-head attention (4 points)
#
# `num_heads` attentions run side by side, each on its own `head_dim = embed_dim // num_heads`
# features. With the input projections stacked in `in_proj_weight` = $[W_q; W_k; W_v]$
# (3E, E) and `in_proj_bias` (3E,), as `nn.MultiheadAttention` stores them:
#
# 1. $Q = \text{query}\, W_q^\top + b_q$, and likewise $K$, $V$ (`F.linear(x, W, b)`;
#    `.chunk(3)` splits the stacked weight and bias);
# 2. split into heads: (N, L, E) → (N, L, num_heads, head_dim) → (N, num_heads, L, head_dim):
#    head h owns features `h*head_dim ... (h+1)*head_dim - 1` of every position;
# 3. scaled dot-product attention in each head (scale $1/\sqrt{\text{head\_dim}}$);
# 4. merge the heads back to (N, L, E) and apply `self.out_proj`.
#
# Inputs are batch first: query (N, L, E), key and value (N, S, E). `key_padding_mask`
# (N, S), optional, follows `nn.MultiheadAttention`: **True marks a padding key, which no
# query may attend to** (the opposite of Task 1's mask; `F.scaled_dot_product_attention`
# wants True = may attend). `__init__` is written: keep its parameter names, the test loads
# `nn.MultiheadAttention`'s weights into it.

# %% nbgrader={"grade": false, "grade_id": "task2_multihead", "locked": false, "schema_version": 3, "solution": true, "task": false}
class MultiHeadAttention(nn.Module):
    """Multi-head attention, batch first, with nn.MultiheadAttention's parameter names."""

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        assert embed_dim % num_heads == 0, "embed_dim must be a multiple of num_heads"
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, query, key, value, key_padding_mask=None):
        """(N, L, E) queries, (N, S, E) keys and values -> (N, L, E)."""
        ### BEGIN SOLUTION
        N, L, E = query.shape
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)

        def heads(x):                          # (N, T, E) -> (N, num_heads, T, head_dim)
            return x.view(N, x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

        q, k, v = heads(F.linear(query, w_q, b_q)), heads(F.linear(key, w_k, b_k)), heads(F.linear(value, w_v, b_v))
        allowed = None if key_padding_mask is None else ~key_padding_mask[:, None, None, :]   # True = may attend
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)                       # (N, heads, L, d)
        return self.out_proj(y.transpose(1, 2).reshape(N, L, E))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task2_multihead_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Task 2 tests: MultiHeadAttention given nn.MultiheadAttention's weights, values and gradients
check_multihead(MultiHeadAttention)
check_multihead(MultiHeadAttention, E=12, H=3, L=4, S=6, padding=True, seed=1)
### BEGIN HIDDEN TESTS
check_multihead(MultiHeadAttention, E=16, H=4, N=3, L=7, padding=True, seed=51)
check_multihead(MultiHeadAttention, E=6, H=1, N=1, L=2, S=5, seed=52)
### END HIDDEN TESTS
print("MultiHeadAttention: tests passed")

# %% [markdown]
# ## Task 3: a pre-LN encoder block (3 points)
#
# A Transformer encoder block is self-attention followed by a position-wise feed-forward net,
# each wrapped in a residual connection with a LayerNorm. The original paper puts each
# LayerNorm after the residual sum (post-LN); GPT-2 and most models since put it *before* the
# sublayer (pre-LN), which trains deep stacks without warm-up (Xiong et al. 2020). Write the
# pre-LN block:
#
# $$ x \leftarrow x + \mathrm{SelfAttention}(\mathrm{norm1}(x)), \qquad
#    x \leftarrow x + \mathrm{linear2}(\mathrm{ReLU}(\mathrm{linear1}(\mathrm{norm2}(x)))). $$
#
# `x` is (N, L, d_model); `key_padding_mask` (N, L), optional, is True at padding positions:
# pass it to `self.self_attn` (an `nn.MultiheadAttention`; call it as
# `self.self_attn(z, z, z, key_padding_mask=..., need_weights=False)[0]`). `__init__` is
# written, with `nn.TransformerEncoderLayer`'s names, so the test can load the weights of
# `nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0, batch_first=True,
# norm_first=True)` and compare.

# %% nbgrader={"grade": false, "grade_id": "task3_encoder_block", "locked": false, "schema_version": 3, "solution": true, "task": false}
class EncoderBlock(nn.Module):
    """Pre-LN Transformer encoder block, batch first: (N, L, d_model) -> (N, L, d_model)."""

    def __init__(self, d_model, nhead, dim_feedforward):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, x, key_padding_mask=None):
        ### BEGIN SOLUTION
        z = self.norm1(x)
        x = x + self.self_attn(z, z, z, key_padding_mask=key_padding_mask, need_weights=False)[0]
        return x + self.linear2(torch.relu(self.linear1(self.norm2(x))))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task3_encoder_block_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Task 3 tests: EncoderBlock given nn.TransformerEncoderLayer(norm_first=True)'s weights, values and gradients
check_encoder_block(EncoderBlock)
check_encoder_block(EncoderBlock, padding=True, seed=1)
### BEGIN HIDDEN TESTS
check_encoder_block(EncoderBlock, d_model=12, nhead=3, dim_feedforward=8, N=3, L=6, padding=True, seed=61)
check_encoder_block(EncoderBlock, d_model=4, nhead=1, dim_feedforward=4, N=1, L=1, seed=62)
### END HIDDEN TESTS
print("EncoderBlock: tests passed")

# %% [markdown]
# ## Task 4: a small Transformer that reverses sequences (4 points)
#
# Write `ToyTransformer(vocab_size, max_len)`: `forward(ids)` takes token ids (N, L), L ≤
# max_len, and returns logits (N, L, vocab_size), one row of scores per position. The task it
# is trained on: given 8 random digits, output them in reverse order (position i must output
# the token at position L - 1 - i). A design that works:
#
# * `nn.Embedding(vocab_size, d_model)` for the tokens, **plus a positional encoding**: a
#   learned `nn.Parameter(torch.randn(max_len, d_model) * 0.1)` added to the embeddings
#   (attention alone sees a set: without positions no model can reverse). The paper's
#   sinusoids work too (`SinusoidalPositionalEncoding(d_model, max_len, batch_first=True)` from
#   `dlcourse.models.transformer`), but then
#   do not multiply the embeddings by $\sqrt{d_\text{model}}$ as the paper does:
#   `nn.Embedding` already starts at variance 1, and embeddings 5.7 times larger than the
#   positions drown them (such a model stays near 32% on this task);
# * 2 pre-LN encoder blocks, e.g. `nn.TransformerEncoderLayer(d_model, nhead, 4 * d_model,
#   dropout=0.0, batch_first=True, norm_first=True)` (allowed here) with d_model = 32,
#   nhead = 4;
# * a final `nn.LayerNorm(d_model)` and `nn.Linear(d_model, vocab_size)`.
#
# The test traces your class once (`torch.export`: forward may branch on shapes, not on a
# tensor's values), rebuilds it in the grader with every layer started as PyTorch starts it (a
# position table of your own is kept as you made it), and trains that copy with the course's
# driver, `dlcourse.exercises.assignments.a09_transformer.train_reverser`: 400 steps of Adam (lr 3e-3, batches of
# 64 fresh random sequences) through `dlcourse.fit`, then measures the share of tokens of
# 1,000 new sequences reversed correctly. It passes at 90%; the design above reaches 100% with
# each of seeds 0 to 9, at lengths 8 and 6, in about 4 seconds a run (with 200 steps, seed 4 stalled
# at 78% and seed 5 reached only 91%). The hidden test trains it again with another seed and length.

# %% nbgrader={"grade": false, "grade_id": "task4_toy_transformer", "locked": false, "schema_version": 3, "solution": true, "task": false}
class ToyTransformer(nn.Module):
    """Token ids (N, L) -> logits (N, L, vocab_size)."""

    def __init__(self, vocab_size, max_len, d_model=32, nhead=4, num_layers=2):
        super().__init__()
        ### BEGIN SOLUTION
        self.embed = nn.Embedding(vocab_size, d_model)
        self.position = nn.Parameter(torch.randn(max_len, d_model) * 0.1)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(d_model, nhead, 4 * d_model, dropout=0.0, batch_first=True, norm_first=True)
            for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        ### END SOLUTION

    def forward(self, ids):
        ### BEGIN SOLUTION
        x = self.embed(ids) + self.position[: ids.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task4_toy_transformer_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Task 4 tests: the logits' shape, then training (about 5 s) and the share of tokens reversed correctly
check_reverser_shape(ToyTransformer)
check_reverser(ToyTransformer, seed=0, length=8)
### BEGIN HIDDEN TESTS
check_reverser(ToyTransformer, seed=1, length=6)
### END HIDDEN TESTS
print("ToyTransformer: tests passed")
