"""Hyperparameter checks shared by every estimator: errors name the parameter and
say the accepted range. A value of the wrong type is a TypeError, one out of range a
ParameterError (a ValueError); nothing is silently clipped."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..exceptions import ParameterError, ParameterTypeError, ResourceLimitError

#: The largest integer parameter: sizes and counts are 64-bit in the core.
INT_MAX = 2**63 - 1

#: The largest number of passes over the data (a larger value is a run that never ends).
MAX_EPOCHS = 10_000

#: ``n_threads`` may be at most this many threads per available core (as the core's
#: ``crate::limits::THREADS_PER_CORE``; docs/robustness.md).
THREADS_PER_CORE = 4


def max_threads() -> int:
    """The largest accepted ``n_threads``: 4 x the cores this process may use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return THREADS_PER_CORE * max(cores, 1)


def check_n_threads(v: Any, name: str = "n_threads") -> int | None:
    """``v`` as None (all cores) or an int in [1, max_threads()]: a larger count would
    start that many threads for nothing (and a stored 2**63 would never finish)."""
    if v is None:
        return None
    return check_int(name, v, 1, max_threads())


def check_int(name: str, v: Any, lo: int, hi: int | None = None) -> int:
    """``v`` as an int in [lo, hi] (hi None: up to 2**63 - 1, the largest size the
    core takes; larger sizes are refused by its allocation budget anyway)."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ParameterTypeError(f"{name}: must be an integer, got {type(v).__name__} {v!r}")
    if v < lo or (hi is not None and v > hi) or v > INT_MAX:
        rng = f"in [{lo}, 2**63 - 1]" if hi is None else f"in [{lo}, {hi}]"
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
        raise ParameterTypeError(f"{name}: must be a number, got {type(v).__name__}")
    f = float(v)
    if math.isnan(f) or (math.isinf(f) and not allow_inf) or not ok(f):
        raise ParameterError(f"{name}: must be {rng}, got {v!r}")
    return f


def alloc_budget() -> int:
    """The per-allocation budget in bytes, from its one source, the core
    (``crate::limits::alloc_budget``): ``SNNCONV_MAX_ALLOC_BYTES`` if set, else the
    smallest of 16 GiB, half the memory the process may use (physical memory or the
    cgroup limit) and a quarter of ``RLIMIT_AS`` (docs/robustness.md)."""
    from .. import _core

    return int(_core.alloc_budget())


def check_alloc(name: str, shape: tuple[int, ...], itemsize: int) -> None:
    """Raises ResourceLimitError naming ``name`` if an array of ``shape`` and
    ``itemsize`` would exceed the allocation budget (for arrays numpy allocates)."""
    need = math.prod(max(int(d), 0) for d in shape) * int(itemsize)
    budget = alloc_budget()
    if need > budget:
        raise ResourceLimitError(
            f"{name}: would need {_gigabytes(need)} ({need} bytes) for an array of shape "
            f"{tuple(int(d) for d in shape)}, above the per-allocation budget of "
            f"{_gigabytes(budget)} (SNNCONV_MAX_ALLOC_BYTES)"
        )


def _gigabytes(n: int) -> str:
    """``n`` bytes in GB with one decimal; exact integer arithmetic, so a size beyond
    the float range (a product of huge dimensions) is written out too."""
    tenths = (n + 50_000_000) // 100_000_000
    return f"{tenths // 10}.{tenths % 10} GB"
