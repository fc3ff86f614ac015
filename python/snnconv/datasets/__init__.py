"""Datasets snnconv can read. Each loader returns ``(images uint8 (N, H, W), labels int64)``.

NEOVISION2 clips (video + annotation CSV) are read by :mod:`.neovision2`; synthetic
clips in the same layout are written by :mod:`.synth_neovision2`. Event-camera data
(N-MNIST's binary format, event streams) live in :mod:`snnconv.events`;
``read_nmnist_bin`` and ``load_nmnist`` are re-exported here.
"""

from __future__ import annotations

from ..events.nmnist import load_nmnist, read_nmnist_bin
from .idx import load_idx, read_idx, write_idx
from .registry import Dataset, load, load_dataset, names
from .sources import load_digits, load_fashion_mnist, load_mnist5k

__all__ = [
    "Dataset",
    "load",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_idx",
    "load_mnist5k",
    "load_nmnist",
    "names",
    "read_idx",
    "read_nmnist_bin",
    "write_idx",
]
