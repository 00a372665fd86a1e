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
# # 18 · LSTM, GRU and bidirectional RNNs
#
# Chapter 17 measured why a plain RNN forgets: the gradient reaching a step $k$ steps back is
# multiplied by $k$ Jacobians and vanishes. The long short-term memory (Hochreiter &
# Schmidhuber 1997) adds a *cell state* $c_t$ that is updated by addition, with *gates*
# (sigmoids between 0 and 1) deciding what to forget, what to write and what to show. The
# gated recurrent unit (Cho et al. 2014) does the same with two gates and one state. This
# chapter writes both from their equations, proves them equal to PyTorch, trains them on
# real sentences and looks at the gates while they read one.
#
# **What you will build**
#
# - the LSTM cell and a whole LSTM layer from the gate equations, equal to `nn.LSTMCell`,
#   `nn.LSTM` and `dlcourse.models.LSTM` with the same weights; the GRU's equations, with
#   `dlcourse.models.GRUCell` equal to `nn.GRUCell` (you write the GRU cell in exercise 1);
# - the gradient through time of an RNN, an LSTM and a GRU, measured side by side;
# - the text pipeline (`dlcourse.data`: tokenize, a vocabulary from the training split only,
#   length-bucketed batches of (ids, lengths)) and a sentiment classifier on SST-2 with a
#   bidirectional LSTM and max-pooling over time;
# - the LSTM's input, forget and output gates plotted word by word on a real test sentence;
# - question classification on TREC with a GRU, one-directional against bidirectional:
#   what reading the sentence backwards too buys, measured.
#
# **Prerequisites**: [17 · Recurrent neural networks](17_rnn.ipynb) (the recurrence, BPTT,
# vanishing gradients), [07 · Regularization](../part2_training/07_regularization.ipynb) (dropout,
# early stopping).
#
# **Run time**: CPU (2 cores, shared with other jobs): 227 s full mode (measured, load ~4),
# 12 s fast mode (nbval, load ~4; about 30 s under load ~11); GPU: not measured.

# %% [markdown]
# ## Setup

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torch.func import functional_call

import dlcourse
from dlcourse.data import TextSplit, Vocab, load_sst2, load_trec, text_loader, tokenize
from dlcourse.exercises.chapters import ch18_lstm_gru as exercises
from dlcourse.models import GRUCell, LSTM, RNNClassifier
from dlcourse.profiling import count_params

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same real data, fewer sentences,
# smaller models, one epoch. Full mode uses the settings of `benchmarks/recipes/lstm_sst2.py`.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
TRAIN_LIMIT = 800 if FAST else None   # training sentences per data set (None: all)
EPOCHS = 1 if FAST else 10            # passes over the training sentences, per model
EMBED = 32 if FAST else 200           # word-vector size, learnt from scratch
HIDDEN = 32 if FAST else 128          # units per direction
BATCH_SIZE = 50

# %% [markdown]
# ## 1. The LSTM cell, from its equations
#
# From the input $x_t$ and the previous output $h_{t-1}$, four blocks of one matrix product
# give three gates and a candidate (PyTorch stacks their rows in the order i, f, g, o):
#
# $$\begin{aligned}
# i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) && \text{input gate: how much to write}\\
# f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) && \text{forget gate: how much to keep}\\
# g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) && \text{candidate: what to write}\\
# o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) && \text{output gate: how much to show}\\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t).
# \end{aligned}$$
#
# The cell state is updated by an addition: where $f_t \approx 1$ and $i_t \approx 0$ it passes
# unchanged, and so does its gradient, $\partial c_t / \partial c_{t-1} = f_t$. No squashing
# nonlinearity and no weight matrix stand in its way: that is the cure for vanishing gradients.

# %%
def lstm_cell(x, state, W_ih, W_hh, b_ih, b_hh, return_gates=False):
    """x (N, D), state (h, c) each (N, H) -> (h_t, c_t); with return_gates also (i, f, g, o)."""
    h, c = state
    i, f, g, o = (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=-1)   # (N, 4H) -> 4 x (N, H)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g
    h = o * torch.tanh(c)
    return ((h, c), (i, f, g, o)) if return_gates else (h, c)


# %% [markdown]
# Checked against `nn.LSTMCell` and the course's `dlcourse.models.LSTMCell` (whose equations,
# written once in `dlcourse.models.rnn.lstm_step`, every LSTM of the course runs), with the
# same weights put in by name: values of $h_t$ and $c_t$, and every input's gradient.

