"""Reading and rewriting snnconv model files (npz + JSON) in tests that edit them: the
checksum record is recomputed on write, as a tamperer who knows the format would, so
only the loader's schema, range and consistency checks can catch an edit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from snnconv._util import persistence

META = persistence._META_KEY


def read(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metadata and the arrays of a model file."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {n: z[n] for n in z.files}
    return json.loads(arrays.pop(META).tobytes().decode()), arrays


def write(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Writes ``meta`` and ``arrays`` as a model file with a matching checksum record."""
    meta["arrays"] = {
        n: {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": persistence.sha256_array(a)}
        for n, a in arrays.items()
    }
    with open(path, "wb") as fh:
        np.savez(fh, **{META: np.frombuffer(json.dumps(meta).encode(), np.uint8)}, **arrays)
