"""Chapter 09's exercise checks pass the worked solutions (test_chapter_solutions.py) and reject the
typical wrong answers with a hint; a placeholder that returns None is reported, not failed."""
import pytest
import torch
import torch.nn.functional as F

from dlcourse.checks import CheckError
from dlcourse.conv import conv2d, max_pool2d
from dlcourse.exercises.chapters import ch09_convolutions as exercises


def conv2d_loops_flipped(x, weight, bias, stride=1, padding=0):
    """A textbook convolution: the kernel flipped, which deep-learning libraries do not do."""
    return conv2d(x, weight.flip(-2, -1), bias, stride, padding)


def conv2d_loops_stride_ignored(x, weight, bias, stride=1, padding=0):
    return conv2d(x, weight, bias, 1, padding)


def conv2d_loops_padding_one_side(x, weight, bias, stride=1, padding=0):
    return conv2d(F.pad(x, (padding, 0, padding, 0)), weight, bias, stride, 0)


def conv2d_loops_detached(x, weight, bias, stride=1, padding=0):
    """Right values, but built with torch.tensor(...) from Python numbers: no gradient flows."""
    return torch.tensor(F.conv2d(x, weight, bias, stride, padding).tolist())


@pytest.mark.parametrize("check, wrong", [
    (exercises.check_output_size, lambda n, k, s=1, p=0, d=1: (n + 2 * p - k) // s + 1),          # dilation ignored
    (exercises.check_output_size, lambda n, k, s=1, p=0, d=1: (n + p - d * (k - 1) - 1) // s + 1),  # padding once
    (exercises.check_output_size, lambda n, k, s=1, p=0, d=1: (n + 2 * p - d * (k - 1) - 1) / s + 1),  # a float
    (exercises.check_output_size, lambda n, k, s=1, p=0, d=1: -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1),  # ceil: a partial last window
    (exercises.check_conv2d_loops, conv2d_loops_flipped),
    (exercises.check_conv2d_loops, conv2d_loops_stride_ignored),
    (exercises.check_conv2d_loops, conv2d_loops_padding_one_side),
    (exercises.check_conv2d_loops, lambda x, w, b, s=1, p=0: F.conv2d(x, w, None, s, p)),           # no bias
    (exercises.check_conv2d_loops, conv2d_loops_detached),
    (exercises.check_max_pool2d, lambda x, k, s=None: max_pool2d(x, k, 1)),                         # stride 1
    (exercises.check_max_pool2d, lambda x, k, s=None: F.avg_pool2d(x, k, s)),                       # the mean
    (exercises.check_max_pool2d, lambda x, k, s=None: max_pool2d(x, k, s if s is not None else 2)),  # stride 2
    (exercises.check_receptive_field, lambda layers: 1 + sum(k - 1 for k, s in layers)),            # jump ignored
    (exercises.check_receptive_field, lambda layers: __import__("math").prod(k for k, s in layers)),  # product
    (exercises.check_receptive_field, lambda layers: sum(k for k, s in layers)),                     # no start at 1
], ids=["size-no-dilation", "size-pad-once", "size-float", "size-ceil", "conv-flipped", "conv-stride-ignored",
        "conv-pad-one-side", "conv-no-bias", "conv-detached", "pool-stride-1", "pool-mean", "pool-stride-2",
        "rf-jump-ignored", "rf-product", "rf-sum"])
def test_typical_mistakes_fail_with_a_hint(check, wrong):
    with pytest.raises(CheckError) as err:
        check(wrong)
    assert len(str(err.value)) > 80, "the message should carry the hint"


@pytest.mark.parametrize("check", [exercises.check_output_size, exercises.check_conv2d_loops,
                                   exercises.check_max_pool2d, exercises.check_receptive_field])
def test_a_placeholder_is_reported_as_not_attempted(check, capsys):
    check(lambda *args: None)
    assert "not attempted yet" in capsys.readouterr().out


def test_the_reference_answers_pass(capsys):
    from dlcourse.conv import conv_output_size, receptive_field
    exercises.check_output_size(conv_output_size)
    exercises.check_conv2d_loops(lambda x, w, b, s=1, p=0: conv2d(x, w, b, s, p))
    exercises.check_max_pool2d(max_pool2d)
    exercises.check_receptive_field(lambda layers: receptive_field(layers).size)
    assert capsys.readouterr().out.count("OK") >= 4
