"""Building blocks that more than one model family uses, each with torchvision's state-dict keys.

One home, so that a new family (ViT, detection heads, the diffusion U-Net) imports them instead of
copying: the convolutions ResNet's blocks are made of (``conv3x3``, ``conv1x1``), conv -> norm ->
activation in its two key layouts (``ConvNormAct``: torchvision's ``Conv2dNormActivation``, keys
``0.*``, ``1.*``; ``BasicConv2d``: GoogLeNet's and Inception's, keys ``conv.*``, ``bn.*``),
squeeze-and-excitation (MobileNet v3, EfficientNet), stochastic depth (EfficientNet, ViT, ConvNeXt),
torchvision's weight initialisation, and the width rounding of MobileNet v2 and EfficientNet.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["NormLayer", "make_divisible", "conv3x3", "conv1x1", "ConvNormAct", "BasicConv2d", "SqueezeExcitation",
           "StochasticDepth", "init_like_torchvision"]

NormLayer = Callable[[int], nn.Module]


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """``value`` rounded to the nearest multiple of ``divisor``, never below 90% of it (TF's rule,
    used by torchvision for v2 and EfficientNet widths: hardware likes multiples of 8)."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    """3x3 convolution, padding = dilation (the image keeps its size at stride 1), no bias: BatchNorm follows.
    ``dilation`` > 1 spreads the taps apart, widening the view without shrinking the image (DeepLab)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, dilation=dilation,
                     bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution, no bias: mixes channels (Bottleneck, projection shortcut)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class ConvNormAct(nn.Sequential):
    """conv (k x k, 'same' padding) -> norm -> activation, as torchvision's ``Conv2dNormActivation``.

    The convolution has a bias only without a norm (a norm's shift replaces it); ``norm_layer``
    None: no norm; ``activation`` None: none (a linear bottleneck)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, groups: int = 1,
                 norm_layer: NormLayer | None = nn.BatchNorm2d, activation: Callable[[], nn.Module] | None = nn.ReLU):
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, (kernel_size - 1) // 2, groups=groups,
                            bias=norm_layer is None)]
        layers += [norm_layer(out_channels)] if norm_layer is not None else []
        super().__init__(*layers, *([activation()] if activation is not None else []))
        self.out_channels = out_channels


class BasicConv2d(nn.Module):
    """conv (no bias: the norm's shift replaces it) -> BatchNorm(eps=1e-3) -> ReLU, with GoogLeNet's
    keys (``conv``, ``bn``): the same idea as ``ConvNormAct`` in torchvision's other layout."""

    def __init__(self, in_channels: int, out_channels: int, **conv_args):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **conv_args)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (N, C_in, H, W) -> (N, C_out, H', W')
        return F.relu(self.bn(self.conv(x)))


class SqueezeExcitation(nn.Module):
    """x * sigmoid(fc2(act(fc1(mean over H, W of x)))): a learned gate per channel (Hu et al. 2018).
    fc1 and fc2 are 1x1 convolutions on the (N, C, 1, 1) means, as in torchvision (and its keys)."""

    def __init__(self, channels: int, squeeze_channels: int, activation: Callable[[], nn.Module] = nn.SiLU):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = activation()
        self.scale_activation = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (N, C, H, W) -> (N, C, H, W)
        scale = self.fc2(self.activation(self.fc1(self.avgpool(x))))   # (N, C, 1, 1)
        return x * self.scale_activation(scale)


class StochasticDepth(nn.Module):
    """Training: each example's input is zeroed with probability p, else divided by 1 - p ("row" mode
    of torchvision.ops.StochasticDepth, drawing its random numbers the same way). Evaluation: identity."""

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"StochasticDepth: the drop probability must be in [0, 1], got {p}.")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (N, ...) -> (N, ...)
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty([x.shape[0]] + [1] * (x.dim() - 1), dtype=x.dtype, device=x.device)
        keep.bernoulli_(1.0 - self.p)                             # one coin per example
        return x * (keep / (1.0 - self.p) if self.p < 1.0 else keep)


def init_like_torchvision(model: nn.Module, linear: str = "normal") -> None:
    """torchvision's initialisation of its mobile nets: He (fan-out) convolutions with zero bias,
    norms to the identity, and the classifier N(0, 0.01) (``linear="normal"``: MobileNet v2) or
    U(+-1/sqrt(out_features)) (``"uniform"``: EfficientNet). A model on the meta device (built
    to count shapes) is left alone: there are no values to set."""
    if linear not in ("normal", "uniform"):
        raise ValueError(f"init_like_torchvision: linear is 'normal' or 'uniform', not {linear!r}.")
    if any(p.is_meta for p in model.parameters()):
        return
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            if linear == "normal":
                nn.init.normal_(m.weight, 0, 0.01)
            else:
                bound = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -bound, bound)
            nn.init.zeros_(m.bias)
