"""dlcourse.mean_ap against pycocotools' COCOeval (the reference detection papers report) on the
same predictions: random detectors of varying quality, duplicates, tied scores, images without
objects, classes never predicted; and the cases COCOeval itself cannot take (no predictions)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.mean_ap import cocoeval_map, mean_average_precision


def coco_map(predictions, targets):
    got = cocoeval_map(predictions, targets)
    return got["map"], got["map_50"], got["map_75"]


def _scene_set(seed, n_images=25, quality=0.5):
    """Ground truth and a noisy detector: jittered true boxes (some with the wrong class), extras,
    duplicates, scores that only partly follow the quality of the box."""
    g = np.random.default_rng(seed)
    targets, predictions = [], []
    for i in range(n_images):
        m = int(g.integers(0, 5))                              # images without objects too
        xy = g.uniform(0, 80, (m, 2))
        boxes = np.concatenate([xy, xy + g.uniform(8, 30, (m, 2))], 1)
        labels = g.integers(0, 4, m)
        targets.append({"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                        "labels": torch.tensor(labels)})
        jitter = boxes + g.normal(0, 4 * (1 - quality) + 0.5, boxes.shape)
        jitter = np.concatenate([np.minimum(jitter[:, :2], jitter[:, 2:]), np.maximum(jitter[:, :2], jitter[:, 2:])], 1)
        wrong = g.random(m) < 0.1
        pl = np.where(wrong, (labels + 1) % 4, labels)
        dup = g.random(m) < 0.2                                # a second detection of the same object
        extra = int(g.integers(0, 3))
        exy = g.uniform(0, 80, (extra, 2))
        pboxes = np.concatenate([jitter, jitter[dup] + 1.0, np.concatenate([exy, exy + 15], 1)])
        plabels = np.concatenate([pl, pl[dup], g.integers(0, 4, extra)])
        scores = np.round(g.uniform(0, 1, len(pboxes)), 1)       # rounded: many tied scores
        predictions.append({"boxes": torch.tensor(pboxes, dtype=torch.float32).reshape(-1, 4),
                            "scores": torch.tensor(scores, dtype=torch.float32), "labels": torch.tensor(plabels)})
    return predictions, targets


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("quality", [0.2, 0.6, 0.95])
def test_equals_cocoeval_on_noisy_detectors(seed, quality):
    predictions, targets = _scene_set(seed, quality=quality)
    ours = mean_average_precision(predictions, targets)
    theirs = coco_map(predictions, targets)
    assert ours["map"] == pytest.approx(theirs[0], abs=1e-12)
    assert ours["map_50"] == pytest.approx(theirs[1], abs=1e-12)
    assert ours["map_75"] == pytest.approx(theirs[2], abs=1e-12)


def test_edge_cases():
    box = torch.tensor([[10.0, 10.0, 30.0, 30.0]])
    truth = [{"boxes": box, "labels": torch.tensor([1])}]
    exact = [{"boxes": box, "scores": torch.tensor([0.9]), "labels": torch.tensor([1])}]
    assert mean_average_precision(exact, truth)["map"] == pytest.approx(coco_map(exact, truth)[0]) == pytest.approx(1.0)
    # a duplicate below the true detection is a false positive after recall is already 1: AP stays 1
    dup = [{"boxes": box.repeat(2, 1), "scores": torch.tensor([0.9, 0.8]), "labels": torch.tensor([1, 1])}]
    assert mean_average_precision(dup, truth)["map"] == pytest.approx(coco_map(dup, truth)[0]) == pytest.approx(1.0)
    # the duplicate first (a tie keeps input order) changes nothing either: both are the same box
    tie = [{"boxes": box.repeat(2, 1), "scores": torch.tensor([0.8, 0.8]), "labels": torch.tensor([1, 1])}]
    assert mean_average_precision(tie, truth)["map"] == pytest.approx(coco_map(tie, truth)[0])
    # the wrong class only: 0
    wrong = [{"boxes": box, "scores": torch.tensor([0.9]), "labels": torch.tensor([2])}]
    assert mean_average_precision(wrong, truth)["map"] == pytest.approx(coco_map(wrong, truth)[0]) == 0.0
    # no predictions at all: 0 (COCOeval cannot take an empty result list: loadRes reads anns[0])
    none = [{"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.long)}]
    assert mean_average_precision(none, truth)["map"] == 0.0 == coco_map(none, truth)[0]
    from pycocotools.coco import COCO
    coco = COCO()
    coco.dataset = {"images": [{"id": 0}], "annotations": [], "categories": [{"id": 1}]}
    coco.createIndex()
    with pytest.raises(IndexError):
        coco.loadRes([])
    with pytest.raises(ValueError, match="one prediction dict per image"):
        mean_average_precision(none * 2, truth)
    inverted = [{"boxes": torch.tensor([[30.0, 10.0, 10.0, 30.0]]), "scores": torch.tensor([0.9]),
                 "labels": torch.tensor([1])}]
    with pytest.raises(ValueError, match="x1 <= x2"):   # COCOeval would silently ignore it (negative area)
        mean_average_precision(inverted, truth)
