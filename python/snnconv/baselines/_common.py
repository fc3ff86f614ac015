"""Input checks shared by the baseline estimators."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._util.images import as_stack
from .._util.validation import check_int, check_n_threads, check_real  # noqa: F401 - re-exported


def brightness(images: Any, name: str = "images") -> np.ndarray:
    """A validated (N, H, W) stack as float64 brightness in [0, 1]."""
    stack = as_stack(images if not isinstance(images, (list, tuple)) else np.asarray(images), name)
    if stack is None:
        raise TypeError(f"{name}: expected a numpy array (N, H, W) of uint8 or floats in [0, 1]")
    if stack.dtype == np.uint8:
        return stack.astype(np.float64) / 255.0
    return stack


def labels(y: Any, n: int) -> np.ndarray:
    """Class labels as a 1-D array of length n (any sortable dtype, no NaN)."""
    if y is None:
        raise ValueError("y: labels are required (one per image)")
    a = np.asarray(y)
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError(f"y: expected a 1-D array of {n} labels, got shape {a.shape}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError("y: contains NaN or infinity")
    if a.dtype.kind not in "iubfUSO":
        raise TypeError(f"y: unsupported dtype {a.dtype}")
    return a


def check_common(est: Any) -> None:
    rs = est.random_state
    if isinstance(rs, bool) or not isinstance(rs, (int, np.integer)) or not 0 <= rs < 2**64:
        raise ValueError(f"random_state: must be an integer in [0, 2**64), got {rs!r}")
    check_n_threads(est.n_threads)
