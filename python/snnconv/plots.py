"""Figures (extra ``plot``): kernel grids and, later, rasters and confusion matrices."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np

from ._extras import require


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


def spike_raster(
    simulation: dict, path: str | os.PathLike[str] | None = None, title: str | None = None
):
    """Draws the spikes of one frame from :meth:`snnconv.ConvSNN.simulate`.

    Three rasters over the frame's steps (input pixels, conv neurons, pooling
    neurons; one dot per spike, neurons numbered in array order) and the pooled
    counts of each kernel. The grey band marks the silent steps. Returns the Figure.
    """
    mpl = require("matplotlib", "plotting")
    if "matplotlib.pyplot" not in sys.modules:
        mpl.use("Agg")
    plt = require("matplotlib.pyplot", "plotting")
    try:
        layers = [(name, np.asarray(simulation[name], bool)) for name in ("input", "conv", "pool")]
        pooled = np.asarray(simulation["pooled"])
    except KeyError as exc:
        raise ValueError(
            f"simulation: expected the dict of ConvSNN.simulate, missing {exc}"
        ) from exc
    steps = layers[0][1].shape[0]
    active = int(simulation.get("active_steps", steps))
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.2))
    for ax, (name, raster) in zip(axes, layers, strict=False):
        t, i = np.nonzero(raster.reshape(steps, -1))
        ax.scatter(t, i, s=2, marker="|", color="k")
        ax.axvspan(active - 0.5, steps - 0.5, color="0.9", zorder=0)
        ax.set_xlim(-0.5, steps - 0.5)
        ax.set_xlabel("step")
        ax.set_ylabel("neuron")
        ax.set_title(f"{name}: {len(t)} spikes", fontsize=9)
    axes[3].bar(np.arange(pooled.shape[0]), pooled.reshape(pooled.shape[0], -1).sum(axis=1))
    axes[3].set_xlabel("kernel")
    axes[3].set_title("pooled spikes per kernel", fontsize=9)
    fig.suptitle(title or "spiking front-end, one frame", fontsize=10)
    fig.tight_layout()
    if path is not None:
        _save_atomic(fig, Path(path))
    return fig
