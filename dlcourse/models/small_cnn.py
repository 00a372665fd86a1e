"""A small VGG-style convolutional network for 32x32 images, with optional normalization and dropout.

Chapter 07 and the ``regular_cifar`` benchmark train the same network with and without each
regularizer, so the switches are constructor flags, never copies. Each stage is
[conv3x3 -> (BatchNorm) -> ReLU] x 2 -> max-pool 2x2, as in VGG (Simonyan & Zisserman 2015);
the head averages each channel over the image (global average pooling, Lin et al. 2014) and
maps it to the classes. ``norm_layer`` follows torchvision's convention: a class called with
the number of channels, e.g. ``dlcourse.normalization.BatchNorm2d`` (the chapter's build) or
``nn.BatchNorm2d`` (the same numbers and state-dict keys, in one fused kernel: faster on a
CPU); a convolution followed by a norm has no bias, since the norm's bias replaces it.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from dlcourse.models.blocks import ConvNormAct
from dlcourse.regularization import Dropout

__all__ = ["SmallCNN"]


class SmallCNN(nn.Module):
    """widths: channels of each stage (each halves the image); norm_layer (None: no normalization)
    after every convolution; dropout before the classifier."""

    def __init__(self, widths: Sequence[int] = (32, 64, 128), num_classes: int = 10, in_channels: int = 3,
                 norm_layer: Callable[[int], nn.Module] | None = None, dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        for width in widths:
            # conv (bias only without a norm) -> norm -> ReLU, twice, flattened: keys features.0.weight, ...
            layers += [*ConvNormAct(in_channels, width, 3, norm_layer=norm_layer),
                       *ConvNormAct(width, width, 3, norm_layer=norm_layer)]
            layers.append(nn.MaxPool2d(2))
            in_channels = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), Dropout(dropout),
                                  nn.Linear(in_channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # (N, C, H, W) -> (N, num_classes)
        return self.head(self.features(x))
