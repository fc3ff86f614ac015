"""snnconv: convolutional spiking neural networks whose learning is strictly local.

Import cost is numpy plus the compiled core; plotting, datasets and baselines load
their optional dependencies only when used.
"""

from __future__ import annotations

from typing import Any

from ._core import __version__
from .colanet import CoLaNET, DigitalCoLaNET
from .conv_snn import ConvSNN, SpikeCounts
from .csnn import CSNNClassifier
from .kernel_learner import KernelLearner

__all__ = [
    "CSNNClassifier",
    "CoLaNET",
    "ConvSNN",
    "DigitalCoLaNET",
    "KernelLearner",
    "SpikeCounts",
    "__version__",
    "baselines",
]


def __getattr__(name: str) -> Any:
    # Lazy: `snnconv.baselines` is imported on first use, so importing snnconv never
    # imports the baselines (nor, through them, PyTorch).
    if name == "baselines":
        import importlib

        return importlib.import_module(".baselines", __name__)
    raise AttributeError(f"module 'snnconv' has no attribute {name!r}")
