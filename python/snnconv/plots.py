"""Figures (extra ``plot``): kernel grids, spike rasters, confusion matrices, per-class
accuracy and learning curves, drawn to stand in a paper (readable labels, colour
scales, spreads over folds). Every function returns the Figure and, given ``path``,
saves it atomically."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np

from ._util.extras import require
from .exceptions import ParameterError


def kernel_grid(
    kernels: np.ndarray, path: str | os.PathLike[str] | None = None, title: str | None = None
):
    """Draws kernels (n, K, K) side by side on one symmetric colour scale.

    Positive (excitatory) cells are red, negative (inhibitory) blue; a colour bar gives
    the scale. Saves to ``path`` (atomically: temp file then rename) when given;
    returns the Figure.
    """
    plt = _pyplot()
    kernels = np.asarray(kernels, dtype=float)
    if kernels.ndim != 3:
        raise ParameterError(f"kernels: expected shape (n, K, K), got {kernels.shape}")
    n = max(1, kernels.shape[0])
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(1.3 * cols + 1.0, 1.3 * rows + 0.6), squeeze=False
    )
    lim = float(np.abs(kernels).max()) if kernels.size else 1.0
    lim = lim if lim > 0 else 1.0
    image = None
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < kernels.shape[0]:
            image = ax.imshow(
                kernels[i], cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest"
            )
            ax.set_title(str(i), fontsize=7)
    fig.suptitle(title or f"{kernels.shape[0]} kernels", fontsize=9)
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    if image is not None:
        cax = fig.add_axes((0.92, 0.15, 0.02, 0.7))
        bar = fig.colorbar(image, cax=cax)
        bar.set_label("weight (red excitatory, blue inhibitory)", fontsize=7)
        bar.ax.tick_params(labelsize=7)
    if path is not None:
        _save_atomic(fig, Path(path))
    return fig


def _save_atomic(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        fig.savefig(tmp, dpi=150, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _pyplot():
    mpl = require("matplotlib", "plotting")
    if "matplotlib.pyplot" not in sys.modules:
        mpl.use("Agg")
    return require("matplotlib.pyplot", "plotting")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def confusion_matrix(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: list[str],
    path: str | os.PathLike[str] | None = None,
    title: str = "",
    n_folds: int | None = None,
):
    """Confusion matrix: counts in the cells, colour = fraction of the true class (rows
    sum to 1), with a colour bar. ``n_folds``: the predictions are the test sets of
    that many folds, summed (said in the title)."""
    plt = _pyplot()
    k = len(class_names)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    side = 1.6 + 0.42 * k
    fig, ax = plt.subplots(figsize=(side + 1.0, side))
    image = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            if cm[i, j]:
                ax.text(
                    j,
                    i,
                    str(cm[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black",
                )
    long_names = max((len(str(c)) for c in class_names), default=0) > 3
    ax.set_xticks(
        range(k),
        class_names,
        rotation=45 if long_names else 0,
        ha="right" if long_names else "center",
        fontsize=7,
    )
    ax.set_yticks(range(k), class_names, fontsize=7)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("fraction of the true class", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    what = _plural(int(cm.sum()), "test image") + " (numbers: counts)"
    if n_folds:
        what += f", summed over {_plural(int(n_folds), 'fold')}"
    acc = 100 * float(np.trace(cm)) / max(int(cm.sum()), 1)
    ax.set_title(f"{title or 'confusion matrix'}\n{what}; accuracy {acc:.1f} %", fontsize=9)
    fig.tight_layout()
    if path is not None:
        _save_atomic(fig, Path(path))
    return fig


def class_accuracies(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Accuracy on each class (NaN for a class absent from ``y_true``)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return np.array(
        [
            float(np.mean(y_pred[y_true == c] == c)) if np.any(y_true == c) else np.nan
            for c in range(n_classes)
        ]
    )


def _error_bars(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, ±1 std over folds (ddof = 1) clipped to [0, 100] %, and the std, of
    (n_folds, n_classes) accuracies in %."""
    mean = np.nanmean(a, axis=0)
    std = np.nanstd(a, axis=0, ddof=1) if a.shape[0] > 1 else np.zeros(a.shape[1])
    err = np.vstack([np.minimum(std, mean), np.minimum(std, 100 - mean)])
    return mean, err, std


