"""StyleGAN's two new pieces (Karras, Laine & Aila 2019, "A Style-Based Generator Architecture for
Generative Adversarial Networks"), as small modules for chapter 25.

- ``MappingNetwork``: z -> w through 8 fully connected layers (512 wide, LeakyReLU 0.2) after
  normalising z to unit average square (the paper's "pixel norm"); w lives in a learned space that
  need not follow z's Gaussian, so the generator's factors of variation can untangle. With the
  paper's sizes it holds 8 x (512 x 512 + 512) = 2,101,248 weights.
- ``AdaIN``: adaptive instance normalisation (Huang & Belongie 2017), the way w steers each layer:
  every channel of every image is normalised over its pixels, then scaled and shifted by a
  learned affine map of w ("A" in the paper's Figure 1). Written from the definition;
  ``tests/test_gan.py`` holds it equal to ``F.instance_norm`` followed by the style's scale and shift.

The rest of StyleGAN (its synthesis network, noise inputs, progressive growing, equalised learning
rates) is not built here.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["MappingNetwork", "AdaIN", "pixel_norm"]


def pixel_norm(z: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Each row divided by the root of its mean square: (N, D) -> (N, D)."""
    return z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + eps)


class MappingNetwork(nn.Module):
    """z (N, z_dim) -> w (N, w_dim): pixel norm, then ``layers`` x (Linear, LeakyReLU 0.2)."""

    def __init__(self, z_dim: int = 512, w_dim: int = 512, layers: int = 8):
        super().__init__()
        sizes = [z_dim] + [w_dim] * layers
        self.net = nn.Sequential(*[m for a, b in zip(sizes[:-1], sizes[1:])
                                   for m in (nn.Linear(a, b), nn.LeakyReLU(0.2))])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(pixel_norm(z))


class AdaIN(nn.Module):
    """x (N, C, H, W), w (N, w_dim) -> scale(w) * (x - mean) / std + shift(w), statistics per image and channel.

    The affine map's bias starts at scale 1, shift 0, as StyleGAN initialises it.
    """

    def __init__(self, channels: int, w_dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.style = nn.Linear(w_dim, 2 * channels)
        with torch.no_grad():
            self.style.bias[:channels].fill_(1.0)
            self.style.bias[channels:].zero_()

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        scale, shift = self.style(w).chunk(2, dim=1)                       # (N, C) each
        mean = x.mean((2, 3), keepdim=True)
        var = x.var((2, 3), keepdim=True, unbiased=False)                  # instance norm's biased variance
        normalised = (x - mean) / torch.sqrt(var + self.eps)
        return scale[:, :, None, None] * normalised + shift[:, :, None, None]
