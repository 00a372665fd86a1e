"""Regularizers from tensor operations: inverted dropout, mixup and CutMix, equal to PyTorch's.

- ``dropout`` == ``F.dropout``: zero each entry with probability p and divide the survivors by
  1 - p ("inverted" dropout, Srivastava et al. 2014), so the expected activation is the same
  in training and evaluation and evaluation needs no rescaling. It draws its mask with the same
  call as torch, so one seed gives the same mask to both.
- ``mixup`` == ``torchvision.transforms.v2.MixUp`` (Zhang et al. 2018) and ``cutmix`` ==
  ``torchvision.transforms.v2.CutMix`` (Yun et al. 2019), on a batch: each example is paired
  with the one before it (``roll(1)``, torchvision's pairing, so shuffle the loader), images and
  one-hot labels mixed with the same weight. ``lam`` (and CutMix's ``box``) may be passed
  explicitly; when drawn, they are drawn from torch's global generator in torchvision's
  order (``sample_mixup_lambda``, ``sample_cutmix_box``), so seeding both alike gives
  identical batches.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["dropout", "Dropout", "sample_mixup_lambda", "sample_cutmix_box", "mix_labels", "mixup", "cutmix"]


def dropout(x: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> torch.Tensor:
    """Inverted dropout: x * mask / (1 - p) with mask ~ Bernoulli(1 - p) in training, x in evaluation.

    The arguments are F.dropout's, in its order; inplace=True is refused (left out on purpose).
    """
    if inplace:
        raise ValueError("dropout: inplace=True is left out of dlcourse on purpose (it returns a new tensor, so "
                         "autograd keeps the input); write x = dropout(x, p, training) instead.")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be between 0 and 1, got {p}.")
    if not training or p == 0.0:
        return x
    if p == 1.0:                          # every unit dropped; 1 / (1 - p) would be 1 / 0
        return x * torch.zeros_like(x)
    keep = torch.empty_like(x).bernoulli_(1 - p)   # torch's own draw: same seed, same mask
    return x * keep.div_(1 - p)


class Dropout(nn.Module):
    """Inverted dropout as a module: active in train(), the identity in eval()."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be between 0 and 1, got {p}.")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def sample_mixup_lambda(alpha: float = 1.0) -> float:
    """lam ~ Beta(alpha, alpha), drawn from torch's global generator the way torchvision draws it."""
    if alpha <= 0:
        raise ValueError(f"alpha must be positive, got {alpha}.")
    beta = torch.distributions.Beta(torch.tensor([float(alpha)]), torch.tensor([float(alpha)]))
    return float(beta.sample(()))


def sample_cutmix_box(lam: float, height: int, width: int) -> tuple[int, int, int, int]:
    """A box (x1, y1, x2, y2) of about (1 - lam) of the image, centred at a uniform pixel.

    The box's sides are sqrt(1 - lam) times the image's, clipped at the border (so the area
    actually cut can be smaller: use the box's real area for the labels). The centre is drawn
    from torch's global generator, x then y, as torchvision does.
    """
    cx, cy = int(torch.randint(width, size=(1,))), int(torch.randint(height, size=(1,)))
    half = 0.5 * math.sqrt(1.0 - lam)
    half_w, half_h = int(half * width), int(half * height)
    return max(cx - half_w, 0), max(cy - half_h, 0), min(cx + half_w, width), min(cy + half_h, height)


def _one_hot(labels: torch.Tensor, num_classes: int | None) -> torch.Tensor:
    if labels.dim() == 1:
        if num_classes is None:
            raise ValueError("num_classes is needed to one-hot encode index labels of shape (N,).")
        labels = F.one_hot(labels, num_classes)
    elif labels.dim() != 2:
        raise ValueError(f"labels must be class indices (N,) or probabilities (N, C), got {tuple(labels.shape)}.")
    return labels if labels.is_floating_point() else labels.float()


def mix_labels(labels: torch.Tensor, lam: float, num_classes: int | None = None) -> torch.Tensor:
    """lam * y_i + (1 - lam) * y_(i-1) of the one-hot (or probability) labels: the pairing of the images."""
    y = _one_hot(labels, num_classes)
    return lam * y + (1.0 - lam) * y.roll(1, 0)


def _check_batch(images: torch.Tensor, labels: torch.Tensor, who: str) -> None:
    if images.dim() != 4 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{who} takes a batch of images (N, C, H, W) and N labels; got images "
                         f"{tuple(images.shape)} and labels {tuple(labels.shape)}.")


def mixup(images: torch.Tensor, labels: torch.Tensor, num_classes: int | None = None, *, alpha: float = 1.0,
          lam: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image blended with the previous one in the batch, lam * x_i + (1 - lam) * x_(i-1);
    the labels blended alike. Returns (images, soft labels (N, C))."""
    _check_batch(images, labels, "mixup")
    lam = sample_mixup_lambda(alpha) if lam is None else float(lam)
    mixed = lam * images + (1.0 - lam) * images.roll(1, 0)
    return mixed, mix_labels(labels, lam, num_classes)


def cutmix(images: torch.Tensor, labels: torch.Tensor, num_classes: int | None = None, *, alpha: float = 1.0,
           lam: float | None = None, box: tuple[int, int, int, int] | None = None
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """A box of each image replaced by the same box of the previous image; the labels mixed by the
    fraction of pixels each image keeps. Returns (images, soft labels (N, C))."""
    _check_batch(images, labels, "cutmix")
    height, width = images.shape[-2:]
    if box is None:
        box = sample_cutmix_box(sample_mixup_lambda(alpha) if lam is None else float(lam), height, width)
    x1, y1, x2, y2 = box
    out = images.clone()
    out[..., y1:y2, x1:x2] = images.roll(1, 0)[..., y1:y2, x1:x2]
    kept = 1.0 - (x2 - x1) * (y2 - y1) / (width * height)   # the real area, after clipping at the border
    return out, mix_labels(labels, kept, num_classes)
