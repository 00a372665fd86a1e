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
# # Assignment 7: an LSTM for sentiment
#
# You write an LSTM cell from its equations and prove it equal to `nn.LSTMCell`, learn to read
# a padded batch at each sentence's last real word, and train an LSTM classifier on SST-2
# (Socher et al. 2013): movie-review sentences labelled negative or positive.
#
# | task | what you write | points |
# |---|---|---|
# | Task 1 | `lstm_cell`: one LSTM step, gates in PyTorch's order | 4 |
# | Task 2 | `last_step`: each sequence's output at its last real step | 2 |
# | Task 3 | `SentimentLSTM`: embeddings, an LSTM, a linear head, padding-proof | 4 |
# | total | | 10 |
#
# **How to work.**
#
# 1. Run the setup cell below first.
# 2. Replace each `# YOUR CODE HERE` / `raise NotImplementedError()` with your code. Keep the
#    names, signatures and return values the docstrings give.
# 3. Run the test cell under each task. Tasks 1 and 2 compare your outputs **and gradients**
#    with PyTorch's (a right answer differs by rounding, about 1e-7; the tests allow
#    1e-5 + 1e-4 × |value|). A failing test names the usual mistake it recognises (gates in
#    another order, padding read as if it were a word...) and the fix. When you are graded the
#    same cells run hidden tests too (other sizes, seeds and batches). Each test cell scores
#    only its own task, so partial work earns partial credit: **do not call a function of one
#    task from another** (Task 3 may use `nn.LSTM` and writes its own indexing).
# 4. Before you submit: *Kernel → Restart & Run All* (or **Validate**) must run with no
#    errors. The notebook runs in about 20 seconds on a laptop CPU (Task 3 trains once).
#
# **Rules.**
#
# * Task 1: tensor arithmetic, `.chunk`, `torch.sigmoid`, `torch.tanh`; not `nn.LSTMCell`,
#   `nn.LSTM`, `torch.lstm_cell` or `dlcourse.models.rnn` (the list is
#   `dlcourse.exercises.assignments.a07_lstm_sentiment.READY_MADE_LSTMS`; the tests disable them).
# * Task 3 may use any `torch.nn` layer (`nn.Embedding`, `nn.LSTM`, `nn.Linear`...). Its test
#   traces your class once, for any batch size and sentence length (`torch.export`), and trains
#   the grader's copy of it: call `nn.LSTM` on the whole padded batch (no Python loop over the
#   time steps) and take the last real step by indexing; `pack_padded_sequence` cannot be traced.
# * Do not change the test cells (they are read-only and are replaced by the originals at
#   grading time).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import torch
import torch.nn as nn

from dlcourse.exercises.assignments.a07_lstm_sentiment import (check_last_step, check_lstm_cell, check_sentiment_padding,
                                                   check_sentiment_training)

_ = torch.manual_seed(0)  # `_ =`: no output

# %% [markdown]
# ## Task 1: the LSTM cell (4 points)
#
# An LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000) keeps a
# memory $c$ next to its state $h$. From the input $x$ and the previous $(h, c)$, one matrix
# product per input gives all four gate pre-activations at once:
#
# $$ \text{gates} = x W_{ih}^\top + b_{ih} + h W_{hh}^\top + b_{hh} \quad (N,\ 4H), $$
#
# and **PyTorch stacks the four blocks of H columns in the order i, f, g, o**:
#
# $$ i = \sigma(\cdot), \quad f = \sigma(\cdot), \quad g = \tanh(\cdot), \quad o = \sigma(\cdot), \qquad
#    c' = f \odot c + i \odot g, \qquad h' = o \odot \tanh(c'). $$
#
# $i$ (input gate) decides how much of the candidate $g$ enters the memory, $f$ (forget gate)
# how much of the old memory stays, $o$ (output gate) how much of the memory shows in $h'$.
# Return `(h', c')`. Shapes: `x` (N, input_size), `h` and `c` (N, H), `weight_ih` (4H,
# input_size), `weight_hh` (4H, H), biases (4H,). This is what `nn.LSTMCell` computes.

# %% nbgrader={"grade": false, "grade_id": "task1_lstm_cell", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """One LSTM step: returns (h', c'), each (N, H)."""
    ### BEGIN SOLUTION
    i, f, g, o = (x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_new), c_new
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task1_lstm_cell_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Task 1 tests: lstm_cell against nn.LSTMCell with the same weights, values and gradients
check_lstm_cell(lstm_cell)
check_lstm_cell(lstm_cell, n=2, d=3, h=2, seed=1)
### BEGIN HIDDEN TESTS
check_lstm_cell(lstm_cell, n=1, d=1, h=6, seed=71)
check_lstm_cell(lstm_cell, n=8, d=5, h=3, seed=72)
### END HIDDEN TESTS
print("lstm_cell: tests passed")

