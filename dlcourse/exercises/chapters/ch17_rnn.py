"""Checks of chapter 17's exercises: an RNN's forward pass over a sequence, the Jacobian of one
step (the factor that vanishes or explodes through time), and the persistence forecast's RMSE."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from dlcourse.checks import check_close, check_like_torch
from dlcourse.exercises import not_attempted

__all__ = ["check_rnn_forward", "check_step_jacobian", "check_persistence_rmse"]

_RNN_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def _torch_rnn(seed: int, input_size: int = 3, hidden_size: int = 5) -> nn.RNN:
    torch.manual_seed(seed)
    rnn = nn.RNN(input_size, hidden_size)
    with torch.no_grad():       # biases of different sizes, so a missing one shows
        rnn.bias_ih_l0.uniform_(-1, 1)
        rnn.bias_hh_l0.uniform_(-1, 1)
    return rnn


def check_rnn_forward(rnn_forward: Callable) -> None:
    """Exercise 1: rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh) -> outputs (T, N, H) == nn.RNN's."""
    __tracebackhide__ = True
    rnn = _torch_rnn(0)
    g = torch.Generator().manual_seed(1)
    x, h0 = torch.randn(6, 2, 3, generator=g), torch.randn(2, 5, generator=g)
    weights = [p.detach() for p in (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0)]
    if not_attempted(rnn_forward(x, h0, *weights), 1, "make rnn_forward return the outputs h_1..h_T, shape (T, N, H)."):
        return
    check_like_torch("rnn_forward vs nn.RNN", lambda x, h0, *w: rnn_forward(x, h0, *w),
                     lambda x, h0, *w: functional_call(rnn, dict(zip(_RNN_KEYS, w)), (x, h0[None]))[0],
                     x, h0, *weights,
                     hint="h_t = tanh(x_t @ W_ih.T + b_ih + h_(t-1) @ W_hh.T + b_hh) for t = 1..T, starting from "
                          "h0; stack the h_t (not h0) along a new first axis. Both biases count, the weights are "
                          "(out, in) like nn.Linear's, and the state carries over: use the new h_t at step t + 1.")


def check_step_jacobian(step_jacobian: Callable) -> None:
    """Exercise 2: step_jacobian(x, h_prev, W_ih, W_hh, b) = d h_t / d h_(t-1), (H, H), == autograd's."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(2)
    H, D = 4, 3
    x, h_prev = torch.randn(D, generator=g), torch.randn(H, generator=g)
    W_ih, W_hh, b = torch.randn(H, D, generator=g), torch.randn(H, H, generator=g), torch.randn(H, generator=g)
    got = step_jacobian(x, h_prev, W_ih, W_hh, b)
    if not_attempted(got, 2, "make step_jacobian return the (H, H) matrix d h_t / d h_(t-1)."):
        return
    expected = torch.autograd.functional.jacobian(lambda h: torch.tanh(W_ih @ x + W_hh @ h + b), h_prev)
    check_close("d h_t / d h_(t-1)", got, expected,
                hint="h_t = tanh(a) with a = W_ih x + W_hh h_(t-1) + b, so the Jacobian is diag(1 - h_t^2) @ W_hh: "
                     "row i is (1 - h_t[i]^2) times row i of W_hh. tanh's derivative is 1 - tanh(a)^2, taken at "
                     "the new state h_t (not at h_(t-1)), and it scales rows (outputs), not columns.")


def check_persistence_rmse(persistence_rmse: Callable) -> None:
    """Exercise 3: RMSE of "next value = this value" over values[start:] == the reference."""
    __tracebackhide__ = True
    values = np.array([5.0, 9.0, 4.0, 4.0, 10.0, 1.0, 3.0])
    got = persistence_rmse(values, 3)
    if not_attempted(got, 3, "make persistence_rmse(values, start) return one number."):
        return
    expected = float(np.sqrt(np.mean((values[3:] - values[2:-1]) ** 2)))
    check_close("persistence RMSE", torch.tensor(float(got), dtype=torch.float64),
                torch.tensor(expected, dtype=torch.float64),
                hint="The forecast of values[t] is values[t - 1]; the errors are values[start:] - values[start - 1:-1] "
                     "(one per target, none before start); RMSE = sqrt(mean(error^2)): the square root of the mean, "
                     "not the mean of absolute errors.")
