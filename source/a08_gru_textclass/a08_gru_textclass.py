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
# # Assignment 8: a GRU for question classification
#
# You write a GRU cell from its equations and prove it equal to `nn.GRUCell`, average a padded
# batch over its real steps only, and train a GRU that classifies TREC questions (Li & Roth
# 2002) into six types: description, entity, abbreviation, human, location, number.
#
# | task | what you write | points |
# |---|---|---|
# | Task 1 | `gru_cell`: one GRU step, as PyTorch computes it | 4 |
# | Task 2 | `masked_mean`: a mean over time in which padding does not count | 3 |
# | Task 3 | `QuestionGRU`: embeddings, a GRU, masked mean pooling, a linear head | 4 |
# | total | | 11 |
#
# **How to work.**
#
# 1. Run the setup cell below first.
# 2. Replace each `# YOUR CODE HERE` / `raise NotImplementedError()` with your code. Keep the
#    names, signatures and return values the docstrings give.
# 3. Run the test cell under each task. Tasks 1 and 2 compare your outputs **and gradients**
#    with PyTorch's (a right answer differs by rounding, about 1e-7; the tests allow
#    1e-5 + 1e-4 × |value|). A failing test names the usual mistake it recognises (the reset
#    gate in the wrong place, padding counted in a mean...) and the fix. When you are graded
#    the same cells run hidden tests too (other sizes, seeds and batches). Each test cell
#    scores only its own task, so partial work earns partial credit: **do not call a function
#    of one task from another** (Task 3 may use `nn.GRU` and writes its own pooling).
# 4. Before you submit: *Kernel → Restart & Run All* (or **Validate**) must run with no
#    errors. The notebook runs in about 15 seconds on a laptop CPU (Task 3 trains once).
#
# **Rules.**
#
# * Task 1: tensor arithmetic, `.chunk`, `torch.sigmoid`, `torch.tanh`; not `nn.GRUCell`,
#   `nn.GRU`, `torch.gru_cell` or `dlcourse.models.rnn` (the list is
#   `dlcourse.exercises.assignments.a08_gru_textclass.READY_MADE_GRUS`; the tests disable them).
# * Task 2: tensor operations only (`torch.arange`, comparisons, `.sum`, broadcasting); no loop
#   over the batch is needed.
# * Task 3 may use any `torch.nn` layer (`nn.Embedding`, `nn.GRU`, `nn.Linear`...).
# * Do not change the test cells (they are read-only and are replaced by the originals at
#   grading time).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import torch
import torch.nn as nn

from dlcourse.exercises.assignments.a08_gru_textclass import (check_classifier_padding, check_classifier_training,
                                                  check_gru_cell, check_masked_mean)

_ = torch.manual_seed(0)  # `_ =`: no output

# %% [markdown]
# ## Task 1: the GRU cell (4 points)
#
# A GRU (Cho et al. 2014) has no separate memory: two gates decide how to update $h$. With
# the three gate blocks stacked **in the order r, z, n** in each weight, as PyTorch stores
# them (`weight_ih` (3H, input_size), `weight_hh` (3H, H), biases (3H,)):
#
# $$ r = \sigma(x W_{ir}^\top + b_{ir} + h W_{hr}^\top + b_{hr}), \qquad
#    z = \sigma(x W_{iz}^\top + b_{iz} + h W_{hz}^\top + b_{hz}), $$
# $$ n = \tanh\big(x W_{in}^\top + b_{in} + r \odot (h W_{hn}^\top + b_{hn})\big), \qquad
#    h' = (1 - z) \odot n + z \odot h . $$
#
# Note where the reset gate $r$ acts: on the hidden state's **linear part**
# $h W_{hn}^\top + b_{hn}$, after the product. That is PyTorch's (and cuDNN's) form; the paper
# wrote $W_{hn}(r \odot h)$, a different function that the test recognises and rejects. Compute
# `x @ weight_ih.T + bias_ih` and `h @ weight_hh.T + bias_hh` once each and split both with
# `.chunk(3, dim=1)`. `z` near 1 keeps the old state. This is what `nn.GRUCell` computes.

# %% nbgrader={"grade": false, "grade_id": "task1_gru_cell", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """One GRU step: returns h' (N, H)."""
    ### BEGIN SOLUTION
    x_r, x_z, x_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task1_gru_cell_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Task 1 tests: gru_cell against nn.GRUCell with the same weights, values and gradients
check_gru_cell(gru_cell)
check_gru_cell(gru_cell, n=2, d=3, h=2, seed=1)
### BEGIN HIDDEN TESTS
check_gru_cell(gru_cell, n=1, d=1, h=6, seed=101)
check_gru_cell(gru_cell, n=7, d=5, h=3, seed=102)
### END HIDDEN TESTS
print("gru_cell: tests passed")