# %% [markdown]
# ## Task 2: the last real step of a padded batch (2 points)
#
# Sentences have different lengths, so a batch pads the shorter ones at the end with the
# `<pad>` token (id 0) up to the longest: `ids` (N, T_max), with `lengths` (N,) saying how many
# tokens of each row are real. An LSTM run over the padded batch returns `outputs`
# (N, T_max, H), and for a short sentence `outputs[:, -1]` is the state after reading padding.
# The sentence's summary is its state at its **own** last word, index `lengths[n] - 1`.
#
# Write `last_step(outputs, lengths)` -> (N, H) with row n equal to
# `outputs[n, lengths[n] - 1]`, without a Python loop (advanced indexing:
# `outputs[torch.arange(N), lengths - 1]`).

# %% nbgrader={"grade": false, "grade_id": "task2_last_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def last_step(outputs, lengths):
    """outputs (N, T, H), lengths (N,) -> (N, H): each sequence's output at index lengths[n] - 1."""
    ### BEGIN SOLUTION
    return outputs[torch.arange(outputs.shape[0]), lengths - 1]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task2_last_step_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 2 tests: last_step on padded outputs, values and gradients
check_last_step(last_step)
### BEGIN HIDDEN TESTS
check_last_step(last_step, lengths=(1,), hidden=3, seed=81)
check_last_step(last_step, lengths=(2, 9, 4, 9, 1, 6), hidden=5, seed=82)
### END HIDDEN TESTS
print("last_step: tests passed")

# %% [markdown]
# ### How the training data reach your model
#
# The course's text toolkit turns SST-2 into padded batches. The test of Task 3 trains your
# model exactly this way (`dlcourse.exercises.assignments.text_checks.train_text_classifier`): a
# vocabulary of the training split's words seen at least twice (index 0 `<pad>`, 1 `<unk>`),
# sentences cut to 30 tokens, batches of 64 sentences of similar length (`bucket=True`: little
# padding), and your model called as `model(ids, lengths)`. Run this cell to see a batch drawn
# without buckets, where the padding shows.

# %% nbgrader={"grade": false, "grade_id": "demo_batch", "locked": true, "schema_version": 3, "solution": false, "task": false}
from dlcourse.data import Vocab, load_sst2, text_loader, tokenize

sst2_train = load_sst2("train")
vocab = Vocab.build([tokenize(t) for t in sst2_train.texts], min_freq=2)
(ids, lengths), labels = next(iter(text_loader(sst2_train, vocab, batch_size=4, seed=1, bucket=False,
                                               max_length=30)))
print(f"{len(sst2_train)} training sentences, a vocabulary of {len(vocab)} tokens")
print("ids", tuple(ids.shape), "lengths", lengths.tolist(), "labels", labels.tolist())
print("shortest sentence:", " ".join(vocab.decode(ids[int(lengths.argmin())])))

# %% [markdown]
# ## Task 3: an LSTM sentiment classifier (4 points)
#
# Write `SentimentLSTM(vocab_size, num_classes)`, an `nn.Module` whose `forward(ids, lengths)`
# returns logits (N, num_classes) (raw scores: `F.cross_entropy` applies the softmax). A design
# that works:
#
# * `nn.Embedding(vocab_size, 32, padding_idx=0)`,
# * `nn.LSTM(32, 32, batch_first=True)`,
# * the output at each sentence's last real step (index `lengths - 1`, as in Task 2; write the
#   indexing again here),
# * `nn.Linear(32, num_classes)`.
#
# Two tests: padding must not count (the logits of a sentence stay the same when more `<pad>`
# follow it, and equal its logits alone), and training: 2 epochs of Adam (lr 1e-2) with
# `dlcourse.fit` on SST-2's 6,920 training sentences must reach **70% accuracy on the 872 dev
# sentences** (the design above reaches 76-78%; guessing reaches 50%). Training takes
# about 15 seconds, in float64 so that it scores the same on every machine (make any new tensor
# in your input's dtype, not with `.float()`); a much larger model may run past the grader's
# time limit.

# %% nbgrader={"grade": false, "grade_id": "task3_sentiment_lstm", "locked": false, "schema_version": 3, "solution": true, "task": false}
class SentimentLSTM(nn.Module):
    """Token ids (N, T) and lengths (N,) -> logits (N, num_classes)."""

    def __init__(self, vocab_size, num_classes=2, embed_dim=32, hidden_size=32):
        super().__init__()
        ### BEGIN SOLUTION
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, num_classes)
        ### END SOLUTION

    def forward(self, ids, lengths):
        ### BEGIN SOLUTION
        outputs, _ = self.lstm(self.embed(ids))                        # (N, T, hidden)
        return self.out(outputs[torch.arange(ids.shape[0]), lengths - 1])
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task3_sentiment_lstm_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Task 3 tests: padding does not count; then 2 epochs on SST-2 (about 10 s) and the dev accuracy
check_sentiment_padding(SentimentLSTM)
### BEGIN HIDDEN TESTS
check_sentiment_padding(SentimentLSTM, vocab_size=30, seed=91)
### END HIDDEN TESTS
check_sentiment_training(SentimentLSTM)
print("SentimentLSTM: tests passed")
