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
# # 19 · Attention
#
# An encoder-decoder RNN (chapter 18) squeezes a whole source sentence into one vector, and the
# decoder must unpack every output word from it. *Attention* lets the decoder look back at every
# source position at every step and take a weighted average of what it finds, with weights it
# computes itself. This chapter builds attention twice, in its first form (Bahdanau's additive
# attention, 2015) and in the form the Transformer made universal (scaled dot-product attention,
# 2017), proves each equal to PyTorch's, and looks at what trained attention does.
#
# **What you will build**
#
# - additive attention from tensor operations, equal to `dlcourse.models.AdditiveAttention`, inside
#   a GRU encoder-decoder that learns to reverse digit strings; its alignment matrix drawn;
# - scaled dot-product attention, equal to `F.scaled_dot_product_attention`, with padding and
#   causal masks in both of PyTorch's conventions;
# - why the scores are divided by $\sqrt{d_k}$: the variance of the logits and the saturation of the
#   softmax, measured and plotted;
# - multi-head attention from scratch, equal to `nn.MultiheadAttention` with the same weights;
# - a small attention classifier trained on real SST-2 movie-review sentences, and a widget to
#   explore what each head attends to.
#
# **Prerequisites**: [18 · LSTM, GRU, bidirectional](18_lstm_gru.ipynb) (a GRU, an encoder-decoder),
# [03 · MLP and activations](../part1_foundations/03_mlp_activations.ipynb) (a stable softmax),
# [07 · Regularization](../part2_training/07_regularization.ipynb) (layer norm).
#
# **Run time**: CPU (2 cores): fast mode about 12 s of CPU time, full mode about 75 s of CPU time
# (on the 2 cores shared with about eight other jobs the cells took 48 s and 11 minutes of wall
# time); GPU: not measured yet.

# %% [markdown]
# ## Setup

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dlcourse
from dlcourse.data.toy_translation import PAD, pad_batch, reversed_digits
from dlcourse.exercises.chapters import ch19_attention as exercises
from dlcourse.models import (AdditiveAttention, BahdanauSeq2Seq, LearnedPositionalEncoding, MultiheadAttention,
                             capture_attention, greedy_decode, sequence_accuracy, translation_step)
from dlcourse.models import attention as ref                      # the course's reference attention
from dlcourse.widgets import attention_explorer, draw_attention

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same tasks and data, fewer examples and epochs.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
REVERSE_TRAIN = 1000 if FAST else 6000     # digit strings the additive-attention model learns to reverse
REVERSE_EPOCHS = 2 if FAST else 12
SST_TRAIN = 600 if FAST else None          # SST-2 training sentences (None: all 6,920)
SST_EPOCHS = 1 if FAST else 6

# %% [markdown]
# ## 1. Additive attention (Bahdanau, Cho & Bengio 2015)
#
# The encoder, a bidirectional GRU, turns source tokens $x_1 \dots x_S$ into *annotations*
# $h_1 \dots h_S$, one per position. Before emitting output word $t$, the decoder, in state
# $s_{t-1}$, scores every annotation with a one-hidden-layer network, turns the scores into weights
# with a softmax and reads a *context* vector:
#
# $$ e_{tj} = v^\top \tanh(W s_{t-1} + U h_j + b), \qquad
#    \alpha_{tj} = \frac{\exp e_{tj}}{\sum_k \exp e_{tk}}, \qquad c_t = \sum_j \alpha_{tj} h_j . $$
#
# The weights $\alpha_{t\cdot}$ say where the decoder is looking; they are learned only from the
# translation loss, nobody tells the model which word aligns with which. Padding positions get
# $e = -\infty$, hence weight 0. As tensor operations, for a batch of decoder states at once:

# %%
def additive_attention(s, H, W, U, b, v, padding=None):
    """s (N, Dq) decoder states, H (N, S, Dk) annotations -> context (N, Dk), weights (N, S)."""
    hidden = torch.tanh((s @ W.T).unsqueeze(1) + H @ U.T + b)     # (N, S, hidden): every annotation vs the state
    scores = hidden @ v                                           # (N, S)
    if padding is not None:
        scores = scores.masked_fill(padding, float("-inf"))       # True = a padding position
    weights = torch.softmax(scores, dim=-1)
    return (weights.unsqueeze(1) @ H).squeeze(1), weights


