"""Loading datasets by name."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .sources import load_digits, load_mnist5k

_LOADERS: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
    "mnist5k": load_mnist5k,
    "digits": load_digits,
}


def names() -> list[str]:
    """Names accepted by :func:`load`."""
    return sorted(_LOADERS)


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (uint8, N×H×W) and integer labels of the dataset ``name``."""
    try:
        loader = _LOADERS[name]
    except KeyError:
        raise ValueError(f"name: unknown dataset {name!r}; known: {names()}") from None
    return loader()
