"""snnconv: convolutional spiking neural networks whose learning is strictly local.

Import cost is numpy plus the compiled core; plotting, datasets and baselines load
their optional dependencies only when used.
"""

from __future__ import annotations

from ._core import __version__
from .colanet import CoLaNET
from .digital_colanet import DigitalCoLaNET
from .kernel_learner import KernelLearner

__all__ = ["CoLaNET", "DigitalCoLaNET", "KernelLearner", "__version__"]
