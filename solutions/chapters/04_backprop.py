"""Worked solutions to the exercises of chapter 04 · Backprop by hand.

Run it from the repository root: ``python solutions/chapters/04_backprop.py``.
Each solution is followed by the same check the notebook runs; a wrong answer raises
``dlcourse.CheckError``.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

import dlcourse

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: ELU, backwards
#
# A = ELU(Z) acts entry by entry, so dL/dZ = dL/dA * ELU'(Z), with
#   ELU'(z) = 1            for z > 0,
#   ELU'(z) = alpha e^z    for z <= 0 (at z = 0 this gives alpha, as PyTorch does).
# The exponent is clamped to <= 0 so that e^z cannot overflow in the branch that is not used.
def elu_backward(Z, dA, alpha=1.0):
    """dL/dZ for A = ELU(Z), given dA = dL/dA."""
    local = torch.where(Z > 0, torch.ones_like(Z), alpha * torch.exp(Z.clamp(max=0)))
    return dA * local


torch.manual_seed(0)   # the notebook draws these after other random calls; any values will do
Z_ex = torch.cat([torch.randn(50) * 3, torch.tensor([0.0, -30.0, 30.0])])
dA_ex = torch.randn_like(Z_ex)
dlcourse.check_like_torch("elu_backward(Z, dA, alpha=0.5)", None, lambda Z: F.elu(Z, alpha=0.5), Z_ex,
                          grad_output=dA_ex, backward=lambda dA, Z: elu_backward(Z, dA, 0.5), atol=1e-6)


# %% Exercise 2: the gradient of the mean squared error
#
# L = (1/M) sum_k (pred_k - target_k)^2 with M = pred.numel(), so
# dL/dpred_k = (2/M) (pred_k - target_k).
def mse_backward(pred, target):
    """dL/dpred for L = mean((pred - target)^2)."""
    return 2 * (pred - target) / pred.numel()


pred_ex, target_ex = torch.randn(6, 3), torch.randn(6, 3)
dlcourse.check_like_torch("mse_backward", None, lambda pred: F.mse_loss(pred, target_ex), pred_ex,
                          backward=lambda g, pred: g * mse_backward(pred, target_ex))


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


def gen():
    return torch.Generator().manual_seed(0)


dlcourse.check_close("lecun_normal((300, 200))", lecun_normal((300, 200), gen()),
                     nn.init.kaiming_normal_(torch.empty(300, 200), nonlinearity="linear", generator=gen()))
w = lecun_normal((300, 200), gen())
print(f"lecun_normal: variance {w.var():.5f}, formula 1/n_in = {1 / 200:.5f}")
print("all chapter 04 exercise checks passed")
