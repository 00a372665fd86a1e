"""Image data sets: MNIST and CIFAR-10, as uint8 arrays and as ready-to-train datasets.

``load_*`` returns the raw pixels (uint8) and labels; ``mnist``/``cifar10`` return a
``TensorDataset`` of normalised float images, which is what the chapters train on.
"""
from __future__ import annotations

import gzip
import io
import pickle
import tarfile
import zipfile
from collections.abc import Callable

import numpy as np
import torch
from torch.utils.data import TensorDataset

from .sources import Resource, cached_arrays, derived_files, fetch, locate, refuse_held_out, DataNotFoundError

__all__ = ["load_mnist", "mnist", "load_cifar10", "cifar10", "MNIST_MEAN", "MNIST_STD",
           "CIFAR10_CLASSES", "CIFAR10_MEAN", "CIFAR10_STD", "MNIST_FILES", "CIFAR10_SOURCES",
           "subset", "cifar10_arrays_name"]

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")

_MNIST_URLS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")


def _mnist_file(name: str, md5: str, mirror_sha256: str) -> Resource:
    # md5: the canonical file (as torchvision checks it); sha256: the course mirror's copy,
    # which holds the same labels/pixels re-compressed (see the mirror's README).
    return Resource(f"MNIST/raw/{name}", (f"md5:{md5}", f"sha256:{mirror_sha256}"),
                    tuple(u + name for u in _MNIST_URLS), homepage="http://yann.lecun.com/exdb/mnist/",
                    size_hint="12 MB for all four files")


