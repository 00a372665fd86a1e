"""Checks of chapter 13's exercises: a depthwise convolution from unfold, squeeze-and-excitation,
EfficientNet's compound scaling of one stage."""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import SqueezeExcitation

from dlcourse.checks import CheckError, check_like_torch, forbid
from dlcourse.exercises import not_attempted

__all__ = ["check_depthwise_conv2d", "check_squeeze_excitation", "check_scale_stage"]

_CONVOLUTIONS = ("torch.nn.functional.conv2d", "torch.conv2d")


def check_depthwise_conv2d(depthwise_conv2d: Callable) -> None:
    """Exercise 1: depthwise_conv2d(x, weight, stride, padding) == F.conv2d(..., groups=C), without conv2d."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(13)
    x = torch.randn(2, 5, 7, 7, generator=g)
    weight = torch.randn(5, 1, 3, 3, generator=g)
    with forbid(_CONVOLUTIONS, "this exercise builds the depthwise convolution from F.unfold"):
        if not_attempted(depthwise_conv2d(x, weight, 1, 1), 1,
                         "make depthwise_conv2d filter each channel with its own k x k kernel."):
            return
        for stride, padding in ((1, 1), (2, 0), (2, 1)):
            check_like_torch(f"depthwise_conv2d(stride={stride}, padding={padding})",
                             lambda x, w, stride=stride, padding=padding: depthwise_conv2d(x, w, stride, padding),
                             lambda x, w, stride=stride, padding=padding: _reference_depthwise(x, w, stride, padding),
                             x, weight,
                             hint="F.unfold(x, k, padding=padding, stride=stride) gives (N, C * k * k, L) with each "
                                  "channel's k * k values together (channel-major): view it as (N, C, k * k, L), "
                                  "multiply by weight.view(1, C, k * k, 1) and sum over the k * k axis only (summing "
                                  "over channels too is an ordinary convolution), then view as (N, C, H_out, W_out).")


def _reference_depthwise(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int) -> torch.Tensor:
    """F.conv2d with groups = C, called on torch's own function even while the exercise forbids it."""
    return _TORCH_CONV2D(x, weight, stride=stride, padding=padding, groups=x.shape[1])


_TORCH_CONV2D = F.conv2d      # bound at import, before any `forbid` block replaces F.conv2d


def check_squeeze_excitation(squeeze_excitation: Callable) -> None:
    """Exercise 2: squeeze_excitation(x, w1, b1, w2, b2) == torchvision's SqueezeExcitation with SiLU."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(14)
    channels, squeezed = 8, 2
    x = torch.randn(3, channels, 5, 5, generator=g) + torch.linspace(-1, 1, channels).view(1, -1, 1, 1)
    w1, b1 = torch.randn(squeezed, channels, generator=g), torch.randn(squeezed, generator=g)
    w2, b2 = torch.randn(channels, squeezed, generator=g), torch.randn(channels, generator=g)
    if not_attempted(squeeze_excitation(x, w1, b1, w2, b2), 2,
                     "make squeeze_excitation return x rescaled per channel."):
        return
    reference = SqueezeExcitation(channels, squeezed, activation=nn.SiLU)
    with torch.no_grad():          # its fc1, fc2 are 1x1 convolutions: the same numbers, shaped (out, in, 1, 1)
        reference.fc1.weight.copy_(w1.view(squeezed, channels, 1, 1)), reference.fc1.bias.copy_(b1)
        reference.fc2.weight.copy_(w2.view(channels, squeezed, 1, 1)), reference.fc2.bias.copy_(b2)
    check_like_torch("squeeze_excitation", lambda x: squeeze_excitation(x, w1, b1, w2, b2), reference, x,
                     hint="Squeeze: the mean of each channel over H and W, shape (N, C). Excite: s = sigmoid(w2 @ "
                          "silu(w1 @ mean + b1) + b2), one gate in (0, 1) per example and channel. Scale: x * "
                          "s.view(N, C, 1, 1). The gate is the same at every pixel; SiLU (x sigmoid(x)) inside, "
                          "sigmoid outside.")


def _make_divisible(value: float, divisor: int = 8) -> int:
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def check_scale_stage(scale_stage: Callable) -> None:
    """Exercise 3: scale_stage(channels, layers, width_mult, depth_mult) == torchvision's MBConvConfig
    rounding, for every stage of B0's table under the multipliers of B0..B7."""
    __tracebackhide__ = True
    from dlcourse.models.efficientnet import B0_STAGES, SCALING
    if not_attempted(scale_stage(40, 2, 1.4, 1.8), 3, "make scale_stage return (channels, layers)."):
        return
    cases = 0
    for name, (width, depth, _, _) in SCALING.items():
        for _, _, _, _, channels, layers in B0_STAGES:
            expected = (_make_divisible(channels * width), int(math.ceil(layers * depth)))
            got = scale_stage(channels, layers, width, depth)
            if not isinstance(got, tuple) or len(got) != 2:
                raise CheckError(f"scale_stage: return a pair (channels, layers); got {got!r}.")
            if tuple(int(v) for v in got) != expected:
                hint = ("Layers round *up*: ceil(layers * depth_mult), so no stage loses a block. "
                        if got[1] != expected[1] else
                        "Channels go to the nearest multiple of 8 (int(c * w + 4) // 8 * 8), at least 8, and one "
                        "multiple of 8 higher if that lost more than 10% of c * w. ")
                raise CheckError(f"scale_stage({channels}, {layers}, width_mult={width}, depth_mult={depth}) for "
                                 f"EfficientNet-{name.upper()}: expected {expected}, got {tuple(got)}. {hint}")
            cases += 1
    print(f"OK scale_stage: {cases} stages of B0..B7 equal torchvision's configurations")
