"""Find a data file: the local cache, then read-only mirrors, then the canonical download.

The contract (COURSE.md section 6):
- the cache is ``$DLCOURSE_CACHE`` (default ``~/.cache/dlcourse``); it is the only place
  we ever write, and every write goes to a temporary file that is renamed into place;
- mirrors are read-only folders listed in ``$DLCOURSE_DATA_MIRRORS`` (separated by
  ``os.pathsep``), laid out like the cache; CI and the tests point it at ``../shared/data``;
- a download is checked against a known checksum before it is kept;
- a file whose checksum is wrong is reported and never used;
- when nothing is found, ``DataNotFoundError`` says exactly how to get the file.
``DLCOURSE_OFFLINE=1`` forbids downloads (the test suite sets it). ``DLCOURSE_TRAINING_ONLY=1``
is set by the grader inside a submission's sandbox, where only the training splits are mounted
(:mod:`dlcourse.grading.data_view`): a held-out split then fails with a message saying so.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Resource", "DataNotFoundError", "cache_dir", "mirror_dirs", "fetch", "locate",
           "file_digest", "atomic_write", "offline", "training_only", "refuse_held_out", "derived_files"]


class DataNotFoundError(FileNotFoundError):
    """No verified copy of a data file could be found or downloaded."""


@dataclass(frozen=True)
class Resource:
    """One data file: where it lives below a cache or mirror root, and how to verify it.

    checksums: accepted digests as "sha256:<hex>" or "md5:<hex>". More than one is allowed
    because a mirror may hold a faithful re-encoding of the canonical file.
    urls: canonical download addresses, tried in order.
    """
    relpath: str
    checksums: tuple[str, ...]
    urls: tuple[str, ...] = ()
    homepage: str = ""
    size_hint: str = ""
    extra_help: str = field(default="", compare=False)


def cache_dir() -> Path:
    return Path(os.environ.get("DLCOURSE_CACHE") or Path.home() / ".cache" / "dlcourse").expanduser()


def mirror_dirs() -> list[Path]:
    raw = os.environ.get("DLCOURSE_DATA_MIRRORS", "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def training_only() -> bool:
    """True inside a grading sandbox: the held-out splits are not there (see the module docstring)."""
    return os.environ.get("DLCOURSE_TRAINING_ONLY", "") == "1"


def refuse_held_out(dataset: str, split: str, training: tuple[str, ...] = ("train",)) -> None:
    """While grading, a held-out split is absent by design: say so instead of "file not found"."""
    if training_only() and split not in training:
        raise DataNotFoundError(f"{dataset}'s {split!r} split is held out while your notebook is graded: only "
                                "the training split is readable here. The grader itself scores your work on "
                                f"the {split!r} split; use the training split in your code.")


def offline() -> bool:
    return os.environ.get("DLCOURSE_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


_digest_memo: dict[tuple[str, int, int, str], str] = {}


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, memoised on (path, size, mtime) so repeated loads are free."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, algorithm)
    if key not in _digest_memo:
        h = hashlib.new(algorithm)
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _digest_memo[key] = h.hexdigest()
    return _digest_memo[key]


def _verified(path: Path, resource: Resource) -> bool:
    for expected in resource.checksums:
        algorithm, _, hexdigest = expected.partition(":")
        if file_digest(path, algorithm) == hexdigest.lower():
            return True
    return False


def atomic_write(dest: Path, write) -> Path:
    """Call ``write(tmp_path)``, then rename the finished file to ``dest`` in one step.

    A crash or Ctrl-C mid-write leaves no half-written file under the real name.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def locate(resource: Resource) -> Path | None:
    """A verified local copy (cache first, then mirrors), or None. Never downloads.

    A cache file with a wrong checksum is removed (it is ours, and it would shadow good
    copies); a mirror file with a wrong checksum is skipped and left alone (read-only).
    """
    cached = cache_dir() / resource.relpath
    if cached.is_file():
        if _verified(cached, resource):
            return cached
        warnings.warn(f"{cached} is corrupted (its checksum does not match the known one); "
                      "removing it and looking for a good copy.", stacklevel=3)
        cached.unlink()
    for mirror in mirror_dirs():
        candidate = mirror / resource.relpath
        if candidate.is_file():
            if _verified(candidate, resource):
                return candidate
            warnings.warn(f"mirror file {candidate} has an unexpected checksum; skipping it.",
                          stacklevel=3)
    return None


