"""Input checks shared by the baseline estimators."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._util.estimator import check_random_state_param
from .._util.images import as_stack
from .._util.validation import check_int, check_n_threads, check_real  # noqa: F401 - re-exported
from ..exceptions import DataTypeError


def brightness(images: Any, name: str = "images") -> np.ndarray:
    """A validated (N, H, W) stack as float64 brightness in [0, 1]."""
    stack = as_stack(images if not isinstance(images, (list, tuple)) else np.asarray(images), name)
    if stack is None:
        raise DataTypeError(
            f"{name}: expected a numpy array (N, H, W) of uint8 or floats in [0, 1]"
        )
    if stack.dtype == np.uint8:
        return stack.astype(np.float64) / 255.0
    return stack


def check_common(est: Any) -> None:
    check_random_state_param(est.random_state)
    check_n_threads(est.n_threads)
