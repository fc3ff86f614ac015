"""Figures of an experiment: kernels, spike rasters, confusion matrix, learning curve,
per-class accuracy. Built from what the runs returned; nothing is re-trained here."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import ExperimentData
from .runner import ExperimentResults


def write_figures(results: ExperimentResults, data: ExperimentData, out: Path) -> list[Path]:
    from .. import plots

    written: list[Path] = []
    names = data.class_names
    # Pooled predictions over all folds give every image exactly one prediction.
    for method in dict.fromkeys(t.method for t in results.tasks):
        runs = [t for t in results.tasks if t.method == method]
        if any(len(t.result.predictions) == 0 for t in runs):
            continue
        y_true = np.concatenate([data.labels[results.folds[t.fold][1]] for t in runs])
        y_pred = np.concatenate([t.result.predictions for t in runs])
        p = out / f"confusion_{method}.png"
        plots.confusion_matrix(y_true, y_pred, names, p, title=f"{method}: confusion matrix")
        written.append(p)
        p = out / f"per_class_{method}.png"
        plots.per_class_accuracy(y_true, y_pred, names, p, title=f"{method}: per-class accuracy")
        written.append(p)
    for t in results.tasks:
        art = t.result.artifacts
        if t.fold != 0 or not art:
            continue
        if "kernels" in art:
            p = out / f"kernels_{t.method}.png"
            plots.kernel_grid(art["kernels"], p, title=f"{t.method}: learned kernels (fold 0)")
            written.append(p)
        if "rasters" in art:
            p = out / f"rasters_{t.method}.png"
            plots.spike_rasters(art["rasters"], p, title=f"{t.method}: one test image (fold 0)")
            written.append(p)
    # Learning curves: mean ± std over folds.
    for method in dict.fromkeys(t.method for t in results.tasks):
        curves = [
            t.result.artifacts["learning_curve"]
            for t in results.tasks
            if t.method == method and "learning_curve" in t.result.artifacts
        ]
        if curves:
            sizes = curves[0][0]
            accs = np.array([c[1] for c in curves]).T  # (sizes, folds)
            p = out / f"learning_curve_{method}.png"
            plots.learning_curve(
                sizes, accs.tolist(), p, title=f"{method}: learning curve ({len(curves)} folds)"
            )
            written.append(p)
    import matplotlib.pyplot as plt

    plt.close("all")
    return written
