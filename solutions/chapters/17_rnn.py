"""Worked solutions to the exercises of chapter 17 · Recurrent neural networks.

Run it from the repository root: ``python solutions/chapters/17_rnn.py``.
Each solution is followed by the same check the notebook runs (``dlcourse.exercises.chapters.ch17_rnn``);
a wrong answer raises ``dlcourse.CheckError``.
"""
import numpy as np
import torch

import dlcourse
from dlcourse.exercises.chapters import ch17_rnn as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: the recurrence over a whole sequence
# The state carries over: step t reads h_(t-1), the state step t - 1 produced. The outputs are
# h_1..h_T (h0 is the given start, not an output), stacked along time: (T, N, H), as nn.RNN.
def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    """x (T, N, D), h0 (N, H) -> outputs (T, N, H) of a tanh RNN."""
    h, outputs = h0, []
    for x_t in x:
        h = torch.tanh(x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
        outputs.append(h)
    return torch.stack(outputs)


exercises.check_rnn_forward(rnn_forward)


# %% Exercise 2: the Jacobian of one step
# h_t = tanh(a), a = W_ih x + W_hh h_(t-1) + b. By the chain rule dh_t/dh_(t-1) = diag(tanh'(a)) W_hh,
# and tanh'(a) = 1 - tanh(a)^2 = 1 - h_t^2: each row i of W_hh scaled by (1 - h_t[i]^2). Backprop
# through T steps multiplies T such matrices: their norms below or above 1 vanish or explode.
def step_jacobian(x, h_prev, W_ih, W_hh, b):
    """d h_t / d h_(t-1) of one tanh step, an (H, H) matrix (row: output unit, column: input unit)."""
    h = torch.tanh(W_ih @ x + W_hh @ h_prev + b)
    return (1 - h ** 2)[:, None] * W_hh


exercises.check_step_jacobian(step_jacobian)


# %% Exercise 3: the persistence forecast's RMSE
# The forecast of values[t] is values[t - 1]; one error per target t >= start.
def persistence_rmse(values, start):
    values = np.asarray(values, dtype=np.float64)
    errors = values[start:] - values[start - 1:-1]
    return float(np.sqrt(np.mean(errors ** 2)))


exercises.check_persistence_rmse(persistence_rmse)
