"""Binning events into spike-count rasters: exact counts on a small case, agreement
with a per-event loop, and the count images."""

from __future__ import annotations

import numpy as np
import pytest

from snnconv.events import count_frames, count_scale, make_events, to_frames, to_images
from snnconv.exceptions import DataError, ParameterError


def _small():
    # (x, y, t, p) on a 3 wide, 2 high sensor
    return make_events(
        [0, 0, 2, 1, 0, 2], [0, 0, 1, 0, 0, 1], [0, 9, 10, 25, 30, 29], [1, 1, 0, 1, 0, 0]
    )


def test_to_frames_exact_counts():
    f = to_frames(_small(), (3, 2, 2), n_steps=3, bin_width_us=10)
    assert f.shape == (3, 2, 2, 3)
    want = np.zeros((3, 2, 2, 3), np.uint16)
    want[0, 1, 0, 0] = 2  # t = 0, 9: ON at (0, 0)
    want[1, 0, 1, 2] = 1  # t = 10: OFF at (2, 1)
    want[2, 1, 0, 1] = 1  # t = 25: ON at (1, 0)
    want[2, 0, 1, 2] = 1  # t = 29: OFF at (2, 1); t = 30 is past the last step
    np.testing.assert_array_equal(f, want)


def test_start_offset_and_float_width():
    f = to_frames(_small(), (3, 2, 2), n_steps=2, bin_width_us=12.5, start_us=5)
    # steps [5, 17.5) and [17.5, 30): t = 9, 10 | 25, 29
    assert f[0].sum() == 2 and f[1].sum() == 2


def test_many_samples_equal_one_at_a_time_and_a_loop():
    rng = np.random.default_rng(1)
    streams = []
    for n in (0, 50, 300):
        streams.append(
            make_events(
                rng.integers(0, 5, n),
                rng.integers(0, 4, n),
                rng.integers(0, 1000, n),
                rng.integers(0, 2, n),
            )
        )
    f = to_frames(streams, (5, 4, 2), n_steps=7, bin_width_us=100)
    assert f.shape == (3, 7, 2, 4, 5)
    for i, ev in enumerate(streams):
        np.testing.assert_array_equal(f[i], to_frames(ev, (5, 4, 2), 7, 100))
        loop = np.zeros((7, 2, 4, 5), int)
        for e in ev:
            k = e["t"] // 100
            if k < 7:
                loop[k, e["p"], e["y"], e["x"]] += 1
        np.testing.assert_array_equal(f[i], loop)
    np.testing.assert_array_equal(
        count_frames(streams, (5, 4, 2)),
        np.stack([to_frames(e, (5, 4, 2), 1, 1000)[0] for e in streams]),
    )


def test_one_polarity_sums_both_and_bool_or_signed_polarity_is_accepted():
    ev = _small()
    one = count_frames(ev, (3, 2, 1))
    assert one.shape == (1, 2, 3) and one.sum() == 6
    signed = np.zeros(len(ev), [("x", int), ("y", int), ("t", int), ("p", int)])
    for f in "xyt":
        signed[f] = ev[f]
    signed["p"] = np.where(ev["p"] > 0, 1, -1)
    np.testing.assert_array_equal(count_frames(signed, (3, 2, 2)), count_frames(ev, (3, 2, 2)))


def test_counts_saturate_instead_of_wrapping():
    ev = make_events(np.zeros(300, int), np.zeros(300, int), np.arange(300), np.ones(300, int))
    assert count_frames(ev, (1, 1, 2), dtype=np.uint8)[1, 0, 0] == 255


def test_defects():
    with pytest.raises(DataError, match=r"events\[0\]: event 2 has x = 2, outside"):
        count_frames([_small()], (2, 2, 2))
    with pytest.raises(ParameterError, match="n_steps"):
        to_frames(_small(), (3, 2, 2), 0, 10)
    with pytest.raises(ParameterError, match="bin_width_us"):
        to_frames(_small(), (3, 2, 2), 1, 0)
    with pytest.raises(ParameterError, match="sensor_size"):
        count_frames(_small(), (3, 2, 3))
    with pytest.raises(DataError, match="missing field"):
        count_frames(np.zeros(2, [("x", int), ("y", int)]), (3, 2, 2))


def test_images_scale_counts_and_sum_polarities():
    frames = np.zeros((2, 2, 1, 2), np.uint16)
    frames[0, 0, 0, 0], frames[0, 1, 0, 0], frames[1, 1, 0, 1] = 1, 1, 4
    assert count_scale(frames) == pytest.approx(np.percentile([2, 4], 99.5))
    img = to_images(frames, scale=4)
    assert img.dtype == np.uint8
    assert img[:, 0].tolist() == [[128, 0], [0, 255]]
