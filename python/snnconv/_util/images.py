"""Image inputs: numpy stacks or streams of 2-D frames, validated once.

Accepted forms (docs/algorithms.md §1): a uint8 array (brightness = value / 255), a float array
already in [0, 1], each of shape (N, H, W); or any iterable of 2-D arrays of those
dtypes (frames may differ in size, and are read one at a time).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from .. import _core

#: Pixels handed to the core per call: large enough to amortise the call, small
#: enough that Ctrl-C and the progress bar respond within a fraction of a second.
CHUNK_PIXELS = 1 << 20


def as_stack(images: Any, name: str = "images") -> np.ndarray | None:
    """The input as a validated (N, H, W) uint8/float64 array, or None for streams."""
    if isinstance(images, np.ndarray):
        if images.ndim != 3:
            raise ValueError(
                f"{name}: expected a 3-D array (N, H, W), got {images.ndim}-D shape "
                f"{images.shape}; for one image use images[None]"
            )
        if images.shape[0] == 0:
            raise ValueError(f"{name}: empty input (0 images)")
        return _as_core_dtype(images, name)
    if isinstance(images, (str, bytes)) or not isinstance(images, Iterable):
        raise TypeError(f"{name}: expected a numpy array (N, H, W) or an iterable of 2-D arrays")
    return None


def _as_core_dtype(a: np.ndarray, name: str) -> np.ndarray:
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if np.issubdtype(a.dtype, np.floating):
        out = np.ascontiguousarray(a, dtype=np.float64)
        if not np.isfinite(out).all():
            raise ValueError(f"{name}: contains NaN or infinity")
        lo, hi = float(out.min()), float(out.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"{name}: float brightness must lie in [0, 1], found range [{lo}, {hi}]; "
                "pass uint8 (0..255) or scale floats to [0, 1]"
            )
        return out
    raise TypeError(
        f"{name}: dtype {a.dtype} is not supported; use uint8 (0..255) or float in [0, 1]"
    )


def frames(images: Iterable[Any], name: str = "images") -> Iterator[np.ndarray]:
    """Yields each frame of a stream as a validated (1, H, W) array."""
    n = 0
    for f in images:
        a = np.asarray(f)
        if a.ndim != 2:
            raise ValueError(f"{name}: frame {n} must be 2-D (H, W), got shape {a.shape}")
        n += 1
        yield _as_core_dtype(a[None], f"{name}[{n - 1}]")
    if n == 0:
        raise ValueError(f"{name}: empty input (0 images)")


def chunks(stack: np.ndarray, order: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """Index arrays covering ``order`` (default: all images) in bounded-size chunks."""
    n = stack.shape[0]
    order = np.arange(n, dtype=np.uint64) if order is None else order
    per = max(1, CHUNK_PIXELS // max(1, stack.shape[1] * stack.shape[2]))
    for start in range(0, len(order), per):
        yield order[start : start + per]


def normalise_brightness(
    batch: np.ndarray, saturation_quantile: float | None, n_threads: int | None
) -> np.ndarray:
    """Brightness in [0, 1] plus the per-image saturation rule, as float64."""
    return _core.normalise_brightness(batch, saturation_quantile, n_threads)
