"""A residual airbench94 net for CIFAR-10 (Jordan 2024, "94% on CIFAR-10 in 3.29 seconds").

``resnet_whitened`` is a residual version of airbench94's net (the fastest known way to 94% on
CIFAR-10): a fixed 2x2 *whitening* stem (``WhiteningStem``: its filters are the
eigenvectors of the covariance of 2x2 image patches, scaled so its outputs are decorrelated
with unit variance), then three ``ResidualConvGroup``s of widths 64, 256, 256. Each halves the
image with a 2x2 max-pool after its first convolution (not a strided convolution, which would
drop three of every four positions' outputs unseen), then a BasicBlock-style second convolution wrapped by an identity
shortcut. BatchNorm there has frozen scales (only the shifts learn: ``FrozenScaleBatchNorm2d``) and GELU activations.

Its recipe, timings and accuracy: ``benchmarks/recipes/resnet_cifar.py`` and ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from dlcourse.models.blocks import conv3x3

__all__ = ["FrozenScaleBatchNorm2d", "WhiteningStem", "ResidualConvGroup", "WhitenedResNet", "resnet_whitened"]


class FrozenScaleBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm whose scale stays 1 (only the shift learns: a scale before a linear layer or a
    normalisation is redundant, and freezing it lets the shift take airbench's 64x learning rate).
    ``momentum`` is airbench's, the weight of the *old* running statistics: PyTorch's momentum is
    1 - momentum. eps 1e-12: the frozen scale cannot compensate a large eps."""

    def __init__(self, num_features: int, momentum: float = 0.6, eps: float = 1e-12):
        super().__init__(num_features, eps=eps, momentum=1 - momentum)
        self.weight.requires_grad_(False)


class WhiteningStem(nn.Module):
    """A k x k convolution (no padding, 2 * 3 * k * k filters) + GELU whose filters are fixed to whiten
    k x k patches: ``init_from(images)`` sets them to the eigenvectors of the patches' covariance,
    each divided by sqrt(its eigenvalue + eps), and their negatives (so GELU loses nothing). Only the
    bias learns (the recipe freezes it too after a few epochs)."""

    def __init__(self, in_channels: int = 3, kernel_size: int = 2):
        super().__init__()
        self.width = 2 * in_channels * kernel_size ** 2
        self.conv = nn.Conv2d(in_channels, self.width, kernel_size, padding=0, bias=True)
        self.conv.weight.requires_grad_(False)
        nn.init.zeros_(self.conv.bias)
        self.act = nn.GELU()

    @torch.no_grad()
    def init_from(self, images: torch.Tensor, eps: float = 5e-4) -> None:
        """images: (N, C, H, W) normalised training images (airbench uses 5,000)."""
        c, (h, w) = images.shape[1], self.conv.kernel_size
        patches = images.float().unfold(2, h, 1).unfold(3, w, 1)          # (N, C, H', W', h, w)
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * h * w)  # one row per patch, (C, h, w) order
        cov = patches.T @ patches / len(patches)
        eigenvalues, eigenvectors = torch.linalg.eigh(cov)                 # ascending
        eigenvalues, eigenvectors = eigenvalues.flip(0), eigenvectors.T.flip(0)   # largest first, one per row
        filters = (eigenvectors / torch.sqrt(eigenvalues + eps)[:, None]).reshape(-1, c, h, w)
        self.conv.weight.copy_(torch.cat([filters, -filters]).to(self.conv.weight))

    def forward(self, x: torch.Tensor) -> torch.Tensor:     # (N, C, H, W) -> (N, 2 C k^2, H-k+1, W-k+1)
        # Always fp32, also under autocast: the weak directions are scaled up by 1/sqrt(eigenvalue), and so is
        # bf16's rounding of the input (measured on CIFAR-10: 13-16% noise on the two weakest of 12 outputs).
        with torch.autocast(x.device.type, enabled=False):
            return self.act(self.conv(x.float()))


class ResidualConvGroup(nn.Module):
    """conv1 -> max-pool 2 -> bn1 -> GELU (halves the image, changes the width), then a BasicBlock-style
    residual step GELU(bn2(conv2(h)) + h): airbench94's ConvGroup, whose second convolution is
    identity-initialised ("an implicit residual"), with the shortcut made explicit.
    plain=True: airbench94's group itself, GELU(bn2(conv2(h))) with conv2 starting as the identity."""

    def __init__(self, inplanes: int, planes: int, bn_momentum: float = 0.6, plain: bool = False):
        super().__init__()
        self.plain = plain
        self.conv1 = conv3x3(inplanes, planes)
        self.pool = nn.MaxPool2d(2)
        self.bn1 = FrozenScaleBatchNorm2d(planes, bn_momentum)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = FrozenScaleBatchNorm2d(planes, bn_momentum)
        self.act = nn.GELU()
        with torch.no_grad():      # airbench: the first filters copy the input channels (identity init)
            nn.init.dirac_(self.conv1.weight[:min(inplanes, planes)])
            if plain:
                nn.init.dirac_(self.conv2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:     # (N, C_in, H, W) -> (N, planes, H/2, W/2)
        h = self.act(self.bn1(self.pool(self.conv1(x))))
        if self.plain:
            return self.act(self.bn2(self.conv2(h)))
        return self.act(self.bn2(self.conv2(h)) + h)          # F(h) + h


class WhitenedResNet(nn.Module):
    """WhiteningStem -> ResidualConvGroups ``layer1``... of ``widths`` -> global max-pool -> ``fc`` (no bias)
    -> times ``scale`` (airbench's 1/9: small initial logits, a temperature the label smoothing needs).
    plain=True: groups without the explicit shortcut, i.e. airbench94's own net."""

    def __init__(self, num_classes: int = 10, widths: Sequence[int] = (64, 256, 256), whiten_kernel: int = 2,
                 scale: float = 1 / 9, bn_momentum: float = 0.6, in_channels: int = 3, plain: bool = False):
        super().__init__()
        self.stem = WhiteningStem(in_channels, whiten_kernel)
        self.stage_names = [f"layer{i + 1}" for i in range(len(widths))]
        for name, cin, cout in zip(self.stage_names, (self.stem.width, *widths), widths):
            setattr(self, name, ResidualConvGroup(cin, cout, bn_momentum, plain))
        self.pool = nn.AdaptiveMaxPool2d((1, 1))
        self.fc = nn.Linear(widths[-1], num_classes, bias=False)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:     # (N, 3, H, W) -> (N, num_classes)
        if x.dim() != 4:
            raise ValueError(f"WhitenedResNet takes images (N, C, H, W); got shape {tuple(x.shape)}.")
        x = self.stem(x)                                      # (N, 24, 31, 31) for 32x32 images
        for name in self.stage_names:
            x = getattr(self, name)(x)                        # 15, 7, 3 pixels a side
        return self.fc(torch.flatten(self.pool(x), 1)) * self.scale


def resnet_whitened(num_classes: int = 10, widths: Sequence[int] = (64, 256, 256), **kwargs) -> WhitenedResNet:
    """The residual airbench94 net of ``benchmarks/recipes/resnet_cifar.py``: 1,972,792 parameters for
    widths 64-256-256 (1,971,352 trainable: the BatchNorm scales and the whitening filters are fixed).
    Call ``model.stem.init_from(train_images)`` before training."""
    return WhitenedResNet(num_classes, widths, **kwargs)
