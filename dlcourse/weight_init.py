"""Weight initialisation from the formulas: Xavier/Glorot (2010) and Kaiming/He (2015).

The idea behind both: pick the spread of each layer's random weights so that the
variance of the activations (forward) or of the gradients (backward) stays the same from
layer to layer, instead of shrinking or exploding geometrically with depth.

* Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward
  neural networks": for a roughly linear (tanh-like) unit, Var(W) = 2 / (fan_in + fan_out),
  a compromise between keeping forward (1/fan_in) and backward (1/fan_out) variance.
* He et al. (2015), "Delving deep into rectifiers": ReLU zeroes half its inputs, halving
  the variance, so Var(W) = 2 / fan (fan_in or fan_out), in general gain^2 / fan.

A uniform U(-a, a) has variance a^2 / 3, so a = sqrt(3) * std. Every function samples with
``w.uniform_``/``w.normal_`` and computes its bound in the same floating-point order as
``torch.nn.init``, so with the same seed (or generator) the tensors are bit-identical.
"""
from __future__ import annotations

import math

import torch

__all__ = ["calculate_gain", "fan_in_and_fan_out", "xavier_uniform_", "xavier_normal_",
           "kaiming_uniform_", "kaiming_normal_"]

_LINEAR = {"linear", "identity", "conv1d", "conv2d", "conv3d",
           "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that restores unit variance after ``nonlinearity``: std = gain / sqrt(fan).

    linear/conv/sigmoid: 1. tanh: 5/3 (an empirical value, larger than 1 because tanh
    squashes). relu: sqrt 2, since half the inputs become 0 (He et al. 2015). leaky_relu
    with slope s: sqrt(2 / (1 + s^2)), since the negative half keeps s^2 of its variance.
    selu: 3/4 (torch's empirical choice).
    """
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope must be a number, got {param!r}.")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; use one of "
                     f"{sorted(_LINEAR | {'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'})}.")


def fan_in_and_fan_out(w: torch.Tensor) -> tuple[int, int]:
    """(inputs, outputs) feeding one unit, for a Linear (out, in) or Conv (out, in, *kernel) weight.

    A conv output unit sees ``in_channels * kernel_h * kernel_w`` inputs, and each input
    reaches ``out_channels * kernel_h * kernel_w`` outputs.
    """
    if w.dim() < 2:
        raise ValueError(f"fan_in_and_fan_out: needs a weight with at least 2 dims (out, in, ...), "
                         f"got shape {tuple(w.shape)}; biases are usually initialised to 0 instead.")
    receptive_field = 1
    for s in w.shape[2:]:
        receptive_field *= s
    return w.shape[1] * receptive_field, w.shape[0] * receptive_field


def _fan(w: torch.Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' (keep forward variance) or 'fan_out' (keep "
                         f"backward variance), got {mode!r}.")
    fan_in, fan_out = fan_in_and_fan_out(w)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(w: torch.Tensor, gain: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``w`` in place from U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot 2010, eq. 16)."""
    fan_in, fan_out = fan_in_and_fan_out(w)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std          # this order (not sqrt(6/...)) rounds exactly like torch
    with torch.no_grad():             # initialising is not part of the graph
        return w.uniform_(-a, a, generator=generator)


def xavier_normal_(w: torch.Tensor, gain: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``w`` in place from N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(w)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    with torch.no_grad():
        return w.normal_(0, std, generator=generator)


def kaiming_uniform_(w: torch.Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``w`` in place from U(-b, b), b = sqrt(3) * gain / sqrt(fan) (He et al. 2015).

    ``a`` is the negative slope of the leaky ReLU that follows (0: a plain ReLU, gain sqrt 2).
    nn.Linear's default init is this with a = sqrt(5), i.e. b = 1 / sqrt(fan_in).
    """
    fan = _fan(w, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    with torch.no_grad():
        return w.uniform_(-bound, bound, generator=generator)


def kaiming_normal_(w: torch.Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``w`` in place from N(0, std^2), std = gain / sqrt(fan): the paper's eq. 10, std = sqrt(2 / n_l)."""
    fan = _fan(w, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    with torch.no_grad():
        return w.normal_(0, std, generator=generator)
