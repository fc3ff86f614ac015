"""The N-MNIST / N-Caltech101 binary event format: reader, writer and folder loader.

Each event is 40 bits, big-endian, 5 bytes:

======  =========================================================
byte 0  x (pixel column, 0..255)
byte 1  y (pixel row, 0..255)
byte 2  bit 7: polarity (1 = ON, 0 = OFF); bits 6..0: timestamp bits 22..16
byte 3  timestamp bits 15..8
byte 4  timestamp bits 7..0 (the timestamp is in microseconds)
======  =========================================================

As in the dataset authors' reader (and tonic's), an event with ``y == 240`` is not an
event but a timestamp-overflow marker: it is dropped and adds 2**13 µs to every later
timestamp. No N-MNIST sample needs one (a sample lasts about 0.3 s of the 8.4 s a
23-bit timestamp spans); they are honoured so longer recordings read the same way.

Defects are :class:`~snnconv.exceptions.DataError` naming the file and the byte offset:
a length that is not a multiple of 5 (a truncated last event), a coordinate beyond
``sensor_size``, and a timestamp more than ``time_tolerance_us`` earlier than the
latest before it. Steps back within the tolerance are repaired by a stable sort on
time (the only repair the reader makes).

The folder layout is the published one: ``ROOT/Train/<label>/*.bin`` and
``ROOT/Test/<label>/*.bin``, labels being folder names that are integers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..exceptions import DataError, ParameterError
from .stream import EVENT_DTYPE, NMNIST_SENSOR, check_events, check_sensor_size

_EVENT_BYTES = 5
_OVERFLOW_Y = 240
_OVERFLOW_US = 1 << 13
_MAX_T = (1 << 23) - 1

#: Default allowed step back in time, µs, before a file is an error (repaired by sorting).
TIME_TOLERANCE_US = 1000

_SPLITS = {"train": "Train", "test": "Test"}


def decode_nmnist_bytes(
    raw: bytes | bytearray | memoryview | np.ndarray,
    sensor_size: tuple[int, int, int] | None = NMNIST_SENSOR,
    time_tolerance_us: int = TIME_TOLERANCE_US,
    source: str = "<bytes>",
) -> np.ndarray:
    """Events of :data:`~snnconv.events.stream.EVENT_DTYPE` decoded from the bytes of
    one N-MNIST file; ``source`` names it in error messages. See the module docs."""
    if time_tolerance_us < 0:
        raise ParameterError(f"time_tolerance_us: must be >= 0, got {time_tolerance_us}")
    buf = np.frombuffer(raw, np.uint8) if not isinstance(raw, np.ndarray) else raw
    if buf.size % _EVENT_BYTES:
        whole = buf.size - buf.size % _EVENT_BYTES
        raise DataError(
            f"{source}: length {buf.size} bytes is not a multiple of 5 (5 bytes per event); "
            f"the last event, at byte offset {whole}, is truncated"
        )
    n = buf.size // _EVENT_BYTES
    w, h = (256, 0) if sensor_size is None else check_sensor_size(sensor_size)[:2]
    x = buf[0::_EVENT_BYTES]
    # bytes 1..4 of each event read as one big-endian word: y, then p and the timestamp
    word = np.ndarray((n,), ">u4", buf, offset=1, strides=(_EVENT_BYTES,)) if n else buf[:0]
    word = word.astype(np.uint32)
    y = (word >> 24).astype(np.uint16)
    t = (word & 0x7FFFFF).astype(np.int64)
    keep = None
    if h <= _OVERFLOW_Y:  # a sensor taller than 240 rows has no marker row
        marker = y == _OVERFLOW_Y
        if marker.any():
            t += np.cumsum(marker, dtype=np.int64) * _OVERFLOW_US
            keep = ~marker
    ev = np.empty(n if keep is None else int(keep.sum()), EVENT_DTYPE)
    sel = slice(None) if keep is None else keep
    ev["x"], ev["y"], ev["t"], ev["p"] = x[sel], y[sel], t[sel], (word[sel] >> 23) & 1

    def offset(i: int) -> int:  # byte offset of the i-th kept event
        return _EVENT_BYTES * (i if keep is None else int(np.flatnonzero(keep)[i]))

    if sensor_size is not None and len(ev):
        xs, ys = ev["x"], ev["y"]
        if int(xs.max()) >= w or int(ys.max()) >= h:
            i = int(np.flatnonzero((xs >= w) | (ys >= h))[0])
            raise DataError(
                f"{source}: event at byte offset {offset(i)} has "
                f"(x, y) = ({int(xs[i])}, {int(ys[i])}), outside the "
                f"{w}x{h} sensor (sensor_size {tuple(sensor_size)})"
            )
    ts = ev["t"]
    if len(ev) > 1 and (ts[1:] < ts[:-1]).any():
        back = np.maximum.accumulate(ts) - ts
        if int(back.max()) > time_tolerance_us:
            i = int(np.flatnonzero(back > time_tolerance_us)[0])
            raise DataError(
                f"{source}: event at byte offset {offset(i)} has t = "
                f"{int(ts[i])} µs, {int(back[i])} µs before an earlier event "
                f"(time_tolerance_us = {time_tolerance_us})"
            )
        ev = ev[np.argsort(ts, kind="stable")]
    return ev


def read_nmnist_bin(
    path: str | os.PathLike[str],
    sensor_size: tuple[int, int, int] | None = NMNIST_SENSOR,
    time_tolerance_us: int = TIME_TOLERANCE_US,
) -> np.ndarray:
    """The events of one N-MNIST / N-Caltech101 ``.bin`` file as a structured array
    with tonic's fields ``x``, ``y``, ``t`` (µs), ``p`` (1 = ON).

    ``sensor_size`` is ``(width, height, polarities)``; coordinates outside it are a
    :class:`~snnconv.exceptions.DataError` (``None``: no check, e.g. N-Caltech101,
    whose samples differ in size). Steps back in time up to ``time_tolerance_us`` are
    sorted away; larger ones are errors.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return decode_nmnist_bytes(raw, sensor_size, time_tolerance_us, source=str(path))


