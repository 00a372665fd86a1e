"""Generative adversarial networks (Goodfellow et al. 2014) with the DCGAN architecture (Radford,
Metz & Chintala 2016), unconditional and conditional (Mirza & Osindero 2014), as chapter 25 builds them.

A generator G maps a noise vector z (and, conditioned, a class) to an image; a discriminator D
maps an image to a logit, "real" versus "generated". The minimax game
min_G max_D E[log D(x)] + E[log(1 - D(G(z)))] trains D as a classifier; for G the paper itself
recommends the *non-saturating* loss -log D(G(z)) instead of log(1 - D(G(z))), whose gradient
vanishes when D confidently rejects G's samples (early in training). ``generator_loss`` has both.

``Generator(nz, ngf, nc, image_size)`` and ``Discriminator(nc, ndf, image_size)`` follow DCGAN's
rules (transposed convolutions up, strided convolutions down, BatchNorm except at G's output and
D's input, ReLU in G, LeakyReLU 0.2 in D, tanh out) for any size ``start * 2**k``: 64 = 4 * 2**4 is
PyTorch's examples/dcgan, key for key (``main.<i>``; 3,576,704 and 2,765,568 weights with nz=100,
ngf=ndf=64, nc=3; ``tests/test_gan.py`` loads that example's modules both ways and compares outputs),
except that our D returns the logit and leaves the sigmoid to the loss; 28 = 7 * 2**2 is MNIST's.
``num_classes`` makes both conditional: G reads z concatenated with the class's one-hot vector, D
reads the image with one constant plane per class (the true class's plane ones).
Images are in [-1, 1] (tanh): ``to_unit`` maps them to the [0, 1] the digit judge reads.
"""
from __future__ import annotations

from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Generator", "Discriminator", "dcgan_init", "discriminator_loss", "generator_loss", "gan_step",
           "to_unit", "from_unit"]


def _size_plan(image_size: int) -> tuple[int, int]:
    """(start, doublings) with image_size = start * 2**doublings and start in 3..7 (64 -> (4, 4), 28 -> (7, 2))."""
    doublings = 0
    while image_size % 2 == 0 and image_size // 2 >= 3:
        image_size, doublings = image_size // 2, doublings + 1
    if doublings < 1 or image_size > 7:
        raise ValueError(f"DCGAN sizes are start * 2**k with start in 3..7 and k >= 1 (28, 32, 64, ...); this one "
                         f"leaves start {image_size} after {doublings} halvings: pick another image_size.")
    return image_size, doublings


def _one_hot_like(labels: torch.Tensor | None, num_classes: int, n: int, ref: torch.Tensor) -> torch.Tensor:
    if num_classes == 0:
        if labels is not None:
            raise ValueError("this model is unconditional (num_classes=0): call it without labels.")
        return ref.new_zeros(n, 0)
    if labels is None or labels.shape != (n,):
        raise ValueError(f"a conditional model needs one class label per example, shape ({n},); got "
                         f"{None if labels is None else tuple(labels.shape)}.")
    return F.one_hot(labels.long(), num_classes).to(ref.dtype)


class Generator(nn.Module):
    """z (N, nz) [+ labels (N,)] -> images (N, nc, image_size, image_size) in [-1, 1]."""

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3, image_size: int = 64, num_classes: int = 0):
        super().__init__()
        start, doublings = _size_plan(image_size)
        self.nz, self.num_classes = nz, num_classes
        widths = [ngf * 2 ** (doublings - 1 - i) for i in range(doublings)]      # 64: 8, 4, 2, 1 x ngf
        layers: list[nn.Module] = [nn.ConvTranspose2d(nz + num_classes, widths[0], start, 1, 0, bias=False),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.nz:
            raise ValueError(f"expected noise of shape (N, nz={self.nz}); got {tuple(z.shape)}.")
        z = torch.cat([z, _one_hot_like(labels, self.num_classes, len(z), z)], 1)
        return self.main(z[:, :, None, None])                   # (N, nz [+ C], 1, 1) -> (N, nc, S, S)


class Discriminator(nn.Module):
    """images (N, nc, S, S) [+ labels (N,)] -> (N,) logits: > 0 means "real"."""

    def __init__(self, nc: int = 3, ndf: int = 64, image_size: int = 64, num_classes: int = 0):
        super().__init__()
        start, doublings = _size_plan(image_size)
        self.num_classes, self.image_size = num_classes, image_size
        widths = [ndf * 2 ** i for i in range(doublings)]                       # 64: 1, 2, 4, 8 x ndf
        layers: list[nn.Module] = [nn.Conv2d(nc + num_classes, widths[0], 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, inplace=True)]
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2, inplace=True)]
        layers += [nn.Conv2d(widths[-1], 1, start, 1, 0, bias=False)]
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 4 or x.shape[-1] != self.image_size:
            raise ValueError(f"expected images (N, C, {self.image_size}, {self.image_size}); got {tuple(x.shape)}.")
        planes = _one_hot_like(labels, self.num_classes, len(x), x)
        x = torch.cat([x, planes[:, :, None, None].expand(-1, -1, *x.shape[-2:])], 1)
        return self.main(x).flatten()                           # (N, 1, 1, 1) -> (N,)


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation (``model.apply(dcgan_init)``): convolutions N(0, 0.02), BatchNorm scales N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-E[log D(x)] - E[log(1 - D(G(z)))], D = sigmoid(logit): binary cross-entropy, real = 1, fake = 0."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor, saturating: bool = False) -> torch.Tensor:
    """G's loss. Non-saturating (default): -E[log D(G(z))] = softplus(-logit); its gradient in the
    logit is -(1 - D), near -1 when D rejects the sample. Saturating (the minimax game as written):
    E[log(1 - D(G(z)))] = -softplus(logit), whose gradient -D vanishes exactly then."""
    return -F.softplus(fake_logits).mean() if saturating else F.softplus(-fake_logits).mean()


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] (tanh) -> [0, 1] (what the digit judge and imshow read)."""
    return ((images + 1) / 2).clamp(0, 1)


def from_unit(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] grey levels -> [-1, 1], the range of the generator's tanh."""
    return images * 2 - 1


def gan_step(optimizers: Mapping[str, torch.optim.Optimizer], conditional: bool = False,
             saturating: bool = False) -> Callable:
    """``dlcourse.fit``'s step for ``nn.ModuleDict({"g": G, "d": D})`` with ``optimizer={"g": ..., "d": ...}``:
    one discriminator update on a real batch (images in [0, 1], labels) and as many generated images,
    then one generator update; returns both losses and D's mean output on real and generated images."""
    def step(model: nn.ModuleDict, batch) -> dict[str, torch.Tensor]:
        real, labels = from_unit(batch[0]), batch[1] if conditional else None
        generator, discriminator = model["g"], model["d"]
        z = torch.randn(len(real), generator.nz, device=real.device)
        fake = generator(z, labels)
        real_logits, fake_logits = discriminator(real, labels), discriminator(fake.detach(), labels)
        d_loss = discriminator_loss(real_logits, fake_logits)
        optimizers["d"].zero_grad(set_to_none=True)
        d_loss.backward()
        optimizers["d"].step()
        g_loss = generator_loss(discriminator(fake, labels), saturating)
        optimizers["g"].zero_grad(set_to_none=True)
        g_loss.backward()
        optimizers["g"].step()
        return {"loss": g_loss.detach(), "d_loss": d_loss.detach(),
                "d_real": torch.sigmoid(real_logits.detach()).mean(), "d_fake": torch.sigmoid(fake_logits.detach()).mean()}
    return step

