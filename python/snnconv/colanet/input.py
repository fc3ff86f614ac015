"""Input side of the CoLaNET estimators: validating features and choosing the scale
at which they become spike counts (see ``_colanet_base`` for the encoding)."""

from __future__ import annotations

import math
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

import numpy as np

from .._util.rows import map_rows, row_threads
from .._util.validation import check_alloc
from ..exceptions import DataError, DataTypeError


def as_features(
    X: Any, n_features: int | None = None, signed: bool = False, name: str = "CoLaNET"
) -> np.ndarray:
    """Validated float64 (N, F) view of X; (N, C, P, Q) and other N-D inputs are flattened.

    ``signed``: negative values are allowed (the population code of ``population``
    turns them into non-negative inputs).

    Validation is scikit-learn's ``check_array`` (its messages: 1-D input, sparse,
    complex, NaN, no samples or features), then non-negativity and the feature count;
    ``name`` (the estimator) appears in the messages as scikit-learn words them."""
    if isinstance(X, (str, bytes)):
        raise DataTypeError("X: expected a numeric array of shape (N, F) or (N, ...)")
    if _plain(X):
        # What check_array would return unchanged; its first call in a process also
        # costs tens of milliseconds of imports, as much as fitting 100 images.
        a = X
    else:
        from sklearn.utils.validation import check_array

        try:
            a = check_array(X, dtype="numeric", allow_nd=True, input_name="X", estimator=name)
        except (TypeError, ValueError) as e:  # scikit-learn's plain errors, our kinds
            if isinstance(e, DataError):
                raise
            kind = DataTypeError if isinstance(e, TypeError) else DataError
            raise kind(f"X: {e}") from None
    if a.dtype == np.bool_:
        raise DataTypeError("X: dtype bool is not supported; use integer or float features")
    check_alloc("X", a.shape, 8)  # the float64 copy made below
    a = np.ascontiguousarray(a.reshape(a.shape[0], -1), dtype=np.float64)
    if a.shape[1] == 0:
        raise DataError(
            f"X: 0 feature(s) (shape={a.shape}) while a minimum of 1 is required by {name}."
        )
    if not signed and a.min() < 0:
        raise DataError(
            f"X: Negative values in data passed to {name}: features must be non-negative, "
            f"found {a.min()}"
        )
    if n_features is not None and a.shape[1] != n_features:
        raise DataError(
            f"X: X has {a.shape[1]} features, but {name} is expecting {n_features} "
            "features as input"
        )
    return a


def _plain(X: Any) -> bool:
    """Whether X is a numpy array that scikit-learn's ``check_array`` (numeric,
    N-D allowed) would pass through as it is: at least 2-D, integer or real, no empty
    axis, every value finite. Anything else takes ``check_array`` and its messages."""
    if type(X) is not np.ndarray or X.ndim < 2 or X.size == 0:
        return False
    if X.dtype.kind in "iu":
        return True
    return X.dtype.kind == "f" and bool(np.isfinite(X).all())


#: Examples that set the "match" scale (and the "auto" encoding's drive test).
MATCH_SAMPLE = 2000

#: Mean input spikes per example when ``target_spikes=None``, per input code. The rate
#: code keeps the drive of raw MNIST (937), which the defaults were tuned for. The
#: population code repeats few fields many times; at 937 about a quarter of the wine
#: test examples left every copy silent (no answer), and 2,000 was the drive that
#: held ≥ 96.9 % of a logistic regression on iris, wine, breast cancer and digits
#: (937: 93–99 %; docs/results.md, "CoLaNET on tabular features").
DRIVE = {"rate": 937.0, "population": 2000.0}


def drive(target_spikes: float | None, encoding: str) -> float:
    """``target_spikes``, or the default drive of ``encoding`` when it is None."""
    return DRIVE[encoding] if target_spikes is None else float(target_spikes)


def choose_encoding(lowest: float, sample: np.ndarray, t_p: int, target: float | None) -> str:
    """The input code ``encoding="auto"`` takes for a training batch whose smallest
    value is ``lowest`` and whose first examples are ``sample``:

    - ``"population"`` when a feature is negative (standardised, real-valued data:
      the rate code has no spike count for a value below 0), or when the rate code
      cannot send its drive (``target``; None: ``DRIVE["rate"]``) per example even
      with every non-zero feature saturated (a few features, as in tabular data: too
      few inputs to make an L neuron fire, so CoLaNET would never answer);
    - ``"rate"`` otherwise: many non-negative features, such as raw pixels, the input
      the defaults were tuned for (raw MNIST sends 937 spikes of a possible ~1,500).

    The drive is measured on the first MATCH_SAMPLE examples, as ``match_scale`` does."""
    if lowest < 0:
        return "population"
    spikes = t_p * float(np.count_nonzero(sample, axis=1).mean())
    return "rate" if spikes >= drive(target, "rate") else "population"


def match_scale(a: np.ndarray, t_p: int, target: float, n_threads: int | None = 1) -> float:
    """input_max at which the mean spikes per example of ``a`` is closest to ``target``.

    The mean count falls monotonically as the scale grows; bisect it on a log scale
    over (at most) MATCH_SAMPLE examples. If even full saturation of every non-zero
    feature cannot reach the target, the scale where everything saturates is returned
    (the most drive the data can give; ``encoding="auto"`` sends such data, which
    then also loses its values, to the population code instead).
    The per-example counts are summed row by row (over ``n_threads`` threads, the same
    sums in any case) before their mean.
    """
    sample = a[:MATCH_SAMPLE]
    threads = row_threads(sample.shape[0], n_threads)
    # One executor for the whole bisection (about 40 maps), not one per step.
    with ThreadPoolExecutor(threads) if threads > 1 else nullcontext() as pool:
        return _bisect_scale(sample, t_p, target, n_threads, pool)


def _bisect_scale(
    sample: np.ndarray,
    t_p: int,
    target: float,
    n_threads: int | None,
    pool: ThreadPoolExecutor | None,
) -> float:
    """The bisection of :func:`match_scale` over ``sample``."""
    top = float(sample.max())

    def spikes(scale: float) -> float:
        def rows(block: np.ndarray) -> np.ndarray:
            return np.floor(np.minimum(block * t_p / scale, t_p)).sum(axis=1)

        return float(map_rows(rows, sample, n_threads, pool).mean())

    if not top > 0:
        return 1.0  # all-zero features: no scale gives a spike
    # Kept inside the normal floats, so extreme features (1e-300, 1e300) neither
    # underflow the bisection to 0 nor overflow it to infinity.
    lo = max(top * 1e-9, sys.float_info.min)
    hi = min(top * 1e9, sys.float_info.max)  # spikes(lo) >= spikes(hi)
    if spikes(lo) <= target:
        return float(sample[sample > 0].min())
    for _ in range(100):
        mid = math.sqrt(lo * hi)
        if not 0 < mid < math.inf:  # lo * hi under- or overflowed
            mid = math.sqrt(lo) * math.sqrt(hi)
        if spikes(mid) > target:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1 + 1e-9:
            break
    return hi if abs(spikes(hi) - target) <= abs(spikes(lo) - target) else lo
