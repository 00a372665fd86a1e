"""Segmentation metrics from scratch (chapter 16): per-class IoU and Dice from one confusion
matrix over all pixels, their means over the classes present, and the soft Dice loss.

For class c over every pixel of every image: IoU = TP / (TP + FP + FN), Dice = 2 TP /
(2 TP + FP + FN) (Dice = 2 IoU / (1 + IoU): the same ranking, kinder to small errors). A class
that appears neither in the prediction nor in the truth has no IoU (NaN here) and is left out
of the mean. ``tests/test_seg_metrics.py`` holds them equal to torchmetrics'
``multiclass_jaccard_index`` and to its Dice (F1) over pixels.

``dice_loss`` is Dice made differentiable (Milletari et al. 2016, V-Net): the softmax
probabilities stand in for the hard prediction, so a rare class weighs as much as the
background. On one-hot probabilities it is 1 - the mean of ``dice_per_class`` (tested).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .data.scenes import semantic_target

__all__ = ["confusion_matrix", "iou_per_class", "dice_per_class", "mean_iou", "dice_loss", "semantic_target"]


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(C, C) counts: row = true class, column = predicted class, over every pixel."""
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} must be the same shape of class "
                         "indices (take logits.argmax(1) first)")
    if pred.is_floating_point() or target.is_floating_point():
        raise ValueError("pred and target hold class indices (integers): take logits.argmax(1) first")
    index = target.reshape(-1).long() * num_classes + pred.reshape(-1).long()
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _parts(pred, target, num_classes):
    cm = confusion_matrix(pred, target, num_classes).double()
    tp = cm.diagonal()
    return tp, cm.sum(0) - tp, cm.sum(1) - tp       # TP, FP (predicted c, is not), FN (is c, missed)


def iou_per_class(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    tp, fp, fn = _parts(pred, target, num_classes)
    return tp / (tp + fp + fn)                      # 0 / 0 = NaN: the class is nowhere


def dice_per_class(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    tp, fp, fn = _parts(pred, target, num_classes)
    return 2 * tp / (2 * tp + fp + fn)


def mean_iou(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> float:
    """The mean IoU over the classes present in the prediction or the truth."""
    return float(iou_per_class(pred, target, num_classes).nanmean())


def dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - the mean over classes of the soft Dice of softmax(logits) (N, C, H, W) and the class map (N, H, W).

    ``smooth`` is added to both sides of each class's ratio: a class absent from the batch and
    from the prediction scores 1 instead of 0 / 0, and the gradient stays finite."""
    if logits.dim() != target.dim() + 1 or logits.shape[2:] != target.shape[1:]:
        raise ValueError(f"logits {tuple(logits.shape)} must be (N, C, H, W) for a class map target (N, H, W); "
                         f"got target {tuple(target.shape)}")
    probs = logits.softmax(1)
    onehot = F.one_hot(target.long(), logits.shape[1]).movedim(-1, 1).to(probs.dtype)
    dims = (0, *range(2, logits.dim()))                 # sum over the batch and the pixels, per class
    inter = (probs * onehot).sum(dims)
    total = probs.sum(dims) + onehot.sum(dims)
    return 1 - ((2 * inter + smooth) / (total + smooth)).mean()
