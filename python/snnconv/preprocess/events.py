"""The video pipeline's difference signal as events, so one event front-end serves
frame cameras and event cameras alike.

The heat map of :mod:`.heatmap` accumulates |I_t − I_{t−1}|; here the same change
between consecutive frames is read the way an event camera reads it: in log intensity,
per pixel, against the level at which the pixel last fired (:class:`~snnconv.events.
dvs.DVSSensor`). A pixel whose brightness rises by a contrast threshold emits an ON
event, one that falls emits OFF; crossings within a frame interval get interpolated
timestamps. The frames of a clip at ``fps`` become one event stream with tonic's
fields and ``sensor_size = (W, H, 2)``, which the event binning
(:func:`snnconv.events.to_frames`) and the spiking front-end take like any camera's
events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from ..events.dvs import LOG_OFFSET, THRESHOLD, DVSSensor, log_intensity
from ..events.stream import EVENT_DTYPE
from ..exceptions import ParameterError


def clip_events(
    frames: Iterable[np.ndarray],
    fps: float = 30.0,
    threshold: float = THRESHOLD,
    offset: float = LOG_OFFSET,
    n_frames: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """The events of greyscale ``frames`` (uint8 or floats in [0, 1], e.g. a
    :class:`~snnconv.datasets.neovision2.Clip`) taken at ``fps`` frames per second;
    at most ``n_frames`` frames (None: all). Frame ``k`` is at ``k * 1e6 / fps`` µs.
    ``progress(k)`` is called after each frame. Frames are read one at a time, so a
    long clip never sits in memory whole."""
    if not (np.isfinite(fps) and fps > 0):
        raise ParameterError(f"fps: must be > 0, got {fps!r}")
    if n_frames is not None and n_frames < 1:
        raise ParameterError(f"n_frames: must be None or >= 1, got {n_frames!r}")
    sensor = DVSSensor(threshold)
    parts = []
    for k, frame in enumerate(frames):
        if n_frames is not None and k >= n_frames:
            break
        parts.append(sensor.update(log_intensity(frame, offset), k * 1e6 / fps))
        if progress is not None:
            progress(k)
    return np.concatenate(parts) if parts else np.zeros(0, EVENT_DTYPE)


def sensor_size_of(frames_shape: tuple[int, int]) -> tuple[int, int, int]:
    """tonic's ``(W, H, 2)`` for frames of shape ``(H, W)``."""
    h, w = frames_shape
    return (int(w), int(h), 2)
