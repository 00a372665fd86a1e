"""Held-out data stays held out while grading (issue 16, item 4): dlcourse/grading/data_view.py.

A submission's sandbox mounts only what its assignment's drivers train on. Here a real
sandboxed student process, given the view of MNIST, SST-2, TREC and a05's image folder, looks
for every held-out file it could use; the data layer's refusals and the training-only image
folder are tested on their own.
"""
from __future__ import annotations

import json
import zipfile

import pytest

from dlcourse.data import cifar10_folder, load_sst2, mnist
from dlcourse.data.sources import DataNotFoundError, locate, mirror_dirs
from dlcourse.data.vision import CIFAR10_SOURCES, MNIST_FILES
from dlcourse.grading import autograder, data_view, sandbox
from dlcourse.grading.judge import Limits, StudentProcess, Verdict, run_cells

ASSIGNMENTS = {"a01_activations_backprop": (), "a02_optimizers": (), "a03_lenet5": ("mnist",),
               "a04_resnet_cifar10": (), "a05_custom_cnn": ("cifar10_folder",), "a06_rnn_timeseries": (),
               "a07_lstm_sentiment": ("sst2",), "a08_gru_textclass": ("trec",), "a09_transformer": (), "a11_small_gpt": ()}


def test_each_assignment_names_what_its_drivers_train_on():
    assert {aid: data_view.trains_on(aid) for aid in ASSIGNMENTS} == ASSIGNMENTS


def test_an_unknown_data_set_is_refused_by_name(monkeypatch):
    import dlcourse.exercises.assignments.a03_lenet5 as a03

    monkeypatch.setattr(a03, "TRAINS_ON", ("mnist", "imagenet"))
    with pytest.raises(ValueError, match=r"\['imagenet'\].*it knows"):
        data_view.trains_on("a03_lenet5")


def test_mnist_view_is_its_two_training_files():
    files = data_view.training_files("a03_lenet5")
    assert sorted(p.name for p in files) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert locate(MNIST_FILES["test", "images"]) not in files


@pytest.mark.parametrize("load, split", [(lambda s: mnist(s, limit=5), "test"), (load_sst2, "dev"),
                                         (load_sst2, "test")])
def test_while_grading_a_held_out_split_is_refused_with_the_reason(monkeypatch, load, split):
    monkeypatch.setenv("DLCOURSE_TRAINING_ONLY", "1")
    with pytest.raises(DataNotFoundError, match="held out while your notebook is graded"):
        load(split)
    assert len(load("train")) > 0


def test_the_training_only_folder_cuts_its_test_split_from_other_training_images():
    real, view = cifar10_folder(held_out=True), cifar10_folder(held_out=False)
    assert view != real and view.name.endswith("-trainonly")
    with zipfile.ZipFile(locate(CIFAR10_SOURCES[1])) as archive:
        ships = sorted(n for n in archive.namelist() if n.startswith("train/ship/") and n.endswith(".jpg"))
        assert [p.read_bytes() for p in sorted((view / "train" / "ship").glob("*.jpg"))][:3] == \
            [archive.read(n) for n in ships[:3]]
        assert sorted(p.name for p in (view / "test" / "ship").glob("*.jpg")) == \
            [n.rsplit("/", 1)[1] for n in ships[500:700]], "test/ must be training images 500-699"
    assert sorted(p.name for p in (view / "train" / "ship").glob("*.jpg")) == \
        sorted(p.name for p in (real / "train" / "ship").glob("*.jpg"))


LOOK = r'''
import json, os, glob
from pathlib import Path
import dlcourse.data as d
from dlcourse.data.vision import CIFAR10_SOURCES
found = {}
def attempt(name, f):
    try:
        found[name] = f()
    except Exception as e:
        found[name] = type(e).__name__ + (": held out" if "held out" in str(e) else "")
mirrors = [Path(m) for m in os.environ["DLCOURSE_DATA_MIRRORS"].split(os.pathsep)]
cache = Path(os.environ["DLCOURSE_CACHE"])
attempt("mnist_train", lambda: len(d.mnist("train", limit=10)))
attempt("mnist_test", lambda: len(d.mnist("test", limit=10)))
attempt("sst2_train", lambda: len(d.load_sst2("train")))
attempt("sst2_dev", lambda: len(d.load_sst2("dev")))
attempt("trec_test", lambda: len(d.load_trec("test")))
attempt("folder_test", lambda: len(list((d.cifar10_folder() / "test").rglob("*.jpg"))))
attempt("folder_name", lambda: d.cifar10_folder().name)
os.environ["DLCOURSE_TRAINING_ONLY"] = "0"  # the flag is only manners: the files themselves are absent
attempt("mnist_test_unflagged", lambda: len(d.mnist("test", limit=10)))
attempt("cifar_test_unflagged", lambda: len(d.cifar10("test", limit=10)))
attempt("real_folder_unflagged", lambda: str(d.cifar10_folder(held_out=True)))
held_out = ["MNIST/raw/t10k-images-idx3-ubyte.gz", "text/sst2/stsa.binary.dev", "text/sst2/stsa.binary.test",
            "text/trec/TREC.test.all", "text/ag_news/test.csv", CIFAR10_SOURCES[1].relpath]
found["readable_held_out"] = [str(root / rel) for root in mirrors + [cache] for rel in held_out
                              if (root / rel).exists()]
found["cache_npz"] = sorted(p.name for p in cache.rglob("*.npz"))
print("LOOK" + json.dumps(found))
'''


@pytest.mark.skipif(not sandbox.available(), reason="this machine cannot create Linux namespaces (unshare)")
def test_a_sandbox_holds_the_training_splits_and_no_held_out_file(tmp_path, monkeypatch):
    for sub in ("work", "home", "tmp", "root"):
        (tmp_path / sub).mkdir()
    monkeypatch.setattr(data_view, "trains_on", lambda aid: ("mnist", "sst2", "trec", "cifar10_folder"))
    autograder._training_files.cache_clear()
    readable = autograder._readable(tmp_path, "aXX")
    autograder._training_files.cache_clear()
    assert not any(p in readable for p in mirror_dirs()), "the mirrors are no longer mounted whole"
    proc = StudentProcess(tmp_path, autograder._environment("datatest", tmp_path), Limits(memory_gb=3), readable,
                          sandboxed=True)
    proc.start()
    try:
        verdict = Verdict()
        run_cells(proc, [("look", LOOK)], 120, verdict)
    finally:
        proc.close()
    cell = verdict.cells["look"]
    assert cell.error is None, cell.error
    found = json.loads(next(x for x in cell.stdout.splitlines() if x.startswith("LOOK"))[4:])
    assert (found["mnist_train"], found["sst2_train"], found["folder_test"]) == (10, 6920, 800), found
    assert found["folder_name"].endswith("-trainonly"), found
    for name in ("mnist_test", "sst2_dev", "trec_test"):
        assert found[name] == "DataNotFoundError: held out", (name, found)
    for name in ("mnist_test_unflagged", "cifar_test_unflagged", "real_folder_unflagged"):
        assert isinstance(found[name], str) and found[name].startswith(("DataNotFoundError", "OSError")), (name, found)
    assert found["readable_held_out"] == [], found
    assert not any("test" in n for n in found["cache_npz"]), found
