"""Raster figure of one simulated frame."""

from __future__ import annotations

import numpy as np
import pytest
import snnconv

pytest.importorskip("matplotlib")


def test_spike_raster(tmp_path):
    from snnconv import plots

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 16, 16)).astype(np.uint8)
    kernels = rng.uniform(-0.3, 1.0, (4, 5, 5))
    snn = snnconv.ConvSNN(kernels, on_backlog="ignore").fit(images)
    sim = snn.simulate(images[0])
    fig = plots.spike_raster(sim, tmp_path / "raster.png")
    assert (tmp_path / "raster.png").stat().st_size > 0
    counts = [len(ax.collections[0].get_offsets()) for ax in fig.axes[:3]]
    assert counts == [sim["input"].sum(), sim["conv"].sum(), sim["pool"].sum()]
    assert counts[1] > 0
    heights = [p.get_height() for p in fig.axes[3].patches]
    np.testing.assert_array_equal(heights, sim["pooled"].sum(axis=(1, 2)))
    with pytest.raises(ValueError, match="simulate"):
        plots.spike_raster({"input": sim["input"]})