# %%
torch.manual_seed(0)
torch_cell = nn.LSTMCell(5, 6)
CELL_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
cell_weights = [torch_cell.state_dict()[k] for k in CELL_KEYS]
x, h, c = torch.randn(3, 5), torch.randn(3, 6), torch.randn(3, 6)


def cell_with(module):
    return lambda x, h, c, *w: functional_call(module, dict(zip(CELL_KEYS, w)), (x, (h, c)))


ours_cell = lambda x, h, c, *w: lstm_cell(x, (h, c), *w)           # noqa: E731
dlcourse.check_like_torch("lstm_cell vs nn.LSTMCell", ours_cell, cell_with(torch_cell), x, h, c, *cell_weights)
dlcourse.check_like_torch("lstm_cell vs dlcourse.models.LSTMCell", ours_cell,
                          cell_with(dlcourse.models.LSTMCell(5, 6)), x, h, c, *cell_weights, verbose=False)
print("lstm_cell vs dlcourse.models.LSTMCell: equal in values and gradients")

# %% [markdown]
# A layer runs the cell along the sequence. Our loop against `nn.LSTM` (torch's fused kernel)
# and `dlcourse.models.LSTM` with the same weights, over 10 steps:

# %%
def lstm_forward(x, W_ih, W_hh, b_ih, b_hh):
    """x (T, N, D) -> outputs (T, N, H), starting from zero states."""
    H = W_hh.shape[1]
    state = (x.new_zeros(x.shape[1], H), x.new_zeros(x.shape[1], H))
    outputs = []
    for x_t in x:
        state = lstm_cell(x_t, state, W_ih, W_hh, b_ih, b_hh)
        outputs.append(state[0])
    return torch.stack(outputs)


LAYER_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
torch_lstm = nn.LSTM(5, 6)
layer_weights = [torch_lstm.state_dict()[k] for k in LAYER_KEYS]
seq = torch.randn(10, 3, 5)
for name, module in (("nn.LSTM", torch_lstm), ("dlcourse.models.LSTM", LSTM(5, 6))):
    dlcourse.check_like_torch(f"lstm_forward vs {name}", lstm_forward,
                              lambda x, *w, m=module: functional_call(m, dict(zip(LAYER_KEYS, w)), (x,))[0],
                              seq, *layer_weights, verbose=name == "nn.LSTM")

# %% [markdown]
# ## 2. The GRU
#
# The GRU merges the cell state into $h_t$ and uses two gates (rows r, z, n in PyTorch):
#
# $$\begin{aligned}
# r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) && \text{reset: how much of the past feeds the candidate}\\
# z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) && \text{update: how much of the old state to keep}\\
# n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) && \text{candidate}\\
# h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}.
# \end{aligned}$$
#
# Two details trip up every first implementation. The reset gate multiplies $W_{hn} h_{t-1} +
# b_{hn}$, bias included: this is PyTorch's and cuDNN's form; Cho et al. wrote $W_{hn}(r_t
# \odot h_{t-1})$, a different function with the same parameter shapes. And $z_t = 1$ *keeps*
# the old state. You write the cell in exercise 1; here is the course's reference against torch:

# %%
torch_gru_cell = nn.GRUCell(5, 6)
gru_weights = [torch_gru_cell.state_dict()[k] for k in CELL_KEYS]
dlcourse.check_like_torch("dlcourse.models.GRUCell vs nn.GRUCell",
                          lambda x, h, *w: functional_call(GRUCell(5, 6), dict(zip(CELL_KEYS, w)), (x, h)),
                          lambda x, h, *w: functional_call(torch_gru_cell, dict(zip(CELL_KEYS, w)), (x, h)),
                          x, h, *gru_weights)

# %% [markdown]
# ## 3. The gradient through time, RNN against LSTM and GRU
#
# Chapter 17's measurement, repeated for the three cells at PyTorch's default initialisation:
# the loss is on the last output of a 100-step sequence; we plot the norm of its gradient with
# respect to each input $x_t$.

# %%
def input_gradient_norms(layer: nn.Module, T: int = 100, seed: int = 0) -> np.ndarray:
    torch.manual_seed(seed)
    x = torch.randn(T, 1, 8, requires_grad=True)
    out, _ = layer(x)
    out[-1].sum().backward()
    return x.grad.norm(dim=(1, 2)).numpy()


