"""Loading datasets by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .idx import load_idx
from .sources import load_digits, load_fashion_mnist, load_mnist5k

_LOADERS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "mnist5k": load_mnist5k,
    "digits": load_digits,
    "fashion-mnist": load_fashion_mnist,
    "idx": load_idx,
}


def names() -> list[str]:
    """Names accepted by :func:`load`."""
    return sorted(_LOADERS)


def load(name: str, *args: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Images (uint8, N×H×W) and int64 labels of the dataset ``name``.

    Extra arguments go to the loader, e.g. ``load("fashion-mnist", split="test")`` or
    ``load("idx", images_path, labels_path)``.
    """
    try:
        loader = _LOADERS[name]
    except KeyError:
        raise ValueError(f"name: unknown dataset {name!r}; known: {names()}") from None
    return loader(*args, **kwargs)
