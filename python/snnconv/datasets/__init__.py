"""Datasets snnconv can read. Each loader returns ``(images uint8 (N, H, W), labels int64)``.

NEOVISION2 clips (video + annotation CSV) are read by :mod:`.neovision2`; synthetic
clips in the same layout are written by :mod:`.synth_neovision2`.
"""

from __future__ import annotations

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
    "names",
    "read_idx",
    "write_idx",
]
