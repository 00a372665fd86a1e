"""AlexNet (Krizhevsky, Sutskever & Hinton 2012). Parameter names match torchvision: state dicts load both ways.

Paper: A. Krizhevsky, I. Sutskever and G. E. Hinton, "ImageNet classification with deep
convolutional neural networks", NIPS 2012 (Fig. 2, section 3). Its network was split over two
GPUs (96-256-384-384-256 kernels, conv2, conv4 and conv5 seeing only their own GPU's half).
torchvision, and this file, build the single-tower version of "One weird trick for
parallelizing convolutional neural networks" (Krizhevsky 2014): 64-192-384-256-256 kernels,
no local response normalization, 61,100,840 parameters for 1000 classes.

    features    conv 11x11/4 64 -> ReLU -> max-pool 3/2        224 -> 55 -> 27
                conv 5x5 192 -> ReLU -> max-pool 3/2            27 -> 13
                conv 3x3 384 -> ReLU, conv 3x3 256 -> ReLU,
                conv 3x3 256 -> ReLU -> max-pool 3/2            13 -> 6
    avgpool     adaptive average pool to 6x6
    classifier  dropout -> 9216 -> 4096 -> ReLU -> dropout -> 4096 -> ReLU -> num_classes

The CIFAR-sized network is the same class with another stem (a 3x3 stride-1 first convolution,
so 32x32 images keep their detail), a 3x3 average pool and narrower fully connected layers:
``alexnet_cifar``. Module indices are the same, so keys are too.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["AlexNet", "alexnet", "alexnet_cifar"]


class AlexNet(nn.Module):
    """stem: (kernel, stride, padding) of the first convolution; pool_size: the adaptive
    average pool's output side; hidden: width of the two hidden fully connected layers."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5, *, in_channels: int = 3,
                 stem: tuple[int, int, int] = (11, 4, 2), pool_size: int = 6, hidden: int = 4096):
        super().__init__()
        kernel, stride, padding = stem
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=kernel, stride=stride, padding=padding),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),     # overlapping pooling (section 3.4)
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),                     # dropout in the first two FC layers (section 4.2)
            nn.Linear(256 * pool_size * pool_size, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (N, 3, 224, 224) -> (N, num_classes)
        x = self.features(x)                                    # (N, 256, 6, 6)
        x = self.avgpool(x)                                     # (N, 256, pool, pool)
        x = torch.flatten(x, 1)                                 # (N, 256 * pool * pool)
        return self.classifier(x)                               # (N, num_classes)


def alexnet(num_classes: int = 1000, dropout: float = 0.5) -> AlexNet:
    """AlexNet for 224x224 images, torchvision's layout (61,100,840 parameters for 1000 classes)."""
    return AlexNet(num_classes, dropout)


def alexnet_cifar(num_classes: int = 10, dropout: float = 0.5, hidden: int = 1024) -> AlexNet:
    """AlexNet for 32x32 images: a 3x3 stride-1 stem (32 -> 15 -> 7 -> 3 through the pools), 3x3 pool."""
    return AlexNet(num_classes, dropout, stem=(3, 1, 1), pool_size=3, hidden=hidden)
