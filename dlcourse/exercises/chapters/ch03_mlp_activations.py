"""Checks of chapter 03's exercises (MLP and activations): a stable softplus, SiLU's derivative, counting parameters."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from dlcourse.checks import check_close, check_like_torch
from dlcourse.exercises import not_attempted
from dlcourse.profiling import count_params

__all__ = ["X_TEST", "SIZES", "check_softplus", "check_d_silu", "check_count_parameters"]

# The notebook's test inputs: an ordinary range, the kink at 0, and values where a naive
# exp overflows in float32.
X_TEST = torch.cat([torch.linspace(-6, 6, 121), torch.tensor([0.0, -1e-3, 1e-3, -30.0, 30.0, -100.0, 100.0])])
# The MLPs of exercise 3, as layer widths [in, hidden..., out].
SIZES = [[2, 2, 2], [64, 256, 128, 10], [784, 512, 512, 10], [10, 1]]


def check_softplus(softplus: Callable) -> None:
    """Exercise 1: softplus(x) == F.softplus(x) on X_TEST, +-100 included."""
    __tracebackhide__ = True
    if not_attempted(softplus(X_TEST.clone()), 1, "make softplus(x) return log(1 + e^x) without overflow "
                      "(hint: max(x, 0) + log1p(exp(-|x|)))."):
        return
    check_close("softplus(x)", softplus(X_TEST.clone()), F.softplus(X_TEST), atol=1e-6,
                hint="Large positive x should give x itself: is exp(x) overflowing? Large negative "
                     "x should give about e^x, not 0 through 1 + tiny = 1: use log1p.")


def check_d_silu(d_silu: Callable) -> None:
    """Exercise 2: d_silu(x) == the gradient autograd computes through F.silu, on X_TEST."""
    __tracebackhide__ = True
    if not_attempted(d_silu(X_TEST.clone()), 2, "make d_silu(x) return the derivative of x * sigmoid(x), "
                      "written with sigmoid(x) and the product rule."):
        return
    check_like_torch("silu", None, F.silu, X_TEST, backward=lambda g, x: g * d_silu(x), atol=1e-6,
                     hint="The product rule gives two terms: sigmoid(x) + x * sigmoid'(x), and "
                          "sigmoid'(x) = sigmoid(x) * (1 - sigmoid(x)).")


def check_count_parameters(count_parameters: Callable) -> None:
    """Exercise 3: count_parameters(sizes) == the number of parameters of MLP(sizes), for the four SIZES."""
    __tracebackhide__ = True
    from dlcourse.models import MLP
    if not_attempted(count_parameters(list(SIZES[0])), 3, "make count_parameters(sizes) return the number of "
                      "weights and biases, layer by layer."):
        return
    check_close("count_parameters for 4 MLPs", torch.tensor([count_parameters(list(s)) for s in SIZES]),
                torch.tensor([count_params(MLP(s)) for s in SIZES]), atol=0.5,
                hint="Layer l has a (sizes[l+1], sizes[l]) weight matrix and a bias of "
                     "sizes[l+1] entries; did you forget the biases?")