def encode_nmnist_bytes(events: np.ndarray) -> bytes:
    """The 5-byte-per-event encoding of ``events`` (x, y < 256, 0 <= t < 2**23)."""
    check_events(events)
    x, y, t = (events[f].astype(np.int64) for f in ("x", "y", "t"))
    for name, col, hi in (("x", x, 255), ("y", y, 255), ("t", t, _MAX_T)):
        if len(col) and (col.min() < 0 or col.max() > hi):
            raise DataError(f"events: field {name} must be in [0, {hi}] for this format")
    if len(y) and (y == _OVERFLOW_Y).any():
        raise DataError("events: y = 240 is the format's overflow marker and cannot be written")
    rec = np.empty((len(events), _EVENT_BYTES), np.uint8)
    rec[:, 0], rec[:, 1] = x, y
    rec[:, 2] = ((events["p"] > 0).astype(np.int64) << 7) | (t >> 16)
    rec[:, 3], rec[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    return rec.tobytes()


def write_nmnist_bin(path: str | os.PathLike[str], events: np.ndarray) -> Path:
    """Writes ``events`` in the N-MNIST binary format (atomically: a temporary name in
    the same folder, then renamed)."""
    path = Path(path)
    blob = encode_nmnist_bytes(events)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(blob)
    os.replace(tmp, path)
    return path


def nmnist_files(root: str | os.PathLike[str], split: str) -> tuple[list[Path], np.ndarray]:
    """The ``.bin`` files of ``split`` ("train" or "test") under ``root``, sorted by
    label then name, and their int64 labels."""
    if split not in _SPLITS:
        raise ParameterError(f"split: must be 'train' or 'test', got {split!r}")
    folder = Path(root) / _SPLITS[split]
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (expected ROOT/Train and ROOT/Test)")
    files: list[Path] = []
    labels: list[int] = []
    for sub in sorted(folder.iterdir(), key=lambda p: p.name):
        if not sub.is_dir():
            continue
        try:
            label = int(sub.name)
        except ValueError:
            raise DataError(f"{sub}: label folders must be named by integers") from None
        found = sorted(sub.glob("*.bin"))
        files += found
        labels += [label] * len(found)
    if not files:
        raise DataError(f"{folder}: no <label>/*.bin files")
    order = sorted(range(len(files)), key=lambda i: (labels[i], files[i].name))
    return [files[i] for i in order], np.asarray([labels[i] for i in order], np.int64)


def load_nmnist(
    root: str | os.PathLike[str],
    split: str = "train",
    sensor_size: tuple[int, int, int] | None = NMNIST_SENSOR,
    time_tolerance_us: int = TIME_TOLERANCE_US,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Event streams and int64 labels of ``ROOT/Train`` or ``ROOT/Test`` (``split``).

    ``limit`` keeps the first ``limit`` files of each label (in name order), so a quick
    run still sees every class. ``progress(done, total)`` is called every 500 files.
    """
    files, labels = nmnist_files(root, split)
    if limit is not None:
        if limit < 1:
            raise ParameterError(f"limit: must be >= 1, got {limit}")
        keep = np.concatenate([np.flatnonzero(labels == c)[:limit] for c in np.unique(labels)])
        keep.sort()
        files, labels = [files[i] for i in keep], labels[keep]
    events = []
    for i, f in enumerate(files):
        events.append(read_nmnist_bin(f, sensor_size, time_tolerance_us))
        if progress is not None and (i + 1) % 500 == 0:
            progress(i + 1, len(files))
    return events, labels
