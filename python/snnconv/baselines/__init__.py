"""Baselines of docs/algorithms.md §7: the ULSNN of Diehl & Cook (2015) and the CNN1/CNN2 networks.

Importing this package imports neither PyTorch nor the CNN code; the CNN torch backend
is loaded only when selected.
"""

from __future__ import annotations

from .cnn import CNN1, CNN2
from .ulsnn import ULSNN

__all__ = ["CNN1", "CNN2", "ULSNN"]