torch.manual_seed(0)
reference = AdditiveAttention(query_dim=6, key_dim=8, hidden_dim=5)
s, H = torch.randn(3, 6), torch.randn(3, 4, 8)
padding = torch.tensor([[False] * 4, [False, False, False, True], [False, True, True, True]])
weights_of = dict(W=reference.query_proj.weight, U=reference.key_proj.weight, b=reference.key_proj.bias,
                  v=reference.score.weight[0])
dlcourse.check_like_torch("additive attention vs dlcourse.models.AdditiveAttention",
                          lambda s, H: additive_attention(s, H, **weights_of, padding=padding),
                          lambda s, H: reference(s, H, key_padding_mask=padding), s, H)

# %% [markdown]
# PyTorch has no additive attention, so the reference is the course's; `tests/test_seq2seq.py`
# checks it score by score against the formula above. `dlcourse.models.BahdanauSeq2Seq` wires it
# into the paper's decoder: $s_t = \mathrm{GRU}([\mathrm{embed}(y_{t-1}); c_t],\ s_{t-1})$ and the
# next-word logits from $[s_t; c_t; \mathrm{embed}(y_{t-1})]$.
#
# **A task where we know the right alignment**: reverse a string of 4 to 8 digits. Output
# position $t$ should look at input position $S - 1 - t$, so a model that has learned the task
# shows an anti-diagonal. Training and held-out strings never overlap
# (`dlcourse.data.toy_translation`). `translation_step` is teacher forcing: the decoder is fed the
# right previous output ($\langle bos\rangle, y_1, \dots$) and trained to predict the next one.

# %%
train_set, test_set = reversed_digits(REVERSE_TRAIN, 500)
vocab = train_set.tgt_vocab
print("example:", "".join(train_set.inputs[0]), "->", "".join(train_set.outputs[0]),
      f"| {len(train_set)} training strings, {len(test_set)} held out")
torch.manual_seed(0)
rnn_model = BahdanauSeq2Seq(len(vocab), len(vocab), embed_dim=32, hidden_dim=64)
loader = DataLoader(train_set, 64, shuffle=True, collate_fn=pad_batch, generator=torch.Generator().manual_seed(0))
history = dlcourse.fit(rnn_model, loader, torch.optim.Adam(rnn_model.parameters(), lr=3e-3), epochs=REVERSE_EPOCHS,
                       step=translation_step, device="cpu", title="additive attention, reversing digits")
src, tgt = pad_batch([test_set[i] for i in range(len(test_set))])
predicted = greedy_decode(rnn_model, src, max_len=10)
print(f"held-out strings reversed exactly: {sequence_accuracy(predicted, tgt).float().mean():.1%}")

# %% [markdown]
# (It runs on the CPU: a GRU decoder steps one token at a time, and batches this small keep a
# GPU idle.) In full mode every one of the 500 held-out strings came out right (100.0%). Now the
# alignment: feed one held-out string through the decoder and draw $\alpha_{tj}$, rows the output
# words, columns the input digits.

# %%
rnn_model.eval()
fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
for ax, i in zip(axes, (0, 1, 2)):
    src_i, tgt_i = test_set[i]
    with torch.no_grad():
        rnn_model(src_i[None], tgt_i[None, :-1])
    alignment = rnn_model.last_attention[0]                       # (output steps, input positions)
    draw_attention(ax, alignment, vocab.decode(tgt_i) + ["<eos>"], vocab.decode(src_i),   # rows: what is predicted
                   title="".join(test_set.inputs[i]) + " reversed")
fig.tight_layout()
plt.show()

# %% [markdown]
# Row $t$ is what the decoder read while predicting output $t$ (labelled by that output; the last
# row predicts the end). The first output digit is the last input digit, so a trained model puts
# almost all its weight on one input digit per row, along the anti-diagonal: it learned the
# alignment from the loss alone. (Fast mode trains too briefly for that: the anti-diagonal is
# there, but blurred over three or four digits.)
#
# ## 2. Scaled dot-product attention
#
# The Transformer (Vaswani et al. 2017) replaced the little network by a dot product, which a
# matrix multiplication computes for every query and key at once. Queries $Q$ $(L, d_k)$, keys $K$
# $(S, d_k)$ and values $V$ $(S, d_v)$:
#
# $$ \operatorname{Attention}(Q, K, V) = \operatorname{softmax}\!\Big(\frac{QK^\top}{\sqrt{d_k}} + M\Big)\,V , $$
#
# where the mask $M$ is 0 where a query may look and $-\infty$ where it may not. Built in front of
# you, with `F.scaled_dot_product_attention`'s convention for a boolean mask (True = *may*
# attend):

