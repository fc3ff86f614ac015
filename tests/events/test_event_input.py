"""Events as the front-end's input spikes: polarity → channel binning into raster
entries (exact on a hand-made case), the raster shapes, agreement of the event path
with the dense rasters, the numpy oracle and the image path, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from snnconv import ConvSNN, KernelLearner
from snnconv.events import make_events, raster_index, to_frames
from snnconv.events.input import channel_scale, default_bin_width, event_frames
from snnconv.exceptions import DataError, ParameterError

from snn_reference import simulate

SENSOR = (3, 2, 2)  # 3 wide, 2 high, 2 polarities


def _small():
    # (x, y, t, p): ON at (0, 0) twice in step 0, OFF at (2, 1) in steps 1 and 2,
    # ON at (1, 0) in step 2, one event (t = 30) past the last of 3 steps of 10 µs
    return make_events(
        [0, 0, 2, 1, 0, 2], [0, 0, 1, 0, 0, 1], [0, 9, 10, 25, 30, 29], [1, 1, 0, 1, 0, 0]
    )


def test_polarities_become_channels_in_the_raster_entries():
    index, offsets = raster_index(_small(), SENSOR, n_steps=3, bin_width_us=10)
    # entry = (step·P + channel)·H·W + y·W + x with H·W = 6, P = 2 (0 OFF, 1 ON)
    np.testing.assert_array_equal(index, [6, 6, 17, 31, 17 + 12])
    np.testing.assert_array_equal(offsets, [0, 5])
    assert index.dtype == np.uint32 and offsets.dtype == np.uint64
    dense = np.bincount(index, minlength=3 * 12).reshape(3, 2, 2, 3)
    np.testing.assert_array_equal(dense, to_frames(_small(), SENSOR, 3, 10))
    # one polarity channel: both polarities in channel 0
    one, _ = raster_index(_small(), (3, 2, 1), 3, 10)
    np.testing.assert_array_equal(one, [0, 0, 11, 13, 17])


def test_several_streams_offsets_and_dropped_events():
    late = make_events([1], [1], [500], [0])  # beyond the 3 steps: dropped
    empty = make_events([], [], [], [])
    index, offsets = raster_index([_small(), late, empty, _small()], SENSOR, 3, 10)
    np.testing.assert_array_equal(offsets, [0, 5, 5, 5, 10])
    np.testing.assert_array_equal(index[5:], index[:5])
    # events before start_us are dropped too, and the bins move with it: t = 10, 25,
    # 30, 29 fall in steps 0, 1, 2, 1
    shifted, off = raster_index(_small(), SENSOR, 3, 10, start_us=10)
    np.testing.assert_array_equal(shifted, [0 + 5, 12 + 6 + 1, 24 + 0, 12 + 5])
    np.testing.assert_array_equal(off, [0, 4])


def test_core_binning_equals_the_numpy_path():
    """Streams of the package's dtype are binned by the core in one pass; streams of
    another dtype take the numpy path. Both give the same entries, at bin edges, for
    negative starts, one or two channels and events before, inside and after the
    steps."""
    from snnconv.events.binning import _fused_entries

    rng = np.random.default_rng(5)
    streams = []
    for n in (0, 1, 7, 300, 2000):
        t = np.sort(rng.integers(-50, 400, n))
        t[: n // 4] = (t[: n // 4] // 30) * 30  # many events exactly on an edge
        streams.append(
            make_events(rng.integers(0, 5, n), rng.integers(0, 4, n), t, rng.integers(0, 3, n))
        )
    wide = np.dtype([("x", "i8"), ("y", "i8"), ("t", "i8"), ("p", "i8")])
    for sensor in ((5, 4, 2), (5, 4, 1)):
        for bin_us, start in ((30, 0), (30, -40), (7, 13), (1, 0)):
            fused = _fused_entries(streams, sensor[::-1], 9, bin_us, start)
            assert fused is not None
            index, offsets = raster_index(streams, sensor, 9, bin_us, start)
            ref_index, ref_offsets = raster_index(
                [s.astype(wide) for s in streams], sensor, 9, bin_us, start
            )
            assert index.dtype == ref_index.dtype and offsets.dtype == ref_offsets.dtype
            np.testing.assert_array_equal(index, ref_index)
            np.testing.assert_array_equal(offsets, ref_offsets)
            np.testing.assert_array_equal(fused[0], ref_index)
    # a fractional bin width stays on the numpy path
    assert _fused_entries(streams, (2, 4, 5), 9, 7.5, 0) is None
    # an event outside the sensor: the same error on both paths
    bad = make_events([1, 5], [0, 0], [0, 1], [1, 1])
    for s in (bad, bad.astype(wide)):
        with pytest.raises(DataError, match=r"events\[1\]: event 1 has x = 5"):
            raster_index([bad[:1], s], (5, 4, 2), 9, 30)


def test_raster_shapes_and_event_frames():
    streams = [_small(), _small()]
    assert to_frames(streams, SENSOR, 4, 10).shape == (2, 4, 2, 2, 3)
    frames, scale = event_frames(streams, SENSOR, None)
    assert frames.shape == (2, 2, 2, 3) and frames.dtype == np.uint8
    # per-channel counts: 2 at ON (0, 0), 2 at OFF (2, 1), 1 elsewhere: the 99.5th
    # percentile of the non-zero counts {1, 1, 2, 2} is 2
    assert scale == channel_scale(np.array([[[[2, 0, 0], [0, 0, 2]], [[0, 1, 0], [0, 0, 1]]]]))
    assert scale == pytest.approx(2.0)
    assert frames[0, 1, 0, 0] == 255 and frames[0, 0, 1, 2] == 255 and frames[0, 1, 0, 1] == 128
    assert default_bin_width(streams, 3) == 11.0  # ceil((30 + 1) / 3)


def _kernels(c, k=3, n=4, seed=0):
    return np.random.default_rng(seed).normal(0.2, 0.5, (n, c, k, k))


def _streams(n, seed=0, size=(9, 8), t_max=1000):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        m = 30 + 20 * i
        t = np.sort(rng.integers(0, t_max, m))
        out.append(
            make_events(
                rng.integers(0, size[0], m), rng.integers(0, size[1], m), t, rng.integers(0, 2, m)
            )
        )
    return out


def test_run_events_equals_rasters_and_the_oracle():
    sensor = (9, 8, 2)
    streams = _streams(4)
    snn = ConvSNN(_kernels(2), stride=1, pool=2, target_rate=1.5, on_backlog="ignore")
    snn.calibrate_events(streams, sensor, bin_width_us=100)
    rasters = to_frames(streams, sensor, snn.active_steps, 100)
    same = ConvSNN(_kernels(2), stride=1, pool=2, target_rate=1.5).calibrate_rasters(rasters)
    np.testing.assert_array_equal(snn.scale_, same.scale_)
    assert abs(snn.calibration_rate_ - 1.5) < 0.3
    ev = snn.run_events(streams, sensor, 100)
    rs = snn.run_rasters(rasters)
    for field in ("pooled", "backlog", "conv_counts", "input_spikes", "synaptic_events"):
        np.testing.assert_array_equal(getattr(ev, field), getattr(rs, field))
    assert ev.carry is None and ev.pooled.sum() > 0
    assert rasters.max() >= 2  # several spikes of a node in one step are exercised
    for i in range(len(streams)):
        inputs = np.zeros((snn.frame_steps, 2, 8, 9), np.uint16)
        inputs[: snn.active_steps] = rasters[i]
        ref = simulate(inputs, snn.kernels_, snn.scale_, 1, 2, snn.tau)
        np.testing.assert_array_equal(ev.pooled[i], ref["pooled"])
        np.testing.assert_array_equal(ev.backlog[i], ref["backlog"])
        assert ev.input_spikes[i] == rasters[i].sum()


def test_events_of_the_encoders_spikes_run_as_the_image():
    """Where the two paths must agree: an image's encoded input spikes, handed back
    as events (one per spike, in its step's bin), give the image's frame."""
    rng = np.random.default_rng(3)
    images = (rng.random((3, 2, 8, 9)) * 255).astype(np.uint8)
    snn = ConvSNN(
        _kernels(2),
        stride=1,
        pool=2,
        scale=0.3,
        saturation_quantile=None,
        reset_carry=True,
        on_backlog="ignore",
    ).fit(images)
    want = snn.run(images)
    streams = []
    for img in images:
        spikes = snn.simulate(img)["input"][: snn.active_steps]  # (T, C, H, W) bool
        t, c, y, x = np.nonzero(spikes)
        streams.append(make_events(x, y, 100 * t + 7, c))
    got = snn.run_events(streams, (9, 8, 2), bin_width_us=100)
    np.testing.assert_array_equal(got.pooled, want.pooled)
    np.testing.assert_array_equal(got.conv_counts, want.conv_counts)
    np.testing.assert_array_equal(got.input_spikes, want.input_spikes)
    assert want.pooled.sum() > 0


def test_bad_event_input_is_refused_by_name():
    sensor = (9, 8, 2)
    streams = _streams(2)
    with pytest.raises(ParameterError, match="kernels: calibration on given input spikes"):
        ConvSNN().calibrate_events(streams, sensor, 100)
    with pytest.raises(ParameterError, match="kernels: calibration on given input spikes"):
        ConvSNN(KernelLearner()).calibrate_events(streams, sensor, 100)
    with pytest.raises(DataError, match=r"sensor_size: 1 polarity channel\(s\), but the kernels"):
        ConvSNN(_kernels(2), stride=1).calibrate_events(streams, (9, 8, 1), 100)
    with pytest.raises(ParameterError, match="channels: given input spikes"):
        ConvSNN(_kernels(2), stride=1, channels="on_off").calibrate_events(streams, sensor, 100)
    snn = ConvSNN(_kernels(2), stride=1, scale=0.5).calibrate_events(streams, sensor, 100)
    with pytest.raises(ParameterError, match="bin_width_us: must be finite and > 0"):
        snn.run_events(streams, sensor, 0)
    with pytest.raises(DataError, match=r"outside the sensor"):
        snn.run_events(streams, (5, 8, 2), 100)
    with pytest.raises(DataError, match="images: 3x3 images are smaller"):
        ConvSNN(_kernels(2, k=5), scale=0.5).calibrate_events(streams, (3, 3, 2), 100)
    with pytest.raises(DataError, match="events: empty input"):
        snn.run_events([], sensor, 100)
    good = to_frames(streams, sensor, snn.active_steps, 100)
    with pytest.raises(DataError, match=r"rasters: expected \(N, T, 2, H, W\)"):
        snn.run_rasters(good[:, :, 0])
    with pytest.raises(DataError, match=r"rasters: T = 16 steps; must be in \[1, frame_steps"):
        snn.run_rasters(np.zeros((1, 16, 2, 8, 9), np.uint16))
    with pytest.raises(DataError, match=r"spike counts must be in \[0, 65535\]"):
        snn.run_rasters(-good.astype(np.int32) - 1)
    with pytest.raises(DataError, match="spike counts must be integers"):
        snn.run_rasters(good.astype(np.float32))
    core = snn._core_for(8, 9)
    index, offsets = raster_index(streams, sensor, snn.active_steps, 100)
    with pytest.raises(ValueError, match="index: event 0 has raster entry"):
        core.run_events(np.full(3, 10**6, np.uint32), np.array([0, 3], np.uint64), 10)
    with pytest.raises(ValueError, match="offsets: must be non-decreasing"):
        core.run_events(index, offsets[::-1].copy(), 10)
    with pytest.raises(ValueError, match=r"steps: must be in \[1, frame_steps=15\]"):
        core.run_events(index, offsets, 16)
