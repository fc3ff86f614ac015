"""The exceptions snnconv raises, by kind.

Every kind is also a ``ValueError`` (and ``NotFittedError`` an ``AttributeError``, as
in scikit-learn), so code written against plain ``ValueError`` keeps working, except
``ResourceLimitError``, a ``MemoryError`` (docs/robustness.md); catch
``SnnconvError`` for anything the package itself reports. Errors from the Rust core
arrive as these same classes.
"""

from __future__ import annotations

__all__ = [
    "DataError",
    "ModelFileError",
    "NotFittedError",
    "ParameterError",
    "ResourceLimitError",
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


class ResourceLimitError(SnnconvError, MemoryError):
    """A size (number of kernels, image size, frames, time steps, neurons, ...) would
    make snnconv allocate more than its per-allocation budget, or overflows. The message
    names the parameter and the bytes it would need; see docs/robustness.md. A
    ``MemoryError``, not a ``ValueError``: the same call may fit with a larger budget
    (``SNNCONV_MAX_ALLOC_BYTES``)."""


class NotFittedError(SnnconvError, ValueError, AttributeError):
    """The estimator is used before ``fit`` (or ``load``)."""
