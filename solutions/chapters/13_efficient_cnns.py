"""Worked solutions to the exercises of chapter 13 · Inception, MobileNet, EfficientNet.

Run it from the repository root: ``python solutions/chapters/13_efficient_cnns.py``. Each
solution is checked by the same function the notebook calls
(``dlcourse.exercises.chapters.ch13_efficient_cnns``); a wrong answer raises ``dlcourse.CheckError``.
"""
import math

import torch
import torch.nn.functional as F

import dlcourse
from dlcourse.exercises.chapters import ch13_efficient_cnns as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: a depthwise convolution from unfold
#
# F.unfold lays every k x k patch out as a column, channel-major: rows c*k*k ... (c+1)*k*k - 1
# hold channel c's patch. A depthwise filter dots each channel's patch with that channel's own
# kernel and sums over the k*k positions only, never over channels.
def depthwise_conv2d(x, weight, stride=1, padding=0):
    """x (N, C, H, W), weight (C, 1, k, k) -> (N, C, H_out, W_out), one filter per channel."""
    n, c, h, w = x.shape
    k = weight.shape[-1]
    patches = F.unfold(x, k, padding=padding, stride=stride).view(n, c, k * k, -1)   # (N, C, k*k, L)
    out = (patches * weight.view(1, c, k * k, 1)).sum(dim=2)                         # (N, C, L)
    h_out, w_out = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    return out.view(n, c, h_out, w_out)


exercises.check_depthwise_conv2d(depthwise_conv2d)


# %% Exercise 2: squeeze-and-excitation
#
# Squeeze each channel to its mean over the image, pass the C means through C -> S -> C with
# SiLU in between, squash with a sigmoid to one gate per channel, and rescale the channels.
def squeeze_excitation(x, w1, b1, w2, b2):
    """x (N, C, H, W); w1 (S, C), b1 (S,), w2 (C, S), b2 (C,) -> x gated per channel."""
    squeezed = x.mean(dim=(2, 3))                                   # (N, C)
    gate = torch.sigmoid(F.silu(squeezed @ w1.T + b1) @ w2.T + b2)  # (N, C), each in (0, 1)
    return x * gate[:, :, None, None]


exercises.check_squeeze_excitation(squeeze_excitation)


# %% Exercise 3: compound scaling of one stage
#
# Widths go to the nearest multiple of 8 (never losing more than 10%), depths round up.
def scale_stage(channels, layers, width_mult, depth_mult):
    """(channels, layers) of a B0 stage scaled by EfficientNet's width and depth multipliers."""
    value = channels * width_mult
    rounded = max(8, int(value + 4) // 8 * 8)
    if rounded < 0.9 * value:
        rounded += 8
    return rounded, int(math.ceil(layers * depth_mult))


exercises.check_scale_stage(scale_stage)
