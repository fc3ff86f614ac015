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
from .stream import EVENT_DTYPE, check_events, check_sensor_size, polarity_channel


def _concat(streams: Sequence[np.ndarray], lengths: np.ndarray) -> np.ndarray:
    """All streams' events one after the other, as one structured array."""
    if not streams:
        return np.zeros(0, [("x", "u2"), ("y", "u2"), ("t", "i8"), ("p", "u1")])
    if len(streams) == 1:
        return streams[0]
    dt = streams[0].dtype
    if all(e.dtype == dt and e.flags.c_contiguous for e in streams):
        # the records' bytes joined (a plain copy; numpy's concatenate of structured
        # arrays promotes field by field, which is several times slower)
        return np.concatenate([e.view(np.uint8) for e in streams]).view(dt)
    big = np.empty(int(lengths.sum()), [(f, streams[0].dtype[f]) for f in "xytp"])
    for f in "xytp":
        big[f] = np.concatenate([e[f] for e in streams])
    return big


def _columns(streams: Sequence[np.ndarray], sensor_size) -> tuple[np.ndarray, ...]:
    """The x, y, t and channel (uint8) of every event of all streams in order, and
    the streams' lengths; coordinates checked against the sensor in one pass."""
    w, h, c = check_sensor_size(sensor_size)
    for i, ev in enumerate(streams):
        check_events(ev, None, name=f"events[{i}]")  # fields and types only
    lengths = np.fromiter((len(e) for e in streams), np.int64, len(streams))
    big = _concat(streams, lengths)
    x, y, t = big["x"], big["y"], big["t"]
    if len(big) and (
        int(x.max()) >= w
        or int(y.max()) >= h
        or (x.dtype.kind != "u" and int(x.min()) < 0)
        or (y.dtype.kind != "u" and int(y.min()) < 0)
    ):
        bad = int(np.flatnonzero((x < 0) | (x >= w) | (y < 0) | (y >= h))[0])
        k = int(np.searchsorted(np.cumsum(lengths), bad, side="right"))
        j = bad - int(lengths[:k].sum())
        f, v, lim = ("x", int(x[bad]), w) if not 0 <= int(x[bad]) < w else ("y", int(y[bad]), h)
        raise DataError(
            f"events[{k}]: event {j} has {f} = {v}, outside the sensor's [0, {lim - 1}] "
            f"(sensor_size {tuple(sensor_size)})"
        )
    return x, y, t, polarity_channel(big, c), lengths


def _pixel_index(index: np.ndarray, ch, y, x, c: int, h: int, w: int) -> np.ndarray:
    """``((index * c + ch) * h + y) * w + x`` in place (index is int64 and owned)."""
    index *= c
    index += ch
    index *= h
    index += y
    index *= w
    index += x
    return index


