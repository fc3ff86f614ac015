"""The Rust front-end against a plain numpy step-by-step implementation of docs/algorithms.md §2."""

from __future__ import annotations

import math

import numpy as np
import pytest

import snnconv
from snnconv.datasets import load_mnist5k

from snn_reference import accumulator_input, simulate


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    images, _ = load_mnist5k()
    return images[::500][:6]  # one image of each of six classes (the file is sorted)


def random_kernels(n: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.3, 1.0, size=(n, k, k))


CONFIGS = [
    dict(),  # defaults: stride 2, pool 2, tau 10
    dict(tau=None),
    dict(tau=math.inf, reset="zero"),
    dict(stride=1, pool=3, tau=3.0, threshold=2.5),
    dict(stride=3, pool=1, frame_steps=20, active_steps=7, max_rate=0.7),
]


@pytest.mark.parametrize(
    "config", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items())
)
def test_spike_for_spike_agreement(digits, config):
    k = 7 if config.get("stride") == 1 else 9
    kernels = random_kernels(5, k, seed=len(config))
    snn = snnconv.ConvSNN(kernels, target_rate=2.0, scale_per_kernel=True, **config)
    snn.fit(digits)
    steps, active = snn.frame_steps, snn.active_steps
    carry = None
    total_conv = 0
    for i, img in enumerate(digits):
        out = snn.simulate(img, image_index=i, carry=carry)
        g = out["image"]
        inputs, ref_carry = accumulator_input(g, steps, active, snn.max_rate, carry)
        np.testing.assert_array_equal(out["input"], inputs)
        np.testing.assert_array_equal(out["carry"], ref_carry)
        ref = simulate(
            inputs,
            snn.kernels_,
            snn.scale_,
            snn.stride,
            snn.pool,
            snn.tau,
            snn.threshold,
            snn.reset,
        )
        for key in ("conv", "pool", "pooled", "backlog", "conv_potential"):
            np.testing.assert_array_equal(out[key], ref[key], err_msg=f"{key}, image {i}")
        total_conv += int(out["conv"].sum())
        carry = out["carry"]
    assert total_conv > 0  # the comparison covered real spiking
    # The batch path gives the same pooled counts as the frame-by-frame chain.
    batch = snn.run(digits)
    carry = None
    for i, img in enumerate(digits):
        out = snn.simulate(img, image_index=i, carry=carry)
        np.testing.assert_array_equal(batch.pooled[i], out["pooled"])
        np.testing.assert_array_equal(batch.backlog[i], out["backlog"])
        assert batch.synaptic_events[i] == out["synaptic_events"]
        carry = out["carry"]


def test_poisson_network_matches_reference_given_its_input(digits):
    kernels = random_kernels(4, 9, seed=11)
    snn = snnconv.ConvSNN(kernels, encoding="poisson", random_state=5).fit(digits)
    for i, img in enumerate(digits[:3]):
        out = snn.simulate(img, image_index=i)
        ref = simulate(out["input"], snn.kernels_, snn.scale_, tau=snn.tau)
        np.testing.assert_array_equal(out["conv"], ref["conv"])
        np.testing.assert_array_equal(out["pooled"], ref["pooled"])


def test_synaptic_events_are_counted_exactly(digits):
    kernels = random_kernels(3, 9, seed=2)
    snn = snnconv.ConvSNN(kernels).fit(digits)
    out = snn.simulate(digits[0])
    # Each input spike reaches n_kernels × (number of windows holding its pixel).
    cover = np.zeros((28, 28), int)
    for p in range(10):
        for q in range(10):
            cover[2 * p : 2 * p + 9, 2 * q : 2 * q + 9] += 1
    fan_in = int((out["input"].sum(0) * cover).sum()) * 3
    pooled_conv = int(out["conv"][:, :, :10, :10].sum())  # the whole 10x10 map is pooled
    assert out["synaptic_events"] == fan_in + pooled_conv


