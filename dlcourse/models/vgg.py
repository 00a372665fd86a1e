"""VGG (Simonyan & Zisserman 2015). Parameter names match torchvision: state dicts load both ways.

Paper: K. Simonyan and A. Zisserman, "Very deep convolutional networks for large-scale image
recognition", ICLR 2015. Table 1 lists configurations A-E (11 to 19 weight layers), every
convolution 3x3 with padding 1 and ReLU, every pool 2x2 max-pool; Table 2 their parameter
counts (133, 133, 134, 138, 144 million). The configuration strings below are Table 1's columns
(A: VGG-11, B: VGG-13, D: VGG-16, E: VGG-19; "M" a max-pool), as torchvision's ``cfgs``.
With batch normalization (``*_bn``, not in the paper) each convolution keeps its bias, as in
torchvision. Exact counts for 1000 classes, equal to torchvision's:

    vgg11 132,863,336   vgg13 133,047,848   vgg16 138,357,544   vgg19 143,667,240
    vgg11_bn 132,868,840  vgg13_bn 133,053,736  vgg16_bn 138,365,992  vgg19_bn 143,678,248

Smaller networks (CIFAR-10) are the same class from another config, a 1x1 pool and a narrower
classifier: ``vgg_cifar``.
"""
from __future__ import annotations

from typing import Sequence, Union

import torch
from torch import nn

__all__ = ["VGG", "cfgs", "make_layers", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn",
           "vgg19", "vgg19_bn", "vgg_cifar"]

Config = Sequence[Union[int, str]]
cfgs: dict[str, list[Union[int, str]]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_layers(cfg: Config, batch_norm: bool = False, in_channels: int = 3) -> nn.Sequential:
    """The convolutional body from a config: an int is a 3x3 convolution with that many output
    channels (+ BatchNorm) + ReLU; "M" a 2x2 max-pool that halves the image."""
    layers: list[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        if not isinstance(v, int):
            raise ValueError(f"a VGG config holds channel counts (int) and 'M' (max-pool); got {v!r}")
        conv = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
        layers += [conv, nn.BatchNorm2d(v), nn.ReLU(inplace=True)] if batch_norm else [conv, nn.ReLU(inplace=True)]
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """features: a body from make_layers; pool_size: the adaptive average pool's side (7 for 224x224
    images: 224 / 2^5); hidden: width of the two hidden fully connected layers."""

    def __init__(self, features: nn.Sequential, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5, *, pool_size: int = 7, hidden: int = 4096):
        super().__init__()
        channels = [m.out_channels for m in features.modules() if isinstance(m, nn.Conv2d)][-1]
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        self.classifier = nn.Sequential(
            nn.Linear(channels * pool_size * pool_size, hidden),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        if init_weights:
            self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's: He init for ReLU convolutions (the paper pre-trained A to initialise the
        # deeper nets, and noted afterwards that Glorot init works without it, section 3.1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (N, 3, 224, 224) -> (N, num_classes)
        x = self.features(x)                                    # (N, 512, 7, 7): five pools, 224 / 32
        x = self.avgpool(x)                                     # (N, 512, pool, pool)
        x = torch.flatten(x, 1)                                 # (N, 512 * pool * pool)
        return self.classifier(x)                               # (N, num_classes)


def _vgg(cfg: str, batch_norm: bool, num_classes: int, dropout: float) -> VGG:
    return VGG(make_layers(cfgs[cfg], batch_norm), num_classes, dropout=dropout)


def vgg11(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-11, configuration A (Table 1)."""
    return _vgg("A", False, num_classes, dropout)


def vgg11_bn(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-11 with batch normalization after every convolution."""
    return _vgg("A", True, num_classes, dropout)


def vgg13(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-13, configuration B (Table 1)."""
    return _vgg("B", False, num_classes, dropout)


def vgg13_bn(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-13 with batch normalization."""
    return _vgg("B", True, num_classes, dropout)


def vgg16(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-16, configuration D (Table 1)."""
    return _vgg("D", False, num_classes, dropout)


def vgg16_bn(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-16 with batch normalization."""
    return _vgg("D", True, num_classes, dropout)


def vgg19(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-19, configuration E (Table 1)."""
    return _vgg("E", False, num_classes, dropout)


def vgg19_bn(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-19 with batch normalization."""
    return _vgg("E", True, num_classes, dropout)


def vgg_cifar(cfg: Config = (32, "M", 64, "M", 128, 128, "M", 256, 256, "M"), num_classes: int = 10,
              batch_norm: bool = True, dropout: float = 0.5, hidden: int = 256, in_channels: int = 3) -> VGG:
    """A VGG for 32x32 images from any config: four pools leave 2x2, averaged to 1x1 per channel."""
    model = VGG(make_layers(cfg, batch_norm, in_channels), num_classes, dropout=dropout, pool_size=1, hidden=hidden)
    # torchvision's N(0, 0.01) for the linear layers suits 4096-wide ones; in a 256-wide head it shrinks the
    # signal about 40x per layer and training stalls at chance for epochs: PyTorch's default init instead
    for m in model.classifier:
        if isinstance(m, nn.Linear):
            m.reset_parameters()
    return model
