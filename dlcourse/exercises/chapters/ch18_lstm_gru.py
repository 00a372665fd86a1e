"""Checks of chapter 18's exercises: a GRU cell from its equations, an LSTM's parameter count,
and max-pooling over the real (unpadded) time steps."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.func import functional_call

from dlcourse.checks import CheckError, check_close, check_like_torch
from dlcourse.exercises import not_attempted
from dlcourse.profiling import count_params

__all__ = ["check_gru_cell", "check_lstm_parameter_count", "check_masked_max_pool"]


def check_gru_cell(gru_cell: Callable) -> None:
    """Exercise 1: gru_cell(x, h, W_ih, W_hh, b_ih, b_hh) == nn.GRUCell with the same weights."""
    __tracebackhide__ = True
    torch.manual_seed(0)
    cell = nn.GRUCell(3, 4)
    with torch.no_grad():
        cell.bias_hh.uniform_(-1, 1)      # large b_hn: where it sits (inside r * (...)) shows
    g = torch.Generator().manual_seed(1)
    x, h = torch.randn(5, 3, generator=g), torch.randn(5, 4, generator=g)
    weights = [p.detach() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    if not_attempted(gru_cell(x, h, *weights), 1, "make gru_cell return the new state h_t, shape (N, H)."):
        return
    check_like_torch("gru_cell vs nn.GRUCell", gru_cell, 
                     lambda x, h, *w: functional_call(cell, dict(zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), w)),
                                                      (x, h)),
                     x, h, *weights,
                     hint="Rows of W_ih and W_hh are [r; z; n] (in that order). r = sigmoid(W_ir x + b_ir + W_hr h + "
                          "b_hr), z likewise, n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) (the reset gate multiplies "
                          "the hidden part including its bias), and h_t = (1 - z) * n + z * h: z keeps the OLD state.")


def check_lstm_parameter_count(lstm_parameter_count: Callable) -> None:
    """Exercise 2: lstm_parameter_count(input_size, hidden_size, num_layers, bidirectional) == nn.LSTM's."""
    __tracebackhide__ = True
    cases = [(10, 20, 1, False), (10, 20, 2, False), (10, 20, 1, True), (7, 16, 3, True)]
    first = lstm_parameter_count(*cases[0])
    if not_attempted(first, 2, "make lstm_parameter_count return a whole number."):
        return
    for case in cases:
        got = lstm_parameter_count(*case)
        expected = count_params(nn.LSTM(case[0], case[1], num_layers=case[2], bidirectional=case[3]))
        if got != expected:
            raise CheckError(
                f"lstm_parameter_count{case} = {got}, but nn.LSTM{case} has {expected} parameters. Per layer and "
                "direction: W_ih (4H, input), W_hh (4H, H), and two biases of 4H (b_ih and b_hh: PyTorch keeps "
                "both). Layer 1's input is input_size; a deeper layer reads the layer below, whose output has "
                "H features per direction (2H when bidirectional).")
    print(f"lstm_parameter_count: OK, equal to nn.LSTM's count for {len(cases)} configurations")


def check_masked_max_pool(masked_max_pool: Callable) -> None:
    """Exercise 3: masked_max_pool(outputs (N, T, F), lengths (N,)) = the max over each row's real steps."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(3)
    outputs = torch.randn(4, 6, 5, generator=g) - 2.0          # mostly negative: padding zeros would win
    lengths = torch.tensor([6, 2, 4, 1])
    for row, n in enumerate(lengths):
        outputs[row, n:] = 0.0                                 # padded steps hold 0, as an RNN's outputs do
    got = masked_max_pool(outputs, lengths)
    if not_attempted(got, 3, "make masked_max_pool return the (N, F) maxima over the real steps."):
        return
    expected = torch.stack([outputs[row, :n].amax(0) for row, n in enumerate(lengths)])
    check_close("masked_max_pool", got, expected,
                hint="Steps t >= lengths[i] are padding: exclude them before the max, e.g. set them to -inf with "
                     "outputs.masked_fill(mask, float('-inf')) where mask[i, t] = t >= lengths[i] (broadcast over "
                     "features). Filling with 0 is not enough: real activations can all be negative.")
