"""Checks of chapter 11's exercises (AlexNet and VGG): counting a VGG body's parameters from its
config, AlexNet's two-GPU grouped convolution, the receptive field of a VGG stack."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from dlcourse.checks import check_close, check_like_torch
from dlcourse.exercises import not_attempted
from dlcourse.profiling import count_params

__all__ = ["RF_CONFIGS", "check_count_vgg_parameters", "check_grouped_conv", "check_receptive_field"]

# Stacks of 3x3 convolutions (ints) and 2x2 max-pools ("M") whose receptive field exercise 3 computes
RF_CONFIGS = [[8], [8, 8], [8, 8, 8], [8, "M", 8], [8, 8, "M", 8, 8], [8, "M", 8, "M", 8],
              [8, 8, "M", 8, 8, "M", 8, 8, 8]]


def _vgg_configs():
    from dlcourse.models.vgg import cfgs
    return [(cfgs["A"], 3, False), (cfgs["D"], 3, False), (cfgs["E"], 3, True), ([16, "M", 32, 32, "M"], 1, True)]


def check_count_vgg_parameters(count_vgg_parameters: Callable) -> None:
    """Exercise 1: count_vgg_parameters(cfg, in_channels, batch_norm) == make_layers(...)'s trainable parameters."""
    __tracebackhide__ = True
    from dlcourse.models.vgg import make_layers
    if not_attempted(count_vgg_parameters([64, "M"], 3, False), 1,
                     "make count_vgg_parameters(cfg, in_channels, batch_norm) add up each convolution's weights "
                     "and biases (and each BatchNorm's scale and shift)."):
        return
    configs = _vgg_configs()
    got = torch.tensor([float(count_vgg_parameters(list(cfg), c, bn)) for cfg, c, bn in configs])
    expected = torch.tensor([float(count_params(make_layers(cfg, bn, c)))
                             for cfg, c, bn in configs])
    check_close("count_vgg_parameters (VGG-11, VGG-16, VGG-19 with BN, a 1-channel toy)", got, expected,
                atol=0, rtol=0,
                hint="A 3x3 convolution from c_in to c_out channels holds 9 c_in c_out weights and c_out biases; "
                     "'M' holds none but the next convolution reads the channels of the last one; BatchNorm adds "
                     "2 c_out trainable numbers (its running mean and variance are buffers, not parameters).")


def check_grouped_conv(grouped_conv: Callable) -> None:
    """Exercise 2: grouped_conv(x, weight, bias, groups) == F.conv2d(..., groups=groups)."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 8, 9, 9, generator=g)
    weight, bias = torch.randn(6, 4, 3, 3, generator=g) * 0.3, torch.randn(6, generator=g)
    if not_attempted(grouped_conv(x.clone(), weight, bias, 2), 2,
                     "make grouped_conv(x, weight, bias, groups) convolve each group of channels on its own."):
        return
    for groups, w in ((2, weight), (4, torch.randn(8, 2, 3, 3, generator=g) * 0.3)):
        b = torch.randn(w.shape[0], generator=g)
        check_like_torch(f"grouped_conv(groups={groups})", lambda x, w, b: grouped_conv(x, w, b, groups),
                         lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=groups), x, w, b,
                         hint="Split x's channels into `groups` equal chunks and the weight's *output* channels "
                              "into as many; convolve chunk i with weight chunk i (padding=1), then concatenate "
                              "the results along the channels (torch.cat(..., dim=1)). The weight's second axis "
                              "is already C_in / groups.")


def _measured_receptive_field(cfg) -> int:
    """Side of the input patch that one central output unit depends on, found by autograd."""
    from dlcourse.models.vgg import make_layers
    torch.manual_seed(0)
    body = make_layers(cfg, in_channels=1)
    for m in body.modules():                          # positive weights: no gradient cancels to 0 by chance
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.uniform_(m.weight, 0.1, 1.0)
            torch.nn.init.zeros_(m.bias)
    x = torch.rand(1, 1, 64, 64, requires_grad=True)  # positive inputs keep every ReLU open
    out = body(x)
    out[0, :, out.shape[-2] // 2, out.shape[-1] // 2].sum().backward()
    rows = x.grad[0, 0].abs().sum(1).nonzero()
    return int(rows.max() - rows.min() + 1)


def check_receptive_field(receptive_field: Callable) -> None:
    """Exercise 3: receptive_field(cfg) == the patch a central output unit depends on (measured by autograd)."""
    __tracebackhide__ = True
    if not_attempted(receptive_field([8, 8]), 3, "make receptive_field(cfg) return the side of the input patch "
                     "that one output unit of the stack sees."):
        return
    got = torch.tensor([float(receptive_field(list(cfg))) for cfg in RF_CONFIGS])
    expected = torch.tensor([float(_measured_receptive_field(cfg)) for cfg in RF_CONFIGS])
    check_close(f"receptive_field of {len(RF_CONFIGS)} stacks", got, expected, atol=0, rtol=0,
                hint="Walk the config keeping the field r (start 1) and the jump j (start 1: input pixels between "
                     "neighbouring units). A 3x3 convolution adds 2 j to r; a 2x2 pool with stride 2 adds j to r, "
                     "then doubles j. Two 3x3 convolutions see 5x5, three see 7x7 (Simonyan & Zisserman, "
                     "section 2.3).")
