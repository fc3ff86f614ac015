"""Event streams: the one in-memory form every event reader, filter and binner uses.

An event stream is a numpy structured array with tonic's field names: ``x``, ``y``
(pixel column and row), ``t`` (microseconds) and ``p`` (polarity). Any structured
array with those fields is accepted, whatever the integer widths, so streams from
tonic datasets and transforms plug in unchanged. Polarity 1 (or any positive value,
or ``True``) is ON, a brightness increase; 0, -1 or ``False`` is OFF. Channel
indices follow tonic's ``ToFrame``: channel 0 holds OFF events, channel 1 ON events.

``sensor_size`` is tonic's ``(width, height, polarities)``, e.g. ``(34, 34, 2)`` for
N-MNIST.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import DataError, ParameterError

#: The dtype this package produces: 2-byte coordinates, 8-byte microseconds, 1-byte polarity.
EVENT_DTYPE = np.dtype([("x", "<u2"), ("y", "<u2"), ("t", "<i8"), ("p", "<u1")])

#: N-MNIST's sensor, (width, height, polarities).
NMNIST_SENSOR = (34, 34, 2)

_FIELDS = ("x", "y", "t", "p")


def make_events(x, y, t, p) -> np.ndarray:
    """A stream of :data:`EVENT_DTYPE` from four equally long sequences."""
    cols = [np.asarray(v).ravel() for v in (x, y, t, p)]
    n = len(cols[0])
    if any(len(c) != n for c in cols):
        raise DataError(f"events: x, y, t, p lengths differ ({[len(c) for c in cols]})")
    ev = np.empty(n, EVENT_DTYPE)
    for name, col in zip(_FIELDS, cols, strict=True):
        ev[name] = col
    return ev


def check_sensor_size(
    sensor_size: Sequence[int], name: str = "sensor_size"
) -> tuple[int, int, int]:
    """``(width, height, polarities)`` as ints, width and height in [1, 65535],
    polarities 1 or 2."""
    try:
        w, h, c = (int(v) for v in sensor_size)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name}: must be (width, height, polarities), got {sensor_size!r}"
        ) from None
    if not (1 <= w <= 65535 and 1 <= h <= 65535 and c in (1, 2)):
        raise ParameterError(
            f"{name}: width and height in [1, 65535] and polarities 1 or 2, got {sensor_size!r}"
        )
    return w, h, c


def check_events(
    events: np.ndarray, sensor_size: Sequence[int] | None = None, name: str = "events"
) -> np.ndarray:
    """``events`` validated as a stream: a 1-D structured array with fields x, y, t, p,
    integer (or boolean polarity), coordinates inside ``sensor_size`` when given.
    Returned unchanged (no copy)."""
    if not isinstance(events, np.ndarray) or events.dtype.names is None:
        raise DataError(
            f"{name}: expected a numpy structured array with fields x, y, t, p, "
            f"got {type(events).__name__}"
        )
    missing = [f for f in _FIELDS if f not in events.dtype.names]
    if missing:
        raise DataError(f"{name}: missing field(s) {missing}; has {list(events.dtype.names)}")
    if events.ndim != 1:
        raise DataError(f"{name}: expected a 1-D array of events, got shape {events.shape}")
    for f in _FIELDS:
        kind = events.dtype[f].kind
        if kind not in "iu" and not (f == "p" and kind == "b"):
            raise DataError(f"{name}: field {f} must be integer, got {events.dtype[f]}")
    if sensor_size is not None and len(events):
        w, h, _ = check_sensor_size(sensor_size)
        for f, lim in (("x", w), ("y", h)):
            col = events[f]
            lo, hi = int(col.min()), int(col.max())
            if lo < 0 or hi >= lim:
                bad = int(np.flatnonzero((col < 0) | (col >= lim))[0])
                raise DataError(
                    f"{name}: event {bad} has {f} = {int(col[bad])}, outside the sensor's "
                    f"[0, {lim - 1}] (sensor_size {tuple(sensor_size)})"
                )
    return events


def polarity_channel(events: np.ndarray, n_channels: int) -> np.ndarray:
    """Each event's channel (uint8): 1 for ON (p > 0), 0 for OFF; all 0 with one
    channel."""
    if n_channels == 1:
        return np.zeros(len(events), np.uint8)
    return (events["p"] > 0).view(np.uint8)


class EventSet:
    """Many event streams as one flat array: ``events`` holds every stream's events
    back to back and stream i is ``events[offsets[i]:offsets[i + 1]]`` (a view).

    One array instead of a list of arrays pickles in one piece (worker processes get
    it once) and, when ``events`` is a memory map, travels as its file's name
    (:meth:`portable`). ``sensor_size`` is the streams' sensor.
    """

    def __init__(self, events: np.ndarray, offsets: np.ndarray, sensor_size: Sequence[int]) -> None:
        offsets = np.asarray(offsets, np.int64)
        if (
            offsets.ndim != 1
            or len(offsets) < 1
            or offsets[0] != 0
            or offsets[-1] != len(events)
            or np.any(np.diff(offsets) < 0)
        ):
            raise DataError(
                f"offsets: must rise from 0 to the {len(events)} events, got {offsets!r:.80}"
            )
        self.events, self.offsets = events, offsets
        self.sensor_size = check_sensor_size(sensor_size)

    @classmethod
    def of(cls, streams: Sequence[np.ndarray], sensor_size: Sequence[int]) -> EventSet:
        """The set of ``streams`` (copied into one :data:`EVENT_DTYPE` array)."""
        lengths = np.fromiter((len(s) for s in streams), np.int64, len(streams))
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        flat = np.empty(int(offsets[-1]), EVENT_DTYPE)
        for s, a, b in zip(streams, offsets[:-1], offsets[1:], strict=True):
            if s.dtype == EVENT_DTYPE:
                flat[a:b] = s
            else:
                for f in _FIELDS:
                    flat[a:b][f] = s[f]
        return cls(flat, offsets, sensor_size)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return self.events[self.offsets[i] : self.offsets[i + 1]]

    def streams(self, idx: Sequence[int] | np.ndarray | None = None) -> list[np.ndarray]:
        """Streams ``idx`` (all when None), in that order, as views of the flat array."""
        rows = range(len(self)) if idx is None else np.asarray(idx, np.int64).tolist()
        return [self[i] for i in rows]

    def subset(self, idx: Sequence[int] | np.ndarray) -> EventSet:
        """A new set of streams ``idx`` (their events copied)."""
        return EventSet.of(self.streams(idx), self.sensor_size)

    def mapped(self) -> EventSet:
        """This set with its events moved to a temporary file (``tempfile``'s folder,
        ``TMPDIR`` chooses it) and mapped read-only: worker processes then share the
        file's pages instead of each holding a copy (:meth:`portable`). The file is
        deleted when the returned set is collected or the process exits (a worker that
        mapped it keeps its pages until it unmaps them)."""
        import tempfile
        import weakref

        fd, path = tempfile.mkstemp(prefix="snnconv-events-", suffix=".bin")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(np.ascontiguousarray(self.events).tobytes())
            events = (
                np.memmap(path, self.events.dtype, "r", shape=self.events.shape)
                if len(self.events)
                else np.zeros(0, self.events.dtype)
            )
        except BaseException:
            os.unlink(path)
            raise
        out = EventSet(events, self.offsets, self.sensor_size)
        weakref.finalize(out, _unlink, path)
        return out

    def portable(self) -> Any:
        """What to send to another process: this set, with a memory-mapped ``events``
        replaced by a reference to its file (:meth:`open` undoes it)."""
        from .._util.blocks import MappedFile

        ref = MappedFile.of(self.events)
        if ref is None:
            return self
        out = EventSet.__new__(EventSet)
        out.events, out.offsets, out.sensor_size = ref, self.offsets, self.sensor_size
        return out

    def open(self) -> EventSet:
        """The set with its events mapped again in this process (after :meth:`portable`)."""
        from .._util.blocks import MappedFile

        if isinstance(self.events, MappedFile):
            return EventSet(self.events.open(), self.offsets, self.sensor_size)
        return self


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
