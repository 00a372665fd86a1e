"""dlcourse.data.scenes: MNIST digits on a canvas with boxes, labels and instance masks,
deterministic from a seed, the held-out scenes drawn from MNIST's test split."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from dlcourse.data import load_mnist
from dlcourse.data.scenes import HELD_OUT_SEED, INK, collate_scenes, scenes


def test_a_scene_depends_on_its_seed_and_index_only():
    a, b = scenes(20, seed=3, clutter=2), scenes(20, seed=3, clutter=2)
    for i in (7, 0, 19, 7):                       # any order, any instance
        (xa, ta), (xb, tb) = a[i], b[i]
        assert torch.equal(xa, xb) and all(torch.equal(ta[k], tb[k]) for k in ta)
    assert not torch.equal(scenes(1, seed=4)[0][0], a[0][0])


def test_the_same_scene_in_another_process():
    """What a loader worker, a re-run or the grader draws: a digest of scene 5 computed elsewhere."""
    code = ("import torch; from dlcourse.data.scenes import scenes; x, t = scenes(8, seed=11, clutter=1)[5]; "
            "print(float(x.double().sum()), t['boxes'].tolist(), t['labels'].tolist(), int(t['masks'].sum()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    x, t = scenes(8, seed=11, clutter=1)[5]
    assert out.strip() == f"{float(x.double().sum())} {t['boxes'].tolist()} {t['labels'].tolist()} {int(t['masks'].sum())}"


def test_targets_describe_the_image():
    ds = scenes(60, seed=0, digits=(1, 5), clutter=3)
    counts = []
    for i in range(len(ds)):
        x, t = ds[i]
        k = len(t["labels"])
        counts.append(k)
        assert x.shape == (1, 64, 64) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
        assert t["boxes"].shape == (k, 4) and t["masks"].shape == (k, 64, 64) and t["labels"].dtype == torch.int64
        assert t["masks"].sum(0).max() <= 1, "a pixel belongs to one instance at most"
        for box, mask in zip(t["boxes"], t["masks"]):
            ys, xs = mask.nonzero(as_tuple=True)
            assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]   # the mask's tight box
            assert (x[0][mask] > INK).all(), "a mask covers visible ink only"
    assert min(counts) >= 1 and max(counts) <= 5 and len(set(counts)) >= 3


def test_labels_are_the_pasted_digits():
    """One digit per scene, no clutter: the label is MNIST's label of the digit that was drawn."""
    ds = scenes(30, seed=1, digits=(1, 1))
    images, labels = load_mnist("train")
    for i in range(len(ds)):
        _, t = ds[i]
        rng = np.random.default_rng([1, i])   # the draws of Scenes.__getitem__, in its order
        rng.integers(1, 2)                     # how many digits
        j = int(rng.integers(0, len(labels), size=1)[0])
        assert t["labels"].tolist() == [int(labels[j])]


def test_held_out_scenes_use_the_test_digits_and_clutter_is_not_an_object():
    assert len(scenes(3, seed=HELD_OUT_SEED).labels) == 10_000
    assert len(scenes(3, seed=0).labels) == 60_000
    plain, cluttered = scenes(10, seed=5), scenes(10, seed=5, clutter=4)
    ink = lambda ds: sum(float(ds[i][0].sum()) for i in range(10))  # noqa: E731
    assert ink(cluttered) > ink(plain)
    assert sum(len(cluttered[i][1]["labels"]) for i in range(10)) <= 10 * 4


def test_a_batch_and_bad_arguments():
    images, targets = collate_scenes([scenes(4, seed=0)[i] for i in range(4)])
    assert images.shape == (4, 1, 64, 64) and len(targets) == 4
    with pytest.raises(ValueError, match="size"):
        scenes(4, size=(8, 100))
    with pytest.raises(IndexError):
        scenes(4)[4]