MNIST_FILES = {
    ("train", "images"): _mnist_file("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                                     "8e59d4e6322d5e291f26338633ee8015e1369ee4616a784cd934bc27c2948978"),
    ("train", "labels"): _mnist_file("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432",
                                     "51fc562b6747b666fbf6e84ce29d43c3cb5f9c388c664d43b33f02095313405a"),
    ("test", "images"): _mnist_file("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3",
                                    "9fe7630f90c0e670227960a294637bc2e78a29d724810e24204eb342c9f033a1"),
    ("test", "labels"): _mnist_file("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c",
                                    "2c54c993d38068b3c3adb720a5cdee07065a066a7b36e7d1df720548d6359eba"),
}

CIFAR10_SOURCES = (
    # The canonical archive, as torchvision downloads it.
    Resource("cifar10/cifar-10-python.tar.gz", ("md5:c58f30108f718f92721af3b95e74349a",),
             ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
             homepage="https://www.cs.toronto.edu/~kriz/cifar.html", size_hint="163 MB"),
    # The course mirror's image-folder copy (JPEG, quality ~75): found locally, never downloaded.
    Resource("cifar10/cifar10_jpg.zip",
             ("sha256:60ed9fffbb38bad2045f05a68738de82b643dfef34215af4bc8e0a452b0e3a2c",)),
)


def _check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")


def _read_idx(path) -> np.ndarray:
    """Parse an IDX file (gzipped): magic, dims, then big-endian uint8 data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST pixels (N, 28, 28) uint8 and labels (N,) int64. 60,000 train, 10,000 test."""
    _check_split(split)
    refuse_held_out("MNIST", split)
    images = _read_idx(fetch(MNIST_FILES[split, "images"]))
    labels = _read_idx(fetch(MNIST_FILES[split, "labels"])).astype(np.int64)
    return images, labels


def subset(n_total: int, limit: int | None, seed: int = 0) -> np.ndarray:
    """Indices of a seeded random subset of size ``limit`` (all indices when None)."""
    if limit is None or limit >= n_total:
        return np.arange(n_total)
    return np.random.default_rng(seed).permutation(n_total)[:limit]


def mnist(split: str = "train", *, flatten: bool = False, limit: int | None = None,
          seed: int = 0, normalise: bool = True) -> TensorDataset:
    """MNIST as a TensorDataset of float images (N, 1, 28, 28) or (N, 784): normalised to mean 0 and
    standard deviation 1 (for classifiers), or with ``normalise=False`` grey levels in [0, 1] (for
    generative models, whose likelihood scores each pixel as a probability of ink)."""
    images, labels = load_mnist(split)
    idx = subset(len(labels), limit, seed)
    x = torch.from_numpy(images[idx]).float() / 255
    x = (x - MNIST_MEAN) / MNIST_STD if normalise else x
    x = x.reshape(len(idx), -1) if flatten else x.unsqueeze(1)
    ds = TensorDataset(x, torch.from_numpy(labels[idx]))
    ds.classes = tuple(str(d) for d in range(10))
    return ds


def _decode_zip(path, split: str) -> dict:
    from PIL import Image
    images, labels = [], []
    with zipfile.ZipFile(path) as archive:
        names = sorted(n for n in archive.namelist() if n.startswith(f"{split}/") and n.endswith(".jpg"))
        for name in names:
            label = CIFAR10_CLASSES.index(name.split("/")[1])
            with Image.open(io.BytesIO(archive.read(name))) as im:
                images.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
            labels.append(label)
    return {"images": np.stack(images), "labels": np.asarray(labels, dtype=np.int64)}


def _decode_tar(path, split: str) -> dict:
    batches = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    images, labels = [], []
    with tarfile.open(path, "r:gz") as archive:
        for batch in batches:
            entry = pickle.load(archive.extractfile(f"cifar-10-batches-py/{batch}"), encoding="latin1")
            images.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            labels.append(np.asarray(entry["labels"], dtype=np.int64))
    return {"images": np.concatenate(images), "labels": np.concatenate(labels)}


def _cifar10_key(resource: Resource, split: str) -> str:
    """The decoded arrays' cache name: the source's declared checksum, which ``locate`` verified."""
    return f"cifar10-{split}-{resource.checksums[0].split(':', 1)[1][:16]}"


def cifar10_arrays_name(split: str) -> tuple[str, Callable[[], dict]]:
    """(cache name, decoder) of the split's arrays: arrays decoded before if the cache holds them
    (a grading sandbox holds only the training split's, not the archive, which has both splits),
    else the first verified copy found (canonical archive, then the mirror's JPEG zip), else a
    download of the archive. Looks no further than it must: hashing the zip costs a second."""
    sources = tuple(zip(CIFAR10_SOURCES, (_decode_tar, _decode_zip)))
    chosen = next(((r, d) for r, d in sources if all(p.is_file() for p in derived_files(_cifar10_key(r, split)))),
                  None) or next(((r, d) for r, d in sources if locate(r) is not None), None)
    if chosen is None:
        try:
            fetch(CIFAR10_SOURCES[0])
        except DataNotFoundError as exc:
            raise DataNotFoundError(f"{exc}\n(A copy of the mirror's {CIFAR10_SOURCES[1].relpath} works too.)") from None
        chosen = sources[0]
    resource, decode = chosen
    return _cifar10_key(resource, split), lambda: decode(fetch(resource), split)


def load_cifar10(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 pixels (N, 32, 32, 3) uint8 and labels (N,) int64. 50,000 train, 10,000 test.

    Decoded once and cached (:func:`cifar10_arrays_name` says from which copy)."""
    _check_split(split)
    refuse_held_out("CIFAR-10", split)
    arrays = cached_arrays(*cifar10_arrays_name(split))
    return arrays["images"], arrays["labels"]


def cifar10(split: str = "train", *, limit: int | None = None, seed: int = 0) -> TensorDataset:
    """CIFAR-10 as a TensorDataset of normalised float images (N, 3, 32, 32)."""
    images, labels = load_cifar10(split)
    idx = subset(len(labels), limit, seed)
    x = torch.from_numpy(images[idx]).permute(0, 3, 1, 2).float() / 255
    x = (x - torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)) / torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    ds = TensorDataset(x, torch.from_numpy(labels[idx]))
    ds.classes = CIFAR10_CLASSES
    return ds
