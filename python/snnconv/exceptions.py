"""The exceptions snnconv raises, by kind.

Every kind is also a ``ValueError``, so code written against plain ``ValueError``
keeps working, except ``ResourceLimitError``, a ``MemoryError`` (docs/robustness.md);
catch ``SnnconvError`` for anything the package itself reports. Where Python's own
convention names another builtin (a wrong type, a missing file, an index out of
range), the error is a subclass that is that builtin too (``ParameterTypeError`` is a
``ParameterError`` and a ``TypeError``). Errors from the Rust
core arrive as these same classes. ``NotFittedError`` is also scikit-learn's
``sklearn.exceptions.NotFittedError`` (a ``ValueError`` and an ``AttributeError``),
so scikit-learn's own "not fitted" handling recognises it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

_LOCK = threading.Lock()

__all__ = [
    "DataError",
    "DataFileNotFoundError",
    "DataTypeError",
    "DivergenceError",
    "ModelFileError",
    "ModelFileNotFoundError",
    "NotFittedError",
    "ParameterError",
    "ParameterIndexError",
    "ParameterTypeError",
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


class ParameterTypeError(ParameterError, TypeError):
    """A parameter or argument of the wrong type (a string where a number belongs, ...).
    Also a ``TypeError``, as Python's own convention has it."""


class ParameterIndexError(ParameterError, IndexError):
    """An index argument (a frame number, a curve point) beyond what the data holds.
    Also an ``IndexError``."""


class DataTypeError(DataError, TypeError):
    """Input data of a type snnconv does not read (not an array, an unsupported dtype).
    Also a ``TypeError``."""


class _ByArgs:
    """Pickles as ``(class, args)``. The not-found kinds have two builtin bases
    (ValueError and OSError), which generic exception reducers that other libraries
    register (tblib, through dask) cannot rebuild."""

    args: tuple

    def __reduce__(self) -> tuple[type, tuple]:
        return type(self), self.args


class DataFileNotFoundError(_ByArgs, DataError, FileNotFoundError):
    """A data file or folder (IDX, CSV, frames, video) does not exist. Also a
    ``FileNotFoundError``."""


class ModelFileNotFoundError(_ByArgs, ModelFileError, FileNotFoundError):
    """The model file or folder given to ``load`` does not exist (or is a dangling
    link). Also a ``FileNotFoundError``."""


class DivergenceError(SnnconvError, ValueError):
    """Training diverged (non-finite loss or weights), typically from a learning rate
    far too large; the message names the epoch. The estimator is left unfitted."""


class ResourceLimitError(SnnconvError, MemoryError):
    """A size (number of kernels, image size, frames, time steps, neurons, ...) would
    make snnconv allocate more than its per-allocation budget, or overflows. The message
    names the parameter and the bytes it would need; see docs/robustness.md. A
    ``MemoryError``, not a ``ValueError``: the same call may fit with a larger budget
    (``SNNCONV_MAX_ALLOC_BYTES``)."""


if TYPE_CHECKING:
    from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

    class NotFittedError(SnnconvError, _SklearnNotFittedError):
        """The estimator is used before ``fit`` (or ``load``)."""


def __getattr__(name: str) -> Any:
    # NotFittedError derives from scikit-learn's, whose import costs about a second:
    # the class is created on first use, so importing snnconv.exceptions stays cheap.
    if name == "NotFittedError":
        from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

        with _LOCK:  # one class, even when two threads ask at once
            if name not in globals():

                class NotFittedError(SnnconvError, _SklearnNotFittedError):
                    """The estimator is used before ``fit`` (or ``load``)."""

                NotFittedError.__module__ = __name__
                NotFittedError.__qualname__ = name
                globals()[name] = NotFittedError
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