fig, ax = plt.subplots(figsize=(7, 3.5))
for kind in (nn.RNN, nn.LSTM, nn.GRU):
    torch.manual_seed(1)
    ax.semilogy(input_gradient_norms(kind(8, 64)), label=kind.__name__)
ax.set(xlabel="input step t (loss at t = 100)", ylabel="||dL / dx_t||", title="How far back the gradient reaches")
ax.legend()
plt.show()

# %% [markdown]
# At initialisation the plain RNN's gradient falls fastest going back; the gated cells keep a
# usable gradient further (with forget gates near $\sigma(0) = 0.5$ at initialisation they
# still decay; training learns to open them where the task needs memory).
#
# ## 4. From sentences to batches
#
# The text toolkit of `dlcourse.data` turns strings into what an RNN reads. `tokenize` splits
# lower-cased words and punctuation; `Vocab.build` numbers the tokens of the **training split
# only** (a word seen only in the test split becomes `<unk>`, as any unseen word would in use:
# building it from the test split would leak it into the model); index 0 is `<pad>`.

# %%
def take(split: TextSplit, limit):
    """The first ``limit`` examples of a split (all with None)."""
    if limit is None:
        return split
    return TextSplit(split.texts[:limit], split.labels[:limit], split.classes)


sst_train, sst_dev, sst_test = take(load_sst2("train"), TRAIN_LIMIT), load_sst2("dev"), load_sst2("test")
print(f"SST-2: {len(sst_train)} train, {len(sst_dev)} dev, {len(sst_test)} test sentences")
print(tokenize(sst_train.texts[0]))
vocab = Vocab.build([tokenize(t) for t in sst_train.texts])
print(vocab, f"\n'{sst_test.texts[5][:60]}...' ->", vocab.encode(tokenize(sst_test.texts[5]))[:12])

# %% [markdown]
# `text_loader` yields `((ids, lengths), labels)`: ids padded to the batch's longest sentence.
# With `bucket=True` a batch holds sentences of similar length, so little of it is padding and
# the RNN runs few wasted steps; the batches' order is shuffled with the loader's own seeded
# generator. The model receives the pair (ids, lengths) and uses the lengths to stop each
# sentence at its last real word.

# %%
train_loader = text_loader(sst_train, vocab, BATCH_SIZE, seed=0)
dev_loader = text_loader(sst_dev, vocab, 256, shuffle=False)
test_loader = text_loader(sst_test, vocab, 256, shuffle=False)
(ids, lengths), labels = next(iter(train_loader))
print(f"ids {tuple(ids.shape)}, lengths {lengths[:8].tolist()}..., labels {labels[:8].tolist()}...")
padding = sum(int((b[0].ids == 0).sum()) for b in train_loader) / sum(b[0].ids.numel() for b in train_loader)
plain = text_loader(sst_train, vocab, BATCH_SIZE, bucket=False)
padding_plain = sum(int((b[0].ids == 0).sum()) for b in plain) / sum(b[0].ids.numel() for b in plain)
print(f"padding: {padding:.1%} of the batches' entries with buckets, {padding_plain:.1%} without")

# %% [markdown]
# ## 5. Sentiment on SST-2 with an LSTM
#
# `dlcourse.models.RNNClassifier` reads (ids, lengths): word vectors learnt from scratch,
# dropout on them, a bidirectional LSTM, max-pooling over each sentence's real steps (Conneau
# et al. 2017: the best of their sentence encoders), dropout and a linear layer. Its
# recurrent layer is ours (`impl="ours"`) or torch's (`impl="torch"`): the same parameter
# names, so one state dict runs in both. First, the proof that they compute the same thing,
# then the reason to train with torch's.

# %%
torch.manual_seed(0)
options = dict(kind="lstm", embed_dim=EMBED, hidden_size=HIDDEN, bidirectional=True, pooling="max", dropout=0.5)
sst_model = RNNClassifier(len(vocab), 2, impl="torch", **options)
ours_model = RNNClassifier(len(vocab), 2, impl="ours", **options)
ours_model.load_state_dict(sst_model.state_dict())
batch = next(iter(test_loader))[0]
dlcourse.check_like_torch("BiLSTM classifier: ours vs nn.LSTM", ours_model.eval(), sst_model.eval(), batch)


