"""snnconv: convolutional spiking neural networks whose learning is strictly local.

Import cost is numpy plus the compiled core; plotting, datasets and baselines load
their optional dependencies only when used.
"""

from __future__ import annotations

from ._core import __version__
from .conv_snn import ConvSNN, SpikeCounts
from .kernel_learner import KernelLearner

__all__ = ["ConvSNN", "KernelLearner", "SpikeCounts", "__version__"]
