"""Mean average precision of a detector, from scratch, as COCO computes it (chapter 15).

The number every detection paper reports is ``pycocotools``' COCOeval; this is its algorithm
for boxes, written to be read and proven equal to it (``tests/test_mean_ap.py``):

1. per image and class, the detections by decreasing score (at most ``max_detections`` per
   image, a stable sort: ties keep their order) are matched greedily: each takes the unmatched
   ground-truth box it overlaps most, if that IoU reaches the threshold; otherwise it is a false
   positive;
2. per class, all images' detections by decreasing score give a precision-recall curve; the
   precision is made non-increasing from the right (the "interpolated" precision), read at the
   101 recalls 0, 0.01, ..., 1, and averaged: that is the class's AP;
3. mAP is the mean AP over the classes that have ground truth, at each IoU threshold; COCO's
   headline number averages the thresholds 0.50, 0.55, ..., 0.95.

Only what the course's scenes need: boxes, every object counted (no crowd regions), one area
range (all sizes).
"""
from __future__ import annotations

import numpy as np
import torch

from .box_ops import box_iou

__all__ = ["COCO_IOU_THRESHOLDS", "average_precision", "mean_average_precision", "cocoeval_map"]

COCO_IOU_THRESHOLDS = tuple(np.linspace(0.5, 0.95, 10).tolist())
RECALLS = np.linspace(0.0, 1.0, 101)


def _match(iou: np.ndarray, threshold: float) -> np.ndarray:
    """True for each detection (rows, best score first) that matches a ground truth (columns)."""
    taken = np.zeros(iou.shape[1], dtype=bool)
    hit = np.zeros(iou.shape[0], dtype=bool)
    for d in range(iou.shape[0]):
        best, best_iou = -1, min(threshold, 1 - 1e-10)     # COCO's bar: an IoU of 1 still matches at 1.0
        for g in range(iou.shape[1]):
            if not taken[g] and iou[d, g] >= best_iou:
                best, best_iou = g, iou[d, g]
        if best >= 0:
            taken[best], hit[d] = True, True
    return hit


def average_precision(scores: np.ndarray, hits: np.ndarray, n_truth: int) -> float:
    """COCO's 101-point interpolated AP of detections with these scores and match flags."""
    if n_truth == 0:
        return float("nan")
    if len(scores) == 0:      # no detection of a class that is there: precision 0 at every recall
        return 0.0
    order = np.argsort(-scores, kind="mergesort")
    tp = np.cumsum(hits[order])
    fp = np.cumsum(~hits[order])
    recall = tp / n_truth
    precision = tp / (tp + fp + np.spacing(1))   # COCO's form, to the last bit
    precision = np.maximum.accumulate(precision[::-1])[::-1]   # best precision at this recall or beyond
    at = np.searchsorted(recall, RECALLS, side="left")
    return float(np.where(at < len(precision), precision[np.minimum(at, len(precision) - 1)], 0.0).mean())



def mean_average_precision(predictions: list[dict], targets: list[dict],
                           iou_thresholds=COCO_IOU_THRESHOLDS, max_detections: int = 100) -> dict:
    """``{"map": mean over the thresholds, "map_50", "map_75" (when those thresholds are used),
    "per_threshold": {t: mAP}, "per_class": {c: AP at the first threshold}}``.

    predictions: one dict per image, ``boxes`` (k, 4) x1 y1 x2 y2, ``scores`` (k,), ``labels`` (k,);
    targets: one dict per image, ``boxes`` (m, 4) and ``labels`` (m,).
    """
    if len(predictions) != len(targets):
        raise ValueError(f"one prediction dict per image: {len(predictions)} predictions for {len(targets)} targets")
    for kind, dicts in (("prediction", predictions), ("target", targets)):
        for i, d in enumerate(dicts):
            b = torch.as_tensor(d["boxes"]).reshape(-1, 4)
            if ((b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])).any():
                raise ValueError(f"{kind} {i} has a box with x2 < x1 or y2 < y1: boxes are x1, y1, x2, y2 with "
                                 "x1 <= x2 and y1 <= y2 (convert from x, y, w, h or sort the corners first)")
    classes = sorted({int(c) for t in targets for c in t["labels"]})
    per_threshold, per_class = {}, {}
    for threshold in iou_thresholds:
        aps = []
        for c in classes:
            scores, hits, n_truth = [], [], 0
            for pred, truth in zip(predictions, targets):
                gt = torch.as_tensor(truth["boxes"], dtype=torch.float64)[torch.as_tensor(truth["labels"]) == c]
                keep = torch.as_tensor(pred["labels"]) == c
                boxes = torch.as_tensor(pred["boxes"], dtype=torch.float64)[keep]
                s = torch.as_tensor(pred["scores"], dtype=torch.float64)[keep]
                order = torch.from_numpy(np.argsort(-s.numpy(), kind="mergesort"))[:max_detections]
                boxes, s = boxes[order], s[order]
                n_truth += len(gt)
                iou = box_iou(boxes, gt).numpy() if len(boxes) and len(gt) else np.zeros((len(boxes), len(gt)))
                scores.append(s.numpy())
                hits.append(_match(iou, threshold))
            ap = average_precision(np.concatenate(scores), np.concatenate(hits), n_truth)
            aps.append(ap)
            if threshold == iou_thresholds[0]:
                per_class[c] = ap
        per_threshold[threshold] = float(np.mean(aps)) if aps else float("nan")
    out = {"map": float(np.mean(list(per_threshold.values()))), "per_threshold": per_threshold, "per_class": per_class}
    for name, t in (("map_50", 0.5), ("map_75", 0.75)):
        near = [k for k in per_threshold if abs(k - t) < 1e-9]
        if near:
            out[name] = per_threshold[near[0]]
    return out


def cocoeval_map(predictions: list[dict], targets: list[dict], n_classes: int = 10) -> dict:
    """The same numbers from pycocotools' COCOeval (boxes converted to x, y, w, h; every object
    counted, images numbered in order): the reference ``mean_average_precision`` is proven
    equal to. COCOeval cannot take an empty list of detections (``loadRes`` reads the first):
    without any, every AP is 0 and so is returned, without calling it."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def xywh(b):
        return [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]
    anns = [{"id": n + 1, "image_id": i, "category_id": int(c), "iscrowd": 0, "bbox": xywh(b),
             "area": float((b[2] - b[0]) * (b[3] - b[1]))}
            for n, (i, b, c) in enumerate((i, b, c) for i, t in enumerate(targets)
                                          for b, c in zip(t["boxes"].tolist(), t["labels"].tolist()))]
    dets = [{"image_id": i, "category_id": int(c), "score": float(s), "bbox": xywh(b)}
            for i, p in enumerate(predictions)
            for b, s, c in zip(p["boxes"].tolist(), p["scores"].tolist(), p["labels"].tolist())]
    if not dets:
        return {"map": 0.0, "map_50": 0.0, "map_75": 0.0}
    truth = COCO()
    truth.dataset = {"images": [{"id": i} for i in range(len(targets))], "annotations": anns,
                     "categories": [{"id": c} for c in range(n_classes)]}
    with contextlib.redirect_stdout(io.StringIO()):   # COCOeval prints its progress and table
        truth.createIndex()
        ev = COCOeval(truth, truth.loadRes(dets), "bbox")
        ev.evaluate(), ev.accumulate(), ev.summarize()
    return {"map": float(ev.stats[0]), "map_50": float(ev.stats[1]), "map_75": float(ev.stats[2])}
