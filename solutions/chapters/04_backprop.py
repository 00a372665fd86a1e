"""Worked solutions to the exercises of chapter 04 · Backprop by hand.

Run it from the repository root: ``python solutions/chapters/04_backprop.py``.
Each solution is followed by the same check the notebook runs (``dlcourse.exercises.chapters.ch04_backprop``);
a wrong answer raises ``dlcourse.CheckError``.
"""
import math

import torch

import dlcourse
from dlcourse.exercises.chapters import ch04_backprop as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: ELU, backwards
#
# A = ELU(Z) acts entry by entry, so dL/dZ = dL/dA * ELU'(Z), with
#   ELU'(z) = 1            for z > 0,
#   ELU'(z) = alpha e^z    for z <= 0 (at z = 0 this gives alpha, as PyTorch does).
# The exponent is clamped to <= 0 so that e^z cannot overflow in the branch that is not used.
def elu_backward(dA, cache):
    """dL/dZ for A = ELU(Z), given dA = dL/dA and cache = (Z, alpha)."""
    Z, alpha = cache
    local = torch.where(Z > 0, torch.ones_like(Z), alpha * torch.exp(Z.clamp(max=0)))
    return dA * local


exercises.check_elu_backward(elu_backward)


# %% Exercise 2: the gradient of the mean squared error
#
# L = (1/M) sum_k (pred_k - target_k)^2 with M = pred.numel(), so
# dL/dpred_k = (2/M) (pred_k - target_k), times the upstream dloss.
def mse_backward(dloss, cache):
    """dL/dpred for L = mean((pred - target)^2), times dloss; cache = (pred, target)."""
    pred, target = cache
    return dloss * 2 * (pred - target) / pred.numel()


exercises.check_mse_backward(mse_backward)


# %% Exercise 3: LeCun initialisation
#
# Var(w) = 1 / n_in keeps the forward variance of a linear(-ish) layer: std = 1 / sqrt(n_in).
# A weight is (n_out, n_in), so n_in = shape[1]. Drawing with .normal_(0, std, generator)
# consumes the generator exactly like torch.nn.init.kaiming_normal_(nonlinearity="linear"),
# whose gain is 1, so the two give the same numbers.
def lecun_normal(shape, generator=None):
    """A (n_out, n_in) weight drawn from N(0, 1 / n_in)."""
    n_out, n_in = shape
    return torch.empty(shape).normal_(0, 1 / math.sqrt(n_in), generator=generator)


exercises.check_lecun_normal(lecun_normal)
