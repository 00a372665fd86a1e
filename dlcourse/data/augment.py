"""Images through a torchvision transform, one example at a time, then normalised.

Augmentation draws new random parameters per example and per epoch, so it cannot be applied
once to the whole tensor the way ``cifar10()`` normalises it. ``AugmentedImages`` keeps the
uint8 pixels, runs ``transform`` (e.g. ``torchvision.transforms.v2.Compose([...])``) on each
(C, H, W) uint8 image as it is fetched, and normalises the result exactly as ``cifar10()``
does, so with ``transform=None`` it holds the same tensors.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch.utils.data import Dataset

from .vision import CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD, load_cifar10, subset

__all__ = ["AugmentedImages", "cifar10_augmented"]


class AugmentedImages(Dataset):
    """(transform(image) as float in [0, 1] - mean) / std, label; images uint8 (N, C, H, W)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform: Callable | None,
                 mean: Sequence[float], std: Sequence[float], classes: Sequence[str] = ()):
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f"AugmentedImages takes uint8 images (N, C, H, W), got {images.dtype} "
                             f"{tuple(images.shape)}.")
        self.images, self.labels, self.transform = images, labels, transform
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)
        self.classes = tuple(classes)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.images[i]
        if self.transform is not None:
            image = self.transform(image)
        if image.dtype != torch.uint8:
            raise ValueError(f"the transform must return uint8 pixels (normalisation comes after it), got "
                             f"{image.dtype}: leave out ToDtype/Normalize.")
        return (image.float() / 255 - self.mean) / self.std, self.labels[i]


def cifar10_augmented(split: str = "train", transform: Callable | None = None, *, limit: int | None = None,
                      seed: int = 0) -> AugmentedImages:
    """The same examples as ``cifar10(split, limit=limit, seed=seed)``, each through ``transform``."""
    images, labels = load_cifar10(split)
    idx = subset(len(labels), limit, seed)
    pixels = torch.from_numpy(images[idx]).permute(0, 3, 1, 2).contiguous()
    return AugmentedImages(pixels, torch.from_numpy(labels[idx]), transform, CIFAR10_MEAN, CIFAR10_STD,
                           CIFAR10_CLASSES)
