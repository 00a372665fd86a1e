"""Checks of chapter 12's exercises: a BasicBlock's parameter count, the option-A shortcut, a Bottleneck's."""
from __future__ import annotations

from typing import Callable

import torch

from dlcourse.checks import CheckError, check_like_torch
from dlcourse.exercises import not_attempted
from dlcourse.models.resnet import BasicBlock, Bottleneck, PadShortcut, conv1x1
from dlcourse.profiling import count_params

__all__ = ["check_block_params", "check_pad_shortcut"]

# (block, inplanes, planes, stride): identity shortcuts, a stride, a widening, a Bottleneck's 4x expansion
_CASES = [(BasicBlock, 64, 64, 1), (BasicBlock, 64, 128, 2), (BasicBlock, 16, 32, 1), (BasicBlock, 3, 5, 1),
          (Bottleneck, 64, 64, 1), (Bottleneck, 256, 64, 1), (Bottleneck, 256, 128, 2), (Bottleneck, 7, 3, 1)]


def _reference_params(block, inplanes: int, planes: int, stride: int) -> int:
    """Count a real block's parameters, with torchvision's projection shortcut exactly when the shape changes."""
    out = planes * block.expansion
    downsample = None
    if stride != 1 or inplanes != out:
        downsample = torch.nn.Sequential(conv1x1(inplanes, out, stride), torch.nn.BatchNorm2d(out))
    with torch.device("meta"):   # counting needs no memory
        module = block(inplanes, planes, stride, downsample)
    return count_params(module)


def check_block_params(block_params: Callable) -> None:
    """Exercise 1: block_params(kind, inplanes, planes, stride) == the parameters of that block, kind being
    "basic" or "bottleneck", with a 1x1 projection + BatchNorm shortcut where the shape changes."""
    __tracebackhide__ = True
    if not_attempted(block_params("basic", 64, 64, 1), 1,
                     "make block_params return a block's number of parameters."):
        return
    for block, inplanes, planes, stride in _CASES:
        kind = "basic" if block is BasicBlock else "bottleneck"
        expected = _reference_params(block, inplanes, planes, stride)
        got = block_params(kind, inplanes, planes, stride)
        if got != expected:
            raise CheckError(
                f"block_params({kind!r}, inplanes={inplanes}, planes={planes}, stride={stride}) = {got}, expected "
                f"{expected}. Count each convolution as in_channels * out_channels * k * k (no bias: BatchNorm "
                "follows), each BatchNorm as 2 per channel (its running statistics are buffers, not parameters), "
                "and the projection shortcut (1x1 conv + BatchNorm) only when stride != 1 or inplanes != "
                "planes * expansion (expansion: 1 basic, 4 bottleneck).")
        print(f"OK block_params({kind!r}, {inplanes}, {planes}, stride={stride}) = {got:,}")


def check_pad_shortcut(pad_shortcut: Callable) -> None:
    """Exercise 2: pad_shortcut(x, planes, stride) == option A's PadShortcut (values and gradient)."""
    __tracebackhide__ = True
    x = torch.randn(2, 16, 8, 8, generator=torch.Generator().manual_seed(12))
    if not_attempted(pad_shortcut(x, 32, 2), 2, "make pad_shortcut subsample x and pad it with zero channels."):
        return
    for planes, stride in ((32, 2), (16, 1), (64, 2)):
        check_like_torch(f"pad_shortcut(planes={planes}, stride={stride})",
                         lambda x: pad_shortcut(x, planes, stride), PadShortcut(planes, stride), x,
                         hint="Keep every stride-th row and column starting at the first (x[:, :, ::s, ::s], which is "
                              "what a 1x1 convolution with stride s sees), then append planes - C channels of zeros "
                              "after the existing ones (F.pad's last pair pads the channel axis).")
