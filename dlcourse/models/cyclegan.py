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

from functools import partial
from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import ConvNormAct
from .gan import discriminator_loss, generator_loss

__all__ = ["Translator", "ResidualBlock", "cycle_consistency_loss", "cycle_gan_step"]

INSTANCE_NORM = partial(nn.InstanceNorm2d, affine=True)


class ResidualBlock(nn.Module):
    """x + (conv3x3 -> IN -> ReLU -> conv3x3 -> IN)(x)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(ConvNormAct(channels, channels, 3, norm_layer=INSTANCE_NORM),
                                  ConvNormAct(channels, channels, 3, norm_layer=INSTANCE_NORM, activation=None))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Translator(nn.Module):
    """(N, channels, H, W) in [-1, 1] -> the same shape in [-1, 1] (H, W even)."""

    def __init__(self, channels: int = 1, width: int = 32, blocks: int = 2):
        super().__init__()
        self.net = nn.Sequential(
            ConvNormAct(channels, width, 3, norm_layer=INSTANCE_NORM),
            ConvNormAct(width, 2 * width, 4, stride=2, norm_layer=INSTANCE_NORM),          # H/2 (padding 1)
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


def cycle_gan_step(optimizers: Mapping[str, torch.optim.Optimizer], cycle_weight: float = 10.0) -> Callable:
    """``dlcourse.fit``'s step for ``nn.ModuleDict({"to_b", "to_a", "d_b", "d_a"})`` with ``optimizer={"g": both
    translators', "d": both discriminators'}`` on batches (a, b) in [-1, 1] that are not pairs: one update of
    the translators (adversarial + ``cycle_weight`` x cycle loss; CycleGAN's lambda is 10), then one of the
    discriminators on real images and the translations just made."""
    def step(model: nn.ModuleDict, batch) -> dict[str, torch.Tensor]:
        a, b = batch
        fake_b, fake_a = model["to_b"](a), model["to_a"](b)
        cycle = cycle_consistency_loss(a, b, model["to_b"], model["to_a"])
        adversarial = generator_loss(model["d_b"](fake_b)) + generator_loss(model["d_a"](fake_a))
        optimizers["g"].zero_grad(set_to_none=True)
        (adversarial + cycle_weight * cycle).backward()
        optimizers["g"].step()
        d_loss = (discriminator_loss(model["d_b"](b), model["d_b"](fake_b.detach()))
                  + discriminator_loss(model["d_a"](a), model["d_a"](fake_a.detach())))
        optimizers["d"].zero_grad(set_to_none=True)
        d_loss.backward()
        optimizers["d"].step()
        return {"loss": adversarial.detach(), "cycle": cycle.detach(), "d_loss": d_loss.detach()}
    return step
