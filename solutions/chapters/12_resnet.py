"""Worked solutions to the exercises of chapter 12 · ResNet.

Run it from the repository root: ``python solutions/chapters/12_resnet.py``. Each solution is
checked by the same function the notebook calls (``dlcourse.exercises.chapters.ch12_resnet``); a wrong
answer raises ``dlcourse.CheckError``.
"""
import torch.nn.functional as F

import dlcourse
from dlcourse.exercises.chapters import ch12_resnet as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: a block's parameters, by hand
#
# A convolution without bias has in * out * k * k weights; a BatchNorm has a scale and a shift per
# channel (its running mean and variance are buffers, not parameters). The projection shortcut
# (1x1 convolution + BatchNorm) exists exactly when the block changes the shape: a stride, or
# inplanes != planes * expansion.
def block_params(kind, inplanes, planes, stride):
    """Parameters of a BasicBlock ("basic") or Bottleneck ("bottleneck"), shortcut included."""
    expansion = 1 if kind == "basic" else 4
    out = planes * expansion
    if kind == "basic":
        convs = inplanes * planes * 9 + planes * planes * 9
        norms = 2 * planes + 2 * planes
    else:
        convs = inplanes * planes + planes * planes * 9 + planes * out
        norms = 2 * planes + 2 * planes + 2 * out
    shortcut = inplanes * out + 2 * out if stride != 1 or inplanes != out else 0
    return convs + norms + shortcut


exercises.check_block_params(block_params)


# %% Exercise 2: the option-A shortcut
#
# A 1x1 convolution with stride s reads the pixels (0, 0), (0, s), ...: x[:, :, ::s, ::s]. The new
# channels go after the existing ones; F.pad's pairs run from the last axis backwards, so the third
# pair pads the channel axis.
def pad_shortcut(x, planes, stride):
    """x subsampled by stride and zero-padded to planes channels."""
    x = x[:, :, ::stride, ::stride]
    return F.pad(x, (0, 0, 0, 0, 0, planes - x.shape[1]))


exercises.check_pad_shortcut(pad_shortcut)
