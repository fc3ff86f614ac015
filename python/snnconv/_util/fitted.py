"""The one "not fitted" check every estimator uses."""

from __future__ import annotations

from typing import Any

from ..exceptions import NotFittedError


def check_fitted(estimator: Any, attribute: str, call: str = "fit or load") -> None:
    """Raises :class:`~snnconv.exceptions.NotFittedError` unless ``estimator`` has
    ``attribute`` (set by ``fit`` or ``load``). ``call`` says what to call first."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"This {type(estimator).__name__} is not fitted yet; call {call} first"
        )
