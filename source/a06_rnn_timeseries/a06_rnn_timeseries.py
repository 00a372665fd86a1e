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
# # Assignment 6: an RNN that forecasts sunspots
#
# You write an Elman RNN from its equations, prove it equal to PyTorch's `nn.RNNCell` and
# `nn.RNN`, then forecast the yearly sunspot numbers (1700-2008, from statsmodels) one year
# ahead, better than the persistence forecast "next year = this year".
#
# | task | what you write | points |
# |---|---|---|
# | Task 1 | `rnn_cell`: one step of the RNN, from its equation | 3 |
# | Task 2 | `rnn_layer`: the cell unrolled over a batch of sequences | 3 |
# | Task 3 | `make_windows`: a series cut into (window, next value) pairs | 2 |
# | Task 4 | `Forecaster`: a model that beats persistence on the test years | 4 |
# | total | | 12 |
#
# **How to work.**
#
# 1. Run the setup cell below first.
# 2. Replace each `# YOUR CODE HERE` / `raise NotImplementedError()` with your code. Keep the
#    names, signatures and return values the docstrings give.
# 3. Run the test cell under each task. Tasks 1 and 2 compare your outputs **and gradients**
#    with PyTorch's, given the same weights (a right answer differs by rounding, about 1e-7;
#    the tests allow 1e-5 + 1e-4 × |value|). A failing test names the usual mistake it
#    recognises and the fix. When you are graded the same cells run hidden tests too (other
#    sizes, seeds and windows). Each test cell scores only its own task, so partial work earns
#    partial credit: **do not call a function of one task from another** (Task 2 writes the
#    step again, one line; Task 4 may use `nn.RNN`).
# 4. Before you submit: *Kernel → Restart & Run All* (or **Validate**) must run with no
#    errors. The notebook runs in about 20 seconds on a laptop CPU (Task 4 trains twice).
#
# **Rules.**
#
# * Tasks 1 and 2: tensor arithmetic (`@`, `+`, `.T`), `torch.tanh`, `torch.stack`,
#   `torch.zeros`; not `nn.RNNCell`, `nn.RNN`, `nn.GRU`, `nn.LSTM`, `torch.rnn_tanh*` or
#   `dlcourse.models.rnn` (the exact list is `dlcourse.exercises.assignments.a06_rnn_timeseries.READY_MADE_RNNS`;
#   the tests run your code with them disabled).
# * Task 4 may use any `torch.nn` layer.
# * Do not change the test cells (they are read-only and are replaced by the originals at
#   grading time).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import torch
import torch.nn as nn

from dlcourse.exercises.assignments.a06_rnn_timeseries import (check_forecaster, check_forecaster_shape, check_make_windows,
                                                   check_rnn_cell, check_rnn_layer)

_ = torch.manual_seed(0)  # `_ =`: no output

# %% [markdown]
# ## Task 1: the RNN cell (3 points)
#
# One step of an Elman RNN (Elman 1990) reads the input $x_t$ and the previous state
# $h_{t-1}$ and returns the new state:
#
# $$ h_t = \tanh\left(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}\right). $$
#
# Shapes, batch first: `x` (N, input_size), `h` (N, hidden_size), `weight_ih`
# (hidden_size, input_size), `weight_hh` (hidden_size, hidden_size), biases (hidden_size,).
# PyTorch stores a weight as (out_features, in_features), hence the transposes. This is exactly
# what `nn.RNNCell` computes, which is how the test checks you.

# %% nbgrader={"grade": false, "grade_id": "task1_rnn_cell", "locked": false, "schema_version": 3, "solution": true, "task": false}
def rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """One RNN step: tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), shape (N, hidden_size)."""
    ### BEGIN SOLUTION
    return torch.tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task1_rnn_cell_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Task 1 tests: rnn_cell against nn.RNNCell with the same weights, values and gradients
check_rnn_cell(rnn_cell)
check_rnn_cell(rnn_cell, n=2, d=6, h=3, seed=3)
### BEGIN HIDDEN TESTS
check_rnn_cell(rnn_cell, n=1, d=1, h=7, seed=11)
check_rnn_cell(rnn_cell, n=9, d=5, h=5, seed=12)
### END HIDDEN TESTS
print("rnn_cell: tests passed")

# %% [markdown]
# ## Task 2: the unrolled layer (3 points)
#
# An RNN layer runs the cell over time with the **same** weights at every step:
# $h_1 = \text{cell}(x_1, h_0)$, $h_2 = \text{cell}(x_2, h_1)$, ... `x` is (N, T, input_size),
# batch first; `h0` (N, hidden_size) is the initial state. Return
#
# * `outputs` (N, T, hidden_size): `outputs[:, t]` is the state after reading `x[:, t]`
#   (so $h_1 \dots h_T$; $h_0$ is not an output), and
# * `h_T` (N, hidden_size): the last state.
#
# This equals `nn.RNN(input_size, hidden_size, batch_first=True)` with the same weights. Write
# the step inside your loop (one line, as in Task 1; do not call `rnn_cell`) and collect the
# states in a list, then `torch.stack(states, dim=1)`: writing into a preallocated tensor in
# place would break autograd.

