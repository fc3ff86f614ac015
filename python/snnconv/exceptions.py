"""The exceptions snnconv raises, by kind.

Every kind is also a ``ValueError`` (and ``NotFittedError`` an ``AttributeError``, as
in scikit-learn), so code written against plain ``ValueError`` keeps working; catch
``SnnconvError`` for anything the package itself reports. Errors from the Rust core
arrive as these same classes.
"""

from __future__ import annotations

__all__ = [
    "DataError",
    "DivergenceError",
    "ModelFileError",
    "NotFittedError",
    "ParameterError",
    "SnnconvError",
]


class SnnconvError(Exception):
    """Base of every error snnconv reports on purpose."""


class ParameterError(SnnconvError, ValueError):
    """A hyperparameter or argument is outside its accepted range. The message starts
    with the parameter's name and says the range."""


class DataError(SnnconvError, ValueError):
    """Input data has the wrong shape, dtype or contents (NaN, negative counts, an
    image smaller than the kernel, ...)."""


class ModelFileError(SnnconvError, ValueError):
    """A saved model is missing, corrupt, of another kind or of an unknown format
    version. The message names the file and the field."""


class DivergenceError(SnnconvError, ValueError):
    """Training diverged (non-finite loss or weights), typically from a learning rate
    far too large; the message names the epoch. The estimator is left unfitted."""


class NotFittedError(SnnconvError, ValueError, AttributeError):
    """The estimator is used before ``fit`` (or ``load``)."""
