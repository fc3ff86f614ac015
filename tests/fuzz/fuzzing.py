"""The fuzz harness: strategies for hostile inputs and the classification of outcomes.

Every call runs in-process and ends in one of:

* a clean error: a ``snnconv.exceptions.SnnconvError``, ``ValueError``, ``TypeError``
  or ``MemoryError`` (``ResourceLimitError``) — OK;
* a result — OK if every float it holds is finite;
* ``RuntimeError("internal error ...")`` (a Rust panic caught by the binding), any
  other exception, or a non-finite output — FAIL;
* a hang — the watchdog (``faulthandler.dump_traceback_later``) kills the process
  after ``SNNCONV_FUZZ_TIMEOUT`` seconds with every thread's traceback (FAIL);
* an abort or a segfault kills the process (FAIL, seen by the runner).

The number of examples per entry point is ``SNNCONV_FUZZ_EXAMPLES`` (default 30, so the
whole suite stays well under a minute); see docs/robustness.md.
"""

from __future__ import annotations

import faulthandler
import math
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("SNNCONV_FUZZ_EXAMPLES", "30"))
TIMEOUT = float(os.environ.get("SNNCONV_FUZZ_TIMEOUT", "120"))
#: The allocation budget the fuzz tests run under (bytes): large enough for every
#: legitimate tiny case, small enough that "large but allowed" sizes stay cheap.
BUDGET = os.environ.get("SNNCONV_FUZZ_BUDGET", str(256 << 20))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 100,  # CI: the same examples on every run
    suppress_health_check=list(HealthCheck),
    database=None,
)

CLEAN = (ValueError, TypeError, MemoryError)


class Outcome:
    """Counts of outcomes per entry point, printed at the end of a long run."""

    counts: dict[str, dict[str, int]] = {}

    @classmethod
    def add(cls, entry: str, kind: str) -> None:
        d = cls.counts.setdefault(entry, {})
        d[kind] = d.get(kind, 0) + 1


def _finite(out: Any, where: str = "output") -> None:
    if isinstance(out, np.ndarray):
        if out.dtype.kind in "fc" and not np.isfinite(out).all():
            raise AssertionError(f"non-finite values in {where} {out.shape}")
    elif isinstance(out, dict):
        for k, v in out.items():
            _finite(v, f"{where}[{k!r}]")
    elif isinstance(out, (list, tuple)):
        for i, v in enumerate(out):
            _finite(v, f"{where}[{i}]")
    elif isinstance(out, float) and not math.isfinite(out):
        raise AssertionError(f"non-finite {where}: {out}")
    elif hasattr(out, "__dataclass_fields__"):
        for k in out.__dataclass_fields__:
            _finite(getattr(out, k), f"{where}.{k}")


def run(entry: str, call: Callable[[], Any]) -> Any:
    """Runs ``call`` under the watchdog; returns its result, or None after a clean
    error. Fails on a caught panic, another exception, or a non-finite output."""
    faulthandler.dump_traceback_later(TIMEOUT, exit=True, file=sys.stderr)
    try:
        out = call()
    except RuntimeError as e:
        Outcome.add(entry, "FAIL")
        raise AssertionError(f"{entry}: RuntimeError (a panic?) {e}") from e
    except CLEAN as e:
        Outcome.add(entry, type(e).__name__)
        return None
    finally:
        faulthandler.cancel_dump_traceback_later()
    _finite(out, entry)
    Outcome.add(entry, "ok")
    return out


def fitted_attrs(est: Any) -> dict[str, Any]:
    """The fitted float attributes of an estimator (``name_``), for the finiteness check."""
    out = {}
    for k, v in vars(est).items():
        if k.endswith("_") and not k.startswith("_") and isinstance(v, (np.ndarray, float)):
            out[k] = v
    return out


# ---------------------------------------------------------------------- strategies
HUGE_INTS = st.sampled_from([2**31, 2**32 + 1, 2**40, 2**62, 2**63 - 1, 2**63, 2**64, 10**30])


