"""Worked solutions to the exercises of chapter 15 · Object detection.

Run it from the repository root: ``python solutions/chapters/15_detection.py``. Each solution is
checked by the same function the notebook calls (``dlcourse.exercises.chapters.ch15_detection``);
a wrong answer raises ``dlcourse.CheckError``.
"""
import numpy as np
import torch

import dlcourse
from dlcourse.exercises.chapters import ch15_detection as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: IoU of every pair
#
# The intersection's corners are the larger top-left and the smaller bottom-right; a negative
# side means no overlap, so it is clamped at 0 before the product.
def box_iou(a, b):
    """(N, 4) x (M, 4) boxes x1, y1, x2, y2 -> (N, M) intersection over union."""
    top_left = torch.max(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


exercises.check_box_iou(box_iou)


# %% Exercise 2: non-maximum suppression
#
# Greedy: the best remaining box is kept, and every box overlapping it by more than the
# threshold is dropped. A stable sort keeps tied scores in their input order, as torchvision.
def nms(boxes, scores, iou_threshold):
    order = torch.sort(scores, descending=True, stable=True).indices
    iou = box_iou(boxes, boxes)
    dropped = torch.zeros(len(boxes), dtype=torch.bool)
    keep = []
    for i in order.tolist():
        if not dropped[i]:
            keep.append(i)
            dropped |= iou[i] > iou_threshold
    return torch.tensor(keep)


exercises.check_nms(nms)


# %% Exercise 3: COCO's average precision
#
# Precision and recall down the score-sorted list; the precision at a recall becomes the best
# precision at that recall or beyond; read at 101 recalls and averaged.
def ap(scores, hits, n_truth):
    order = np.argsort(-scores, kind="mergesort")
    tp, fp = np.cumsum(hits[order]), np.cumsum(~hits[order])
    recall, precision = tp / n_truth, tp / (tp + fp + np.spacing(1))
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    at = np.searchsorted(recall, np.linspace(0, 1, 101), side="left")
    return float(np.where(at < len(precision), precision[np.minimum(at, len(precision) - 1)], 0.0).mean())


exercises.check_average_precision(ap)
