"""Events → spike-count rasters: time bins for the spiking front-end, one count frame
per sample for kernel learning.

:func:`to_frames` puts an event with timestamp ``t`` into step
``k = (t - start_us) // bin_width_us`` of a fixed number of steps, in channel 0 (OFF)
or 1 (ON) at its pixel: the result is ``(n_steps, polarities, height, width)``, the
layout of tonic's ``ToFrame`` (which it matches exactly for ``time_window=bin_width_us,
start_time=start_us``, over the first ``n_steps`` windows). Events before ``start_us``
or after the last step are dropped, so every sample becomes the same number of steps.
:func:`count_frames` sums all steps: ``(polarities, height, width)`` per sample.

Both work on many samples at once with one ``np.bincount`` over a flat index (not
``np.add.at``, which is an order of magnitude slower), so reading and binning run at
tens of millions of events per second per core.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..exceptions import DataError, ParameterError
from .stream import check_events, check_sensor_size, polarity_channel


def _concat(streams: Sequence[np.ndarray], sensor_size) -> tuple[np.ndarray, ...]:
    """The x, y, t, channel columns of all streams and each event's sample index."""
    c = check_sensor_size(sensor_size)[2]
    for i, ev in enumerate(streams):
        check_events(ev, sensor_size, name=f"events[{i}]")
    lengths = np.fromiter((len(e) for e in streams), np.int64, len(streams))
    sample = np.repeat(np.arange(len(streams), dtype=np.int64), lengths)
    if len(streams) == 1:
        ev = streams[0]
        cols = [ev[f] for f in ("x", "y", "t")]
        ch = polarity_channel(ev, c)
    else:
        cols = [
            np.concatenate([e[f] for e in streams]) if len(streams) else np.zeros(0, np.int64)
            for f in ("x", "y", "t")
        ]
        ch = (
            np.concatenate([polarity_channel(e, c) for e in streams])
            if len(streams)
            else np.zeros(0, np.intp)
        )
    return sample, cols[0], cols[1], cols[2], ch


def _as_list(events) -> tuple[list[np.ndarray], bool]:
    if isinstance(events, np.ndarray) and events.dtype.names is not None:
        return [events], True
    if isinstance(events, np.ndarray):
        raise DataError(
            "events: expected a structured array with fields x, y, t, p or a sequence of them"
        )
    return list(events), False


def to_frames(
    events: np.ndarray | Sequence[np.ndarray],
    sensor_size: Sequence[int],
    n_steps: int,
    bin_width_us: float,
    start_us: float = 0.0,
    dtype: np.dtype | type = np.uint16,
) -> np.ndarray:
    """Spike counts per time bin, polarity and pixel.

    ``events`` is one stream (result ``(n_steps, P, H, W)``) or a sequence of streams
    (result ``(N, n_steps, P, H, W)``); ``sensor_size`` is ``(W, H, P)``. Counts
    saturate at the largest value of ``dtype`` rather than wrapping.
    """
    if not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ParameterError(f"n_steps: must be an integer >= 1, got {n_steps!r}")
    if not np.isfinite(bin_width_us) or bin_width_us <= 0:
        raise ParameterError(f"bin_width_us: must be > 0, got {bin_width_us!r}")
    streams, single = _as_list(events)
    w, h, c = check_sensor_size(sensor_size)
    sample, x, y, t, ch = _concat(streams, sensor_size)
    if float(bin_width_us).is_integer() and float(start_us).is_integer():
        step = (t.astype(np.int64) - int(start_us)) // int(bin_width_us)
    else:
        step = np.floor((t - start_us) / bin_width_us).astype(np.int64)
    inside = (step >= 0) & (step < n_steps)
    if not inside.all():
        sample, x, y, step, ch = (a[inside] for a in (sample, x, y, step, ch))
    flat = (((sample * n_steps + step) * c + ch) * h + y.astype(np.int64)) * w + x
    size = len(streams) * n_steps * c * h * w
    counts = np.bincount(flat, minlength=size)
    out = _saturate(counts, dtype).reshape(len(streams), n_steps, c, h, w)
    return out[0] if single else out


def count_frames(
    events: np.ndarray | Sequence[np.ndarray],
    sensor_size: Sequence[int],
    dtype: np.dtype | type = np.uint16,
) -> np.ndarray:
    """Events per polarity and pixel over the whole stream: ``(P, H, W)`` for one
    stream, ``(N, P, H, W)`` for a sequence (the kernel learner's input)."""
    streams, single = _as_list(events)
    w, h, c = check_sensor_size(sensor_size)
    sample, x, y, _, ch = _concat(streams, sensor_size)
    flat = ((sample * c + ch) * h + y.astype(np.int64)) * w + x
    counts = np.bincount(flat, minlength=len(streams) * c * h * w)
    out = _saturate(counts, dtype).reshape(len(streams), c, h, w)
    return out[0] if single else out


def _saturate(counts: np.ndarray, dtype) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        hi = np.iinfo(dtype).max
        if counts.size and counts.max() > hi:
            counts = np.minimum(counts, hi)
    return counts.astype(dtype)


def to_images(frames: np.ndarray, scale: float | None = None) -> np.ndarray:
    """uint8 images from count frames ``(N, P, H, W)``: the polarities summed, scaled
    so that ``scale`` events map to 255 (default: the 99.5th percentile of non-zero
    pixel counts over the set) and clipped. The single-channel stand-in for frame-based
    methods (CNN, ULSNN) and for a front-end with one input channel."""
    f = np.asarray(frames)
    if f.ndim != 4:
        raise DataError(f"frames: expected (N, P, H, W), got shape {f.shape}")
    summed = f.sum(axis=1, dtype=np.float64)
    if scale is None:
        scale = count_scale(f)
    if not scale > 0:
        raise ParameterError(f"scale: must be > 0, got {scale!r}")
    return np.clip(np.rint(summed * (255.0 / scale)), 0, 255).astype(np.uint8)


def count_scale(frames: np.ndarray) -> float:
    """The count :func:`to_images` maps to 255 by default: the 99.5th percentile of the
    non-zero pixel counts (polarities summed) of ``frames`` (N, P, H, W); 1 when all
    are zero. Computed on training data only and reused for test data."""
    summed = np.asarray(frames).sum(axis=1, dtype=np.float64)
    nz = summed[summed > 0]
    return float(np.percentile(nz, 99.5)) if nz.size else 1.0
