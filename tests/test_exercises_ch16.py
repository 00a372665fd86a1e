"""Chapter 16's exercise checks pass the worked solutions, report None as not attempted, and name
the fix for each usual mistake."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from dlcourse.checks import CheckError
from dlcourse.exercises.chapters import ch16_segmentation as ex

spec = importlib.util.spec_from_file_location("sol16", Path(__file__).parents[1] / "solutions/chapters/16_segmentation.py")
sol = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sol)   # runs every check on the worked solutions


def test_none_is_not_attempted(capsys):
    ex.check_iou_per_class(lambda *a: None), ex.check_soft_dice_loss(lambda *a: None)
    ex.check_valid_unet_output(lambda *a: None)
    assert capsys.readouterr().out.count("not attempted yet") == 3


def _iou_union_twice(pred, target, c):
    tp = torch.stack([((pred == k) & (target == k)).sum() for k in range(c)]).double()
    return tp / torch.stack([(pred == k).sum() + (target == k).sum() for k in range(c)]).double()


def _dice_instead(pred, target, c):
    return 2 * _iou_union_twice(pred, target, c)


def _absent_is_zero(pred, target, c):
    return sol.iou_per_class(pred, target, c).nan_to_num(0.0)


def _dice_per_image(logits, target):
    probs, onehot = logits.softmax(1), F.one_hot(target, logits.shape[1]).movedim(-1, 1).to(logits.dtype)
    return 1 - ((2 * (probs * onehot).sum((2, 3)) + 1) / (probs.sum((2, 3)) + onehot.sum((2, 3)) + 1)).mean()


def _dice_unsmoothed(logits, target):
    probs, onehot = logits.softmax(1), F.one_hot(target, logits.shape[1]).movedim(-1, 1).to(logits.dtype)
    inter, total = (probs * onehot).sum((0, 2, 3)), probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    return 1 - (2 * inter / total).mean()


def _dice_hard(logits, target):
    return sol.soft_dice_loss(60.0 * F.one_hot(logits.argmax(1), logits.shape[1]).movedim(-1, 1).double(), target)


def _size_no_up_trim(size, levels):
    for level in range(levels):
        size -= 4
        size = size // 2 if level < levels - 1 else size
    return size * 2 ** (levels - 1)


def _size_never_raises(size, levels):
    for level in range(levels):
        size = (size - 4) // 2 if level < levels - 1 else size - 4
    for _ in range(levels - 1):
        size = 2 * size - 4
    return size


@pytest.mark.parametrize("check, answer, words", [
    (ex.check_iou_per_class, _iou_union_twice, "subtract the intersection once"),
    (ex.check_iou_per_class, _dice_instead, "that is Dice"),
    (ex.check_iou_per_class, _absent_is_zero, "0 / 0 = NaN"),
    (ex.check_iou_per_class, lambda p, t, c: sol.iou_per_class(p, t, c)[:-1], "expected (num_classes,)"),
    (ex.check_soft_dice_loss, _dice_per_image, "sum over the batch as well"),
    (ex.check_soft_dice_loss, _dice_unsmoothed, "smoothed by +1"),
    (ex.check_soft_dice_loss, _dice_hard, "has no gradient"),
    (ex.check_soft_dice_loss, lambda z, t: sol.soft_dice_loss(z, t).reshape(1), "scalar tensor"),
    (ex.check_valid_unet_output, _size_no_up_trim, "on the way down and on the way up"),
    (ex.check_valid_unet_output, _size_never_raises, "raise ValueError"),
], ids=["iou-union", "iou-dice", "iou-absent", "iou-shape", "dice-per-image", "dice-unsmoothed", "dice-hard",
        "dice-shape", "size-no-up-trim", "size-no-raise"])
def test_usual_mistakes_are_named(check, answer, words):
    with pytest.raises(CheckError) as info:
        check(answer)
    assert words in str(info.value), str(info.value)
