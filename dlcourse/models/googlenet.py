"""GoogLeNet and its Inception module (Szegedy et al. 2015, "Going deeper with convolutions", arXiv 2014).

An Inception module runs four branches side by side on the same input and concatenates their
channels: a 1x1 convolution; a 1x1 "reduction" then a 3x3; a 1x1 reduction then a "5x5"; a
3x3 max-pool then a 1x1 "pool projection". The 1x1 reductions are the point: they shrink the
channels before the expensive spatial convolutions, so the module is wide at a fraction of the
cost of one big 3x3 layer. GoogLeNet stacks nine of them (Table 1 of the paper lists each
module's six widths, the arguments of ``Inception`` below) between a convolutional stem and a
global average pool; two auxiliary classifiers after 4a and 4d add their losses (weight 0.3
in the paper) during training only.

This file is laid out as torchvision's ``googlenet.py`` and its state-dict keys are the same
(``conv1.conv.weight``, ``inception3a.branch2.1.bn.running_mean``, ``aux1.fc2.bias``...), so
``ours.load_state_dict(torchvision.models.googlenet().state_dict())`` is a key copy. Three
details follow torchvision, not the paper, so that the outputs agree too:

- ``BasicConv2d`` is conv (no bias) -> BatchNorm (eps 1e-3) -> ReLU. The 2014 network had no
  batch norm (it came out two months later); torchvision's port added it.
- The "5x5" branch uses a 3x3 kernel (pytorch/vision#906: a bug in the port kept for the
  published weights' sake). Its widths are still Table 1's 5x5 columns.
- ``transform_input=True`` maps an image normalised with ImageNet's mean and std to the
  (x - 0.5) / 0.5 normalisation the ported Caffe weights expect, inside the model.

``small_input=True`` is the CIFAR-sized variant of the same class: the 7x7 stem convolution
keeps stride 1 and the second max-pool is skipped, so a 32x32 image reaches the Inception
modules at 16x16 and ends at 4x4 (total stride 8, not 32). No parameter changes shape.
"""
from __future__ import annotations

from collections import namedtuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.models.blocks import BasicConv2d

__all__ = ["BasicConv2d", "Inception", "InceptionAux", "GoogLeNet", "GoogLeNetOutputs", "googlenet",
           "googlenet_cifar", "INCEPTION_TABLE"]

# What the model returns in training mode with aux_logits (torchvision's name and field order).
GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])

# Table 1 of the paper: in_channels, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
INCEPTION_TABLE = {
    "3a": (192, 64, 96, 128, 16, 32, 32),
    "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64),
    "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64),
    "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128),
    "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}


class Inception(nn.Module):
    """Four branches on the same input, concatenated: ch1x1 + ch3x3 + ch5x5 + pool_proj channels out."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        # The paper's 5x5; torchvision's port (and so its weights) has 3x3 here: see the module docstring.
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (N, C_in, H, W) -> (N, sum of 4 widths, H, W)
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class InceptionAux(nn.Module):
    """The auxiliary classifier: 4x4 average pool -> 1x1 conv (128) -> FC 1024 -> dropout -> FC."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7):
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (N, C, H, W) -> (N, num_classes)
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4)))           # (N, 128, 4, 4)
        x = F.relu(self.fc1(torch.flatten(x, 1)))                 # (N, 1024)
        return self.fc2(self.dropout(x))


class GoogLeNet(nn.Module):
    """GoogLeNet (Table 1). aux_logits: build the two auxiliary classifiers (used in training mode
    only; the model then returns ``GoogLeNetOutputs``); init_weights: truncated normal, std 0.01, as
    torchvision; small_input: the CIFAR-sized stem (module docstring)."""

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True, transform_input: bool = False,
                 init_weights: bool = True, dropout: float = 0.2, dropout_aux: float = 0.7,
                 small_input: bool = False):
        super().__init__()
        self.aux_logits, self.transform_input = aux_logits, transform_input
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=1 if small_input else 2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.Identity() if small_input else nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(*INCEPTION_TABLE["3a"])
        self.inception3b = Inception(*INCEPTION_TABLE["3b"])
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(*INCEPTION_TABLE["4a"])
        self.inception4b = Inception(*INCEPTION_TABLE["4b"])
        self.inception4c = Inception(*INCEPTION_TABLE["4c"])
        self.inception4d = Inception(*INCEPTION_TABLE["4d"])
        self.inception4e = Inception(*INCEPTION_TABLE["4e"])
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(*INCEPTION_TABLE["5a"])
        self.inception5b = Inception(*INCEPTION_TABLE["5b"])
        self.aux1 = InceptionAux(512, num_classes, dropout_aux) if aux_logits else None
        self.aux2 = InceptionAux(528, num_classes, dropout_aux) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)
        if init_weights:
            self._init_weights()

    def _init_weights(self) -> None:
        """torchvision's scheme (it has no bias init: convolutions have none, Linear keeps its default)."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _transform_input(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet (x - mean) / std  ->  (x - 0.5) / 0.5, per channel: x * std / 0.5 + (mean - 0.5) / 0.5."""
        # Python floats per channel, as torchvision: the same rounding, so even training mode's batch
        # statistics (which amplify a 1e-7 difference) agree.
        channels = [x[:, c:c + 1] * (std / 0.5) + (mean - 0.5) / 0.5
                    for c, (mean, std) in enumerate(zip((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)))]
        return torch.cat(channels, dim=1)

    def forward(self, x: torch.Tensor):                          # (N, 3, 224, 224) -> (N, num_classes)
        if self.transform_input:
            x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))                          # (N, 64, 56, 56)   32x32 small: (N, 64, 16, 16)
        x = self.maxpool2(self.conv3(self.conv2(x)))              # (N, 192, 28, 28)             (N, 192, 16, 16)
        x = self.maxpool3(self.inception3b(self.inception3a(x)))  # (N, 480, 14, 14)             (N, 480, 8, 8)
        x = self.inception4a(x)                                   # (N, 512, 14, 14)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # (N, 528, 14, 14)
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))                    # (N, 832, 7, 7)               (N, 832, 4, 4)
        x = self.inception5b(self.inception5a(x))                 # (N, 1024, 7, 7)
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))   # (N, num_classes)
        if self.training and self.aux_logits:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


def googlenet(num_classes: int = 1000, aux_logits: bool = True, **kwargs) -> GoogLeNet:
    """GoogLeNet for 224x224 images: 6,624,904 parameters without the auxiliary classifiers, as torchvision's."""
    return GoogLeNet(num_classes, aux_logits, **kwargs)


def googlenet_cifar(num_classes: int = 10, aux_logits: bool = False, **kwargs) -> GoogLeNet:
    """GoogLeNet for 32x32 images (stride-1 stem, no second max-pool), the same parameters."""
    return GoogLeNet(num_classes, aux_logits, small_input=True, **kwargs)
