"""MobileNet v1 (Howard et al. 2017) and v2 (Sandler et al. 2018): convolutions made cheap.

A k x k convolution from C_in to C_out channels costs k^2 C_in C_out multiply-adds per output
pixel. MobileNet v1 factorises it into a **depthwise** k x k convolution (one filter per input
channel, ``groups=C_in``: k^2 C_in) and a **pointwise** 1x1 convolution that mixes channels
(C_in C_out): 1/C_out + 1/k^2 of the cost, 8-9x less for 3x3 (section 3.1 of the v1 paper).
Table 1 of v1 is the network: a 3x3 stride-2 stem and 13 depthwise separable blocks, every
convolution followed by BatchNorm and ReLU, global average pooling, one linear layer:
4,231,976 parameters at width 1.0 (the paper's "4.2M", Table 8). The width multiplier alpha
(section 4.2) thins every layer: alpha = 0.75, 0.5, 0.25 give 2.6M, 1.3M, 0.5M (Table 6).

MobileNet v2's **inverted residual** (Figure 3b, Table 1 of v2) turns ResNet's bottleneck
inside out: a 1x1 conv *expands* the thin input t times (t = 6), a 3x3 depthwise conv filters
the wide tensor, and a 1x1 conv *projects* it back down with no activation after it (a
"linear bottleneck": ReLU on a thin tensor destroys information); the residual joins the thin
ends when the shape allows. Activations are ReLU6. Table 2 of v2 is the stage list below.

torchvision has v2 (``mobilenet_v2``) and not v1. v2 here has its state-dict keys
(``features.1.conv.0.0.weight``...) so its weights load by key copy; v1 follows the same
naming style. ``ConvNormAct`` is torchvision's ``Conv2dNormActivation``: a Sequential of
(conv, norm, activation), so its keys are ``.0.weight``, ``.1.running_mean``.

``small_input=True`` makes the CIFAR-sized variant of the same class: the stem and the first
stride-2 stage keep stride 1, so a 32x32 image ends at 4x4 (total stride 8, not 32).
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn as nn

from dlcourse.models.blocks import ConvNormAct, init_like_torchvision, make_divisible

__all__ = ["make_divisible", "ConvNormAct", "DepthwiseSeparable", "MobileNetV1", "InvertedResidual",
           "MobileNetV2", "mobilenet_v1", "mobilenet_v1_cifar", "mobilenet_v2", "mobilenet_v2_cifar",
           "MOBILENET_V1_TABLE", "MOBILENET_V2_TABLE"]

# v1, Table 1: (output channels, stride) of each depthwise separable block; the stem makes 32.
MOBILENET_V1_TABLE = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                      (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]
# v2, Table 2: t (expansion), c (output channels), n (repeats), s (stride of the first repeat).
MOBILENET_V2_TABLE = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                      (6, 160, 3, 2), (6, 320, 1, 1)]


# ----------------------------------------------------------------------------- MobileNet v1
class DepthwiseSeparable(nn.Module):
    """3x3 depthwise conv (groups = C_in) -> BN -> ReLU, then 1x1 pointwise conv -> BN -> ReLU (v1, Figure 3)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.depthwise = ConvNormAct(in_channels, in_channels, 3, stride, groups=in_channels)
        self.pointwise = ConvNormAct(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (N, C_in, H, W) -> (N, C_out, H/s, W/s)
        return self.pointwise(self.depthwise(x))


class MobileNetV1(nn.Module):
    """MobileNet v1 (Table 1). width_mult: the paper's alpha, applied to every layer's channels."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.0,
                 table: Sequence[tuple[int, int]] = MOBILENET_V1_TABLE, small_input: bool = False):
        super().__init__()

        def width(c: int) -> int:                 # TF-slim's rule: int(c * alpha), at least 8
            return max(8, int(c * width_mult))

        in_channels = width(32)
        layers: list[nn.Module] = [ConvNormAct(3, in_channels, 3, stride=1 if small_input else 2)]
        first_strided = True
        for channels, stride in table:
            if stride == 2 and small_input and first_strided:
                stride, first_strided = 1, False
            layers.append(DepthwiseSeparable(in_channels, width(channels), stride))
            in_channels = width(channels)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(in_channels, num_classes))
        init_like_torchvision(self, linear="normal")

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (N, 3, 224, 224) -> (N, num_classes)
        x = self.features(x)                                      # (N, 1024 alpha, 7, 7)
        return self.classifier(torch.flatten(self.avgpool(x), 1))


# ----------------------------------------------------------------------------- MobileNet v2
class InvertedResidual(nn.Module):
    """1x1 expand (x t) -> 3x3 depthwise (stride) -> 1x1 linear projection; + x when shapes allow."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int,
                 norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual: stride must be 1 or 2, got {stride}.")
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:              # t = 1 (the first block): nothing to expand
            layers.append(ConvNormAct(inp, hidden, 1, norm_layer=norm_layer, activation=nn.ReLU6))
        layers += [ConvNormAct(hidden, hidden, 3, stride, groups=hidden, norm_layer=norm_layer, activation=nn.ReLU6),
                   nn.Conv2d(hidden, oup, 1, bias=False), norm_layer(oup)]     # linear bottleneck: no ReLU
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (N, inp, H, W) -> (N, oup, H/s, W/s)
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNet v2 (Table 2): stem 32 -> 17 inverted residuals -> 1x1 conv to 1280 -> pool -> dropout -> FC."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2,
                 table: Sequence[tuple[int, int, int, int]] = MOBILENET_V2_TABLE, round_nearest: int = 8,
                 norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d, small_input: bool = False):
        super().__init__()
        in_channels = make_divisible(32 * width_mult, round_nearest)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult), round_nearest)   # never thinner than 1280
        layers: list[nn.Module] = [ConvNormAct(3, in_channels, 3, stride=1 if small_input else 2,
                                               norm_layer=norm_layer, activation=nn.ReLU6)]
        first_strided = True
        for t, c, n, s in table:
            if s == 2 and small_input and first_strided:
                s, first_strided = 1, False
            out_channels = make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                layers.append(InvertedResidual(in_channels, out_channels, s if i == 0 else 1, t, norm_layer))
                in_channels = out_channels
        layers.append(ConvNormAct(in_channels, self.last_channel, 1, norm_layer=norm_layer, activation=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))
        init_like_torchvision(self, linear="normal")

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (N, 3, 224, 224) -> (N, num_classes)
        x = self.features(x)                                      # (N, 1280, 7, 7)
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)   # (N, 1280)
        return self.classifier(x)


def mobilenet_v1(num_classes: int = 1000, width_mult: float = 1.0, **kwargs) -> MobileNetV1:
    """MobileNet v1 alpha-224: 4,231,976 parameters at width 1.0 (v1 paper: 4.2M)."""
    return MobileNetV1(num_classes, width_mult, **kwargs)


def mobilenet_v1_cifar(num_classes: int = 10, width_mult: float = 1.0, **kwargs) -> MobileNetV1:
    """MobileNet v1 for 32x32 images (stride-1 stem and first stride-2 block): the same parameters."""
    return MobileNetV1(num_classes, width_mult, small_input=True, **kwargs)


def mobilenet_v2(num_classes: int = 1000, width_mult: float = 1.0, **kwargs) -> MobileNetV2:
    """MobileNet v2 1.0-224: 3,504,872 parameters, torchvision's keys."""
    return MobileNetV2(num_classes, width_mult, **kwargs)


def mobilenet_v2_cifar(num_classes: int = 10, width_mult: float = 1.0, **kwargs) -> MobileNetV2:
    """MobileNet v2 for 32x32 images (stride-1 stem and first stride-2 stage): the same parameters."""
    return MobileNetV2(num_classes, width_mult, small_input=True, **kwargs)
