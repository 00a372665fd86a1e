"""The noise predictor of a diffusion model (chapter 26): a small U-Net told the timestep (and the
class), after Ho, Jain & Abbeel (2020), whose network is a PixelCNN++-style U-Net with residual blocks,
group norm and a sinusoidal embedding of t added inside every block.

``timestep_embedding(t, dim)`` is the Transformer's sinusoidal code of a position, read at t:
half the channels cos(t w_i), half sin(t w_i), w_i = 10000^(-i / (dim / 2)); it equals diffusers'
``get_timestep_embedding(t, dim, flip_sin_to_cos=True, downscale_freq_shift=0)``
(``tests/test_ddpm_unet.py``). An MLP turns it into the vector each ``ResBlock`` adds (projected to
its channels) between its two convolutions. ``NoisePredictor(num_classes=10)`` adds a learned
embedding of the class, with one more row, index ``num_classes``, for "no class" (classifier-free
guidance trains and samples with it).

The U-Net: a 3x3 stem, one ResBlock per level at 28, 14 and 7 pixels (widths ``widths``), stride-2
convolutions down, nearest upsampling and a 3x3 convolution up, the encoder's map concatenated at each
level (the skip), and a 3x3 convolution to the predicted noise, the input's shape.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["timestep_embedding", "ResBlock", "NoisePredictor"]


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """(N,) timesteps -> (N, dim): [cos(t w_0..), sin(t w_0..)], w_i = max_period^(-i / (dim / 2))."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv, + the projected embedding, GroupNorm-SiLU-conv, + the (1x1-projected) input."""

    def __init__(self, in_channels: int, out_channels: int, emb_dim: int, groups: int = 8):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, in_channels), nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.emb = nn.Linear(emb_dim, out_channels)
        self.norm2, self.conv2 = nn.GroupNorm(groups, out_channels), nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:    # (N, C_in, H, W) -> (N, C_out, H, W)
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class NoisePredictor(nn.Module):
    """eps_theta(x_t, t[, y]): (N, C, 28, 28), (N,) steps, (N,) labels or None -> (N, C, 28, 28)."""

    def __init__(self, channels: int = 1, widths: Sequence[int] = (32, 64, 64), num_classes: int = 0,
                 emb_dim: int = 128):
        super().__init__()
        if len(widths) != 3:
            raise ValueError("NoisePredictor has three levels (28, 14 and 7 pixels): give three widths.")
        w1, w2, w3 = widths
        self.num_classes, self.emb_dim = num_classes, emb_dim
        self.time_mlp = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.label_emb = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None
        self.stem = nn.Conv2d(channels, w1, 3, padding=1)
        self.down1, self.pool1 = ResBlock(w1, w1, emb_dim), nn.Conv2d(w1, w1, 3, stride=2, padding=1)     # 28 -> 14
        self.down2, self.pool2 = ResBlock(w1, w2, emb_dim), nn.Conv2d(w2, w2, 3, stride=2, padding=1)     # 14 -> 7
        self.mid = ResBlock(w2, w3, emb_dim)
        self.up2 = nn.Conv2d(w3, w2, 3, padding=1)
        self.dec2 = ResBlock(2 * w2, w2, emb_dim)
        self.up1 = nn.Conv2d(w2, w1, 3, padding=1)
        self.dec1 = ResBlock(2 * w1, w1, emb_dim)
        self.out = nn.Sequential(nn.GroupNorm(8, w1), nn.SiLU(), nn.Conv2d(w1, channels, 3, padding=1))

    @property
    def null_label(self) -> int | None:
        """The label index that means "no class" (for classifier-free guidance), or None when unconditional."""
        return self.num_classes if self.num_classes else None

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 4 or x.shape[-2:] != (28, 28):
            raise ValueError(f"expected images (N, C, 28, 28); got {tuple(x.shape)}.")
        emb = self.time_mlp(timestep_embedding(t.reshape(-1).expand(len(x)) if t.numel() == 1 else t, self.emb_dim))
        if self.label_emb is not None:
            labels = torch.full((len(x),), self.num_classes, device=x.device) if labels is None else labels
            emb = emb + self.label_emb(labels)
        h1 = self.down1(self.stem(x), emb)                       # (N, w1, 28, 28)
        h2 = self.down2(self.pool1(h1), emb)                     # (N, w2, 14, 14)
        h = self.mid(self.pool2(h2), emb)                        # (N, w3, 7, 7)
        h = self.dec2(torch.cat([self.up2(F.interpolate(h, scale_factor=2.0)), h2], 1), emb)   # (N, w2, 14, 14)
        h = self.dec1(torch.cat([self.up1(F.interpolate(h, scale_factor=2.0)), h1], 1), emb)   # (N, w1, 28, 28)
        return self.out(h)