def seconds_per_step(model, batch, labels, repeats=3):
    model.train()
    start = time.perf_counter()
    for _ in range(repeats):
        nn.functional.cross_entropy(model(batch), labels).backward()
    return (time.perf_counter() - start) / repeats


(ids, lengths), labels = next(iter(train_loader))
t_ours, t_torch = seconds_per_step(ours_model, (ids, lengths), labels), seconds_per_step(sst_model, (ids, lengths), labels)
print(f"one training step: ours {1e3 * t_ours:.0f} ms, nn.LSTM {1e3 * t_torch:.0f} ms ({t_ours / t_torch:.1f}x)")

# %% [markdown]
# Ours runs a Python loop over time steps; torch's runs the loop in C++ with fused gate
# kernels, and on a GPU hands the whole sequence to cuDNN (not measured here). On this CPU the
# two are close: the ratio printed above wandered between 0.7x and 1.3x from run to run on a
# shared machine, and `benchmarks/rnn_speed.py` measured 1.46x for one LSTM layer alone (but
# 0.43x on variable lengths, where torch's packing costs more than our masking). Why train with
# torch's, then? It is the same function (proven above), it is what you will use outside this
# course, and it is the one that is fast on a GPU. Ours stays for what it is for: seeing and
# checking the equations, and running the gates by hand in section 6.
#
# Training: Adam, gradients clipped at norm 5, a fixed budget of `EPOCHS` epochs, the dev split
# watched after each; the test split is scored once, at the end. Why not `fit`'s
# `early_stopping`? It watches the dev *loss*, and on SST-2 that turns back up after about 4
# epochs (the model grows over-confident on the sentences it gets wrong) while dev *accuracy*
# keeps climbing to epoch 10: stopped by loss, a full-mode run scored 78.0%. The 10 epochs
# come from `benchmarks/recipes/lstm_sst2.py`, which selects the epoch by dev accuracy.

# %%
history = dlcourse.fit(sst_model, train_loader, torch.optim.Adam(sst_model.parameters(), lr=2e-3), epochs=EPOCHS,
                       val_loader=dev_loader, clip_grad=5.0, device=device, amp=False,
                       title="BiLSTM on SST-2")
sst_accuracy = dlcourse.evaluate(sst_model, test_loader, amp=False)["accuracy"]
print(f"SST-2 test accuracy: {sst_accuracy:.3f}")

# %% [markdown]
# In full mode this reached 80.2% on the test sentences (measured; the recipe
# `benchmarks/recipes/lstm_sst2.py`, which keeps the epoch of best dev accuracy, recorded
# 81.9%). Tai et al. 2015 report 84.9% for an LSTM and 87.5% for a BiLSTM with pretrained GloVe
# vectors and phrase-level labels, neither used here. Fast mode trains on 800 sentences for one
# epoch: near chance, and that is expected.
#
# ## 6. Looking inside: the gates on a real sentence
#
# We run the trained forward-direction LSTM by hand with `lstm_cell(..., return_gates=True)`
# over a test sentence, with the classifier's own word vectors and weights, and draw each
# gate's value for the first 24 units (rows) at each word (columns).

# %%
sentence = next(t for t in sst_test.texts if 8 <= len(tokenize(t)) <= 14 and "but" in tokenize(t))
words = tokenize(sentence)
sst_model.eval().cpu()
with torch.no_grad():
    xs = sst_model.embedding(torch.tensor(vocab.encode(words)))                  # (T, E)
    w = [getattr(sst_model.rnn, k) for k in LAYER_KEYS]                          # the forward direction
    state = (torch.zeros(1, HIDDEN), torch.zeros(1, HIDDEN))
    gates = []
    for x_t in xs:
        state, (i, f, g, o) = lstm_cell(x_t[None], state, *w, return_gates=True)
        gates.append(torch.stack([i[0], f[0], o[0]]))
    gates = torch.stack(gates, dim=-1)                                            # (3, H, T)
    probability = torch.softmax(sst_model((torch.tensor([vocab.encode(words)]), torch.tensor([len(words)]))), -1)
print(f"'{sentence}'\nP(positive) = {probability[0, 1]:.2f}")

fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=True)
for ax, gate, name in zip(axes, gates, ("input gate i", "forget gate f", "output gate o")):
    image = ax.imshow(gate[:24], vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(words)), words, rotation=70, fontsize=8)
    ax.set_title(name)
