"""Activation functions from elementary tensor operations, each equal to PyTorch's.

Every function here is built from ``torch.where``, ``torch.exp``/``expm1``, ``torch.erf``
and arithmetic, never from ``torch.nn.functional``, so that nothing is hidden; autograd
differentiates them, and ``tests/test_activations.py`` checks values *and* gradients
against torch, at ordinary and at extreme inputs.

Two numerical lessons run through the file:

* ``exp`` overflows to ``inf`` in float32 above x ~ 88. Sigmoid, tanh and softmax are
  rewritten so that ``exp`` only ever sees non-positive arguments.
* ``torch.where`` differentiates *both* branches and multiplies the unused one by 0; if
  that branch is ``inf`` the gradient becomes ``0 * inf = nan``. So the input to each
  branch is made safe first (the "double where" trick), not just its output selected.

References: ReLU, Nair & Hinton (2010); Leaky ReLU, Maas et al. (2013); PReLU, He et al.
(2015), "Delving deep into rectifiers"; ELU, Clevert et al. (2016); GELU, Hendrycks &
Gimpel (2016); softmax, Bridle (1990).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F   # only for the torch equivalents in TORCH_ACTIVATIONS

__all__ = ["relu", "leaky_relu", "prelu", "elu", "gelu", "sigmoid", "tanh", "softmax",
           "log_softmax", "PReLU", "ACTIVATIONS", "TORCH_ACTIVATIONS"]


def _no_inplace(who: str, inplace: bool) -> None:
    # in F.*'s slot, so a positional call means what it means in torch; writing over the input is
    # left out because autograd needs the input these references compute the gradient from
    if inplace:
        raise ValueError(f"{who}: inplace=True is left out of dlcourse on purpose (the references return a new "
                         f"tensor, so autograd keeps the input); write x = {who}(x) instead.")


def relu(x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """max(0, x). ``x <= 0`` (not ``x > 0``) keeps NaN as NaN, as torch does; slope 0 at 0."""
    _no_inplace("relu", inplace)
    return torch.where(x <= 0, 0.0, x)


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.01, inplace: bool = False) -> torch.Tensor:
    """x for x > 0, ``negative_slope * x`` otherwise: negative inputs keep a small gradient."""
    _no_inplace("leaky_relu", inplace)
    return torch.where(x > 0, x, x * negative_slope)


def prelu(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU whose slope is learned: one value, or one per channel (dim 1), like F.prelu."""
    if weight.numel() == 1:
        w = weight.reshape(())
    else:
        if x.dim() < 2 or x.shape[1] != weight.numel():
            raise ValueError(f"prelu: weight has {weight.numel()} values, one per channel, but the input of "
                             f"shape {tuple(x.shape)} has {x.shape[1] if x.dim() >= 2 else 1} channel(s) in "
                             "dim 1; use a single weight or num_parameters = x.shape[1].")
        shape = [1] * x.dim()
        shape[1] = -1                    # (1, C, 1, 1, ...) broadcasts over batch and space
        w = weight.reshape(shape)
    return torch.where(x > 0, x, w * x)


def elu(x: torch.Tensor, alpha: float = 1.0, inplace: bool = False) -> torch.Tensor:
    """x for x > 0, alpha (e^x - 1) otherwise: smooth, and negative outputs push means to 0.

    ``expm1`` is e^x - 1 without the cancellation near 0. The exponent is clamped to 0
    for positive x through a ``where``: e^1000 would be inf and poison the gradient.
    """
    _no_inplace("elu", inplace)
    safe = torch.where(x > 0, 0.0, x)
    return torch.where(x > 0, x, alpha * torch.expm1(safe))


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """1 / (1 + e^-x), never calling exp on a positive number.

    For x >= 0 use 1 / (1 + e^-x); for x < 0 the equal form e^x / (1 + e^x). Both need
    e^-|x| in (0, 1]. ``-|x|`` is written as a ``where`` rather than ``-x.abs()`` because
    the derivative of abs at 0 is 0 in torch, which would give sigmoid'(0) = 0.
    """
    pos = x >= 0
    e = torch.exp(torch.where(pos, -x, x))          # e^-|x|: no overflow
    return torch.where(pos, 1.0, e) / (1 + e)


def tanh(x: torch.Tensor) -> torch.Tensor:
    """(e^x - e^-x) / (e^x + e^-x), stable at any |x|, accurate near 0 and in the tails.

    tanh is odd, and with e = e^(-2|x|) in (0, 1]: tanh|x| = (1 - e) / (1 + e). Near 0,
    1 - e cancels (tanh(1e-8) would come out 0), so there ``-expm1`` computes it without
    cancellation. Not everywhere: expm1's gradient is (expm1 + 1), which rounds to 0 in
    float32 once e < 6e-8, and GELU's tanh form multiplies that error by ~x^2.
    """
    pos = x >= 0
    z = 2 * torch.where(pos, -x, x)                  # -2|x| <= 0: exp cannot overflow
    e = torch.exp(z)
    num = torch.where(z > -1, -torch.expm1(z), 1 - e)
    r = num / (1 + e)                                # = tanh|x|
    return torch.where(pos, r, -r)


def gelu(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    """x Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel 2016).

    ``approximate="none"``: Phi(x) = (1 + erf(x / sqrt 2)) / 2, exact.
    ``approximate="tanh"``: Phi(x) ~ (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2, the form
    BERT and GPT-2 used. Constants and operation order follow torch's kernel.
    """
    if approximate == "none":
        return x * 0.5 * (1 + torch.erf(x * (1 / math.sqrt(2))))
    if approximate == "tanh":
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1 + tanh(inner))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}.")


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """e^x_i / sum_j e^x_j along ``dim``, computed as e^(x_i - max) / sum_j e^(x_j - max).

    Subtracting the max changes nothing mathematically (it cancels) but keeps every
    exponent <= 0, so [1000, 1000] gives [0.5, 0.5] instead of inf / inf = nan. The max is
    a constant shift, so it is detached: no gradient needs to flow through it.
    """
    z = x - x.amax(dim=dim, keepdim=True).detach()
    e = torch.exp(z)
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """x_i - log sum_j e^x_j, via the same max shift (the log-sum-exp trick).

    Better than log(softmax(x)): a probability that underflows to 0 would give -inf,
    while the log-domain value stays finite (e.g. -2000).
    """
    z = x - x.amax(dim=dim, keepdim=True).detach()
    return z - torch.log(torch.exp(z).sum(dim=dim, keepdim=True))


class PReLU(nn.Module):
    """Parametric ReLU (He et al. 2015) with learned negative slopes, initialised to ``init``.

    Same constructor, parameter name (``weight``) and shape as ``nn.PReLU``, so state
    dicts load into each other.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = nn.Parameter(torch.full((num_parameters,), float(init), device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


# name -> activation, each taking one tensor: the same meaning as a chapter's own table of
# activations. TORCH_ACTIVATIONS holds PyTorch's function under the same name, for parity checks.
ACTIVATIONS = {
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "gelu": gelu,
    "gelu_tanh": lambda x: gelu(x, approximate="tanh"),
    "sigmoid": sigmoid,
    "tanh": tanh,
}
TORCH_ACTIVATIONS = {
    "relu": F.relu,
    "leaky_relu": F.leaky_relu,
    "elu": F.elu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
}
