"""Worked solutions to the exercises of chapter 11 · AlexNet and VGG.

Run it from the repository root: ``python solutions/chapters/11_alexnet_vgg.py``. Each solution
is checked by the same function the notebook calls (``dlcourse.exercises.chapters.ch11_alexnet_vgg``); a
wrong answer raises ``dlcourse.CheckError``.
"""
import torch
import torch.nn.functional as F

import dlcourse
from dlcourse.exercises.chapters import ch11_alexnet_vgg as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: count a VGG from its config
#
# A 3x3 convolution from c_in to c_out channels: 9 c_in c_out weights + c_out biases; BatchNorm
# adds a scale and a shift per channel (its running statistics are buffers). A pool has no
# parameters, and the next convolution reads the last convolution's channels.
def count_vgg_parameters(cfg, in_channels=3, batch_norm=False):
    """Trainable parameters of the convolutional body built from cfg."""
    total = 0
    for v in cfg:
        if v == "M":
            continue
        total += 9 * in_channels * v + v + (2 * v if batch_norm else 0)
        in_channels = v
    return total


exercises.check_count_vgg_parameters(count_vgg_parameters)


# %% Exercise 2: AlexNet's two GPUs, by hand
#
# Group i convolves the i-th chunk of the input channels with the i-th chunk of the filters
# (the weight's first axis); the outputs are concatenated along the channels.
def grouped_conv(x, weight, bias, groups):
    """A grouped 3x3 convolution (padding 1) from `groups` ordinary ones."""
    parts = zip(x.chunk(groups, dim=1), weight.chunk(groups, dim=0), bias.chunk(groups, dim=0))
    return torch.cat([F.conv2d(xi, wi, bi, padding=1) for xi, wi, bi in parts], dim=1)


exercises.check_grouped_conv(grouped_conv)


# %% Exercise 3: the receptive field of a VGG stack
#
# Keep the field r and the jump j (input pixels between neighbouring units of the current
# layer). A k x k convolution with stride 1 widens the field by (k - 1) j; a 2x2 pool with
# stride 2 by (2 - 1) j, and doubles the jump.
def receptive_field(cfg):
    """Side of the input patch one output unit of the stack sees."""
    r, j = 1, 1
    for v in cfg:
        if v == "M":
            r, j = r + j, 2 * j
        else:
            r += 2 * j
    return r


exercises.check_receptive_field(receptive_field)
