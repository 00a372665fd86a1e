"""Chapter 12's exercise checks pass the right answers (and the worked solutions, test_chapter_solutions.py),
report a placeholder, and reject the typical wrong answers with a hint."""
import pytest
import torch
import torch.nn.functional as F

from dlcourse.checks import CheckError
from dlcourse.exercises.chapters import ch12_resnet as exercises


def block_params(kind, inplanes, planes, stride, *, bn=2, projection="when-needed"):
    expansion = 1 if kind == "basic" else 4
    out = planes * expansion
    if kind == "basic":
        n = inplanes * planes * 9 + bn * planes + planes * planes * 9 + bn * planes
    else:
        n = inplanes * planes + planes * planes * 9 + planes * out + bn * (2 * planes + out)
    needed = stride != 1 or inplanes != out
    if projection == "always" or (projection == "when-needed" and needed) or (projection == "stride" and stride != 1):
        n += inplanes * out + bn * out
    return n


def pad_shortcut(x, planes, stride):
    x = x[:, :, ::stride, ::stride]
    return F.pad(x, (0, 0, 0, 0, 0, planes - x.shape[1]))


def test_right_answers_pass_and_placeholders_are_reported(capsys):
    exercises.check_block_params(block_params)
    exercises.check_pad_shortcut(pad_shortcut)
    exercises.check_block_params(lambda *a: None)
    exercises.check_pad_shortcut(lambda *a: None)
    assert capsys.readouterr().out.count("not attempted yet") == 2


@pytest.mark.parametrize("check, wrong", [
    (exercises.check_block_params, lambda *a: block_params(*a, bn=4)),                # running stats counted
    (exercises.check_block_params, lambda *a: block_params(*a, bn=0)),                # BatchNorm forgotten
    (exercises.check_block_params, lambda *a: block_params(*a, projection="never")),
    (exercises.check_block_params, lambda *a: block_params(*a, projection="stride")),  # misses widening-only
    (exercises.check_pad_shortcut,                                                     # zeros in front
     lambda x, p, s: F.pad(x[:, :, ::s, ::s], (0, 0, 0, 0, p - x.shape[1], 0))),
    (exercises.check_pad_shortcut,                                                     # average-pooled
     lambda x, p, s: F.pad(F.avg_pool2d(x, s), (0, 0, 0, 0, 0, p - x.shape[1]))),
    (exercises.check_pad_shortcut,                                                     # odd rows and columns
     lambda x, p, s: F.pad(x[:, :, s - 1::s, s - 1::s], (0, 0, 0, 0, 0, p - x.shape[1]))),
], ids=["bn-buffers", "no-bn", "no-projection", "projection-on-stride-only", "pad-front", "avg-pool", "odd-pixels"])
def test_typical_mistakes_fail_with_a_hint(check, wrong):
    with pytest.raises(CheckError) as err:
        check(wrong)
    assert len(str(err.value)) > 80, "the message should carry the hint"
