"""Worked solutions to the exercises of chapter 09 · Convolutions.

Run it from the repository root: ``python solutions/chapters/09_convolutions.py``. Each
solution is checked by the same function the notebook calls
(``dlcourse.exercises.chapters.ch09_convolutions``); a wrong answer raises ``dlcourse.CheckError``.
"""
import torch
import torch.nn.functional as F

import dlcourse
from dlcourse.exercises.chapters import ch09_convolutions as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: the output size
#
# A dilated kernel spans d (k - 1) + 1 pixels; the padded input has size + 2 p. The first window
# starts at 0, and a window starting at s i fits while s i + d (k - 1) + 1 <= size + 2 p.
def output_size(size, kernel, stride=1, padding=0, dilation=1):
    """The output's length along one axis."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


exercises.check_output_size(output_size)


# %% Exercise 2: a convolution by loops
#
# Loops over the output pixels only; each step is a window times every filter at once.
def conv2d_loops(x, weight, bias, stride=1, padding=0):
    """(N, C, H, W) * (O, C, kh, kw) + (O,) -> (N, O, H_out, W_out), by explicit loops."""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    rows = []
    for i in range(ho):
        row = []
        for j in range(wo):
            window = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]   # (N, C, kh, kw)
            row.append((window[:, None] * weight[None]).sum(dim=(2, 3, 4)) + bias)     # (N, O)
        rows.append(torch.stack(row, dim=-1))                                           # (N, O, W_out)
    return torch.stack(rows, dim=-2)                                                    # (N, O, H_out, W_out)


exercises.check_conv2d_loops(conv2d_loops)


# %% Exercise 3: max pooling
#
# Tensor.unfold(dim, size, step) gives every window along one axis as a view; do it for both.
def max_pool2d(x, kernel_size, stride=None):
    """The largest value of each kernel_size x kernel_size window, windows stride apart."""
    stride = kernel_size if stride is None else stride
    windows = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)   # (N, C, H_out, W_out, k, k)
    return windows.flatten(-2).max(dim=-1).values


exercises.check_max_pool2d(max_pool2d)


# %% Exercise 4: the receptive field
#
# Each layer widens the field by (k - 1) taps, each tap jump input pixels apart; then its stride
# multiplies the jump.
def receptive_field_size(layers):
    """Input pixels seen (along one axis) by one output pixel of a stack of (kernel, stride) layers."""
    size, jump = 1, 1
    for kernel, stride in layers:
        size += (kernel - 1) * jump
        jump *= stride
    return size


exercises.check_receptive_field(receptive_field_size)
print("all chapter 09 exercise checks passed")
