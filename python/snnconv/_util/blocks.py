"""Large inputs a block of rows at a time: memory-mapped arrays and streams of batches.

Every learner in snnconv is online, so no stage needs more than a block of examples in
memory. Two things would still make a fit's memory grow with the data:

- **Mapped pages.** Reading a ``numpy.memmap`` (or ``np.load(..., mmap_mode="r")``)
  maps each page it touches into the process, and those pages count in its resident
  set until the mapping goes. :class:`Reader` drops them (``madvise(MADV_DONTNEED)``)
  every ``RELEASE_BYTES`` read: the data stay in the operating system's page cache
  (shared, reclaimable), re-read from there if touched again, and the process keeps
  only the blocks it is working on. Rows read in a shuffled order cost more than
  their bytes: one page fault may map a whole large folio of the page cache (up to
  2 MiB on ext4, XFS or tmpfs), so :meth:`Reader.gather` reads scattered rows in
  address order, a few 2 MiB regions at a time, releasing in between. Copy-on-write
  maps (mode ``"c"``) are left alone, since dropping their pages would discard the
  caller's changes.
- **Streams.** An iterable of ``(X, y)`` batches cannot be shuffled or read twice;
  :func:`spool` writes the batches once to a temporary file in the system's temporary
  folder (``tempfile``; ``TMPDIR`` chooses it) and hands back a memory map of it, so a
  fit over a stream is exactly the fit over the concatenated arrays.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ..exceptions import DataError, DataTypeError

#: Bytes of a mapped input read between two releases of its pages.
RELEASE_BYTES = 64 << 20

#: Bytes of one block of rows converted at a time (a float64 block of features).
BLOCK_BYTES = 16 << 20

_PAGE = mmap.PAGESIZE

#: Bytes one page fault on a mapped file may map at once. Linux maps the neighbouring
#: pages already in the page cache too (64 KiB of "fault-around" by default), and a
#: file system that caches files in large folios (ext4, XFS, tmpfs) may map a whole
#: folio, up to a 2 MiB huge page, with one fault: a randomly placed row can cost that
#: much resident memory, not one page.
FAULT_BYTES = 2 << 20


def block_rows(row_bytes: int, budget: int = BLOCK_BYTES) -> int:
    """Rows per block so one block holds about ``budget`` bytes (at least one row)."""
    return max(1, int(budget) // max(1, int(row_bytes)))


def mapping(a: Any) -> mmap.mmap | None:
    """The shared file mapping under the array ``a`` (a ``numpy.memmap``, a view of
    one, or an array made from one), or None: for arrays in memory and for
    copy-on-write maps, whose pages must not be dropped."""
    root = a
    while isinstance(root, np.ndarray) and isinstance(root.base, np.ndarray):
        root = root.base
    if not isinstance(root, np.ndarray) or not isinstance(root.base, mmap.mmap):
        return None
    # Only numpy.memmap says how it was opened; anything else is left alone.
    if getattr(root, "mode", None) not in ("r", "r+", "w+", "readwrite", "write", "readonly"):
        return None
    return root.base


class Reader:
    """Counts the bytes read from one array and releases its mapped pages now and
    then (see the module docstring); a no-op for arrays in memory."""

    def __init__(self, a: Any) -> None:
        self._map = mapping(a)
        self._pending = 0
        row = a.strides[0] if getattr(a, "ndim", 0) else 1
        #: bytes one randomly placed row may map: its pages and what a fault maps around
        self._row_touch = abs(int(row)) + max(FAULT_BYTES, _PAGE) if self._map is not None else 0

    def read(self, n_rows: int, contiguous: bool = True, row_bytes: int = 0) -> None:
        """Notes that ``n_rows`` rows were read (in one run or scattered)."""
        if self._map is None:
            return
        self._pending += n_rows * (row_bytes if contiguous else self._row_touch)
        if self._pending >= RELEASE_BYTES:
            self.release()

    def gather(self, a: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """``a[idx]`` for an index array ``idx`` (rows in its order; ``a`` the array
        this reader was made for).

        Rows of a mapped array are gathered in ascending order, in pieces that touch at
        most ``RELEASE_BYTES`` of the file counted in ``FAULT_BYTES`` regions, its pages
        released before a piece would take the mapped bytes above ``RELEASE_BYTES``: a
        scattered read of many rows never holds the pages of every row it read (one
        fault may map a whole 2 MiB region)."""
        idx = np.asarray(idx)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        n = a.shape[0] if a.ndim else 0
        if (
            self._map is None
            or idx.ndim != 1
            or idx.dtype.kind not in "iu"
            or len(idx) == 0
            or idx.min() < -n
            or idx.max() >= n
        ):
            return a[idx]  # in memory, or raises numpy's IndexError
        rows = np.where(idx < 0, idx.astype(np.int64) + n, idx).astype(np.int64)
        row = int(a.strides[0])
        extent = max(1, abs(row), a[0].nbytes if a.ndim > 1 else a.itemsize)
        start = a.__array_interface__["data"][0] + rows * row
        order = np.argsort(start, kind="stable")  # address order
        rows, start = rows[order], start[order]
        first, last = start // FAULT_BYTES, (start + extent - 1) // FAULT_BYTES
        # Regions each row brings that the row before it did not.
        new = (last - first + 1).astype(np.int64)
        new[1:] -= (first[1:] <= last[:-1]).astype(np.int64)
        cum = np.cumsum(new)
        per = max(1, RELEASE_BYTES // FAULT_BYTES)
        cuts = np.flatnonzero(np.diff((cum - 1) // per)) + 1
        out = np.empty((len(rows), *a.shape[1:]), a.dtype)
        done = 0
        for s, e in zip([0, *cuts.tolist()], [*cuts.tolist(), len(rows)], strict=True):
            touch = int(cum[e - 1] - done) * FAULT_BYTES
            if self._pending + touch > RELEASE_BYTES:
                self.release()
            out[order[s:e]] = a[rows[s:e]]
            self._pending += touch
            done = int(cum[e - 1])
        return out

    def release(self) -> None:
        if self._map is not None and not self._map.closed:
            self._map.madvise(mmap.MADV_DONTNEED)
        self._pending = 0


def release(a: Any) -> None:
    """Drops the mapped pages of ``a`` from the resident set (no-op in memory)."""
    Reader(a).release()


def is_batches(X: Any, y: Any) -> bool:
    """Whether ``fit(X, y)`` was given a stream of ``(X, y)`` batches: ``y`` omitted and
    ``X`` a callable or a non-array iterable (not a list of plain rows)."""
    if y is not None or isinstance(X, (str, bytes, np.ndarray)):
        return False
    if callable(X):
        return True
    if hasattr(X, "__array__") or hasattr(X, "__array_interface__"):
        return False
    return isinstance(X, (Iterator, Iterable)) and not isinstance(X, (list, tuple))


class Spooled:
    """The batches of a stream on disk: ``X`` (a read-only memory map of the
    concatenated inputs) and ``y`` (the labels, in memory). :meth:`close` (or leaving
    the ``with`` block) deletes the file."""

    def __init__(self, X: np.ndarray, y: np.ndarray, path: str) -> None:
        self.X, self.y, self.path = X, y, path

    def close(self) -> None:
        self.X = None  # type: ignore[assignment]
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> Spooled:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def spool(
    batches: Iterable[tuple[Any, Any]] | Callable[[], Iterable[tuple[Any, Any]]],
    name: str = "X",
    check: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Spooled:
    """Reads an iterable of ``(X, y)`` batches once (a callable is called once for
    it) and writes the inputs to a temporary file, batch by batch.

    Every batch must have the dtype and the per-example shape of the first.
    ``check(X_batch)`` may validate (and convert) each batch before it is written."""
    source = batches() if callable(batches) else batches
    fd, path = tempfile.mkstemp(prefix="snnconv-batches-", suffix=".bin")
    labels: list[np.ndarray] = []
    dtype, shape, n = None, None, 0
    try:
        with os.fdopen(fd, "wb") as fh:
            for i, item in enumerate(source):
                try:
                    xb, yb = item
                except (TypeError, ValueError):
                    raise DataTypeError(
                        f"{name}: a stream must yield (X, y) pairs; item {i} is "
                        f"{type(item).__name__}"
                    ) from None
                xb = np.asarray(xb) if check is None else check(np.asarray(xb))
                yb = np.asarray(yb).reshape(-1)
                if xb.ndim < 1 or xb.shape[0] != yb.shape[0]:
                    raise DataError(
                        f"{name}: batch {i} has {xb.shape[0] if xb.ndim else 0} inputs "
                        f"and {yb.shape[0]} labels"
                    )
                if dtype is None:
                    dtype, shape = xb.dtype, xb.shape[1:]
                elif xb.dtype != dtype or xb.shape[1:] != shape:
                    raise DataError(
                        f"{name}: batch {i} is {xb.dtype} {xb.shape[1:]}, the first was "
                        f"{dtype} {shape}; every batch must match the first"
                    )
                fh.write(np.ascontiguousarray(xb).tobytes())
                labels.append(yb)
                n += xb.shape[0]
        if n == 0 or dtype is None or shape is None:
            raise DataError(f"{name}: the stream of batches is empty")
        X = np.memmap(path, dtype=dtype, mode="r", shape=(n, *shape))
        if os.name == "posix":  # the open map keeps the data; nothing is left on disk
            os.unlink(path)
        return Spooled(X, np.concatenate(labels), path)
    except BaseException:
        if os.path.exists(path):
            os.unlink(path)
        raise


def scratch(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A writable memory map of ``shape`` on a temporary file that is already unlinked
    (POSIX), so nothing stays on disk whatever happens to the process."""
    fd, path = tempfile.mkstemp(prefix="snnconv-scratch-", suffix=".bin")
    os.close(fd)
    try:
        return np.memmap(path, dtype=dtype, mode="w+", shape=shape)
    finally:
        if os.name == "posix":
            os.unlink(path)