def ints(lo: int, hi: int, extra: Any = None) -> st.SearchStrategy[Any]:
    """Mostly valid small integers, sometimes huge, zero, negative, a float or junk."""
    parts = [
        st.integers(lo, hi),
        st.integers(lo, hi),
        st.integers(lo, hi),
        HUGE_INTS,
        st.integers(-(2**70), 2**70),
        st.sampled_from([0, -1, -(2**63)]),
        st.sampled_from([1.5, float("nan"), "3", None, True, np.int64(2), np.uint8(3)]),
    ]
    if extra is not None:
        parts.append(extra)
    return st.one_of(parts)


ODD_FLOATS = st.sampled_from(
    [0.0, -0.0, 1e-320, -1e-320, 1e-300, 1e150, -1e150, 1e308, -1e308,
     float("inf"), float("-inf"), float("nan"), "0.5", None, True]
)


def reals(lo: float, hi: float) -> st.SearchStrategy[Any]:
    """Mostly valid floats in [lo, hi], sometimes extreme, non-finite or junk."""
    return st.one_of(
        st.floats(lo, hi),
        st.floats(lo, hi),
        st.floats(lo, hi),
        ODD_FLOATS,
        st.floats(allow_nan=True, allow_infinity=True),
    )


N_THREADS = st.one_of(
    st.none(), st.none(), st.integers(1, 2), st.sampled_from([0, -3, 4, 1000, 2**63 - 1, 2**63, 2.0])
)

DTYPES = st.sampled_from(
    [np.uint8, np.uint8, np.float64, np.float64, np.float32, np.int64, np.uint16, bool, np.int8]
)


@st.composite
def image_stacks(draw: Any, min_side: int = 1, max_side: int = 14, ndim: int = 3) -> Any:
    """Image stacks: mostly (N, H, W) of small sizes in a plausible range, sometimes
    odd dtypes, NaN/inf, out-of-range values, empty or zero-sized huge dimensions,
    wrong dimensionality, lists or junk."""
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return draw(st.sampled_from([None, "images", 3, [], [[1, 2]], object()]))
    if kind == 1:  # zero-sized with a huge dimension: no memory, absurd shape
        shape = draw(st.sampled_from([(2**40, 0, 5), (0, 2**28, 2**28), (3, 0, 2**40), (2**45, 0, 0)]))
        shape = shape[:ndim] if ndim < 3 else shape
        return np.empty(shape, dtype=draw(DTYPES))
    if kind == 2:  # wrong number of dimensions
        d = draw(st.sampled_from([1, 2, 4]))
        return np.zeros((3,) * d, dtype=np.uint8)
    n = draw(st.integers(0 if kind == 3 else 1, 6))
    h = draw(st.integers(min_side, max_side))
    w = draw(st.integers(min_side, max_side))
    shape = (n, h, w) if ndim == 3 else (h, w)
    dtype = draw(DTYPES)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if np.dtype(dtype).kind == "f":
        a = rng.random(shape).astype(dtype)
        if kind == 4:
            a.flat[draw(st.integers(0, max(a.size - 1, 0)))] = draw(
                st.sampled_from([np.nan, np.inf, -np.inf, -1.0, 2.0, 255.0])
            ) if a.size else 0
        if kind == 5:
            a *= 255
    elif np.dtype(dtype).kind == "b":
        a = rng.random(shape) > 0.5
    else:
        info = np.iinfo(dtype)
        a = rng.integers(max(info.min, -300), min(info.max, 300), size=shape, endpoint=True).astype(dtype)
    if kind == 6 and a.ndim >= 2:
        a = a[..., ::2]  # not contiguous
    if kind == 7:
        a = a.tolist()
    return a


def digit_like(n: int = 8, side: int = 12, seed: int = 0) -> np.ndarray:
    """Small uint8 images with bright strokes, so the learners have something to learn."""
    rng = np.random.default_rng(seed)
    a = (rng.random((n, side, side)) ** 4 * 255).astype(np.uint8)
    a[:, side // 3 : side // 3 + 2, 2:-2] = 230
    return a