def _scatter(local: np.ndarray, lengths: np.ndarray, per: int, dtype: np.dtype) -> np.ndarray:
    """Counts (n_samples, per) of the events' bins ``local`` (int64, consumed), the
    samples' events lying one after the other (``lengths``); an event with
    ``local == per`` is dropped. One bincount per group of samples whose counts fit in
    about 2 MB, so the int64 counts stay in cache and only ``dtype`` is written out."""
    n_samples = len(lengths)
    out = np.empty((n_samples, per), dtype)
    hi = np.iinfo(dtype).max if dtype.kind in "iu" else None
    per1 = per + 1  # the last bin of each sample collects the dropped events
    local += np.repeat(np.arange(n_samples, dtype=np.int64) * per1, lengths)
    group = max(1, (1 << 18) // per1)
    ends = np.concatenate([[0], np.cumsum(lengths)])
    for s0 in range(0, n_samples, group):
        s1 = min(s0 + group, n_samples)
        idx = local[ends[s0] : ends[s1]]
        if s0:
            idx -= s0 * per1
        counts = np.bincount(idx, minlength=(s1 - s0) * per1).reshape(s1 - s0, per1)
        if hi is not None and len(idx) > hi and counts.max() > hi:
            np.minimum(counts, hi, out=counts)
        out[s0:s1] = counts[:, :per]
    return out


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
    streams, single = _as_list(events)
    w, h, c = check_sensor_size(sensor_size)
    local, outside, lengths = _raster_entries(streams, sensor_size, n_steps, bin_width_us, start_us)
    per = n_steps * c * h * w
    if outside.any():
        local[outside] = per  # dropped by _scatter
    out = _scatter(local, lengths, per, np.dtype(dtype))
    out = out.reshape(len(streams), n_steps, c, h, w)
    return out[0] if single else out


def _check_bins(n_steps: int, bin_width_us: float, start_us: float) -> None:
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ParameterError(f"n_steps: must be an integer >= 1, got {n_steps!r}")
    try:
        width, start = float(bin_width_us), float(start_us)
    except (TypeError, ValueError):
        raise ParameterError(
            f"bin_width_us, start_us: must be numbers, got {bin_width_us!r} and {start_us!r}"
        ) from None
    if not (np.isfinite(width) and width > 0):
        raise ParameterError(f"bin_width_us: must be finite and > 0, got {bin_width_us!r}")
    if not np.isfinite(start):
        raise ParameterError(f"start_us: must be finite, got {start_us!r}")


def _raster_entries(
    streams: list[np.ndarray], sensor_size, n_steps: int, bin_width_us: float, start_us: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every event's entry ``(step·P + channel)·H·W + y·W + x`` in its sample's raster
    (int64), whether it lies outside the ``n_steps`` bins, and the streams' lengths."""
    _check_bins(n_steps, bin_width_us, start_us)
    w, h, c = check_sensor_size(sensor_size)
    x, y, t, ch, lengths = _columns(streams, sensor_size)
    if float(bin_width_us).is_integer() and float(start_us).is_integer():
        step = t.astype(np.int64)  # a copy, owned: the index is built in place
        if int(start_us):
            step -= int(start_us)
        step //= int(bin_width_us)
    else:
        step = np.floor((t - start_us) / bin_width_us).astype(np.int64)
    outside = (step < 0) | (step >= n_steps)
    return _pixel_index(step, ch, y, x, c, h, w), outside, lengths


def _fused_entries(
    streams: list[np.ndarray],
    chw: tuple[int, int, int],
    n_steps: int,
    bin_width_us: float,
    start_us: float,
) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`raster_index`'s result computed by the core in one pass over the
    records, for streams of :data:`EVENT_DTYPE` (contiguous) and a whole-number bin
    width and start; None for anything else, or when an event lies outside the sensor
    (the numpy path then names it)."""
    from .. import _core

    width, start = float(bin_width_us), float(start_us)
    if not (
        streams
        and width.is_integer()
        and start.is_integer()
        and width < 2**62
        and abs(start) < 2**62
        and all(s.dtype == EVENT_DTYPE and s.ndim == 1 and s.flags.c_contiguous for s in streams)
    ):
        return None
    lengths = np.fromiter((len(e) for e in streams), np.int64, len(streams))
    records = _concat(streams, lengths).view(np.uint8)
    ends = np.cumsum(lengths).astype(np.uint64)
    index, offsets, bad = _core.event_entries(
        records, ends, *chw, int(n_steps), int(width), int(start)
    )
    return None if bad >= 0 else (index, offsets)


def raster_index(
    events: np.ndarray | Sequence[np.ndarray],
    sensor_size: Sequence[int],
    n_steps: int,
    bin_width_us: float,
    start_us: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The rasters of :func:`to_frames` as a list of events instead of counts: each
    kept event's flat entry ``(step·P + channel)·H·W + y·W + x`` in its sample's
    ``(n_steps, P, H, W)`` raster (uint32, events in their streams' order) and the
    samples' offsets (uint64, N + 1): sample i's entries are
    ``index[offsets[i]:offsets[i + 1]]``, and ``np.bincount`` of them, reshaped, is
    ``to_frames(...)[i]``. Events outside the ``n_steps`` bins are dropped. This is the
    input :meth:`snnconv.ConvSNN.run_events` hands to the core, which builds each
    raster itself (a raster holds P·H·W entries per step, a sample far fewer events).
    Streams of :data:`EVENT_DTYPE` with a whole-number bin width and start are binned
    by the core in one pass over their records; others with numpy, to the same entries.
    """
    streams, _ = _as_list(events)
    _check_bins(n_steps, bin_width_us, start_us)
    w, h, c = check_sensor_size(sensor_size)
    nodes = c * h * w
    if n_steps * nodes > 2**32:
        raise ParameterError(
            f"n_steps: {n_steps} steps of {c}x{h}x{w} input nodes exceed 2**32 raster entries"
        )
    fused = _fused_entries(streams, (c, h, w), n_steps, bin_width_us, start_us)
    if fused is not None:
        return fused
    x, y, t, ch, lengths = _columns(streams, sensor_size)
    if float(bin_width_us).is_integer() and float(start_us).is_integer():
        step = t.astype(np.int64)
        if int(start_us):
            step -= int(start_us)
        step //= int(bin_width_us)
    else:
        step = np.floor((t - start_us) / bin_width_us).astype(np.int64)
    # one unsigned compare finds both sides: a negative step wraps to a huge one
    inside = step.view(np.uint64) < n_steps
    ends = np.cumsum(lengths)
    if not inside.all():
        ends = np.concatenate([[0], np.cumsum(inside)])[ends]
    # uint32 arithmetic: entries of kept events are < 2**32 (checked above); those of
    # dropped events may wrap and are discarded
    index = step.astype(np.uint32)
    index *= np.uint32(nodes)
    node = ch.astype(np.uint32)
    node *= np.uint32(h)
    node += y.astype(np.uint32, copy=False)  # checked inside the sensor: any int type
    node *= np.uint32(w)
    node += x.astype(np.uint32, copy=False)
    index += node
    if not inside.all():
        index = index[inside]
    offsets = np.zeros(len(streams) + 1, np.uint64)
    offsets[1:] = ends
    return index, offsets


def count_frames(
    events: np.ndarray | Sequence[np.ndarray],
    sensor_size: Sequence[int],
    dtype: np.dtype | type = np.uint16,
) -> np.ndarray:
    """Events per polarity and pixel over the whole stream: ``(P, H, W)`` for one
    stream, ``(N, P, H, W)`` for a sequence (the kernel learner's input)."""
    streams, single = _as_list(events)
    w, h, c = check_sensor_size(sensor_size)
    x, y, _, ch, lengths = _columns(streams, sensor_size)
    local = _pixel_index(np.zeros(len(x), np.int64), ch, y, x, c, h, w)
    out = _scatter(local, lengths, c * h * w, np.dtype(dtype))
    out = out.reshape(len(streams), c, h, w)
    return out[0] if single else out


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
