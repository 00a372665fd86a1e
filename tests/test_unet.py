"""dlcourse.models.unet: the paper's network (Figure 1: 572 -> 388, 23 convolutional layers, its
weights summed layer by layer), the padded course variant's shapes, and the skip connections
carrying gradient to the first level."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from dlcourse.models.unet import UNet
from dlcourse.profiling import count_params


def _conv(c_in, c_out, k):
    return k * k * c_in * c_out + c_out


def test_the_papers_unet():
    model = UNet(1, 2, (64, 128, 256, 512, 1024), padding=0, norm=False)
    convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert len(convs) == 23                                  # "In total the network has 23 convolutional layers"
    widths = [64, 128, 256, 512, 1024]
    expected = _conv(1, 64, 3) + _conv(64, 64, 3)            # Figure 1, left to right
    for a, b in zip(widths, widths[1:]):
        expected += _conv(a, b, 3) + _conv(b, b, 3)          # contracting path
    for a, b in zip(widths[::-1], widths[::-1][1:]):
        expected += _conv(a, b, 2) + _conv(2 * b, b, 3) + _conv(b, b, 3)   # up-conv 2x2, then two 3x3 on the concat
    expected += _conv(64, 2, 1)
    assert count_params(model) == expected == 31_030_658
    with torch.no_grad():
        assert model(torch.zeros(1, 1, 572, 572)).shape == (1, 2, 388, 388)


@pytest.mark.parametrize("size", [32, 64, 96])
def test_the_padded_unet_keeps_the_size(size):
    model = UNet(1, 11, (8, 16, 32, 64))
    assert model(torch.randn(2, 1, size, size)).shape == (2, 11, size, size)


def test_the_skips_reach_the_first_level():
    """The top-level skip carries the output's gradient straight to the first block: with the
    bottleneck's output zeroed, the first block's weights still get a gradient."""
    torch.manual_seed(0)
    model = UNet(1, 3, (8, 16, 32))
    model.down[-1].register_forward_hook(lambda m, i, out: out * 0)
    model(torch.randn(2, 1, 32, 32)).square().sum().backward()
    assert model.down[0][0].weight.grad.abs().sum() > 0
    assert model.down[-1][0].weight.grad.abs().sum() == 0
