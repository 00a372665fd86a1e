"""What a submission's sandbox may read of the course's data: the training splits, nothing held out.

An accuracy tier is scored on a held-out split. If the sandbox could read that split, a
submission could train on it, or build a table of its images at run time (issue 16, item 4). So
the sandbox no longer mounts the data mirrors and the cache whole: the grader, in its own
process, builds what an assignment's drivers train on (``TRAINS_ON`` in the assignment's check
module) and mounts exactly those files:

- ``"mnist"``: MNIST's two training files (not ``t10k-*``);
- ``"cifar10"``: the decoded training arrays from the cache (the archive holds both splits, so
  it is not mounted);
- ``"cifar10_folder"``: a05's image folder cut from training images only
  (``cifar10_folder(held_out=False)``);
- ``"sst2"``, ``"trec"``: their training files (not SST-2 dev or test, not TREC test).

Inside, ``DLCOURSE_TRAINING_ONLY=1`` makes the data layer refuse a held-out split with a
message that says why. What this does not hold: the data sets are public, so a notebook can
carry a copy of a test split; where a test runs the student's model on held-out inputs in the
student's process (a06, a07, a08), such a copy can still answer them (``source/README.md``).
"""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

__all__ = ["DATASETS", "trains_on", "training_files"]


def _mnist() -> list[Path]:
    from dlcourse.data.sources import fetch
    from dlcourse.data.vision import MNIST_FILES

    return [fetch(MNIST_FILES["train", kind]) for kind in ("images", "labels")]


def _cifar10() -> list[Path]:
    from dlcourse.data.sources import derived_files
    from dlcourse.data.vision import cifar10_arrays_name, load_cifar10

    load_cifar10("train")  # decoded once, into the grader's cache
    files = derived_files(cifar10_arrays_name("train")[0])
    if not all(p.is_file() for p in files):
        raise RuntimeError("CIFAR-10's training arrays could not be saved in the cache, so the sandbox would have "
                           "no training data: set DLCOURSE_CACHE to a folder the grader can write.")
    return list(files)


def _cifar10_folder() -> list[Path]:
    from dlcourse.data.folders import cifar10_folder

    return [cifar10_folder(held_out=False)]


def _text(key: str):
    def files() -> list[Path]:
        from dlcourse.data.sources import fetch
        from dlcourse.data.text import TEXT_FILES

        return [fetch(TEXT_FILES[key])]
    return files


DATASETS = {"mnist": _mnist, "cifar10": _cifar10, "cifar10_folder": _cifar10_folder,
            "sst2": _text("sst2/train"), "trec": _text("trec/train")}


def trains_on(aid: str) -> tuple[str, ...]:
    """The data sets ``aid``'s drivers read in the student's process (none if it has no check module)."""
    name = f"dlcourse.exercises.assignments.{aid}"
    if importlib.util.find_spec(name) is None:
        return ()
    names = tuple(getattr(importlib.import_module(name), "TRAINS_ON", ()))
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        raise ValueError(f"{name}.TRAINS_ON names {unknown}, which grading.data_view does not know; "
                         f"it knows {sorted(DATASETS)}.")
    return names


def training_files(aid: str) -> list[Path]:
    """The files (or folders) to mount read-only in ``aid``'s sandbox, built here if missing."""
    return [path for name in trains_on(aid) for path in DATASETS[name]()]