def accuracy_axis_bottom(accuracies: dict[str, np.ndarray]) -> float:
    """Where :func:`per_class_accuracy_grouped`'s y axis starts for these methods: just
    below the lowest error bar, a multiple of 10 %. Pass it to every per-class figure
    of a run so they share one axis."""
    lows = []
    for a in accuracies.values():
        mean, err, _ = _error_bars(100 * np.atleast_2d(np.asarray(a, dtype=float)))
        lows.append(np.nanmin(mean - err[0]))
    low = float(np.nanmin(lows)) if lows else 0.0
    return max(0.0, 10 * math.floor((low - 2) / 10))


def per_class_accuracy_grouped(
    accuracies: dict[str, np.ndarray],
    class_names: list[str],
    path: str | os.PathLike[str] | None = None,
    title: str = "",
    bottom: float | None = None,
):
    """Grouped bars: per class, one bar per method at its mean accuracy over folds, with
    error bars of ±1 std over folds (ddof = 1; clipped to [0, 100] %, as the title then
    says). ``accuracies`` maps a method's label to (n_folds, n_classes) accuracies in
    [0, 1]. The y-axis starts at ``bottom`` (%), by default just below the lowest error
    bar (a multiple of 10 %, :func:`accuracy_axis_bottom`), so differences stay visible;
    the axis label says where it starts."""
    plt = _pyplot()
    k = len(class_names)
    labels = list(accuracies)
    data = {m: 100 * np.atleast_2d(np.asarray(a, dtype=float)) for m, a in accuracies.items()}
    width = 0.8 / max(1, len(labels))
    fig, ax = plt.subplots(figsize=(2.0 + 0.22 * k * max(2, len(labels)), 3.8))
    clipped = False
    folds = sorted({a.shape[0] for a in data.values()})
    for i, m in enumerate(labels):
        a = data[m]
        mean, err, std = _error_bars(a)
        clipped |= bool(np.any(err < std - 1e-9))
        x = np.arange(k) - 0.4 + width * (i + 0.5)
        ax.bar(
            x,
            mean,
            width,
            yerr=err if a.shape[0] > 1 else None,
            capsize=2,
            label=m,
            color=f"C{i % 10}",
            error_kw={"elinewidth": 0.8},
        )
    if bottom is None:
        bottom = accuracy_axis_bottom(accuracies)
    ax.set_ylim(bottom, 100)
    long_names = max((len(str(c)) for c in class_names), default=0) > 3
    ax.set_xticks(
        range(k),
        class_names,
        rotation=45 if long_names else 0,
        ha="right" if long_names else "center",
        fontsize=8,
    )
    ax.set_xlabel("class")
    ax.set_ylabel(f"test accuracy, %\n(axis from {bottom:.0f})", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    if len(folds) == 1 and folds[0] > 1:
        spread = f"mean ± std over {_plural(folds[0], 'fold')}"
        if clipped:
            spread += ", error bars clipped at 0 and 100 %"
    elif folds == [1]:
        spread = "one fold"
    else:
        spread = "mean ± std over folds"
    ax.set_title(f"{title or 'per-class accuracy'}\n({spread})", fontsize=9)
    if len(labels) > 1:
        ax.legend(
            fontsize=7,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
            ncol=min(len(labels), 3),
            frameon=False,
        )
    fig.tight_layout()
    if path is not None:
        _save_atomic(fig, Path(path))
    return fig


def per_class_accuracy(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: list[str],
    path: str | os.PathLike[str] | None = None,
    title: str = "",
    folds: list[tuple[np.ndarray, np.ndarray]] | None = None,
):
    """Bar chart of the accuracy on each class. With ``folds`` (one (y_true, y_pred)
    pair per fold), bars are the mean over folds with ±1 std error bars."""
    k = len(class_names)
    if folds:
        acc = np.array([class_accuracies(t, p, k) for t, p in folds])
    else:
        acc = class_accuracies(y_true, y_pred, k)[None]
    return per_class_accuracy_grouped(
        {title or "accuracy": acc}, class_names, path, title=title or "per-class accuracy"
    )


def learning_curve(
    sizes: list[int],
    accuracies: list[list[float]],
    path: str | os.PathLike[str] | None = None,
    title: str = "",
    baselines: dict[str, float] | None = None,
    label: str = "this method",
):
    """Test accuracy against the number of training images: the mean over runs (folds)
    with a band of ±1 std (ddof = 1), and each of ``baselines`` (label → mean accuracy
    in [0, 1]) as a horizontal line."""
    plt = _pyplot()
    acc = 100 * np.asarray(accuracies, dtype=float)  # (sizes, runs)
    if acc.ndim == 1:
        acc = acc[:, None]
    runs = acc.shape[1]
    mean = acc.mean(axis=1)
    std = acc.std(axis=1, ddof=1) if runs > 1 else np.zeros_like(mean)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.plot(
        sizes, mean, marker="o", color="C0", label=f"{label}: mean over {_plural(runs, 'fold')}"
    )
    if runs > 1:
        ax.fill_between(
            sizes,
            mean - std,
            mean + std,
            alpha=0.25,
            color="C0",
            label=f"{label}: mean ± 1 std over {runs} folds",
        )
    styles = ["--", "-.", ":", (0, (5, 1))]
    for i, (name, value) in enumerate((baselines or {}).items()):
        ax.axhline(
            100 * value,
            color=f"C{(i + 1) % 10}",
            linestyle=styles[i % len(styles)],
            linewidth=1.2,
            label=f"{name}: {100 * value:.1f} %",
        )
    ax.set_xlabel("training images seen")
    ax.set_ylabel("test accuracy, %")
    ax.set_title(title or "learning curve", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncol=2,
        frameon=False,
        title=(
            "dashed lines: mean test accuracy of the other methods trained on the whole "
            "training set"
            if baselines
            else None
        ),
        title_fontsize=7,
    )
    fig.tight_layout()
    if path is not None:
        _save_atomic(fig, Path(path))
    return fig


def spike_rasters(
    rasters: dict[str, np.ndarray],
    path: str | os.PathLike[str] | None = None,
    title: str = "",
    max_neurons: int = 400,
    groups: dict[str, tuple[int, list[str]]] | None = None,
    step_label: str = "step (1 ms)",
):
    """One panel per layer: spikes (step × neuron). Each raster is (steps, ...) and is
    flattened over neurons (C order). Neurons keep their true flat indices on the
    y-axis; when a layer has more than ``max_neurons``, only its most active
    ``max_neurons`` are drawn and the panel title says so ("the k most active of n").

    ``groups`` maps a layer name to (group size, group names): the y-axis is then
    labelled by group (e.g. CoLaNET columns = classes) with lines between groups.
    """
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    groups = groups or {}
    fig, axes = plt.subplots(
        len(rasters), 1, figsize=(6.4, 1.3 + 1.45 * len(rasters)), squeeze=False
    )
    for ax, (name, r) in zip(axes[:, 0], rasters.items(), strict=True):
        r = np.asarray(r)
        r = r.reshape(r.shape[0], -1)
        n = r.shape[1]
        totals = r.sum(axis=0)
        if n > max_neurons:
            shown = np.sort(np.argsort(-totals, kind="stable")[:max_neurons])
            which = f"the {max_neurons} most active of {n:,} neurons, true indices"
        else:
            shown = np.arange(n)
            which = f"all {n:,} neurons"
        steps, cols = np.nonzero(r[:, shown])
        size = 30 if len(steps) < 50 else (6 if n <= 50 else 2)
        ax.scatter(steps, shown[cols], s=size, marker="|", color="black")
        ax.set_xlim(-0.5, r.shape[0] - 0.5)
        ax.set_ylim(-0.5, n - 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if name in groups:
            size, names = groups[name]
            n_groups = len(names)
            if size > 1:
                for g in range(1, n_groups):
                    ax.axhline(g * size - 0.5, color="0.85", linewidth=0.5, zorder=0)
            ax.set_yticks([g * size + (size - 1) / 2 for g in range(n_groups)], names, fontsize=6)
            unit = "class" if size == 1 else f"class column\n({size} neurons each)"
            ax.set_ylabel(unit, fontsize=7)
        else:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
            ax.set_ylabel("neuron index", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.set_title(f"{name}: {_plural(int(r.sum()), 'spike')} ({which})", fontsize=8)
    axes[-1, 0].set_xlabel(step_label)
    fig.suptitle(title or "spike rasters", fontsize=9)
    fig.tight_layout()
    if path is not None:
        _save_atomic(fig, Path(path))
    return fig