class MappedFile:
    """A picklable reference to a C-contiguous array mapped from a file: another
    process re-opens the file with :meth:`open` instead of receiving a copy."""

    def __init__(self, path: str, dtype: Any, offset: int, shape: tuple[int, ...]) -> None:
        self.path, self.dtype, self.offset, self.shape = path, dtype, offset, shape

    def open(self) -> np.ndarray:
        return np.memmap(self.path, np.dtype(self.dtype), "r", self.offset, self.shape)

    @classmethod
    def of(cls, a: Any) -> MappedFile | None:
        """The reference to ``a``, or None if it is not a read-only or shared map of a
        file that still exists (then it must travel as an array)."""
        root = a
        while isinstance(root, np.ndarray) and not isinstance(root, np.memmap):
            root = root.base
        while isinstance(getattr(root, "base", None), np.memmap):
            root = root.base
        if (
            mapping(a) is None
            or not isinstance(root, np.memmap)
            or not root.filename
            or not os.path.exists(root.filename)
            or not a.flags.c_contiguous
        ):
            return None
        start = root.offset + (a.ctypes.data - root.ctypes.data)
        # a structured dtype (event records) by its fields: its .str is only "|V<size>"
        dtype = a.dtype.descr if a.dtype.names else a.dtype.str
        return cls(str(root.filename), dtype, int(start), tuple(a.shape))


def take(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The rows ``idx`` of ``a``. In memory: ``a[idx]``. From a mapped file: a view
    when the rows are one consecutive run, else a copy in a temporary map filled a
    block at a time, so the rows never have to fit in memory."""
    idx = np.asarray(idx)
    if mapping(a) is None:
        return a[idx]
    if idx.size and np.array_equal(idx, np.arange(idx[0], idx[0] + idx.size)):
        return a[int(idx[0]) : int(idx[0]) + idx.size]
    out = scratch((idx.size, *a.shape[1:]), a.dtype)
    reader, writer = Reader(a), Reader(out)
    step = block_rows(a[0].nbytes if a.shape[0] else 1, BLOCK_BYTES)
    for s in range(0, idx.size, step):
        part = idx[s : s + step]
        out[s : s + part.size] = reader.gather(a, part)
        writer.read(part.size, True, out.strides[0])
    writer.release()
    return out
