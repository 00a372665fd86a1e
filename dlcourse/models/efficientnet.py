"""EfficientNet-B0..B7 (Tan & Le 2019, "EfficientNet: Rethinking Model Scaling for CNNs", ICML).

The building block is MobileNet v2's inverted residual (``mobilenet.py``) with two additions,
called **MBConv**: a **squeeze-and-excitation** gate (Hu et al. 2018) after the depthwise
convolution, which averages each channel over the image, passes the C numbers through a small
bottleneck (C -> C_in/4 -> C) and a sigmoid, and rescales the channels by the result; and
**stochastic depth** (Huang et al. 2016): in training, a residual block's branch is dropped
for a whole example with probability p (rising linearly from 0 to 0.2 with depth) and scaled
by 1 / (1 - p) otherwise. Activations are SiLU (swish).

B0 is Table 1 of the paper (``B0_STAGES`` below), found by architecture search. **Compound
scaling** (section 3.3) grows it in three dimensions at once: depth d = alpha^phi, width
w = beta^phi, resolution r = gamma^phi with alpha = 1.2, beta = 1.1, gamma = 1.15 chosen so
that alpha beta^2 gamma^2 ~ 2 (FLOPs double per step of phi). The released B1..B7 use the
rounded (width, depth, resolution) of ``SCALING`` (from the authors' code, as torchvision):
widths round to multiples of 8, each stage's repeats are ceil(n * depth).

State-dict keys equal torchvision's ``efficientnet_b0..b7`` (``features.2.1.block.2.fc1.weight``...),
so their weights load by key copy. As torchvision, B5-B7 use BatchNorm(eps=1e-3, momentum=0.01)
(the ported TF weights' setting), B0-B4 PyTorch's defaults.

``small_input=True`` is the CIFAR-sized variant of the same class: the stem and the first
stride-2 stage keep stride 1, so a 32x32 image ends at 4x4 (total stride 8, not 32).
"""
from __future__ import annotations

import math
from functools import partial
from typing import Callable

import torch
import torch.nn as nn

from dlcourse.models.blocks import (ConvNormAct, SqueezeExcitation, StochasticDepth, init_like_torchvision,
                                    make_divisible)

__all__ = ["StochasticDepth", "SqueezeExcitation", "MBConv", "EfficientNet", "B0_STAGES", "SCALING",
           "scaled_stages", "build_efficientnet", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2",
           "efficientnet_b3", "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
           "efficientnet_b0_cifar"]

# Table 1 of the paper (stages 2-8; stage 1 is the 3x3 stem with 32 channels, stage 9 the head):
# expand ratio, kernel, stride, input channels, output channels, layers.
B0_STAGES = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
             (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]
