"""Checks of chapter 15's exercises: IoU of two sets of boxes, non-maximum suppression, COCO's
101-point average precision."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torchvision

from dlcourse.checks import CheckError, check_close
from dlcourse.exercises import not_attempted
from dlcourse.mean_ap import average_precision

__all__ = ["check_box_iou", "check_nms", "check_average_precision"]

CHAPTER = "15_detection"


def _boxes(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 40
    return torch.cat([xy, xy + 2 + torch.rand(n, 2, generator=g) * 20], 1)


def check_box_iou(box_iou: Callable) -> None:
    """Exercise 1: box_iou(a, b) (N, 4) x (M, 4) -> (N, M) == torchvision.ops.box_iou, disjoint pairs 0."""
    __tracebackhide__ = True
    a, b = _boxes(12, 0), _boxes(9, 1)
    a[0], b[0] = torch.tensor([0.0, 0, 10, 10]), torch.tensor([20.0, 20, 30, 30])   # disjoint
    a[1], b[1] = torch.tensor([0.0, 0, 10, 10]), torch.tensor([2.0, 2, 6, 6])       # one inside the other
    got = box_iou(a, b)
    if not_attempted(got, 1, "make box_iou return the (N, M) IoU of every pair."):
        return
    expected = torchvision.ops.box_iou(a, b)
    if tuple(got.shape) != tuple(expected.shape):
        raise CheckError(f"box_iou gave shape {tuple(got.shape)}, expected (N, M) = {tuple(expected.shape)}: "
                         "broadcast a[:, None, :] against b[None, :, :].")
    if float(got[0, 0]) != 0.0:
        raise CheckError(f"two disjoint boxes have IoU {float(got[0, 0]):.3f}, expected 0: clamp the "
                         "intersection's width and height at 0 (.clamp(min=0)) before multiplying; two negative "
                         "sides make a positive area.")
    if abs(float(got[1, 1]) - 16 / 100) > 1e-6:
        hint = ("the union is |A| + |B| - |A ∩ B|: subtract the intersection once"
                if abs(float(got[1, 1]) - 16 / 116) < 1e-6 else "IoU = intersection / union")
        raise CheckError(f"a 4x4 box inside a 10x10 box has IoU {float(got[1, 1]):.4f}, expected 0.16: {hint}.")
    check_close("box_iou", got, expected)


def check_nms(nms: Callable) -> None:
    """Exercise 2: nms(boxes, scores, iou_threshold) keeps exactly what torchvision.ops.nms keeps."""
    __tracebackhide__ = True
    boxes = _boxes(60, 2)
    scores = torch.rand(60, generator=torch.Generator().manual_seed(3))
    got = nms(boxes, scores, 0.5)
    if not_attempted(got, 2, "make nms return the indices of the boxes it keeps, best score first."):
        return
    for threshold in (0.3, 0.5, 0.7):
        got = torch.as_tensor(nms(boxes, scores, threshold))
        expected = torchvision.ops.nms(boxes, scores, threshold)
        if set(got.tolist()) == set(expected.tolist()) and got.tolist() != expected.tolist():
            raise CheckError("nms keeps the right boxes in the wrong order: return them by decreasing score.")
        if got.tolist() != expected.tolist():
            fewer = len(got) < len(expected)
            raise CheckError(f"nms(iou_threshold={threshold}) kept {len(got)} boxes, torchvision keeps {len(expected)}: "
                             + ("a box is dropped only when its IoU with a kept box is strictly greater than the "
                                "threshold, and only kept boxes suppress others" if fewer else
                                "after keeping the best remaining box, drop every box overlapping it by more than "
                                "the threshold"))
    same = torch.tensor([[0.0, 0, 10, 10]]).repeat(3, 1)
    if torch.as_tensor(nms(same, torch.tensor([0.5, 0.9, 0.7]), 0.5)).tolist() != [1]:
        raise CheckError("three identical boxes must leave one, the best-scored (index 1).")
    print(f"OK nms: keeps what torchvision.ops.nms keeps at IoU thresholds 0.3, 0.5, 0.7, identical boxes included")


def check_average_precision(ap: Callable) -> None:
    """Exercise 3: ap(scores, hits, n_truth) == COCO's 101-point interpolated AP."""
    __tracebackhide__ = True
    g = np.random.default_rng(4)
    scores, hits = g.random(40), g.random(40) < 0.6
    got = ap(scores, hits, 30)
    if not_attempted(got, 3, "make ap return the 101-point interpolated average precision (a float)."):
        return
    cases = [(scores, hits, 30), (np.array([0.9, 0.8, 0.7]), np.array([False, True, True]), 2),
             (np.array([0.9, 0.8]), np.array([True, True]), 4)]
    for s, h, n in cases:
        got, expected = float(ap(s, h, n)), average_precision(s, h, n)
        if abs(got - expected) > 1e-9:
            raw = _uninterpolated(s, h, n)
            hint = ("the precision must be interpolated: at each recall, the best precision at that recall or "
                    "beyond (np.maximum.accumulate over the reversed curve)" if abs(got - raw) < 1e-9 else
                    "sort by decreasing score, cumulate true and false positives, read the interpolated precision "
                    "at the 101 recalls 0, 0.01, ..., 1 (np.searchsorted(recall, r, side='left'); 0 past the "
                    "last recall reached), and average")
            raise CheckError(f"ap gave {got:.4f}, COCO's AP is {expected:.4f} on {len(s)} detections and {n} "
                             f"objects: {hint}.")
    print("OK average precision: equal to COCO's 101-point interpolated AP on 3 cases")


def _uninterpolated(scores, hits, n_truth) -> float:
    order = np.argsort(-scores, kind="mergesort")
    tp, fp = np.cumsum(hits[order]), np.cumsum(~hits[order])
    recall, precision = tp / n_truth, tp / (tp + fp + np.spacing(1))
    at = np.searchsorted(recall, np.linspace(0, 1, 101), side="left")
    return float(np.where(at < len(precision), precision[np.minimum(at, len(precision) - 1)], 0.0).mean())