@pytest.mark.parametrize("config", [dict(), dict(stride=1, pool=3, tau=None)])
def test_several_channels_spike_for_spike(digits, config):
    """Two channels (the digit and its inverse): one input node per channel and
    pixel, synapses from the C×K×K field, delivered channel by channel."""
    k = 7 if config.get("stride") == 1 else 9
    kernels = np.stack([random_kernels(4, k, seed=3), random_kernels(4, k, seed=4)], axis=1)
    images = np.stack([digits, 255 - digits], axis=1)
    snn = snnconv.ConvSNN(kernels, target_rate=1.5, **config).fit(images)
    assert snn.kernels_.shape == (4, 2, k, k)
    carry = None
    total = 0
    for i, img in enumerate(images):
        out = snn.simulate(img, image_index=i, carry=carry)
        g = out["image"]
        assert g.shape == img.shape
        inputs, ref_carry = accumulator_input(g, snn.frame_steps, snn.active_steps, 1.0, carry)
        np.testing.assert_array_equal(out["input"], inputs)
        np.testing.assert_array_equal(out["carry"], ref_carry)
        ref = simulate(inputs, snn.kernels_, snn.scale_, snn.stride, snn.pool, snn.tau)
        for key in ("conv", "pool", "pooled", "backlog", "conv_potential"):
            np.testing.assert_array_equal(out[key], ref[key], err_msg=f"{key}, image {i}")
        total += int(out["conv"].sum())
        carry = out["carry"]
    assert total > 0
    batch = snn.run(images)
    np.testing.assert_array_equal(batch.pooled[-1], out["pooled"])
    np.testing.assert_array_equal(batch.carry, carry)


def test_single_channel_axis_is_the_plain_network(digits):
    """(N, 1, H, W) images and (n, 1, K, K) kernels are the one-channel network."""
    kernels = random_kernels(3, 9, seed=8)
    a = snnconv.ConvSNN(kernels, on_backlog="ignore").fit(digits)
    b = snnconv.ConvSNN(kernels[:, None], on_backlog="ignore").fit(digits[:, None])
    assert b.kernels_.shape == (3, 9, 9)
    np.testing.assert_array_equal(a.scale_, b.scale_)
    np.testing.assert_array_equal(a.transform(digits), b.transform(digits[:, None]))


def test_given_input_rasters_match_reference(digits):
    """Spike counts handed to the core per step and input node (the seam for input
    that already is spikes) run through the same network; a count n above one adds
    n·w at once."""
    kernels = np.stack([random_kernels(3, 9, seed=5), random_kernels(3, 9, seed=6)], axis=1)
    snn = snnconv.ConvSNN(kernels, scale=0.4).fit(np.zeros((1, 2, 28, 28)))
    core = snn._core_for(28, 28)
    rng = np.random.default_rng(2)
    rasters = (rng.random((3, 12, 2, 28, 28)) < 0.05 * (digits[:3, None, None] > 80)).astype(
        np.uint16
    ) * rng.integers(1, 4, (3, 12, 2, 28, 28)).astype(np.uint16)
    pooled, backlog, _, stats = core.run_rasters(rasters, 1)
    for i in range(3):
        inputs = np.zeros((snn.frame_steps, 2, 28, 28), np.uint16)
        inputs[:12] = rasters[i]
        ref = simulate(inputs, snn.kernels_, snn.scale_, snn.stride, snn.pool, snn.tau)
        np.testing.assert_array_equal(pooled[i], ref["pooled"])
        np.testing.assert_array_equal(backlog[i], ref["backlog"])
        assert stats[i, 0] == rasters[i].sum()
    assert pooled.sum() > 0
    with pytest.raises(ValueError, match="rasters"):
        core.run_rasters(np.zeros((1, 16, 2, 28, 28), np.uint16))
    scales, _, rate, _, unreachable = core.calibrate_rasters(rasters, 0.5, False, 1)
    assert unreachable == []
    assert abs(rate - 0.5) < 0.1 and scales.shape == (3,)
