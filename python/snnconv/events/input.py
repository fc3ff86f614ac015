"""Event streams as estimator input: what ``CSNNClassifier`` does with a list of
event arrays.

Two ways in (``CSNNClassifier(event_input=...)``):

- ``"events"`` (the default): the two polarities are two input channels end to end.
  The kernel learner learns C = 2 kernels on each sample's event-count frame
  (:func:`event_frames`: OFF and ON counts per pixel, one scale for both channels,
  taken from the training streams, clipped to uint8), and the spiking front-end
  receives the events themselves as input spikes, time binned into its active steps
  (:meth:`snnconv.ConvSNN.run_events`; bin width :func:`default_bin_width` unless
  given).
- ``"image"``: each sample is its event-count image with both polarities summed
  (:func:`event_images`), scaled on the training streams, and enters the front-end
  as any grey image does (rate-coded by its encoder).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import DataError, ParameterError
from .binning import count_frames, count_scale, to_images
from .stream import check_sensor_size

#: The ways event streams enter the CSNN (see the module docstring).
EVENT_INPUTS = ("events", "image")


def is_event_input(x: Any) -> bool:
    """True for a structured array with an ``x`` field or a non-empty list/tuple of them."""
    if isinstance(x, np.ndarray):
        return x.dtype.names is not None and "x" in x.dtype.names
    if isinstance(x, (list, tuple)) and len(x):
        first = x[0]
        return isinstance(first, np.ndarray) and first.dtype.names is not None
    return False


def as_streams(events: Any) -> list[np.ndarray]:
    """One stream (a structured array) or a sequence of them, as a non-empty list."""
    if isinstance(events, np.ndarray) and events.dtype.names is not None:
        return [events]
    if isinstance(events, np.ndarray) or isinstance(events, (str, bytes)):
        raise DataError(
            "events: expected a structured array with fields x, y, t, p or a sequence of them"
        )
    try:
        streams = list(events)
    except TypeError:
        raise DataError(
            f"events: expected a sequence of event arrays, got {type(events).__name__}"
        ) from None
    if not streams:
        raise DataError("events: empty input (0 streams)")
    return streams


def _sensor(sensor_size: Sequence[int] | None) -> tuple[int, int, int]:
    if sensor_size is None:
        raise ParameterError(
            "sensor_size: event streams need the sensor's (width, height, polarities), "
            "e.g. (34, 34, 2) for N-MNIST"
        )
    return check_sensor_size(sensor_size)


def event_images(
    streams: Sequence[np.ndarray], sensor_size: Sequence[int] | None, scale: float | None
) -> tuple[np.ndarray, float]:
    """uint8 count images (N, H, W) of ``streams``, both polarities summed, and the
    scale used (``scale``, or the training streams' own when None)."""
    _sensor(sensor_size)
    frames = count_frames(as_streams(streams), sensor_size)
    if scale is None:
        scale = count_scale(frames)
    return to_images(frames, scale), float(scale)


def channel_scale(frames: np.ndarray) -> float:
    """The count :func:`event_frames` maps to 255 by default: the 99.5th percentile of
    the non-zero counts of single channels of ``frames`` (N, P, H, W); 1 when all are
    zero. Taken on training data only and reused for test data."""
    f = np.asarray(frames)
    nz = f[f > 0]
    return float(np.percentile(nz, 99.5)) if nz.size else 1.0


def event_frames(
    streams: Sequence[np.ndarray], sensor_size: Sequence[int] | None, scale: float | None
) -> tuple[np.ndarray, float]:
    """uint8 event-count frames (N, P, H, W) of ``streams``, one channel per polarity
    (0 OFF, 1 ON), ``scale`` events mapped to 255 in both channels and clipped, and
    the scale used (``scale``, or :func:`channel_scale` of these frames when None).
    For one polarity channel (``sensor_size[2] == 1``): (N, 1, H, W), both summed."""
    _sensor(sensor_size)
    frames = count_frames(as_streams(streams), sensor_size)
    if scale is None:
        scale = channel_scale(frames)
    if not scale > 0:
        raise ParameterError(f"scale: must be > 0, got {scale!r}")
    out = np.rint(frames * (255.0 / scale))
    return np.clip(out, 0, 255).astype(np.uint8), float(scale)


def default_bin_width(streams: Sequence[np.ndarray], n_steps: int, start_us: float = 0.0) -> float:
    """The bin width (µs, a whole number) that fits the longest of ``streams`` into
    ``n_steps`` bins from ``start_us``: ceil((latest t + 1 − start_us) / n_steps), at
    least 1. Taken on the training streams; later streams that run longer lose their
    late events."""
    latest = max((int(s["t"].max()) for s in streams if len(s)), default=int(start_us))
    return float(max(1, math.ceil((latest + 1 - start_us) / n_steps)))