# %% nbgrader={"grade": false, "grade_id": "task2_rnn_layer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def rnn_layer(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    """The RNN over a batch of sequences x (N, T, input_size) from h0 (N, H): (outputs (N, T, H), h_T (N, H))."""
    ### BEGIN SOLUTION
    h, states = h0, []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)
        states.append(h)
    return torch.stack(states, dim=1), h
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task2_rnn_layer_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Task 2 tests: rnn_layer against nn.RNN(batch_first=True) with the same weights, values and gradients
check_rnn_layer(rnn_layer)
### BEGIN HIDDEN TESTS
check_rnn_layer(rnn_layer, n=1, t=1, d=3, h=2, seed=21)
check_rnn_layer(rnn_layer, n=4, t=15, d=1, h=8, seed=22)
### END HIDDEN TESTS
print("rnn_layer: tests passed")

# %% [markdown]
# ## Task 3: windows of a series (2 points)
#
# A forecaster learns from pairs (the last `window` values, the value that follows). Cut a 1-d
# series of length L into its L - window pairs:
#
# * `X[i] = series[i : i + window]`, shaped (window, 1) (one feature per time step), and
# * `y[i] = series[i + window]`, the next value.
#
# Return `X` (L - window, window, 1) and `y` (L - window,). Do not modify `series`. For
# `series = [0, 1, 2, 3, 4]` and `window = 3`: `X = [[[0], [1], [2]], [[1], [2], [3]]]`,
# `y = [3, 4]`.

# %% nbgrader={"grade": false, "grade_id": "task3_make_windows", "locked": false, "schema_version": 3, "solution": true, "task": false}
def make_windows(series, window):
    """(X (L - window, window, 1), y (L - window,)) with X[i] = series[i:i+window], y[i] = series[i+window]."""
    ### BEGIN SOLUTION
    X = torch.stack([series[i:i + window] for i in range(len(series) - window)])
    return X.unsqueeze(-1), series[window:].clone()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task3_make_windows_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 3 tests: make_windows on small series
check_make_windows(make_windows, torch.arange(5.0), 3)
check_make_windows(make_windows, torch.linspace(-1, 1, 20), 6)
### BEGIN HIDDEN TESTS
check_make_windows(make_windows, torch.randn(40, generator=torch.Generator().manual_seed(31)), 12)
check_make_windows(make_windows, torch.tensor([2.0, -1.0]), 1)
### END HIDDEN TESTS
print("make_windows: tests passed")

# %% [markdown]
# ## Task 4: a forecaster that beats persistence (4 points)
#
# Write `Forecaster`, an `nn.Module` whose `forward(x)` takes a batch of windows `x`
# (N, window, 1) of normalised sunspot numbers and returns the next year's value for each
# window, shape (N,). A good design: an `nn.RNN(1, hidden_size, batch_first=True)`, then an
# `nn.Linear(hidden_size, 1)` on the last state $h_T$, and `.squeeze(-1)`. `Forecaster()` must
# work with no arguments (give `__init__`'s arguments defaults).
#
# The test traces your class once (`torch.export`: forward may branch on shapes, not on a
# tensor's values), rebuilds it in the grader with every layer started as PyTorch starts it,
# and trains that copy with the course's driver,
# `dlcourse.exercises.assignments.a06_rnn_timeseries.train_forecaster`: it normalises the series with the
# mean and standard deviation of the training years, cuts windows, trains 60 epochs with Adam
# (lr 1e-2, batches of 32, MSE) through `dlcourse.fit`, and forecasts the last 60 years
# (1949-2008). Your model passes when its test RMSE is below the persistence forecast's,
# 32.9 sunspots; a small RNN reaches about 20 in a few seconds. The hidden test trains it
# again with another seed and window length.

# %% nbgrader={"grade": false, "grade_id": "task4_forecaster", "locked": false, "schema_version": 3, "solution": true, "task": false}
class Forecaster(nn.Module):
    """Windows (N, window, 1) -> next values (N,)."""

    def __init__(self, hidden_size=32):
        super().__init__()
        ### BEGIN SOLUTION
        self.rnn = nn.RNN(1, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        _, h_n = self.rnn(x)                  # h_n (1, N, hidden): the state after the last year
        return self.head(h_n[-1]).squeeze(-1)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task4_forecaster_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Task 4 tests: the output's shape, then training (about 5 s) and the test years' RMSE against persistence
check_forecaster_shape(Forecaster)
check_forecaster(Forecaster, seed=0, window=12)
### BEGIN HIDDEN TESTS
check_forecaster(Forecaster, seed=1, window=8)
### END HIDDEN TESTS
print("Forecaster: tests passed")
