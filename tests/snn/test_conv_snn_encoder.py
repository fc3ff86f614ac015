"""Input encoders of the spiking front-end (docs/algorithms.md §2)."""

from __future__ import annotations

import numpy as np
import pytest

import snnconv

from snn_reference import accumulator_input


def one_pixel_snn(**kw):
    """A front-end whose single 1×1 kernel makes the input raster easy to read."""
    params = dict(stride=1, pool=1, scale=1.0, saturation_quantile=None, tau=None)
    params.update(kw)
    return snnconv.ConvSNN(np.ones((1, 1, 1)), **params)


def ramp() -> np.ndarray:
    return np.arange(256, dtype=np.uint8).reshape(16, 16)


def test_accumulator_counts_every_uint8_value():
    img = ramp()
    snn = one_pixel_snn().fit(img[None])
    counts = snn.simulate(img)["input"].sum(axis=0)
    v = img.astype(int)
    np.testing.assert_array_equal(counts, (10 * v) // 255)  # zero carry: floor(T_p g)
    assert counts[15, 15] == 10 and counts[0, 0] == 0  # 255 -> 10, 0 -> 0
    # Only the first T_p = 10 of the 15 steps carry input.
    assert not snn.simulate(img)["input"][10:].any()


def test_accumulator_carry_between_frames():
    img = ramp()
    snn = one_pixel_snn().fit(img[None])
    v = img.astype(int)
    first = snn.simulate(img)
    second = snn.simulate(img, carry=first["carry"])
    c1, c2 = first["input"].sum(0), second["input"].sum(0)
    floor = (10 * v) // 255
    assert np.isin(c2 - floor, [0, 1]).all()  # floor(T_p g) or floor(T_p g) + 1
    np.testing.assert_array_equal(c1 + c2, (20 * v) // 255)  # the carry makes it exact
    # Frames of run() chain the carry the same way; reset_carry=True does not.
    stack = np.stack([img, img, img])
    chained = snn.run(stack).input_spikes
    assert chained[0] == c1.sum() and chained[1] == c2.sum()
    fresh = one_pixel_snn(reset_carry=True).fit(img[None]).run(stack).input_spikes
    assert (fresh == c1.sum()).all()
    assert chained[1] > fresh[1]


def test_accumulator_matches_reference_on_float_brightness():
    rng = np.random.default_rng(1)
    g = rng.random((9, 7))
    g[0, :5] = [0.1, 0.3, 0.7, 0.9, 1.0]
    snn = one_pixel_snn(max_rate=0.8, active_steps=12, frame_steps=13).fit(g[None])
    carry = None
    ref_carry = None
    for _ in range(3):
        out = snn.simulate(g, carry=carry)
        ref, ref_carry = accumulator_input(g, 13, 12, 0.8, ref_carry)
        np.testing.assert_array_equal(out["input"], ref)
        np.testing.assert_array_equal(out["carry"], ref_carry)
        carry = out["carry"]


def test_decimal_brightness_keeps_the_last_spike():
    # Float accumulation of 0.3 ten times gives 2.999...; the encoder must give 3.
    g = np.array([[0.1, 0.3, 0.7, 0.9, 0.5]])
    snn = one_pixel_snn().fit(g[None])
    np.testing.assert_array_equal(snn.simulate(g)["input"].sum(0), [[1, 3, 7, 9, 5]])


def test_poisson_rate_seed_and_index():
    g = np.full((20, 20), 0.5)
    snn = one_pixel_snn(encoding="poisson", max_rate=0.6, random_state=3).fit(g[None])
    stack = np.stack([g] * 4)
    out = snn.run(stack)
    # Binomial(400 px * 10 steps, 0.3): mean 1200, sd 29.
    assert all(1050 < n < 1350 for n in out.input_spikes)
    assert len(set(out.input_spikes.tolist())) > 1  # independent streams per image
    # simulate(x[i], i) reproduces image i of run(x).
    for i in (0, 3):
        assert snn.simulate(g, image_index=i)["input"].sum() == out.input_spikes[i]
    other = one_pixel_snn(encoding="poisson", max_rate=0.6, random_state=4).fit(g[None])
    assert not np.array_equal(other.run(stack).input_spikes, out.input_spikes)
    np.testing.assert_array_equal(snn.run(stack).input_spikes, out.input_spikes)
    assert out.carry is None


def test_bad_carry_is_rejected():
    img = ramp()
    snn = one_pixel_snn().fit(img[None])
    with pytest.raises(ValueError, match="carry"):
        snn.simulate(img, carry=np.zeros((3, 3), np.uint64))
    with pytest.raises(ValueError, match="carry"):
        snn.simulate(img, carry=np.full((16, 16), 255 << 23, np.uint64))
