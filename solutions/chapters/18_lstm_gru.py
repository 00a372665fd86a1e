"""Worked solutions to the exercises of chapter 18 · LSTM, GRU and bidirectional RNNs.

Run it from the repository root: ``python solutions/chapters/18_lstm_gru.py``.
Each solution is followed by the same check the notebook runs (``dlcourse.exercises.chapters.ch18_lstm_gru``);
a wrong answer raises ``dlcourse.CheckError``.
"""
import torch

import dlcourse
from dlcourse.exercises.chapters import ch18_lstm_gru as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: a GRU cell from its equations
# PyTorch stacks the gates' rows as [r; z; n]. The reset gate multiplies the hidden part of the
# candidate, bias included: r * (W_hn h + b_hn). z interpolates: z = 1 keeps the old state.
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    """x (N, D), h (N, H) -> the new state (N, H)."""
    x_r, x_z, x_n = (x @ W_ih.T + b_ih).chunk(3, dim=-1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


exercises.check_gru_cell(gru_cell)


# %% Exercise 2: an LSTM's parameter count
# Per layer and direction: W_ih (4H x input), W_hh (4H x H), b_ih and b_hh (4H each). Layer 1
# reads input_size features; every deeper layer reads the concatenated directions below: D*H.
def lstm_parameter_count(input_size, hidden_size, num_layers=1, bidirectional=False):
    directions = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        inputs = input_size if layer == 0 else directions * hidden_size
        total += directions * (4 * hidden_size * (inputs + hidden_size) + 2 * 4 * hidden_size)
    return total


exercises.check_lstm_parameter_count(lstm_parameter_count)


# %% Exercise 3: max-pooling over the real steps only
# Padded steps are set to -inf, so they never win the max (a padding 0 would beat negative values).
def masked_max_pool(outputs, lengths):
    """outputs (N, T, F), lengths (N,) -> (N, F)."""
    padded = torch.arange(outputs.shape[1])[None, :] >= lengths[:, None]      # (N, T): True at padding
    return outputs.masked_fill(padded[..., None], float("-inf")).amax(dim=1)


exercises.check_masked_max_pool(masked_max_pool)
