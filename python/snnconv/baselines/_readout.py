"""Class readout of the ULSNN (Diehl & Cook 2015; BindsNET `assign_labels`,
`all_activity`, `proportion_weighting`).

Each excitatory neuron is assigned the class for which its mean spike count over the
labelled images is highest. A neuron that never fired is left unassigned (−1) rather
than given class 0 as BindsNET does: a silent neuron carries no evidence, and counting
it would only dilute class 0's mean.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import ParameterError

READOUTS = ("all_activity", "proportion_weighting")


def assign(counts: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean counts per class (n_classes, n_neurons) and the assignment per neuron.

    ``y`` holds class indices 0..n_classes-1. Classes without images get rate 0.
    """
    counts = np.asarray(counts, dtype=np.float64)
    rates = np.zeros((n_classes, counts.shape[1]))
    for c in range(n_classes):
        sel = y == c
        if sel.any():
            rates[c] = counts[sel].mean(axis=0)
    assignments = np.argmax(rates, axis=0).astype(np.int64)
    assignments[rates.max(axis=0) <= 0] = -1
    return rates, assignments


def proportions(rates: np.ndarray) -> np.ndarray:
    """Each neuron's class profile, normalised to sum 1 over classes (0 when silent)."""
    total = rates.sum(axis=0, keepdims=True)
    return np.divide(rates, total, out=np.zeros_like(rates), where=total > 0)


def scores(
    counts: np.ndarray,
    assignments: np.ndarray,
    rates: np.ndarray,
    method: str = "all_activity",
) -> np.ndarray:
    """Per-image class scores (N, n_classes); the prediction is the argmax (ties go to
    the lower class index).

    all_activity: mean count of the neurons assigned to each class.
    proportion_weighting: the same mean with each count weighted by the neuron's
    proportion of response to that class.
    """
    if method not in READOUTS:
        raise ParameterError(f"readout: must be one of {READOUTS}, got {method!r}")
    counts = np.asarray(counts, dtype=np.float64)
    n_classes = rates.shape[0]
    prop = proportions(rates)
    out = np.zeros((counts.shape[0], n_classes))
    for c in range(n_classes):
        sel = assignments == c
        k = int(sel.sum())
        if k == 0:
            continue
        if method == "all_activity":
            out[:, c] = counts[:, sel].sum(axis=1) / k
        else:
            out[:, c] = (counts[:, sel] * prop[c, sel]).sum(axis=1) / k
    return out
