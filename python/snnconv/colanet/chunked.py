"""Chunked encoding: CoLaNET's inputs read, validated and encoded a block of rows at a time.

A CoLaNET fit needs three things from its features (docs/algorithms.md §3.2):

1. statistics of the training set: the population code's centres (per-feature
   quantiles over every training example), the ``"max"`` scale (the largest encoded
   value) and the ``"match"`` scale (a bisection over the first ``MATCH_SAMPLE``
   examples);
2. the spike counts of each example, in the seeded shuffled order, when the copies
   learn it;
3. at inference, the counts of each example once.

None of these needs the float64 features, their population responses or their
counts for the whole set at once, which is what used to make a fit hold 30–45 KB per
training image. :class:`Features` keeps the caller's array as it is (a numpy array or
a memory map, any integer or real dtype, never copied whole) and converts a block of
rows to float64 when it is needed; the encodings run block by block.

Results are bit-identical to encoding the whole array at once, for any block size and
thread count: every step is row-wise (each row's counts come from the same operations
on the same values), quantiles are exact per feature (each column's quantile is
computed over all rows, a few columns per pass; ``np.quantile`` of one column does not
depend on the others), and maxima do not depend on the order they are taken in.

The encoding stays in numpy (row blocks over threads, ``_util.rows``) rather than in
the core: its ``exp`` must be numpy's for the models to stay what they were, and a
block of a few thousand rows already keeps both cores busy.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np

from .._util.blocks import BLOCK_BYTES, Reader, block_rows
from .._util.rows import map_rows, row_threads
from ..exceptions import DataError
from .input import as_features

#: Bytes of float64 columns gathered per pass when fitting the population code's
#: quantiles (a pass reads every row; wider passes mean fewer of them).
COLUMN_BYTES = 64 << 20


class Features:
    """Validated (N, F) features of CoLaNET, converted to float64 a block at a time.

    A numpy array (or ``numpy.memmap``) of an integer or real dtype is kept as the
    caller's array, flattened to (N, F) as a view where its layout allows; it is
    validated block by block (finite; non-negative unless ``signed``). Anything else
    (lists, DataFrames, tensors) goes through :func:`~snnconv.colanet.input.as_features`,
    which converts it whole, as it lives in memory anyway.
    """

    def __init__(
        self, X: Any, n_features: int | None = None, signed: bool = False, name: str = "CoLaNET"
    ) -> None:
        if _lazy(X):
            a = X.reshape(X.shape[0], -1)
            if a.shape[1] == 0:
                raise DataError(
                    f"X: 0 feature(s) (shape={a.shape}) while a minimum of 1 is required by {name}."
                )
            self.a = a
            self._reader = Reader(a)
            self._validate(signed, name)
        else:
            self.a = as_features(X, None, signed, name)
            self._reader = Reader(self.a)
        if n_features is not None and self.a.shape[1] != n_features:
            raise DataError(
                f"X: X has {self.a.shape[1]} features, but {name} is expecting {n_features} "
                "features as input"
            )

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.a.shape[0]), int(self.a.shape[1]))

    def __len__(self) -> int:
        return int(self.a.shape[0])

    def block(self, n_columns: int | None = None) -> int:
        """Rows per block for rows of ``n_columns`` float64 values (default: F)."""
        return block_rows(8 * (n_columns or self.a.shape[1]), BLOCK_BYTES)

    def rows(self, idx: slice | np.ndarray) -> np.ndarray:
        """The rows ``idx`` (a slice or an index array, in its order) as C-contiguous
        float64 (N_b, F)."""
        if isinstance(idx, slice):
            part = self.a[idx]
            self._reader.read(part.shape[0], True, part.strides[0])
        else:
            part = self._reader.gather(self.a, idx)
        return np.ascontiguousarray(part, dtype=np.float64)

    def slices(self, rows: int | None = None) -> Iterator[slice]:
        n, step = len(self), rows or self.block()
        for s in range(0, n, step):
            yield slice(s, min(s + step, n))

    def columns(self, j0: int, j1: int) -> np.ndarray:
        """Features j0 … j1−1 of every row as float64 (N, j1 − j0), read by row blocks."""
        if self.a.dtype == np.float64 and self._reader._map is None:
            return self.a[:, j0:j1]
        out = np.empty((len(self), j1 - j0), np.float64)
        for s in self.slices():
            out[s] = self.a[s, j0:j1]
            self._reader.read(s.stop - s.start, True, self.a.strides[0])
        return out

    def _validate(self, signed: bool, name: str) -> None:
        a = self.a
        if a.dtype.kind == "u":
            return
        lo = None
        for s in self.slices(block_rows(a.strides[0], BLOCK_BYTES)):
            part = a[s]
            if a.dtype.kind == "f" and not np.isfinite(part).all():
                as_features(part, None, signed, name)  # raises scikit-learn's message
            if not signed:
                m = part.min()
                lo = m if lo is None or m < lo else lo
            self._reader.read(s.stop - s.start, True, a.strides[0])
        if lo is not None and lo < 0:
            raise DataError(
                f"X: Negative values in data passed to {name}: features must be non-negative, "
                f"found {np.float64(lo)}"
            )


def _lazy(X: Any) -> bool:
    """An array that can be read a block at a time as it is."""
    return (
        isinstance(X, np.ndarray)
        and X.ndim >= 2
        and X.size > 0
        and X.dtype.kind in "iuf"
        and X.dtype.itemsize <= 8
    )


def quantiles(feats: Features, q: np.ndarray) -> np.ndarray:
    """``np.quantile(X, q, axis=0).T`` (F, len(q)) of the float64 features, computed a
    few columns at a time (each column's quantiles are those of the whole array)."""
    n, f = feats.shape
    step = max(1, COLUMN_BYTES // (8 * max(n, 1)))
    out = np.empty((f, q.size), np.float64)
    for j in range(0, f, step):
        out[j : j + step] = np.quantile(feats.columns(j, min(j + step, f)), q, axis=0).T
    return out


def maximum(feats: Features, fn: Callable[[np.ndarray], np.ndarray] | None = None) -> float:
    """The largest value of ``fn(rows)`` (default: the features) over every row."""
    top = -np.inf
    for s in feats.slices():
        block = feats.rows(s)
        top = max(top, float((block if fn is None else fn(block)).max()))
    return top


@contextmanager
def row_pool(rows: int, n_threads: int | None) -> Iterator[ThreadPoolExecutor | None]:
    """One executor for the blocks of a pass (``map_rows`` would start one per block)."""
    threads = row_threads(rows, n_threads)
    if threads <= 1:
        yield None
        return
    with ThreadPoolExecutor(threads) as pool:
        yield pool


def encoded(
    feats: Features,
    encode_rows: Callable[[np.ndarray], np.ndarray],
    n_inputs: int,
    bounds: list[int],
    order: np.ndarray | None,
    n_threads: int | None,
) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(s, e, counts)`` for each pair of consecutive ``bounds``: the encoded rows
    ``order[s:e]`` (all rows in order when ``order`` is None), C-contiguous uint8.

    Rows are read and encoded a block at a time (about ``BLOCK_BYTES`` of float64
    model inputs; a block always ends on a bound), then handed out pair by pair."""
    rows = block_rows(8 * max(n_inputs, feats.shape[1]), BLOCK_BYTES)
    with row_pool(rows, n_threads) as pool:
        i = 0
        while i < len(bounds) - 1:
            start = bounds[i]
            # The last bound within one block of rows (at least the next one).
            j = max(i + 1, bisect.bisect_right(bounds, start + rows) - 1)
            stop = bounds[j]
            idx: slice | np.ndarray = slice(start, stop) if order is None else order[start:stop]
            block = feats.rows(idx)
            counts = map_rows(encode_rows, block, n_threads, pool)
            for k in range(i, j):
                s, e = bounds[k], bounds[k + 1]
                yield s, e, counts[s - start : e - start]
            i = j
