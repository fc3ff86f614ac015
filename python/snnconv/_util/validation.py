"""Hyperparameter checks shared by every estimator: errors name the parameter and
say the accepted range. A value of the wrong type is a TypeError, one out of range a
ParameterError (a ValueError); nothing is silently clipped."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..exceptions import ParameterError


def check_int(name: str, v: Any, lo: int, hi: int | None = None) -> int:
    """``v`` as an int in [lo, hi] (hi None: no upper bound)."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name}: must be an integer, got {type(v).__name__} {v!r}")
    if v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ParameterError(f"{name}: must be an integer {rng}, got {v!r}")
    return int(v)


def check_real(
    name: str,
    v: Any,
    ok: Callable[[float], bool],
    rng: str,
    allow_none: bool = False,
    allow_inf: bool = False,
) -> float | None:
    """``v`` as a float accepted by ``ok`` (described by ``rng``); NaN never passes,
    infinity only with ``allow_inf``."""
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name}: must be a number, got {type(v).__name__}")
    f = float(v)
    if math.isnan(f) or (math.isinf(f) and not allow_inf) or not ok(f):
        raise ParameterError(f"{name}: must be {rng}, got {v!r}")
    return f
