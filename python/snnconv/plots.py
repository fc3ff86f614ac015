"""Figures (extra ``plot``): kernel grids and, later, rasters and confusion matrices."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np

from ._util.extras import require


def kernel_grid(
    kernels: np.ndarray, path: str | os.PathLike[str] | None = None, title: str | None = None
):
    """Draws kernels (n, K, K) side by side on one symmetric colour scale.

    Positive (excitatory) cells are red, negative (inhibitory) blue. Saves to ``path``
    (atomically: temp file then rename) when given; returns the Figure.
    """
    mpl = require("matplotlib", "plotting")
    if "matplotlib.pyplot" not in sys.modules:
        mpl.use("Agg")
    plt = require("matplotlib.pyplot", "plotting")
    kernels = np.asarray(kernels, dtype=float)
    if kernels.ndim != 3:
        raise ValueError(f"kernels: expected shape (n, K, K), got {kernels.shape}")
    n = max(1, kernels.shape[0])
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.3 * rows + 0.4), squeeze=False)
    lim = float(np.abs(kernels).max()) if kernels.size else 1.0
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < kernels.shape[0]:
            ax.imshow(kernels[i], cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
            ax.set_title(str(i), fontsize=7)
    fig.suptitle(title or f"{kernels.shape[0]} kernels", fontsize=9)
    fig.tight_layout()
    if path is not None:
        _save_atomic(fig, Path(path))
    return fig


def _save_atomic(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        fig.savefig(tmp, dpi=120)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _pyplot():
    mpl = require("matplotlib", "plotting")
    if "matplotlib.pyplot" not in sys.modules:
        mpl.use("Agg")
    return require("matplotlib.pyplot", "plotting")


def confusion_matrix(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: list[str],
    path: str | os.PathLike[str] | None = None,
    title: str = "",
):
    """Row-normalised confusion matrix (true class in rows)."""
    plt = _pyplot()
    k = len(class_names)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.45 * k, 0.8 + 0.45 * k))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
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
    ax.set_xticks(range(k), class_names, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(k), class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or "confusion matrix", fontsize=9)
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
):
    """Bar chart of the accuracy on each class."""
    plt = _pyplot()
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    acc = [
        float(np.mean(y_pred[y_true == c] == c)) if np.any(y_true == c) else 0.0
        for c in range(len(class_names))
    ]
    fig, ax = plt.subplots(figsize=(1.5 + 0.5 * len(class_names), 3))
    ax.bar(range(len(acc)), [100 * a for a in acc], color="tab:blue")
    ax.set_xticks(range(len(acc)), class_names, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("accuracy, %")
    ax.set_ylim(0, 100)
    ax.set_title(title or "per-class accuracy", fontsize=9)
    fig.tight_layout()
    if path is not None:
        _save_atomic(fig, Path(path))
    return fig


def learning_curve(
    sizes: list[int],
    accuracies: list[list[float]],
    path: str | os.PathLike[str] | None = None,
    title: str = "",
):
    """Accuracy (mean ± std over runs) against the number of training images."""
    plt = _pyplot()
    acc = 100 * np.asarray(accuracies, dtype=float)  # (sizes, runs)
    mean, std = acc.mean(axis=1), acc.std(axis=1)
    fig, ax = plt.subplots(figsize=(4.5, 3))
    ax.plot(sizes, mean, marker="o")
    ax.fill_between(sizes, mean - std, mean + std, alpha=0.25)
    ax.set_xlabel("training images")
    ax.set_ylabel("test accuracy, %")
    ax.set_title(title or "learning curve", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    if path is not None:
        _save_atomic(fig, Path(path))
    return fig


def spike_rasters(
    rasters: dict[str, np.ndarray],
    path: str | os.PathLike[str] | None = None,
    title: str = "",
    max_neurons: int = 400,
):
    """One panel per layer: spikes (step × neuron). Each raster is (steps, ...) and is
    flattened over neurons; at most ``max_neurons`` (the most active) are drawn."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(rasters), 1, figsize=(6, 1.6 * len(rasters)), squeeze=False)
    for ax, (name, r) in zip(axes[:, 0], rasters.items(), strict=True):
        r = np.asarray(r).reshape(np.asarray(r).shape[0], -1)
        active = np.argsort(-r.sum(axis=0), kind="stable")[:max_neurons]
        steps, neurons = np.nonzero(r[:, np.sort(active)])
        ax.scatter(steps, neurons, s=2, marker="|", color="black")
        ax.set_ylabel(f"{name}\nneuron", fontsize=7)
        ax.set_xlim(-0.5, r.shape[0] - 0.5)
        ax.set_title(f"{name}: {int(r.sum())} spikes", fontsize=8)
    axes[-1, 0].set_xlabel("step (1 ms)")
    fig.suptitle(title or "spike rasters", fontsize=9)
    fig.tight_layout()
    if path is not None:
        _save_atomic(fig, Path(path))
    return fig