# %%
def attention(q, k, v, mask=None):
    """q (..., L, d_k), k (..., S, d_k), v (..., S, d_v) -> (..., L, d_v)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))      # (..., L, S)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))         # hide the keys the mask forbids
    return torch.softmax(scores, dim=-1) @ v


q, k, v = torch.randn(2, 4, 5, 16), torch.randn(2, 4, 7, 16), torch.randn(2, 4, 7, 8)   # (batch, heads, length, d)
allowed = torch.rand(5, 7, generator=torch.Generator().manual_seed(0)) > 0.3
allowed[:, 0] = True                                                  # every query sees at least one key
dlcourse.check_like_torch("attention vs F.scaled_dot_product_attention", attention,
                          F.scaled_dot_product_attention, q, k, v)
dlcourse.check_like_torch("masked attention vs F.scaled_dot_product_attention",
                          lambda q, k, v: attention(q, k, v, allowed),
                          lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=allowed), q, k, v)
dlcourse.check_like_torch("attention vs dlcourse.models.attention.scaled_dot_product_attention",
                          lambda q, k, v: attention(q, k, v, allowed),
                          lambda q, k, v: ref.scaled_dot_product_attention(q, k, v, attn_mask=allowed), q, k, v)

# %% [markdown]
# ## 3. Why divide by $\sqrt{d_k}$?
#
# If the components of $q$ and $k$ are independent with mean 0 and variance 1, then
# $q \cdot k = \sum_{i=1}^{d_k} q_i k_i$ is a sum of $d_k$ terms of variance 1: its variance is
# $d_k$. With $d_k = 512$ the scores spread over $\pm 45$ or so, and a softmax of numbers that far
# apart puts nearly all the weight on one key. A saturated softmax has almost zero gradient:
# $\partial\,\mathrm{softmax}_i / \partial e_j = p_i(\delta_{ij} - p_j)$ vanishes when every $p$ is 0
# or 1, so the queries and keys stop learning. Dividing by $\sqrt{d_k}$ brings the variance back to
# 1 whatever the width. Measured:

# %%
g = torch.Generator().manual_seed(0)
widths = [4, 16, 64, 256, 1024]
rows = []
for d in widths:
    q1, k1 = torch.randn(2000, 1, d, generator=g), torch.randn(2000, 10, d, generator=g)
    logits = (q1 @ k1.transpose(-2, -1)).squeeze(1)                 # 2000 queries x 10 keys each
    for scaled in (False, True):
        e = (logits / math.sqrt(d) if scaled else logits).detach().requires_grad_()
        p = torch.softmax(e, dim=-1)
        # the gradient reaching the scores for a random upstream gradient: how much can still be learned
        (p * torch.randn(p.shape, generator=g)).sum().backward()
        rows.append(dict(d=d, scaled=scaled, var=float(e.detach().var()), top=float(p.detach().max(-1).values.mean()),
                         grad=float(e.grad.norm(dim=-1).mean())))
print(f"{'d_k':>5} {'':9} {'var(logits)':>12} {'mean max weight':>16} {'|grad| at the scores':>21}")
for r in rows:
    print(f"{r['d']:5d} {'scaled' if r['scaled'] else 'unscaled':9} {r['var']:12.1f} {r['top']:16.3f} {r['grad']:21.4f}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
for scaled, style in ((False, "o-"), (True, "s-")):
    sel = [r for r in rows if r["scaled"] == scaled]
    label = "q·k / √d_k" if scaled else "q·k"
    axes[0].loglog(widths, [r["var"] for r in sel], style, label=label)
    axes[1].semilogx(widths, [r["top"] for r in sel], style, label=label)
    axes[2].loglog(widths, [r["grad"] for r in sel], style, label=label)
axes[0].set(title="variance of the logits", xlabel="d_k")
axes[1].set(title="largest softmax weight (10 keys)", xlabel="d_k", ylim=(0, 1.05))
axes[2].set(title="gradient reaching the logits", xlabel="d_k")
for ax in axes:
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Unscaled, the variance grows exactly like $d_k$, the largest of 10 weights heads for 1 (the
# softmax becomes an arg-max) and the gradient at the logits falls by orders of magnitude. Scaled,
# all three stay where they were at $d_k = 4$. (`tests/test_transformer.py` and exercise 1 below
# show that a missing $\sqrt{d_k}$ fails the check against PyTorch.)
#
# ## 4. Masks: padding and the future
#
# Two masks cover nearly every use:
#
# - a **padding mask**: a batch of sentences of different lengths is padded to the longest; no
#   query may attend to a padding key;
# - a **causal mask**: a decoder generating word $t$ must not see words after $t$, so query $i$
#   may attend to keys $j \le i$ only: the strictly upper triangle is $-\infty$.
#
# PyTorch has **two conventions** for boolean masks, a classic source of silent bugs:
# `F.scaled_dot_product_attention` takes True = *may attend*; `nn.MultiheadAttention` and
# `nn.Transformer` take True = *hidden* (`key_padding_mask`, `attn_mask`). Float masks mean the
# same in both: added to the scores. Here are both masks for a batch of two sentences of lengths
# 5 and 3, combined the way a decoder's self-attention combines them:

# %%
lengths = torch.tensor([5, 3])
hidden_padding = torch.arange(5)[None, :] >= lengths[:, None]          # (N, S), True = padding (torch.nn's)
causal = ref.causal_mask(5)                                             # (L, S) float: 0 / -inf
print("key_padding_mask (True = hidden):\n", hidden_padding.int())
print("causal mask (added to the scores):\n", causal)
x = torch.randn(2, 5, 16)
combined_allowed = ~hidden_padding[:, None, :] & ~causal.isinf()       # F.'s convention, (N, L, S)
w = ref.attention_weights(x, x, combined_allowed)
fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
for b, ax in enumerate(axes):
    draw_attention(ax, w[b], [f"q{i}" for i in range(5)], [f"k{j}" for j in range(5)],
                   title=f"sentence of length {lengths[b]}: causal + padding")
fig.tight_layout()
plt.show()

# %% [markdown]
# The second sentence's padding keys (k3, k4) get weight 0 in every row, and nothing above the
# diagonal is attended to. Its padding *queries* (q3, q4) still compute something; a model ignores
# their outputs (the loss masks them). The same computation through `nn.MultiheadAttention`
# needs the masks the other way round, which `dlcourse.models.MultiheadAttention` accepts too:

# %%
torch.manual_seed(0)
theirs = nn.MultiheadAttention(16, 4, batch_first=True)
ours = MultiheadAttention(16, 4, batch_first=True)
ours.load_state_dict(theirs.state_dict())
hidden_future = causal.isinf()                                          # the boolean form, True = hidden
dlcourse.check_like_torch("dlcourse MultiheadAttention vs nn.MultiheadAttention, causal + padding",
                          lambda x: ours(x, x, x, key_padding_mask=hidden_padding, attn_mask=hidden_future)[0],
                          lambda x: theirs(x, x, x, key_padding_mask=hidden_padding, attn_mask=hidden_future)[0], x)

# %% [markdown]
# **A query that may see no key.** If every key of a row is hidden (an empty sentence, padded all
# the way), all its scores are $-\infty$ and the softmax is $0/0$. Ours gives such a query zero
# weights: it attends to nothing, its output is `out_proj`'s bias, and no NaN enters the graph.
# `nn.MultiheadAttention` returns NaN there with `need_weights=True` (its default), in the weights
# and in the output, and 0 like ours on its fused path (`need_weights=False`). A NaN in one row of
# a batch spreads to every weight at the next optimizer step, so mask such rows out of the loss,
# or drop empty sequences before they reach the model.

# %%
empty = torch.tensor([[False] * 5, [True] * 5])                        # sentence 2 has no real token
w_ours = ours(x, x, x, key_padding_mask=empty)[1]
w_theirs = theirs(x, x, x, key_padding_mask=empty)[1]
print("ours, sentence 2's weights for q0:", w_ours[1, 0].tolist())
print("torch's:                          ", w_theirs[1, 0].tolist())

# %% [markdown]
# ## 5. Multi-head attention
#
# One attention averages one way. $h$ heads let the model average several ways at once: project
# the input $h$ times into $d = d_{\text{model}}/h$ dimensions, attend in each, put the $h$
# results side by side and mix them with one more projection:
#
# $$ \operatorname{MultiHead}(X_q, X_k, X_v) = [\,\mathrm{head}_1; \dots; \mathrm{head}_h\,] W^O, \qquad
#    \mathrm{head}_i = \operatorname{Attention}(X_q W_i^Q, X_k W_i^K, X_v W_i^V). $$
#
# The $h$ projections are one big matrix each for $Q$, $K$, $V$, and `nn.MultiheadAttention` stacks
# even those three into one `in_proj_weight` $(3 d_{\text{model}}, d_{\text{model}})$. Head $i$ owns
# features $i d \dots (i+1)d - 1$ of each projection. From scratch, with our `attention`:

# %%
def multi_head_attention(xq, xk, xv, in_proj_weight, in_proj_bias, out_weight, out_bias, num_heads, padding=None):
    """Batch-first (N, L, E) queries, (N, S, E) keys and values -> (N, L, E)."""
    N, L, E = xq.shape
    d = E // num_heads
    w_q, w_k, w_v = in_proj_weight.chunk(3)
    b_q, b_k, b_v = in_proj_bias.chunk(3)

    def heads(x, w, b):                                   # (N, len, E) -> (N, heads, len, d)
        return F.linear(x, w, b).view(N, -1, num_heads, d).transpose(1, 2)

    allowed = None if padding is None else ~padding[:, None, None, :]   # torch.nn's convention -> F.'s
    y = attention(heads(xq, w_q, b_q), heads(xk, w_k, b_k), heads(xv, w_v, b_v), allowed)   # (N, heads, L, d)
    return F.linear(y.transpose(1, 2).reshape(N, L, E), out_weight, out_bias)


torch.manual_seed(0)
mha = nn.MultiheadAttention(32, 4, batch_first=True)
with torch.no_grad():                                     # not the zero biases of the default init: a slip shows
    mha.in_proj_bias.normal_(0, 0.3), mha.out_proj.bias.normal_(0, 0.3)
xq, xkv = torch.randn(2, 5, 32), torch.randn(2, 7, 32)
kv_padding = torch.tensor([[False] * 7, [False] * 4 + [True] * 3])
dlcourse.check_like_torch(
    "multi-head attention vs nn.MultiheadAttention",
    lambda xq, xkv: multi_head_attention(xq, xkv, xkv, mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight,
                                         mha.out_proj.bias, 4, kv_padding),
    lambda xq, xkv: mha(xq, xkv, xkv, key_padding_mask=kv_padding, need_weights=False)[0], xq, xkv)

# %% [markdown]
# Equal in values and in the gradients with respect to both inputs. `dlcourse.models.MultiheadAttention`
# is the same computation with PyTorch's argument list (sequence-first or batch-first, both mask
# kinds, dropout, returning the weights averaged or per head), and calls the fused
# `F.scaled_dot_product_attention` kernel when the weights are not asked for;
# `tests/test_transformer.py` proves it equal to `nn.MultiheadAttention` in every parameter's
# gradient too, and `benchmarks/attention_speed.py` times it against PyTorch's (within 1.35x on a
# CPU, forward and backward).
#
# ## 6. Look inside: attention over a real sentence
#
# A small classifier over SST-2 movie-review sentences: word embeddings plus learned positions,
# one multi-head self-attention layer (the course's), a residual and layer norm, the average over
# the real words, and a linear layer to *negative* / *positive*. The words are SST's own tokens,
# lower-cased; words seen fewer than twice in training become `<unk>`.

# %%
sst_train, sst_dev = dlcourse.data.load_sst2("train"), dlcourse.data.load_sst2("dev")
train_texts = sst_train.texts[:SST_TRAIN] if SST_TRAIN else sst_train.texts
train_labels = sst_train.labels[: len(train_texts)]
counts = {}
for text in train_texts:
    for word in text.lower().split():
        counts[word] = counts.get(word, 0) + 1
words = ["<pad>", "<unk>"] + sorted(w for w, c in counts.items() if c >= 2)
word_id = {w: i for i, w in enumerate(words)}
MAX_WORDS = 48


def encode(texts):
    ids = torch.zeros(len(texts), MAX_WORDS, dtype=torch.long)          # 0 = <pad>
    for row, text in enumerate(texts):
        tokens = [word_id.get(w, 1) for w in text.lower().split()][:MAX_WORDS]
        ids[row, : len(tokens)] = torch.tensor(tokens)
    return ids


class AttentionClassifier(nn.Module):
    def __init__(self, vocab_size, d_model=64, num_heads=4):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model, padding_idx=0)
        self.positions = LearnedPositionalEncoding(d_model, MAX_WORDS, batch_first=True)
        self.attn = MultiheadAttention(d_model, num_heads, dropout=0.1, batch_first=True)
        self.norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(0.3)
        self.out = nn.Linear(d_model, 2)

    def forward(self, ids):                                              # (N, words) -> (N, 2)
        padding = ids == 0
        x = self.positions(self.embed(ids))
        h = self.norm(x + self.attn(x, x, x, key_padding_mask=padding, need_weights=False)[0])
        h = h.masked_fill(padding.unsqueeze(-1), 0.0).sum(1) / (~padding).sum(1, keepdim=True)
        return self.out(self.dropout(h))


torch.manual_seed(0)
classifier = AttentionClassifier(len(words))
sst_loader = DataLoader(TensorDataset(encode(train_texts), torch.as_tensor(train_labels)), 32, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
dev_loader = DataLoader(TensorDataset(encode(sst_dev.texts), torch.as_tensor(sst_dev.labels)), 256)
sst_history = dlcourse.fit(classifier, sst_loader,
                           torch.optim.AdamW(classifier.parameters(), lr=2e-3, weight_decay=0.01),
                           epochs=SST_EPOCHS, val_loader=dev_loader, device=device, title="SST-2, one attention layer")
print(f"{len(words):,} words; SST-2 dev accuracy {sst_history.last('val_accuracy'):.1%}")

# %% [markdown]
# One attention layer reached 75.1% on SST-2's dev sentences in full mode, with 98% on its training
# sentences: one layer of attention over word embeddings memorises more than it generalises
# (BERT, chapter 21, reaches about 92%). Now the
# attention itself: `capture_attention` records every head's weights during one forward pass.
# Each row is one word (the query) and shows how it spreads its attention over the sentence.

# %%
sentence = next(t for t in sst_dev.texts if 8 <= len(t.split()) <= 14 and " not " in f" {t} ")
tokens = sentence.lower().split()
classifier.eval()
with torch.no_grad(), capture_attention(classifier) as maps:
    p_positive = classifier(encode([sentence]).to(device)).softmax(-1)[0, 1]
head_maps = maps["attn"][0][0, :, : len(tokens), : len(tokens)].cpu()        # (heads, words, words)
print(f"{sentence!r}: P(positive) = {p_positive:.2f}")
for h, w in enumerate(head_maps):       # a column's mean: how much that word is read, over all queries
    read = w.mean(0)
    print(f"head {h}: reads most {tokens[int(read.argmax())]!r} ({read.max():.2f} of its attention on average), "
          f"entropy of its rows {float(-(w * w.clamp_min(1e-9).log()).sum(-1).mean()):.2f} "
          f"(uniform: {math.log(len(tokens)):.2f})")
fig, axes = plt.subplots(1, 4, figsize=(16, 4.2))
for h, ax in enumerate(axes):
    draw_attention(ax, head_maps[h], tokens, title=f"head {h}")
fig.tight_layout()
plt.show()

# %% [markdown]
# Compare the heads: a row entropy near the uniform value is a head that averages the whole
# sentence; a low one is a head that picks out a few words from every position (the printout names
# the word each head reads most). The average over words then passes what the heads read to the
# classifier. Attention weights show where information was *read*, not why the decision was made
# (Jain & Wallace 2019); chapter 31 has tools for the why.
# Explore the heads yourself (choose a head, or slide the query word):

# %%
attention_explorer(tokens, {"attention layer": head_maps})

# %% [markdown]
# ## 7. Exercises
#
# Each exercise cell holds a placeholder. Replace it, run the cell, then run the check cell under
# it: it says whether your answer is right and, if not, which mistake it recognises. The checks
# live in `dlcourse.exercises.chapters.ch19_attention`; worked solutions are in
# `solutions/chapters/19_attention.py` (try first!).
#
# ### Exercise 1: attention with a mask
#
# Write `attention(q, k, v, mask)` for `q` $(\dots, L, d_k)$, `k` $(\dots, S, d_k)$, `v`
# $(\dots, S, d_v)$ and a boolean `mask` $(L, S)$ that is True where a query *may* attend (or
# None). It must equal `F.scaled_dot_product_attention(q, k, v, attn_mask=mask)`, with gradients.

# %%
def attention_exercise(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d_k), masked) v."""
    return None     # YOUR CODE HERE


