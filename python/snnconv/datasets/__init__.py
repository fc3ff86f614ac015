"""Datasets snnconv can read. Each loader returns ``(images uint8 (N, H, W), labels int64)``."""

from __future__ import annotations

from .registry import load, names
from .sources import load_digits, load_mnist5k

__all__ = ["load", "load_digits", "load_mnist5k", "names"]
