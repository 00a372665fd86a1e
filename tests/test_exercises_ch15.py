"""Chapter 15's exercise checks pass the worked solutions, report None as not attempted, and name
the fix for each usual mistake."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from dlcourse.checks import CheckError
from dlcourse.exercises.chapters import ch15_detection as ex

spec = importlib.util.spec_from_file_location("sol15", Path(__file__).parents[1] / "solutions/chapters/15_detection.py")
sol = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sol)   # runs every check on the worked solutions


def test_none_is_not_attempted(capsys):
    ex.check_box_iou(lambda a, b: None), ex.check_nms(lambda b, s, t: None), ex.check_average_precision(lambda *a: None)
    out = capsys.readouterr().out
    assert out.count("not attempted yet") == 3


def _iou_without_clamp(a, b):
    tl, br = torch.max(a[:, None, :2], b[None, :, :2]), torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (br - tl).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def _iou_union_wrong(a, b):
    tl, br = torch.max(a[:, None, :2], b[None, :, :2]), torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (br - tl).clamp(min=0).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :])


def _nms_greater_equal(boxes, scores, t):
    keep, dropped = [], torch.zeros(len(boxes), dtype=torch.bool)
    iou = sol.box_iou(boxes, boxes)
    for i in torch.argsort(scores, descending=True).tolist():
        if not dropped[i]:
            keep.append(i)
            dropped |= iou[i] >= t * 0.8     # too eager: drops boxes below the threshold
    return torch.tensor(keep)


def _nms_unsorted(boxes, scores, t):
    return torch.tensor(sorted(sol.nms(boxes, scores, t).tolist()))


def _ap_raw(scores, hits, n):
    return ex._uninterpolated(scores, hits, n)


@pytest.mark.parametrize("check, answer, words", [
    (ex.check_box_iou, _iou_without_clamp, "clamp the intersection"),
    (ex.check_box_iou, _iou_union_wrong, "subtract the intersection once"),
    (ex.check_box_iou, lambda a, b: sol.box_iou(a, b).T, "expected (N, M)"),
    (ex.check_nms, _nms_greater_equal, "strictly greater than the threshold"),
    (ex.check_nms, _nms_unsorted, "by decreasing score"),
    (ex.check_average_precision, _ap_raw, "must be interpolated"),
    (ex.check_average_precision, lambda s, h, n: float(h.mean()), "sort by decreasing score"),
], ids=["iou-no-clamp", "iou-union", "iou-transposed", "nms-eager", "nms-order", "ap-raw", "ap-accuracy"])
def test_usual_mistakes_are_named(check, answer, words):
    with pytest.raises(CheckError) as info:
        check(answer)
    assert words in str(info.value), str(info.value)