# %%
exercises.check_attention(attention_exercise)

# %% [markdown]
# ### Exercise 2: a padding mask
#
# Write `padding_mask(lengths, max_len)`: for sequences of the given lengths padded to `max_len`,
# the boolean $(N, \text{max\_len})$ `key_padding_mask` that `nn.MultiheadAttention` expects.

# %%
def padding_mask(lengths, max_len):
    """(N, max_len) bool, in nn.MultiheadAttention's convention."""
    return None     # YOUR CODE HERE


# %%
exercises.check_padding_mask(padding_mask)

# %% [markdown]
# ### Exercise 3: splitting the heads
#
# Write `split_heads(x, num_heads)`: $(N, L, E) \to (N, H, L, E/H)$, with head $h$ holding
# features $h\,E/H \dots (h+1)\,E/H - 1$ as `nn.MultiheadAttention` does (section 5).

# %%
def split_heads(x, num_heads):
    """(N, L, E) -> (N, num_heads, L, E // num_heads)."""
    return None     # YOUR CODE HERE


# %%
exercises.check_split_heads(split_heads)

# %% [markdown]
# The graded assignment of Part 4, `a09_transformer`, builds a small Transformer from these pieces;
# chapter 20 assembles them into the encoder-decoder of Vaswani et al.
#
# ## 8. Summary
#
# - Attention is a weighted average of values, with weights from a softmax of query-key scores.
#   Additive attention scores with a small network, $v^\top\tanh(Ws + Uh)$; the Transformer's with
#   a dot product, computed for all queries at once as $QK^\top$.
# - The dot product of two $d_k$-dimensional unit-variance vectors has variance $d_k$: unscaled, the
#   softmax saturates and its gradient vanishes as $d_k$ grows. Dividing by $\sqrt{d_k}$ keeps the
#   logits at unit variance.
# - Masks set scores to $-\infty$: padding keys, and the future in a decoder. PyTorch's boolean
#   masks come in two conventions (True = may attend in `F.scaled_dot_product_attention`, True =
#   hidden in `nn.MultiheadAttention`); a float mask is added in both.
# - Multi-head attention runs $h$ attentions in $d_{\text{model}}/h$ dimensions each, side by side,
#   and mixes them with an output projection; ours equals `nn.MultiheadAttention` with the same
#   weights.
# - Trained attention learns alignments (the anti-diagonal of reversal) from the task's loss alone;
#   on real sentences different heads read different words.
#
# ## References
#
# - D. Bahdanau, K. Cho and Y. Bengio (2015). *Neural machine translation by jointly learning to
#   align and translate.* ICLR.
# - M.-T. Luong, H. Pham and C. D. Manning (2015). *Effective approaches to attention-based neural
#   machine translation.* EMNLP.
# - A. Vaswani, N. Shazeer, N. Parmar, J. Uszkoreit, L. Jones, A. N. Gomez, Ł. Kaiser and
#   I. Polosukhin (2017). *Attention is all you need.* NeurIPS.
# - S. Jain and B. C. Wallace (2019). *Attention is not explanation.* NAACL.
# - R. Socher, A. Perelygin, J. Wu, J. Chuang, C. D. Manning, A. Ng and C. Potts (2013).
#   *Recursive deep models for semantic compositionality over a sentiment treebank.* EMNLP (SST-2).
