"""Continual learning: task streams, the methods that learn them, their metrics.

A stream is a sequence of tasks (:mod:`.scenarios`); a method learns them one after the
other without going back to earlier tasks' data, and is tested on every task after each
one (:mod:`.runner`), which fills the accuracy matrix the metrics read (:mod:`.metrics`).
``colanet`` and ``csnn`` start from their scenario's preset (:mod:`.presets`).
docs/continual.md describes the protocol.
"""

from .metrics import (
    average_accuracy,
    backward_transfer,
    forgetting,
    learning_accuracy,
    summarise,
)
from .presets import CSNN_INCREMENTAL, DOMAIN, INCREMENTAL, PRESETS, preset
from .scenarios import SCENARIOS, Stream, Task, make_stream

__all__ = [
    "CSNN_INCREMENTAL",
    "DOMAIN",
    "INCREMENTAL",
    "PRESETS",
    "SCENARIOS",
    "Stream",
    "Task",
    "average_accuracy",
    "backward_transfer",
    "forgetting",
    "learning_accuracy",
    "make_stream",
    "preset",
    "summarise",
]
