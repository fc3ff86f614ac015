"""Metrics over an accuracy matrix R of T tasks: R[i, j] is the accuracy on task j's
test set after training on tasks 0..i (row i), so the diagonal is each task right after
it was learned and the last row the end of the stream.

- average accuracy A = mean_j R[T-1, j];
- learning accuracy = mean_j R[j, j] (each task right after learning it);
- backward transfer BWT = mean_{j<T-1} (R[T-1, j] - R[j, j]) (Lopez-Paz & Ranzato 2017):
  negative when later tasks overwrite earlier ones;
- forgetting F = mean_{j<T-1} (max_{i<T-1} R[i, j] - R[T-1, j]) (Chaudhry et al. 2018):
  the loss from the best accuracy a task ever had, >= 0 up to noise.

Entries above the diagonal (tasks not yet trained) are measured too; they enter none of
these metrics. BWT and forgetting are 0 for a single task.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import DataError


def _matrix(r: Any) -> np.ndarray:
    m = np.asarray(r, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 1:
        raise DataError(f"accuracy_matrix: must be square (T, T) with T >= 1, got {m.shape}")
    if not np.isfinite(m).all():
        raise DataError("accuracy_matrix: must be finite")
    return m


def average_accuracy(r: Any) -> float:
    """Mean accuracy over all tasks at the end of the stream."""
    m = _matrix(r)
    return float(m[-1].mean())


def learning_accuracy(r: Any) -> float:
    """Mean accuracy of each task right after it was learned (the diagonal)."""
    return float(np.diag(_matrix(r)).mean())


def backward_transfer(r: Any) -> float:
    """Mean change of each earlier task from right after learning it to the end."""
    m = _matrix(r)
    t = m.shape[0]
    if t == 1:
        return 0.0
    return float(np.mean(m[-1, : t - 1] - np.diag(m)[: t - 1]))


def forgetting(r: Any) -> float:
    """Mean drop of each earlier task from its best accuracy before the end to the end."""
    m = _matrix(r)
    t = m.shape[0]
    if t == 1:
        return 0.0
    best = np.array([m[j : t - 1, j].max() for j in range(t - 1)])
    return float(np.mean(best - m[-1, : t - 1]))


def summarise(r: Any) -> dict[str, float]:
    """All metrics of one accuracy matrix, by name."""
    return {
        "average_accuracy": average_accuracy(r),
        "learning_accuracy": learning_accuracy(r),
        "backward_transfer": backward_transfer(r),
        "forgetting": forgetting(r),
    }
