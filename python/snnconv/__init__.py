"""snnconv: convolutional spiking neural networks whose learning is strictly local.

Import cost is numpy plus the compiled core. The estimators are scikit-learn
estimators, so scikit-learn (about a second to import) is loaded when an estimator is
first used, not by ``import snnconv``; plotting, datasets and baselines load their
optional dependencies only when used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._core import __version__

if TYPE_CHECKING:
    from . import baselines
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

#: Public name -> module defining it, imported on first access (PEP 562).
_LAZY = {
    "CSNNClassifier": ".csnn",
    "CoLaNET": ".colanet",
    "ConvSNN": ".conv_snn",
    "DigitalCoLaNET": ".colanet",
    "KernelLearner": ".kernel_learner",
    "SpikeCounts": ".conv_snn",
}


def __getattr__(name: str) -> Any:
    # Lazy: the estimators import scikit-learn, and `snnconv.baselines` (through the
    # CNN backend) possibly PyTorch, only when first used.
    if name == "baselines":
        return importlib.import_module(".baselines", __name__)
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'snnconv' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
