"""Checks of chapter 04's exercises (backprop by hand): ELU and MSE backwards, LeCun initialisation.

The backward passes follow the course's layer convention (``dlcourse.layers``):
``<piece>_backward(dout, cache)`` with the cache its forward would have stored.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.checks import check_close, check_like_torch
from dlcourse.exercises import not_attempted

__all__ = ["check_elu_backward", "check_mse_backward", "check_lecun_normal"]


def check_elu_backward(elu_backward: Callable) -> None:
    """Exercise 1: elu_backward(dA, (Z, alpha)) == autograd through F.elu, for two alphas, z = 0 included."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(0)
    Z = torch.cat([torch.randn(50, generator=g) * 3, torch.tensor([0.0, -30.0, 30.0])])
    dA = torch.randn(len(Z), generator=g)
    if not_attempted(elu_backward(dA, (Z, 0.5)), 1, "make elu_backward(dA, cache) return dA * ELU'(Z), "
                      "with Z, alpha = cache."):
        return
    for alpha in (0.5, 1.7):                   # two values: a forgotten alpha cannot pass by luck
        check_like_torch(f"elu_backward(dA, (Z, alpha={alpha}))", None, lambda Z: F.elu(Z, alpha=alpha), Z,
                         grad_output=dA, backward=lambda dA, Z: elu_backward(dA, (Z, alpha)), atol=1e-6,
                         hint="Multiply dA by the local derivative: 1 where z > 0, alpha * exp(z) where z <= 0. "
                              "Did you use alpha in the negative branch?")


def check_mse_backward(mse_backward: Callable) -> None:
    """Exercise 2: mse_backward(dloss, (pred, target)) == autograd through F.mse_loss."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(1)
    pred, target = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    if not_attempted(mse_backward(1.0, (pred, target)), 2, "make mse_backward(dloss, cache) return dloss * "
                      "dL/dpred for the mean squared error, with pred, target = cache."):
        return
    check_like_torch("mse_backward", None, lambda pred: F.mse_loss(pred, target), pred,
                     backward=lambda dloss, pred: mse_backward(dloss, (pred, target)),
                     hint="d/dpred of (pred - target)^2 is 2 (pred - target); the mean divides by the number of "
                          "entries, pred.numel(), not just the batch size; and multiply by dloss.")


def check_lecun_normal(lecun_normal: Callable) -> None:
    """Exercise 3: lecun_normal(shape, generator) draws what kaiming_normal_(nonlinearity="linear") draws."""
    __tracebackhide__ = True
    if not_attempted(lecun_normal((4, 3)), 3, "make lecun_normal(shape, generator) return an (n_out, n_in) "
                      "tensor from N(0, 1/n_in)."):
        return
    gen = lambda: torch.Generator().manual_seed(0)          # noqa: E731  a fresh generator per draw
    check_close("lecun_normal((300, 200))", lecun_normal((300, 200), gen()),
                nn.init.kaiming_normal_(torch.empty(300, 200), nonlinearity="linear", generator=gen()),
                hint="The standard deviation is 1 / sqrt(n_in), where n_in = shape[1] (the weight is "
                     "(n_out, n_in)); draw with torch.empty(shape).normal_(0, std, generator=generator).")