def _download(resource: Resource) -> tuple[Path | None, list[str]]:
    dest = cache_dir() / resource.relpath
    problems = []
    for url in resource.urls:
        def write(tmp: Path, url=url):
            with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out)
            if not _verified(tmp, resource):
                raise ValueError(f"checksum mismatch for the download from {url}")
        try:
            print(f"downloading {url} -> {dest}")
            return atomic_write(dest, write), problems
        except Exception as exc:  # network down, 404, checksum: try the next address
            problems.append(f"{url}: {exc}")
    return None, problems


def fetch(resource: Resource) -> Path:
    """Path to a verified copy of ``resource``: cache, mirrors, then a checked download."""
    found = locate(resource)
    if found is not None:
        return found
    problems: list[str] = []
    if resource.urls and not offline():
        found, problems = _download(resource)
        if found is not None:
            return found
    raise DataNotFoundError(_how_to_get(resource, problems))


def _how_to_get(resource: Resource, problems: list[str]) -> str:
    looked = [str(cache_dir() / resource.relpath)] + [str(m / resource.relpath) for m in mirror_dirs()]
    lines = [f"Could not find the data file '{resource.relpath}'.",
             "Looked in: " + ", ".join(looked) + "."]
    if not mirror_dirs():
        lines.append("No mirror is set (DLCOURSE_DATA_MIRRORS is empty).")
    if offline():
        lines.append("Downloads are off because DLCOURSE_OFFLINE is set.")
    for p in problems:
        lines.append(f"Download failed: {p}")
    lines.append("To fix it, do one of:")
    if resource.urls:
        lines.append("  - go online (and unset DLCOURSE_OFFLINE) so it downloads from "
                     + resource.urls[0] + (f" ({resource.size_hint})" if resource.size_hint else ""))
    lines.append(f"  - point DLCOURSE_DATA_MIRRORS at a folder that holds {resource.relpath}, "
                 "e.g. export DLCOURSE_DATA_MIRRORS=/path/to/shared/data")
    lines.append(f"  - copy the file to {cache_dir() / resource.relpath}")
    if resource.homepage:
        lines.append(f"The data set's home: {resource.homepage}")
    if resource.extra_help:
        lines.append(resource.extra_help)
    return "\n".join(lines)


def derived_files(name: str) -> tuple[Path, Path]:
    """The cache's ``<name>.npz`` and its ``.sha256`` stamp (what a grading sandbox mounts)."""
    path = cache_dir() / "derived" / f"{name}.npz"
    return path, path.with_suffix(".npz.sha256")


def cached_arrays(name: str, build) -> dict:
    """Arrays derived from a verified source (e.g. 60,000 decoded JPEGs), kept in the cache.

    ``build()`` returns a dict of NumPy arrays. They are saved once as ``<name>.npz`` with a
    ``.sha256`` beside it; a later load whose digest does not match is rebuilt, not trusted.
    """
    import numpy as np

    path, stamp = derived_files(name)
    if path.is_file() and stamp.is_file():
        if file_digest(path) == stamp.read_text().strip():
            with np.load(path) as archive:
                return {k: archive[k] for k in archive.files}
        warnings.warn(f"{path} is corrupted (checksum mismatch); rebuilding it.", stacklevel=2)
    arrays = build()

    def write(tmp: Path):
        with open(tmp, "wb") as f:  # a file object, so numpy keeps our temporary name
            np.savez(f, **arrays)
    try:
        atomic_write(path, write)
        atomic_write(stamp, lambda tmp: tmp.write_text(file_digest(path)))
    except OSError as exc:  # a read-only cache (the grader's sandbox, a shared course machine): use them unsaved
        warnings.warn(f"could not save {name} in the cache {cache_dir()} ({exc.strerror or exc}); using it without "
                      "saving, so it is decoded again next time. Set DLCOURSE_CACHE to a writable folder to keep it.",
                      stacklevel=2)
    return arrays
