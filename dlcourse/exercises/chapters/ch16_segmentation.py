"""Checks of chapter 16's exercises: IoU per class, the soft Dice loss, the output size of the
paper's unpadded U-Net."""
from __future__ import annotations

import math
from typing import Callable

import torch

from dlcourse.checks import CheckError, check_close
from dlcourse.exercises import not_attempted
from dlcourse.models.unet import UNet
from dlcourse.seg_metrics import dice_loss, iou_per_class

__all__ = ["check_iou_per_class", "check_soft_dice_loss", "check_valid_unet_output"]

CHAPTER = "16_segmentation"


def _maps(seed: int, classes: int = 5, shape=(3, 16, 16), agree: float = 0.7):
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, classes, shape, generator=g)
    noise = torch.randint(0, classes, shape, generator=g)
    return torch.where(torch.rand(shape, generator=g) < agree, target, noise), target


def check_iou_per_class(iou: Callable) -> None:
    """Exercise 1: iou(pred, target, C) == dlcourse.seg_metrics.iou_per_class (== torchmetrics), NaN where absent."""
    __tracebackhide__ = True
    pred, target = _maps(0)
    got = iou(pred, target, 5)
    if not_attempted(got, 1, "make iou_per_class return the (num_classes,) IoU of each class."):
        return
    got = torch.as_tensor(got, dtype=torch.float64)
    if tuple(got.shape) != (5,):
        raise CheckError(f"iou_per_class gave shape {tuple(got.shape)}, expected (num_classes,) = (5,): one IoU "
                         "per class, over every pixel of every image.")
    expected = iou_per_class(pred, target, 5)
    tp = torch.tensor([float(((pred == c) & (target == c)).sum()) for c in range(5)], dtype=torch.float64)
    area = torch.tensor([float((pred == c).sum() + (target == c).sum()) for c in range(5)], dtype=torch.float64)
    if torch.allclose(got, tp / area, atol=1e-6):
        raise CheckError("the union is |predicted| + |true| - |both|: subtract the intersection once.")
    if torch.allclose(got, 2 * tp / area, atol=1e-6):
        raise CheckError("that is Dice, 2 TP / (2 TP + FP + FN); IoU is TP / (TP + FP + FN).")
    check_close("iou_per_class", got, expected, atol=1e-6, rtol=0)
    absent = torch.as_tensor(iou(torch.tensor([[0, 1, 1]]), torch.tensor([[0, 0, 1]]), 3), dtype=torch.float64)
    if not math.isnan(float(absent[2])):
        raise CheckError(f"class 2 is in neither map and got IoU {float(absent[2])}: it has no IoU (0 / 0 = NaN), "
                         "so that the mean over classes (nanmean) leaves it out instead of counting a 0 or a 1.")
    print("OK iou_per_class: equal to dlcourse.seg_metrics (== torchmetrics), NaN for an absent class")


def check_soft_dice_loss(loss: Callable) -> None:
    """Exercise 2: loss(logits, target) == dlcourse.seg_metrics.dice_loss (smooth 1), values and gradients."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 4, 8, 8, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.randint(0, 4, (2, 8, 8), generator=g)
    target[target == 3] = 2                            # class 3 absent: the smoothing decides its term
    got = loss(logits, target)
    if not_attempted(got, 2, "make soft_dice_loss return 1 - the mean soft Dice (a scalar tensor)."):
        return
    if not isinstance(got, torch.Tensor) or got.dim() != 0:
        raise CheckError(f"soft_dice_loss must return a scalar tensor (to call .backward() on); got "
                         f"{type(got).__name__} {tuple(getattr(got, 'shape', ()))}.")
    if not got.requires_grad:
        raise CheckError("soft_dice_loss's result has no gradient: compute it from logits.softmax(1) with torch "
                         "operations (no argmax, no .item(), no NumPy), so that it can be trained on.")
    value, expected = float(got.detach()), float(dice_loss(logits, target).detach())
    if abs(value - expected) > 1e-9:
        probs = logits.detach().softmax(1)
        onehot = torch.nn.functional.one_hot(target, 4).movedim(-1, 1).double()
        per_image = (2 * (probs * onehot).sum((2, 3)) + 1) / (probs.sum((2, 3)) + onehot.sum((2, 3)) + 1)
        if abs(value - float(1 - per_image.mean())) < 1e-9:
            hint = "sum over the batch as well as the pixels (dims 0, 2, 3), then average over the classes"
        else:
            hint = ("softmax over the class dimension (1); overlap = sum of probs * one-hot, and the denominator "
                    "is the sum of probs plus the sum of one-hot, each class's ratio smoothed by +1 on both sides")
        raise CheckError(f"soft_dice_loss gave {value:.6f}, expected {expected:.6f}: {hint}.")
    (ours,) = torch.autograd.grad(got, logits)
    (theirs,) = torch.autograd.grad(dice_loss(logits, target), logits)
    check_close("soft_dice_loss gradient", ours, theirs, atol=1e-10, rtol=1e-7)
    print("OK soft_dice_loss: equal to dlcourse.seg_metrics.dice_loss, values and gradients")


def _measured_output(size: int, levels: int) -> int:
    """What a narrow unpadded U-Net actually returns (the architecture, not a formula)."""
    with torch.device("meta"):               # shapes only: no weights allocated, nothing computed
        model = UNet(1, 1, tuple(2 ** i for i in range(levels)), padding=0, norm=False)
        return int(model(torch.empty(1, 1, size, size)).shape[-1])


def check_valid_unet_output(output_size: Callable) -> None:
    """Exercise 3: output_size(size, levels) == what UNet(padding=0) returns; ValueError where a pool meets an odd side."""
    __tracebackhide__ = True
    got = output_size(572, 5)
    if not_attempted(got, 3, "make valid_unet_output return the output's side (572, 5 -> 388)."):
        return
    for size, levels in ((572, 5), (572, 4), (188, 3), (140, 4), (44, 2)):
        expected = _measured_output(size, levels)
        got = output_size(size, levels)
        if got != expected:
            hint = ("two 3x3 convolutions per level trim 4 pixels, on the way down and on the way up; the "
                    "bottom level has no max-pool after it" if isinstance(got, int) else
                    "return an int")
            raise CheckError(f"valid_unet_output({size}, {levels}) gave {got!r}; the unpadded U-Net returns "
                             f"{expected}: {hint}.")
    for size, levels in ((570, 5), (20, 4)):
        try:
            got = output_size(size, levels)
        except ValueError:
            continue
        raise CheckError(f"valid_unet_output({size}, {levels}) returned {got!r}: a max-pool there meets an odd side "
                         "or a side falls to 0 or below; raise ValueError (the paper picks tile sizes where neither "
                         "happens).")
    print("OK valid_unet_output: equal to the unpadded UNet's output on 5 sizes, ValueError where the paper says a "
          "tile must not be")
