"""The scikit-learn base every public estimator derives from, and the conventions the
estimators share with scikit-learn: ``random_state`` semantics, classification
targets, input tags, and pickling through the model-file state.

Importing this module imports scikit-learn (about a second); ``import snnconv`` defers
it until an estimator class is first used.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import type_of_target

from ..exceptions import DataError, ParameterError
from .params import ParamsMixin

#: Exclusive upper bound of the seeds drawn for ``random_state`` None / RandomState /
#: Generator (the cores take a u64; 2**63 keeps it a positive int64 too).
_SEED_BOUND = 2**63


class SnnconvEstimator(BaseEstimator):
    """``BaseEstimator`` with a compact repr: array parameters (kernels, resources) are
    shown by shape and dtype instead of flooding the screen."""

    __repr__ = ParamsMixin.__repr__  # type: ignore[assignment]
    #: parameters in signature order, as the repr shows them
    _param_names = classmethod(ParamsMixin._param_names.__func__)  # type: ignore[attr-defined]


def image_input_tags(tags: Any) -> Any:
    """Tags of an estimator whose X is a stack of images (N, H, W) of brightness
    (uint8 0..255 or floats in [0, 1]): not a 2-D feature matrix, never negative.
    scikit-learn's common checks feed 2-D data and skip such estimators."""
    tags.input_tags.two_d_array = False
    tags.input_tags.three_d_array = True
    tags.input_tags.positive_only = True
    return tags


# ---------------------------------------------------------------------- random_state
def check_random_state_param(value: Any, name: str = "random_state") -> None:
    """Accepts what :func:`sklearn.utils.check_random_state` accepts, plus a numpy
    ``Generator``: None, a non-negative int, a ``RandomState`` or a ``Generator``."""
    if value is None or isinstance(value, (np.random.RandomState, np.random.Generator)):
        return
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ParameterError(
            f"{name}: must be None, a non-negative integer, a numpy RandomState or "
            f"Generator, got {type(value).__name__} {value!r}"
        )
    if not 0 <= int(value) < 2**64:
        raise ParameterError(f"{name}: an integer seed must be in [0, 2**64), got {value!r}")


def seed_from(value: Any, name: str = "random_state") -> int:
    """The core's u64 seed for ``random_state``: an int is used unchanged (so results
    stay exactly those of that seed); None (numpy's global RandomState), a
    ``RandomState`` or a ``Generator`` give one seed drawn from them, once per fit."""
    check_random_state_param(value, name)
    if value is None:
        value = np.random.mtrand._rand
    if isinstance(value, np.random.RandomState):
        return int(value.randint(0, _SEED_BOUND, dtype=np.int64))
    if isinstance(value, np.random.Generator):
        return int(value.integers(0, _SEED_BOUND))
    return int(value)


# ---------------------------------------------------------------------- targets
def classification_targets(y: Any, n: int, min_classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, y_index)`` for labels of any type, as ``LabelEncoder`` does:
    ``classes`` sorted, ``y_index`` in 0..K-1 for the core.

    A column vector (n, 1) is accepted with a ``DataConversionWarning``; continuous or
    multi-output targets and fewer than ``min_classes`` classes are :class:`DataError`.
    """
    if y is None:
        raise DataError("y: this estimator requires y to be passed, but the target y is None")
    a = np.asarray(y)
    if a.ndim == 2 and a.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change "
            "the shape of y to (n_samples, ), for example using ravel().",
            DataConversionWarning,
            stacklevel=3,
        )
        a = a.ravel()
    if a.dtype.kind not in "iubfUSO":
        raise DataError(f"y: unsupported label dtype {a.dtype}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise DataError("y: contains NaN or infinity")
    if a.ndim == 1 and a.dtype.kind in "iu":
        # Integer labels in one axis are always class labels (what type_of_target
        # says of them, without its first call's imports: tens of milliseconds).
        kind = "multiclass"
    else:
        kind = type_of_target(a, input_name="y") if a.ndim in (1, 2) else "unknown"
    if kind not in ("binary", "multiclass"):
        raise DataError(
            f"y: Unknown label type: {kind!r}; a classifier needs one class label per "
            "sample (integers, strings, ...), not continuous or multi-output targets"
        )
    if a.ndim != 1 or a.shape[0] != n:
        raise DataError(f"y: expected a 1-D array of {n} labels, got shape {a.shape}")
    classes, index = np.unique(a, return_inverse=True)
    if classes.size < min_classes:
        raise DataError(
            f"y: a classifier needs samples of at least 2 classes, got 1 class ({classes[0]!r})"
        )
    return classes, index.reshape(-1)


# ---------------------------------------------------------------------- pickling
class CoreStateMixin:
    """Pickling (``pickle``, ``copy.deepcopy``, ``joblib``) of an estimator holding a
    Rust core object: the state carries the arrays and metadata of the model file
    (``_export()``, what ``save`` writes) instead of the core, and ``__setstate__``
    rebuilds the core from them (``_from_export``, what ``load`` uses). A copy
    predicts bit-identically, in this process or another."""

    _CORE_ATTR = "_core"

    def _export(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        raise NotImplementedError

    @classmethod
    def _from_export(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], source: str) -> Any:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()  # type: ignore[misc]
        if state is self.__dict__:
            state = dict(state)
        if self._CORE_ATTR in state:
            del state[self._CORE_ATTR]
            state["_snnconv_model"] = self._export()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        model = state.pop("_snnconv_model", None)
        super().__setstate__(state)  # type: ignore[misc]
        if model is not None:
            meta, arrays = model
            rebuilt = type(self)._from_export(meta, arrays, f"pickled {type(self).__name__}")
            setattr(self, self._CORE_ATTR, getattr(rebuilt, self._CORE_ATTR))