# %% [markdown]
# ## Task 2: a mean in which padding does not count (3 points)
#
# A batch of questions is padded at the end up to the longest one; `lengths` (N,) says how
# many steps of each row are real. A GRU runs over the padding too, so `outputs` (N, T, H)
# holds values (not zeros) at padded steps. To summarise a question, average its outputs over
# its **real** steps only:
#
# $$ \text{mean}_n = \frac{1}{\text{lengths}_n} \sum_{t < \text{lengths}_n} \text{outputs}_{n, t} . $$
#
# Build a mask of the real steps, `torch.arange(T)[None, :] < lengths[:, None]` (N, T), multiply
# (the mask as a float, with a trailing dimension to broadcast over H), sum over time and
# divide by each length. Return (N, H).

# %% nbgrader={"grade": false, "grade_id": "task2_masked_mean", "locked": false, "schema_version": 3, "solution": true, "task": false}
def masked_mean(outputs, lengths):
    """outputs (N, T, H), lengths (N,) -> (N, H): each row's mean over its first lengths[n] steps."""
    ### BEGIN SOLUTION
    mask = (torch.arange(outputs.shape[1])[None, :] < lengths[:, None]).to(outputs.dtype)   # (N, T)
    return (outputs * mask.unsqueeze(-1)).sum(dim=1) / lengths[:, None].to(outputs.dtype)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task2_masked_mean_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Task 2 tests: masked_mean with non-zero values at the padded steps, values and gradients
check_masked_mean(masked_mean)
### BEGIN HIDDEN TESTS
check_masked_mean(masked_mean, lengths=(4,), hidden=2, seed=111)
check_masked_mean(masked_mean, lengths=(1, 8, 3, 8, 2), hidden=6, seed=112)
### END HIDDEN TESTS
print("masked_mean: tests passed")

# %% [markdown]
# ## Task 3: a GRU question classifier (4 points)
#
# Write `QuestionGRU(vocab_size, num_classes)`, an `nn.Module` whose `forward(ids, lengths)`
# returns logits (N, num_classes) (raw scores: `F.cross_entropy` applies the softmax). A design
# that works:
#
# * `nn.Embedding(vocab_size, 32, padding_idx=0)` (id 0 is `<pad>`),
# * `nn.GRU(32, 32, batch_first=True)`,
# * the masked mean of the GRU's outputs over each question's real steps (as in Task 2: write
#   it again here),
# * `nn.Linear(32, num_classes)`.
#
# Two tests: padding must not count (a question's logits stay the same when more `<pad>`
# follow it, and equal its logits alone), and training with the course's driver
# (`dlcourse.exercises.assignments.text_checks.train_text_classifier`, on the grader's copy of your
# class, traced once for any batch and length: call `nn.GRU` on the whole padded batch, no Python
# loop over the time steps): the text toolkit's vocabulary
# of the training questions' words seen at least twice, batches of 64 questions of similar
# length, `model(ids, lengths)`, 2 epochs of Adam (lr 1e-2) with `dlcourse.fit` on TREC's
# 5,452 training questions, must reach **75% accuracy on the 500 test questions** (the design
# above reaches 83-86%; always answering the most common type, 28%). Training takes about
# 10 seconds, in float64 so that it scores the same on every machine (make any new tensor in
# your input's dtype, not with `.float()`).

# %% nbgrader={"grade": false, "grade_id": "task3_question_gru", "locked": false, "schema_version": 3, "solution": true, "task": false}
class QuestionGRU(nn.Module):
    """Token ids (N, T) and lengths (N,) -> logits (N, num_classes)."""

    def __init__(self, vocab_size, num_classes=6, embed_dim=32, hidden_size=32):
        super().__init__()
        ### BEGIN SOLUTION
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.gru = nn.GRU(embed_dim, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, num_classes)
        ### END SOLUTION

    def forward(self, ids, lengths):
        ### BEGIN SOLUTION
        outputs, _ = self.gru(self.embed(ids))                                    # (N, T, hidden)
        mask = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1).to(outputs.dtype)
        return self.out((outputs * mask).sum(dim=1) / lengths[:, None].to(outputs.dtype))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task3_question_gru_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Task 3 tests: padding does not count; then 2 epochs on TREC (about 10 s) and the test accuracy
check_classifier_padding(QuestionGRU)
### BEGIN HIDDEN TESTS
check_classifier_padding(QuestionGRU, vocab_size=30, seed=121)
### END HIDDEN TESTS
check_classifier_training(QuestionGRU)
print("QuestionGRU: tests passed")
