"""dlcourse.data.cifar10_folder: an ImageFolder layout cut from the mirror, in the cache, built once."""
from __future__ import annotations

import pytest

from dlcourse.data import CIFAR10_VEHICLES, cifar10_folder


def test_builds_the_layout_once_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_CACHE", str(tmp_path / "cache"))
    root = cifar10_folder(("ship", "cat"), train_per_class=3, test_per_class=2)
    assert root.is_relative_to(tmp_path / "cache")
    assert sorted(p.relative_to(root).as_posix() for p in root.iterdir()) == ["test", "train"]
    for split, n in (("train", 3), ("test", 2)):
        assert sorted(p.name for p in (root / split).iterdir()) == ["cat", "ship"]
        assert all(len(list((root / split / c).glob("*.jpg"))) == n for c in ("cat", "ship"))
    first = {p: p.stat().st_mtime_ns for p in root.rglob("*.jpg")}
    assert cifar10_folder(("ship", "cat"), train_per_class=3, test_per_class=2) == root
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*.jpg")} == first  # reused, not rebuilt
    from torchvision.datasets import ImageFolder
    ds = ImageFolder(str(root / "train"))
    assert ds.classes == ["cat", "ship"] and len(ds) == 6 and ds[0][0].size == (32, 32)


def test_an_unwritable_cache_falls_back_to_a_temporary_folder(tmp_path, monkeypatch):
    """The grader's sandbox reads the cache but cannot write it (a read-only mount; here a file
    where the cache folder should be, which fails the same way for root too)."""
    import tempfile

    (tmp_path / "not_a_folder").write_text("")
    monkeypatch.setenv("DLCOURSE_CACHE", str(tmp_path / "not_a_folder"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    root = cifar10_folder(CIFAR10_VEHICLES, train_per_class=1, test_per_class=1)
    assert root.is_relative_to(tmp_path / "tmp") and len(list(root.rglob("*.jpg"))) == 8


def test_unknown_classes_are_refused():
    with pytest.raises(ValueError, match="CIFAR-10 class names"):
        cifar10_folder(("plane",))


def test_a_second_builder_never_removes_a_complete_folder(tmp_path, monkeypatch):
    """Graders share one cache: a process that built the same folder while another published it
    keeps the published one (a reader in the other sandbox may be inside it) and drops its own.
    The old code's rmtree + replace swapped the folder under that reader (a05's FileNotFoundError
    on .../test/automobile/0109.jpg with --jobs 2)."""
    from dlcourse.data import folders

    monkeypatch.setenv("DLCOURSE_CACHE", str(tmp_path / "cache"))
    root = cifar10_folder(("ship", "cat"), train_per_class=3, test_per_class=2)
    inode, files = root.stat().st_ino, sorted(root.rglob("*.jpg"))
    real = folders._complete
    seen = []

    def raced(path, classes, counts):  # the lookup saw no folder yet: the race, made certain
        seen.append(path)
        return False if len(seen) <= 2 else real(path, classes, counts)
    monkeypatch.setattr(folders, "_complete", raced)
    assert cifar10_folder(("ship", "cat"), train_per_class=3, test_per_class=2) == root
    assert len(seen) > 2, "the second call did not build its own copy: the test tests nothing"
    assert root.stat().st_ino == inode and all(f.exists() for f in files)
    assert [p.name for p in root.parent.iterdir()] == [root.name]  # ours dropped, nothing left over


def test_an_incomplete_folder_in_the_way_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_CACHE", str(tmp_path / "cache"))
    from dlcourse.data import folders

    stale = tmp_path / "cache" / "image_folders" / folders._folder_name(("ship",), 2, 1, True)
    (stale / "train" / "ship").mkdir(parents=True)
    (stale / "train" / "ship" / "0000.jpg").write_bytes(b"half")
    root = cifar10_folder(("ship",), train_per_class=2, test_per_class=1)
    assert root == stale and len(list(root.rglob("*.jpg"))) == 3
    assert [p.name for p in root.parent.iterdir()] == [root.name]

