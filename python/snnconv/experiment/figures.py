"""Figures of an experiment: kernels, spike rasters, confusion matrices, per-class
accuracy, learning curves. Built from what the runs returned; nothing is re-trained
here. Titles use the methods' readable labels; spreads are std over folds (ddof = 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .data import ExperimentData
from .methods import METHODS
from .runner import ExperimentResults


def method_label(method: str) -> str:
    """The readable name of a method (as in the results table)."""
    return METHODS[method][0] if method in METHODS else method


def _raster_groups(rasters: dict[str, Any], names: list[str]) -> dict[str, tuple[int, list[str]]]:
    """CoLaNET layers are laid out class by class: label their y-axes by class."""
    groups = {}
    k = len(names)
    for layer, r in rasters.items():
        if not layer.startswith("CoLaNET"):
            continue
        n = int(np.prod(np.asarray(r).shape[1:]))
        if k and n % k == 0:
            groups[layer] = (n // k, list(names))
    return groups


def write_figures(results: ExperimentResults, data: ExperimentData, out: Path) -> list[Path]:
    from .. import plots
    from .report import learning_curves, summary_rows

    written: list[Path] = []
    names = data.class_names
    k = len(names)
    methods = list(dict.fromkeys(t.method for t in results.tasks))
    per_class: dict[str, np.ndarray] = {}
    # Pooled predictions over all folds give every image exactly one prediction.
    for method in methods:
        runs = [t for t in results.tasks if t.method == method]
        if any(len(t.result.predictions) == 0 for t in runs):
            continue
        label = method_label(method)
        truths = [data.labels[results.folds[t.fold][1]] for t in runs]
        preds = [np.asarray(t.result.predictions) for t in runs]
        y_true, y_pred = np.concatenate(truths), np.concatenate(preds)
        # Folds that repeat one split (the "split" protocol) are runs, not folds.
        p = out / f"confusion_{method}.png"
        plots.confusion_matrix(y_true, y_pred, names, p, title=label, n_folds=len(runs))
        written.append(p)
        per_class[label] = np.array(
            [plots.class_accuracies(t, q, k) for t, q in zip(truths, preds, strict=True)]
        )
    # One y axis for every per-class figure of the run, so methods compare by eye.
    bottom = plots.accuracy_axis_bottom(per_class)
    for method in methods:
        label = method_label(method)
        if label not in per_class:
            continue
        p = out / f"per_class_{method}.png"
        plots.per_class_accuracy_grouped(
            {label: per_class[label]}, names, p, title=label, bottom=bottom
        )
        written.append(p)
    if len(per_class) > 1:
        p = out / "per_class_accuracy.png"
        plots.per_class_accuracy_grouped(
            per_class, names, p, title="Per-class test accuracy", bottom=bottom
        )
        written.append(p)
    for t in results.tasks:
        art = t.result.artifacts
        if t.fold != 0 or not art:
            continue
        label = method_label(t.method)
        if "kernels" in art:
            p = out / f"kernels_{t.method}.png"
            k = np.asarray(art["kernels"])
            n, what = k.shape[0], ""
            if k.ndim == 4:  # input channels (event polarities) side by side
                k, what = (
                    np.concatenate(list(np.moveaxis(k, 1, 0)), axis=-1),
                    ", channels side by side",
                )
            plots.kernel_grid(k, p, title=f"{label}: {n} learned kernels (fold 0{what})")
            written.append(p)
        if "rasters" in art:
            p = out / f"rasters_{t.method}.png"
            test = results.folds[t.fold][1]
            what = "first test image of fold 0"
            if len(test) and len(t.result.predictions):
                true, pred = int(data.labels[test[0]]), int(t.result.predictions[0])
                what += f": true {names[true]}, predicted {names[pred]}"
            plots.spike_rasters(
                art["rasters"],
                p,
                title=f"{label}\n{what}",
                groups=_raster_groups(art["rasters"], names),
            )
            written.append(p)
    # Learning curves (mean ± std over folds) against the other methods' accuracies.
    means = {r["method"]: r["accuracy_mean"] for r in summary_rows(results)}
    for curve in learning_curves(results):
        method = curve["method"]
        baselines = {_short(m): a for m, a in means.items() if m != method}
        p = out / f"learning_curve_{method}.png"
        plots.learning_curve(
            curve["training_images"],
            np.asarray(curve["accuracy_per_fold"]).T.tolist(),
            p,
            title=f"{curve['label']}: learning curve",
            baselines=baselines,
            label=_short(method),
        )
        written.append(p)
    import matplotlib.pyplot as plt

    plt.close("all")
    return written


def _short(method: str) -> str:
    """The label up to its first parenthesis, for legends."""
    return method_label(method).split(" (")[0]
