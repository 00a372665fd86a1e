"""Segmentation metrics from scratch (chapter 16): per-class IoU and Dice from one confusion
matrix over all pixels, and their means over the classes present.

For class c over every pixel of every image: IoU = TP / (TP + FP + FN), Dice = 2 TP /
(2 TP + FP + FN) (Dice = 2 IoU / (1 + IoU): the same ranking, kinder to small errors). A class
that appears neither in the prediction nor in the truth has no IoU (NaN here) and is left out
of the mean. ``tests/test_seg_metrics.py`` holds them equal to torchmetrics'
``multiclass_jaccard_index`` and to its Dice (F1) over pixels.
"""
from __future__ import annotations

import torch

__all__ = ["confusion_matrix", "iou_per_class", "dice_per_class", "mean_iou", "semantic_target"]


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


def semantic_target(target: dict, size) -> torch.Tensor:
    """A scene's instance masks as one (H, W) class map: 0 background, digit d as d + 1."""
    out = torch.zeros(size, dtype=torch.long)
    for mask, label in zip(target["masks"], target["labels"]):
        out[mask] = int(label) + 1
    return out