axes[0].set_ylabel("unit")
fig.colorbar(image, ax=axes, shrink=0.8)
plt.show()
print("mean over units and words: " + ", ".join(f"{n} {g.mean():.2f}" for n, g in zip("ifo", gates)))

# %% [markdown]
# Each row is one unit, each column one word. How to read it: a unit whose forget gate stays
# near 1 carries its cell state across the sentence (long memory); a unit whose input gate
# lights up at one word writes that word in (look at the sentiment words and at "but", which
# turns this sentence). The full-mode model reads this one as positive (P = 0.91 measured).
# An untrained model's gates sit near 0.5 everywhere: fast mode's plot looks like that.
#
# ## 7. Question classification on TREC with a GRU: one direction or two?
#
# TREC's 5,452 training questions are labelled with 6 answer types (description, entity,
# abbreviation, human, location, number). Much of the evidence is at the start ("How many",
# "Who", "Where"), which a left-to-right RNN reads first and must carry to the end. A
# bidirectional RNN adds a second chain that reads from the last word back, and concatenates
# both chains' outputs at every step. We train a GRU both ways, with everything else equal
# (the same budget of epochs; a seeded 10% of the training questions is held out as dev and
# watched, since TREC has no dev split).

# %%
trec = load_trec("train")
order = np.random.default_rng(0).permutation(len(trec))
dev_idx, train_idx = order[:len(trec) // 10], order[len(trec) // 10:]
trec_train = take(TextSplit([trec.texts[i] for i in train_idx], trec.labels[train_idx], trec.classes), TRAIN_LIMIT)
trec_dev = TextSplit([trec.texts[i] for i in dev_idx], trec.labels[dev_idx], trec.classes)
trec_test = load_trec("test")
trec_vocab = Vocab.build([tokenize(t) for t in trec_train.texts])
print(f"TREC: {len(trec_train)} train, {len(trec_dev)} dev, {len(trec_test)} test; vocabulary {len(trec_vocab)}")

trec_results = {}
for bidirectional in (False, True):
    torch.manual_seed(0)
    model = RNNClassifier(len(trec_vocab), len(trec.classes), kind="gru", embed_dim=EMBED, hidden_size=HIDDEN,
                          bidirectional=bidirectional, pooling="max", dropout=0.5)
    name = "BiGRU" if bidirectional else "GRU"
    dlcourse.fit(model, text_loader(trec_train, trec_vocab, BATCH_SIZE, seed=0),
                 torch.optim.Adam(model.parameters(), lr=2e-3), epochs=EPOCHS,
                 val_loader=text_loader(trec_dev, trec_vocab, 256, shuffle=False), clip_grad=5.0,
                 device=device, amp=False, progress=False, live_plot=False)
    accuracy = dlcourse.evaluate(model, text_loader(trec_test, trec_vocab, 256, shuffle=False), amp=False)["accuracy"]
    trec_results[name] = (accuracy, count_params(model))
    print(f"{name:6s} TREC test accuracy {accuracy:.3f} ({trec_results[name][1]:,} parameters)")

# %%
fig, ax = plt.subplots(figsize=(4, 3))
ax.bar(list(trec_results), [a for a, _ in trec_results.values()], color=["C0", "C1"])
for k, (a, _) in enumerate(trec_results.values()):
    ax.text(k, a + 0.005, f"{a:.1%}", ha="center")
ax.set(ylim=(min(a for a, _ in trec_results.values()) - 0.1, 1), ylabel="test accuracy", title="TREC, GRU-max")
plt.show()

# %% [markdown]
# In full mode (10 epochs each) the GRU scored 85.2% and the BiGRU 86.6%: 1.4 points for the
# second direction. Read it with its noise in mind: 500 test questions give each accuracy a
# standard error of about 1.5 points, so one seed cannot tell a gain of this size from luck (an
# earlier run that stopped each model early on its dev loss gave 86.4% and 85.6%, the other
# way round). The bidirectional model also has 7% more parameters (most of both are the word
# vectors). What it buys is that every position sees the whole question, so the first words
# ("how many", "who") no longer have to survive a left-to-right pass. The recipe
# `benchmarks/recipes/gru_trec.py` trains the BiGRU for 12 epochs and keeps the best dev
# epoch: 89.2% (Kim 2014's CNN-rand: 91.2%).
#
# ## 8. Exercises
#
# Each exercise cell holds a placeholder. Replace it, run the cell, then run the check cell
# under it: it says whether your answer is right and, if not, what to change. The checks live
# in `dlcourse.exercises.chapters.ch18_lstm_gru`; worked solutions are in
# `solutions/chapters/18_lstm_gru.py` (try first!).
#
# ### Exercise 1: the GRU cell
#
# Write `gru_cell(x, h, W_ih, W_hh, b_ih, b_hh)` from the equations of section 2 (rows r, z, n),
# for `x` (N, D) and `h` (N, H). It must equal `nn.GRUCell` in values and gradients.

# %%
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    """The new state (N, H) of a GRU cell."""
    return None     # YOUR CODE HERE


# %%
exercises.check_gru_cell(gru_cell)

# %% [markdown]
# ### Exercise 2: counting an LSTM's parameters
#
# Write `lstm_parameter_count(input_size, hidden_size, num_layers, bidirectional)`: the number
# of parameters of `nn.LSTM` with those settings, from the shapes of section 1.

# %%
def lstm_parameter_count(input_size, hidden_size, num_layers=1, bidirectional=False):
    """The number of parameters of nn.LSTM(input_size, hidden_size, num_layers, bidirectional=...)."""
    return None     # YOUR CODE HERE


# %%
exercises.check_lstm_parameter_count(lstm_parameter_count)

# %% [markdown]
# ### Exercise 3: max-pooling over the real steps
#
# The classifier above pools the RNN's outputs (N, T, F) over time. Write
# `masked_max_pool(outputs, lengths)` returning (N, F): the maximum over each sentence's
# first `lengths[i]` steps only (the padded steps hold 0).

# %%
def masked_max_pool(outputs, lengths):
    """(N, T, F), (N,) -> (N, F)."""
    return None     # YOUR CODE HERE


# %%
exercises.check_masked_max_pool(masked_max_pool)

# %% [markdown]
# The graded assignments `a07_lstm_sentiment` and `a08_gru_textclass` train an LSTM and a GRU
# on real sentences with this pipeline.
#
# ## 9. Summary
#
# - The LSTM's cell state is updated additively, $c_t = f_t \odot c_{t-1} + i_t \odot g_t$, so
#   its gradient passes back multiplied only by the forget gate: gradients reach further back
#   than in a plain RNN. Our cell equals `nn.LSTMCell`, our layer `nn.LSTM`.
# - The GRU uses a reset and an update gate; PyTorch's reset multiplies $W_{hn} h + b_{hn}$,
#   and $z = 1$ keeps the old state.
# - Text reaches an RNN as padded ids with lengths; the vocabulary comes from the training
#   split only; bucketing by length keeps padding small.
# - A BiLSTM with max-pooling and dropout learnt sentiment on SST-2 from scratch (80.2%); torch's
#   LSTM is the same function as ours, so we train with it (fast on GPUs, the one used in practice).
# - The gates are readable: forget gates near 1 are memory, input gates mark the words written in.
# - Bidirectional RNNs read each sentence both ways; on TREC the gain (1.4 points) was within
#   the test set's noise: compare a gain with the noise before believing it.
#
# ## References
#
# - S. Hochreiter and J. Schmidhuber (1997). *Long short-term memory.* Neural Computation 9(8).
# - F. A. Gers, J. Schmidhuber and F. Cummins (2000). *Learning to forget: continual prediction
#   with LSTM.* Neural Computation 12(10).
# - M. Schuster and K. K. Paliwal (1997). *Bidirectional recurrent neural networks.* IEEE
#   Transactions on Signal Processing 45(11).
# - K. Cho et al. (2014). *Learning phrase representations using RNN encoder-decoder for
#   statistical machine translation.* EMNLP.
# - Y. Kim (2014). *Convolutional neural networks for sentence classification.* EMNLP.
# - K. S. Tai, R. Socher and C. D. Manning (2015). *Improved semantic representations from
#   tree-structured long short-term memory networks.* ACL.
# - A. Conneau, D. Kiela, H. Schwenk, L. Barrault and A. Bordes (2017). *Supervised learning of
#   universal sentence representations from natural language inference data.* EMNLP.
# - R. Socher et al. (2013). *Recursive deep models for semantic compositionality over a
#   sentiment treebank.* EMNLP (SST). X. Li and D. Roth (2002). *Learning question
#   classifiers.* COLING (TREC).
