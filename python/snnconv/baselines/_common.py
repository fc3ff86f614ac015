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


class BrightnessRows:
    """The brightness of a validated stack as (N, H·W) float64 rows, computed for the
    rows asked for (``rows[idx]``): the same values as :func:`brightness`, without
    a float64 copy of the whole stack (a memory map's pages are released as read)."""

    def __init__(self, images: Any, name: str = "images") -> None:
        from .._util.blocks import Reader

        arg = images if not isinstance(images, (list, tuple)) else np.asarray(images)
        stack = as_stack(arg, name)
        if stack is None:
            raise DataTypeError(
                f"{name}: expected a numpy array (N, H, W) of uint8 or floats in [0, 1]"
            )
        self.stack, self.image_shape = stack, tuple(int(s) for s in stack.shape[1:])
        self.shape = (int(stack.shape[0]), int(np.prod(self.image_shape)))
        self._reader = Reader(stack)

    def __getitem__(self, idx: Any) -> np.ndarray:
        if isinstance(idx, slice):
            part = self.stack[idx]
            self._reader.read(part.shape[0], True, self.stack.strides[0])
        else:
            part = self._reader.gather(self.stack, np.asarray(idx))
        out = part.astype(np.float64) / 255.0 if part.dtype == np.uint8 else np.array(part)
        return out.reshape(out.shape[0], -1)


def check_common(est: Any) -> None:
    check_random_state_param(est.random_state)
    check_n_threads(est.n_threads)
