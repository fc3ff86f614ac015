"""Row-parallel numpy: elementwise work on (N, ...) arrays split over threads.

numpy releases the GIL inside its ufuncs, so a few Python threads each working on a
block of rows keep several cores busy. Only row-wise work may go through here (every
output row depends on its input row alone): each row is then computed by the same
operations in the same order, and the result is bit-identical for any thread count.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Below this many rows per thread the pool costs more than it saves.
MIN_ROWS_PER_THREAD = 256


def row_threads(n_rows: int, n_threads: int | None) -> int:
    """Threads :func:`map_rows` uses for ``n_rows`` rows: an explicit count is honoured
    as the core honours it (it is already capped by check_n_threads), None means all
    cores, and no thread gets fewer than MIN_ROWS_PER_THREAD rows."""
    return min(n_threads or os.cpu_count() or 1, n_rows // MIN_ROWS_PER_THREAD)


def map_rows(
    fn: Callable[[np.ndarray], np.ndarray],
    a: np.ndarray,
    n_threads: int | None,
    pool: ThreadPoolExecutor | None = None,
) -> np.ndarray:
    """``fn(a)`` computed on contiguous blocks of rows of ``a`` in up to ``n_threads``
    threads (None: all cores), concatenated in order. ``fn`` must be row-wise.

    ``pool``: an executor with at least that many workers, for callers that map many
    times (a new one is started and joined otherwise)."""
    threads = row_threads(a.shape[0], n_threads)
    if threads <= 1:
        return fn(a)
    blocks = np.array_split(a, threads)
    if pool is not None:
        return np.concatenate(list(pool.map(fn, blocks)))
    with ThreadPoolExecutor(threads) as own:
        return np.concatenate(list(own.map(fn, blocks)))
