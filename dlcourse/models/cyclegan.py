"""Cycle-consistent translation between two unpaired image domains (Zhu, Park, Isola & Efros 2017,
"CycleGAN"), at MNIST's size, for chapter 25.

Two translators, G: A -> B and F: B -> A, are each trained against a discriminator of their target
domain (so that G(a) looks like a B) and, because nothing pairs an a with its b, tied together by
the cycle-consistency loss |F(G(a)) - a|_1 + |G(F(b)) - b|_1: a translation must keep enough of
its input to be undone. Pix2Pix (Isola et al. 2017) is the paired case: the same translator
trained with an L1 loss to the known target beside the adversarial one.

``Translator`` is a small version of CycleGAN's ResNet generator: a 3x3 stem, one stride-2 down
convolution, ``blocks`` residual blocks, one transposed convolution up and a tanh: (N, 1, 28, 28)
-> the same size, in [-1, 1]. Its norms are instance norms, as in CycleGAN.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Translator", "ResidualBlock", "cycle_consistency_loss"]


def _conv_norm_relu(a: int, b: int, **conv) -> list[nn.Module]:
    return [nn.Conv2d(a, b, bias=False, **conv), nn.InstanceNorm2d(b, affine=True), nn.ReLU(True)]


class ResidualBlock(nn.Module):
    """x + (conv3x3 -> IN -> ReLU -> conv3x3 -> IN)(x)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(*_conv_norm_relu(channels, channels, kernel_size=3, padding=1),
                                  nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                                  nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Translator(nn.Module):
    """(N, channels, H, W) in [-1, 1] -> the same shape in [-1, 1] (H, W even)."""

    def __init__(self, channels: int = 1, width: int = 32, blocks: int = 2):
        super().__init__()
        self.net = nn.Sequential(
            *_conv_norm_relu(channels, width, kernel_size=3, padding=1),
            *_conv_norm_relu(width, 2 * width, kernel_size=4, stride=2, padding=1),          # H/2
            *[ResidualBlock(2 * width) for _ in range(blocks)],
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.InstanceNorm2d(width, affine=True),
            nn.ReLU(True),                                                                   # H
            nn.Conv2d(width, channels, 3, padding=1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[-1] % 2 or x.shape[-2] % 2:
            raise ValueError(f"expected images (N, C, H, W) with even H and W; got {tuple(x.shape)}.")
        return self.net(x)


def cycle_consistency_loss(a: torch.Tensor, b: torch.Tensor, a_to_b: nn.Module, b_to_a: nn.Module) -> torch.Tensor:
    """|F(G(a)) - a|_1 + |G(F(b)) - b|_1, each the mean absolute error over pixels (CycleGAN's L_cyc)."""
    return F.l1_loss(b_to_a(a_to_b(a)), a) + F.l1_loss(a_to_b(b_to_a(b)), b)
