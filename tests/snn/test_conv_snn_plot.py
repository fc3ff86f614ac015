"""Raster figure of one simulated frame."""

from __future__ import annotations

import numpy as np
import pytest

import snnconv

pytest.importorskip("matplotlib")


def test_simulated_frame_plots_as_rasters(tmp_path):
    from snnconv import plots

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 16, 16)).astype(np.uint8)
    kernels = rng.uniform(-0.3, 1.0, (4, 5, 5))
    snn = snnconv.ConvSNN(kernels, on_backlog="ignore").fit(images)
    sim = snn.simulate(images[0])
    layers = {k: sim[k] for k in ("input", "conv", "pool")}
    fig = plots.spike_rasters(layers, tmp_path / "raster.png")
    assert (tmp_path / "raster.png").stat().st_size > 0
    counts = [len(ax.collections[0].get_offsets()) for ax in fig.axes]
    assert counts == [sim["input"].sum(), sim["conv"].sum(), sim["pool"].sum()]
    assert counts[1] > 0
