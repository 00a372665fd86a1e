"""Checks of chapter 09's exercises: the output-size formula, a convolution by loops, max pooling,
the receptive field of a stack."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from dlcourse.checks import CheckError, check_like_torch
from dlcourse.conv import receptive_field
from dlcourse.exercises import not_attempted

__all__ = ["check_output_size", "check_conv2d_loops", "check_max_pool2d", "check_receptive_field"]

# (size, kernel, stride, padding, dilation): every term of the formula matters in some case.
SIZE_CASES = [(28, 5, 1, 2, 1), (28, 5, 1, 0, 1), (32, 3, 2, 1, 1), (7, 3, 2, 0, 1), (10, 3, 1, 0, 2),
              (224, 11, 4, 2, 1), (9, 2, 3, 1, 3), (5, 5, 1, 0, 1)]


def check_output_size(output_size: Callable) -> None:
    """Exercise 1: output_size(size, kernel, stride, padding, dilation) == the size F.conv2d returns."""
    __tracebackhide__ = True
    if not_attempted(output_size(*SIZE_CASES[0]), 1, "make output_size return the output's length along one axis."):
        return
    for size, k, s, p, d in SIZE_CASES:
        expected = F.conv2d(torch.zeros(1, 1, size, 1), torch.zeros(1, 1, k, 1), stride=(s, 1), padding=(p, 0),
                            dilation=(d, 1)).shape[2]
        got = output_size(size, k, s, p, d)
        if got != expected or not isinstance(got, int):
            hints = []
            if isinstance(got, float):
                hints.append("the size is an int: use // (floor division), not /")
            if d > 1:
                hints.append("a dilated kernel spans dilation * (kernel - 1) + 1 pixels")
            hints.append("the formula is (size + 2 padding - dilation (kernel - 1) - 1) // stride + 1 "
                         "(padding is added on both sides; the last window must fit entirely)")
            raise CheckError(f"output_size(size={size}, kernel={k}, stride={s}, padding={p}, dilation={d}): "
                             f"got {got!r}, F.conv2d returns {expected}. Hint: {'; '.join(hints)}.")
    print(f"OK output_size: {len(SIZE_CASES)} cases equal the sizes F.conv2d returns")


def _small(seed: int, shape) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def check_conv2d_loops(conv2d_loops: Callable) -> None:
    """Exercise 2: conv2d_loops(x, weight, bias, stride, padding) by explicit loops == F.conv2d."""
    __tracebackhide__ = True
    x, w, b = _small(0, (2, 3, 7, 6)), _small(1, (4, 3, 3, 2)), _small(2, (4,))   # a rectangular kernel
    if not_attempted(conv2d_loops(x, w, b, 1, 0), 2, "make conv2d_loops return the (N, O, H_out, W_out) output."):
        return
    for stride, padding in ((1, 0), (2, 1), (3, 2)):
        check_like_torch(f"conv2d_loops(stride={stride}, padding={padding})",
                         lambda x, w, b: conv2d_loops(x, w, b, stride, padding),
                         lambda x, w, b: F.conv2d(x, w, b, stride, padding), x, w, b,
                         hint="Pad x with zeros on every side (F.pad(x, (p, p, p, p))), then for each output "
                              "position (i, j) take the window xp[:, :, i*stride : i*stride + kh, j*stride : j*stride "
                              "+ kw] and sum window * weight[o] over (C, kh, kw), plus bias[o]. Deep-learning "
                              "'convolution' does not flip the kernel; the output size is (H + 2p - kh) // stride + 1.")


def check_max_pool2d(max_pool2d: Callable) -> None:
    """Exercise 3: max_pool2d(x, kernel_size, stride=None) == F.max_pool2d, values and gradients."""
    __tracebackhide__ = True
    x = _small(3, (2, 3, 8, 7))
    if not_attempted(max_pool2d(x, 2), 3, "make max_pool2d return the largest value of each window."):
        return
    for k, s in ((2, None), (3, None), (3, 1), (3, 2)):
        check_like_torch(f"max_pool2d(kernel_size={k}, stride={s})", lambda x: max_pool2d(x, k, s),
                         lambda x: F.max_pool2d(x, k, s), x,
                         hint="Without a stride the windows do not overlap: stride defaults to kernel_size. Take the "
                              "maximum over each window (not the mean), per example and channel; the output has "
                              "(H - k) // stride + 1 rows. x.unfold(2, k, s).unfold(3, k, s) gives every window.")


STACKS = [[(5, 1), (2, 2), (5, 1), (2, 2)], [(3, 1)] * 3, [(3, 2), (3, 2), (3, 2)], [(7, 2), (3, 2), (3, 1), (3, 1)],
          [(2, 2)], []]


def check_receptive_field(receptive_field_size: Callable) -> None:
    """Exercise 4: receptive_field_size([(kernel, stride), ...]) == the receptive field of the stack."""
    __tracebackhide__ = True
    if not_attempted(receptive_field_size(STACKS[0]), 4, "make receptive_field_size return an int."):
        return
    for layers in STACKS:
        expected = receptive_field(layers).size
        got = receptive_field_size(layers)
        if got != expected:
            raise CheckError(
                f"receptive_field_size({layers}): got {got!r}, expected {expected}. Hint: start from size 1 and "
                "jump 1 (one input pixel); each layer adds (kernel - 1) x jump to the size, then multiplies the "
                "jump by its stride (a layer after a stride-2 layer steps over 2 input pixels per tap). "
                "An empty stack sees 1 pixel.")
    print(f"OK receptive_field_size: {len(STACKS)} stacks equal dlcourse.conv.receptive_field")
