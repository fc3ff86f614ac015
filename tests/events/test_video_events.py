"""The video pipeline's difference signal as events: exact events of a moving square,
and the same stream as the DVS model over the stacked frames."""

from __future__ import annotations

import numpy as np
import pytest

from snnconv.events import count_frames, emulate, log_intensity
from snnconv.exceptions import ParameterError
from snnconv.preprocess.events import clip_events, sensor_size_of


def _square_frames():
    frames = np.zeros((3, 4, 6), np.uint8)
    frames[1, 1:3, 1:3] = 255
    frames[2, 1:3, 2:4] = 255
    return frames


def test_moving_square_gives_on_at_leading_and_off_at_trailing_edge():
    frames = _square_frames()
    ev = clip_events(iter(frames), fps=10.0, threshold=0.2)
    per_change = int(np.floor((np.log(1.05) - np.log(0.05)) / 0.2))  # 15
    f = count_frames(ev, sensor_size_of(frames.shape[1:]))
    on, off = f[1], f[0]
    # frame 1: the square appears (4 pixels ON); frame 2: column 3 turns on, column 1 off
    assert on[1:3, 1].tolist() == [per_change, per_change]
    assert on[1:3, 3].tolist() == [per_change, per_change]
    assert off[1:3, 1].tolist() == [per_change, per_change]
    assert on[1:3, 2].tolist() == [per_change, per_change] and off[:, 2].sum() == 0
    assert f.sum() == per_change * 8
    assert ev["t"].min() > 0 and ev["t"].max() <= 200_000


def test_same_as_the_dvs_model_on_the_stack():
    frames = np.random.default_rng(2).integers(0, 256, (5, 8, 9)).astype(np.uint8)
    a = clip_events(frames, fps=25.0)
    b = emulate(log_intensity(frames), np.arange(5) * 40_000.0)
    np.testing.assert_array_equal(a, b)
    assert len(clip_events(frames, fps=25.0, n_frames=2)) < len(a)


def test_bad_parameters():
    with pytest.raises(ParameterError, match="fps"):
        clip_events(_square_frames(), fps=0)
    with pytest.raises(ParameterError, match="n_frames"):
        clip_events(_square_frames(), n_frames=0)
