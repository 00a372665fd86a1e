"""U-Net (Ronneberger, Fischer & Brox 2015), the encoder-decoder with skip connections that
segmentation models still build on (chapter 16).

The encoder halves the map and doubles the channels at each level (two 3x3 conv-ReLU, then a
2x2 max-pool); the decoder doubles it back (a 2x2 transposed convolution), concatenates the
encoder's map of the same level (the skip: where the encoder knew *where*, the decoder knows
*what*), and convolves twice; a 1x1 convolution gives each pixel its class logits.

``UNet(padding=0, norm=False)`` is the paper's network: unpadded ("valid") convolutions, so a
572x572 input gives a 388x388 map as in its Figure 1, the skip maps are centre-cropped, and
with ``in_channels=1, num_classes=2, widths=(64, 128, 256, 512, 1024)`` it has the paper's
23 convolutional layers and 31,030,658 weights, the sum over Figure 1's layers
(``tests/test_unet.py`` writes that sum out). The course's default pads (the output has
the input's size) and adds BatchNorm after each convolution, as most reimplementations do.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["UNet", "DoubleConv"]


class DoubleConv(nn.Sequential):
    """(conv3x3 -> [BatchNorm] -> ReLU) x 2."""

    def __init__(self, in_channels: int, out_channels: int, padding: int = 1, norm: bool = True):
        layers = []
        for c in (in_channels, out_channels):
            layers += [nn.Conv2d(c, out_channels, 3, padding=padding, bias=not norm)]
            layers += [nn.BatchNorm2d(out_channels)] if norm else []
            layers += [nn.ReLU(inplace=True)]
        super().__init__(*layers)


def _centre_crop(x: torch.Tensor, size) -> torch.Tensor:
    """The middle ``size`` of ``x``'s map: the paper's crop of a skip map to the decoder's size."""
    top, left = (x.shape[-2] - size[0]) // 2, (x.shape[-1] - size[1]) // 2
    return x[..., top:top + size[0], left:left + size[1]]


class UNet(nn.Module):
    """(N, in_channels, H, W) -> (N, num_classes, H, W) logits (padded; H, W divisible by 2^levels)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, widths=(32, 64, 128, 256), padding: int = 1,
                 norm: bool = True):
        super().__init__()
        self.down = nn.ModuleList()
        c = in_channels
        for w in widths:
            self.down.append(DoubleConv(c, w, padding, norm))
            c = w
        self.pool = nn.MaxPool2d(2)
        self.up, self.merge = nn.ModuleList(), nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(c, w, 2, stride=2))
            self.merge.append(DoubleConv(2 * w, w, padding, norm))
            c = w
        self.head = nn.Conv2d(c, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips[:-1])):
            x = up(x)
            x = merge(torch.cat([_centre_crop(skip, x.shape[-2:]), x], 1))
        return self.head(x)
