"""Chapter 13's exercise checks pass the worked solutions (test_chapter_solutions.py runs them), report a
placeholder as not attempted, and reject the typical wrong answers with a hint."""
import math

import pytest
import torch
import torch.nn.functional as F

from dlcourse.checks import CheckError
from dlcourse.exercises.chapters import ch13_efficient_cnns as exercises


# ---- right answers (as in solutions/chapters/13_efficient_cnns.py, which test_chapter_solutions.py runs)
def depthwise_conv2d(x, weight, stride=1, padding=0):
    n, c, h, w = x.shape
    k = weight.shape[-1]
    patches = F.unfold(x, k, padding=padding, stride=stride).view(n, c, k * k, -1)
    out = (patches * weight.view(1, c, k * k, 1)).sum(dim=2)
    return out.view(n, c, (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1)


def squeeze_excitation(x, w1, b1, w2, b2):
    return x * torch.sigmoid(F.silu(x.mean((2, 3)) @ w1.T + b1) @ w2.T + b2)[:, :, None, None]


def scale_stage(channels, layers, width_mult, depth_mult):
    value = channels * width_mult
    rounded = max(8, int(value + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * value else rounded, math.ceil(layers * depth_mult)


# ---- typical wrong answers
def depthwise_kernel_major(x, weight, stride=1, padding=0):
    """Reads unfold's rows as (k*k, C) instead of (C, k*k): the right shape, the wrong pixels."""
    n, c, h, w = x.shape
    k = weight.shape[-1]
    patches = F.unfold(x, k, padding=padding, stride=stride).view(n, k * k, c, -1).transpose(1, 2)
    out = (patches * weight.view(1, c, k * k, 1)).sum(dim=2)
    return out.view(n, c, (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1)


def depthwise_ignoring_stride(x, weight, stride=1, padding=0):
    return depthwise_conv2d(x, weight, 1, padding)


def depthwise_with_grouped_conv(x, weight, stride=1, padding=0):
    return F.conv2d(x, weight, stride=stride, padding=padding, groups=x.shape[1])


def se_with_relu(x, w1, b1, w2, b2):
    return x * torch.sigmoid(F.relu(x.mean((2, 3)) @ w1.T + b1) @ w2.T + b2)[:, :, None, None]


def se_max_pooled(x, w1, b1, w2, b2):
    return x * torch.sigmoid(F.silu(x.amax((2, 3)) @ w1.T + b1) @ w2.T + b2)[:, :, None, None]


def se_without_sigmoid(x, w1, b1, w2, b2):
    return x * (F.silu(x.mean((2, 3)) @ w1.T + b1) @ w2.T + b2)[:, :, None, None]


def scale_stage_depth_truncated(channels, layers, width_mult, depth_mult):
    return scale_stage(channels, layers, width_mult, 1.0)[0], int(layers * depth_mult)


def scale_stage_width_truncated(channels, layers, width_mult, depth_mult):
    return int(channels * width_mult), math.ceil(layers * depth_mult)



@pytest.mark.parametrize("check, right, wrongs", [
    (exercises.check_depthwise_conv2d, depthwise_conv2d,
     [depthwise_kernel_major, depthwise_ignoring_stride, depthwise_with_grouped_conv]),
    (exercises.check_squeeze_excitation, squeeze_excitation,
     [se_with_relu, se_max_pooled, se_without_sigmoid]),
    (exercises.check_scale_stage, scale_stage,
     [scale_stage_depth_truncated, scale_stage_width_truncated]),
], ids=["depthwise", "squeeze-excitation", "scale-stage"])
def test_stub_right_answer_and_typical_mistakes(exercise_check, check, right, wrongs):
    exercise_check(check, right, wrongs)


def test_a_convolution_is_refused_with_the_rule_named():
    with pytest.raises(CheckError, match="not allowed here: this exercise builds the depthwise convolution"):
        exercises.check_depthwise_conv2d(depthwise_with_grouped_conv)
    assert F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 3, 3)).item() == 9      # restored afterwards


def test_the_hints_say_what_to_change():
    with pytest.raises(CheckError, match="ceil"):
        exercises.check_scale_stage(scale_stage_depth_truncated)
    with pytest.raises(CheckError, match="sigmoid"):
        exercises.check_squeeze_excitation(se_without_sigmoid)