# name: (width multiplier, depth multiplier, resolution, dropout before the classifier).
SCALING = {"b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
           "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
           "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5)}


class MBConv(nn.Module):
    """[1x1 expand -> BN -> SiLU] -> kxk depthwise -> BN -> SiLU -> SE -> 1x1 project -> BN; + x when
    stride 1 and C_in == C_out, after stochastic depth on the branch."""

    def __init__(self, in_channels: int, out_channels: int, expand_ratio: float, kernel: int, stride: int,
                 stochastic_depth_prob: float, norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"MBConv: stride must be 1 or 2, got {stride}.")
        self.use_res_connect = stride == 1 and in_channels == out_channels
        expanded = make_divisible(in_channels * expand_ratio)
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(ConvNormAct(in_channels, expanded, 1, norm_layer=norm_layer, activation=nn.SiLU))
        layers += [ConvNormAct(expanded, expanded, kernel, stride, groups=expanded, norm_layer=norm_layer,
                               activation=nn.SiLU),
                   SqueezeExcitation(expanded, max(1, in_channels // 4)),   # squeezed to C_in / 4, not expanded / 4
                   ConvNormAct(expanded, out_channels, 1, norm_layer=norm_layer, activation=None)]
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (N, C_in, H, W) -> (N, C_out, H/s, W/s)
        out = self.block(x)
        return self.stochastic_depth(out) + x if self.use_res_connect else out


def scaled_stages(width_mult: float = 1.0, depth_mult: float = 1.0, stages=B0_STAGES) -> list[tuple]:
    """B0's stage table scaled: channels make_divisible(c * width, 8), layers ceil(n * depth)."""
    return [(t, k, s, make_divisible(c_in * width_mult), make_divisible(c_out * width_mult),
             int(math.ceil(n * depth_mult))) for t, k, s, c_in, c_out, n in stages]


class EfficientNet(nn.Module):
    """stem (3x3, stride 2, SiLU) -> 7 stages of MBConv -> 1x1 conv to 4x the last width -> pool -> dropout -> FC."""

    def __init__(self, width_mult: float = 1.0, depth_mult: float = 1.0, dropout: float = 0.2,
                 stochastic_depth_prob: float = 0.2, num_classes: int = 1000,
                 norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d, small_input: bool = False):
        super().__init__()
        stages = scaled_stages(width_mult, depth_mult)
        layers: list[nn.Module] = [ConvNormAct(3, stages[0][3], 3, stride=1 if small_input else 2,
                                               norm_layer=norm_layer, activation=nn.SiLU)]
        total_blocks, block_id, first_strided = sum(stage[-1] for stage in stages), 0, True
        for t, k, s, c_in, c_out, n in stages:
            if s == 2 and small_input and first_strided:
                s, first_strided = 1, False
            blocks = []
            for i in range(n):
                # The drop probability grows linearly with the block's index over the whole network.
                p = stochastic_depth_prob * block_id / total_blocks
                blocks.append(MBConv(c_in if i == 0 else c_out, c_out, t, k, s if i == 0 else 1, p, norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*blocks))
        head = 4 * stages[-1][4]
        layers.append(ConvNormAct(stages[-1][4], head, 1, norm_layer=norm_layer, activation=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(head, num_classes))
        init_like_torchvision(self, linear="uniform")   # torchvision's, the classifier U(+-1/sqrt(classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (N, 3, R, R) -> (N, num_classes)
        x = self.features(x)                                      # (N, 4 * 320 w, R/32, R/32)
        return self.classifier(torch.flatten(self.avgpool(x), 1))


def build_efficientnet(name: str, num_classes: int = 1000, **kwargs) -> EfficientNet:
    """EfficientNet-<name> ("b0".."b7") from ``SCALING``; kwargs go to ``EfficientNet``."""
    if name not in SCALING:
        raise ValueError(f"build_efficientnet: unknown variant {name!r}; choose one of {sorted(SCALING)}.")
    width, depth, _, dropout = SCALING[name]
    if name in ("b5", "b6", "b7"):          # torchvision's setting for the ported TF weights
        kwargs.setdefault("norm_layer", partial(nn.BatchNorm2d, eps=0.001, momentum=0.01))
    kwargs.setdefault("dropout", dropout)
    return EfficientNet(width, depth, num_classes=num_classes, **kwargs)


def efficientnet_b0(num_classes: int = 1000, **kwargs) -> EfficientNet:
    """B0 (Table 1), 224x224: 5,288,548 parameters."""
    return build_efficientnet("b0", num_classes, **kwargs)


def efficientnet_b1(num_classes: int = 1000, **kwargs) -> EfficientNet:
    return build_efficientnet("b1", num_classes, **kwargs)


def efficientnet_b2(num_classes: int = 1000, **kwargs) -> EfficientNet:
    return build_efficientnet("b2", num_classes, **kwargs)


def efficientnet_b3(num_classes: int = 1000, **kwargs) -> EfficientNet:
    return build_efficientnet("b3", num_classes, **kwargs)


def efficientnet_b4(num_classes: int = 1000, **kwargs) -> EfficientNet:
    return build_efficientnet("b4", num_classes, **kwargs)


def efficientnet_b5(num_classes: int = 1000, **kwargs) -> EfficientNet:
    return build_efficientnet("b5", num_classes, **kwargs)


def efficientnet_b6(num_classes: int = 1000, **kwargs) -> EfficientNet:
    return build_efficientnet("b6", num_classes, **kwargs)


def efficientnet_b7(num_classes: int = 1000, **kwargs) -> EfficientNet:
    return build_efficientnet("b7", num_classes, **kwargs)


def efficientnet_b0_cifar(num_classes: int = 10, **kwargs) -> EfficientNet:
    """B0 for 32x32 images (stride-1 stem and first stride-2 stage): the same parameters."""
    return build_efficientnet("b0", num_classes, small_input=True, **kwargs)
