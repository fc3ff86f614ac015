"""Single-neuron hand cases of the LIF conv layer (docs/algorithms.md §2)."""

from __future__ import annotations

import numpy as np
import pytest

import snnconv


def neuron(weight: float, **kw):
    """One conv neuron with one synapse, driven by one always-on pixel."""
    params = dict(stride=1, pool=1, scale=1.0, saturation_quantile=None, tau=None)
    params.update(kw)
    img = np.ones((1, 1, 1))
    snn = snnconv.ConvSNN(np.full((1, 1, 1), weight), **params).fit(img)
    return snn.simulate(img[0])


@pytest.mark.parametrize(
    ("weight", "threshold"),
    [(0.375, 1.0), (0.25, 1.0), (0.5, 1.0), (1.25, 1.0), (0.0625, 1.0), (0.75, 0.5), (3.0, 2.0)],
)
def test_non_leaky_neuron_fires_floor_of_total_input(weight, threshold):
    out = neuron(weight, threshold=threshold)
    total = 10 * weight  # ten input spikes
    assert out["conv"].sum() == int(np.floor(total / threshold))
    # At most one spike per step; the surplus drains in the silent steps.
    assert out["conv"].sum(axis=(1, 2, 3)).max() <= 1


def test_subtractive_reset_differs_from_reset_to_zero():
    # w = 0.75, threshold 1: subtraction keeps the 0.5 surplus (spikes at steps
    # 1,2,3,5,6,7,9 -> 7); reset to zero throws it away (steps 1,3,5,7,9 -> 5).
    sub = neuron(0.75)
    zero = neuron(0.75, reset="zero")
    assert np.flatnonzero(sub["conv"][:, 0, 0, 0]).tolist() == [1, 2, 3, 5, 6, 7, 9]
    assert np.flatnonzero(zero["conv"][:, 0, 0, 0]).tolist() == [1, 3, 5, 7, 9]
    assert sub["conv_potential"][9, 0, 0, 0] == 0.5
    assert zero["conv_potential"][9, 0, 0, 0] == 0.0


def test_leak_follows_the_recurrence():
    # u <- u (1 - 1/tau) + w: with tau = 2, w = 0.375 the potential tends to 0.75
    # and never reaches the threshold; with tau = 8 (d = 7/8) it fires.
    out = neuron(0.375, tau=2.0)
    assert out["conv"].sum() == 0
    u = 0.0
    for t in range(10):
        u = u * 0.5 + 0.375
        assert out["conv_potential"][t, 0, 0, 0] == np.float32(u)
    assert out["conv_potential"][14, 0, 0, 0] == np.float32(u * 0.5**5)
    assert neuron(0.375, tau=8.0)["conv"].sum() > 0


def test_inhibitory_weights_lower_the_potential():
    kernels = np.array([[[1.0, -0.5], [0.0, 0.0]]])
    img = np.ones((1, 2, 2))
    snn = snnconv.ConvSNN(
        kernels, stride=1, pool=1, scale=1.0, saturation_quantile=None, tau=None
    ).fit(img)
    out = snn.simulate(img[0])
    # Net input 0.5 per step for 10 steps: 5 spikes.
    assert out["conv"].sum() == 5


def test_pooled_count_plus_backlog_is_the_block_sum():
    rng = np.random.default_rng(0)
    kernels = rng.uniform(-0.2, 1.0, (3, 3, 3))
    images = rng.random((4, 12, 12))
    snn = snnconv.ConvSNN(
        kernels, stride=1, pool=3, target_rate=6.0, saturation_quantile=None, on_backlog="ignore"
    ).fit(images)
    for img in images:
        out = snn.simulate(img)
        conv = out["conv"].sum(0)[:, :9, :9].reshape(3, 3, 3, 3, 3).sum(axis=(2, 4))
        np.testing.assert_array_equal(out["pooled"].astype(int) + out["backlog"], conv)
    assert snn.run(images).backlog.any()  # the case is busy enough to leave a backlog
