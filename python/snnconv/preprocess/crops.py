"""Square object crops shrunk to a fixed raster (docs/algorithms.md §6).

The crop is the square of side S = ceil(max(w, h) × margin) centred on the box, with
pixels outside the image taken from the nearest edge ("edge padding"). It is shrunk
to R × R by max-pooling over a partition of the S rows (and columns) into R bins,
bin r covering [floor(r S / R), floor((r + 1) S / R)). Max-pooling keeps the thin
bright edges a difference heat map is made of. When S < R some bins are empty and
take the single pixel at floor(r S / R) instead (nearest-neighbour enlargement).
Finally values are scaled so the crop's maximum becomes 255 (an all-zero crop stays
zero) and rounded to uint8.
"""

from __future__ import annotations

import math

import numpy as np

from ..exceptions import DataError, ParameterError


def square_crop(image: np.ndarray, box: tuple[int, int, int, int], margin: float = 1.2):
    """The edge-padded square (S, S) crop around the half-open box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = (int(v) for v in box)
    w, h = x1 - x0, y1 - y0
    if w <= 0 or h <= 0:
        raise ParameterError(f"box: must have positive width and height, got {tuple(box)}")
    if not margin > 0:
        raise ParameterError(f"margin: must be > 0, got {margin!r}")
    side = max(1, math.ceil(max(w, h) * margin - 1e-9))
    left = math.floor((x0 + x1 - side) / 2)
    top = math.floor((y0 + y1 - side) / 2)
    rows = np.clip(np.arange(top, top + side), 0, image.shape[0] - 1)
    cols = np.clip(np.arange(left, left + side), 0, image.shape[1] - 1)
    return image[np.ix_(rows, cols)]


def max_pool_shrink(crop: np.ndarray, raster: int = 31) -> np.ndarray:
    """(S, S) → (raster, raster) by max over the bins described in the module doc."""
    if raster < 1:
        raise ParameterError(f"raster: must be >= 1, got {raster}")
    s_rows, s_cols = crop.shape
    r_starts = (np.arange(raster) * s_rows) // raster
    c_starts = (np.arange(raster) * s_cols) // raster
    # reduceat takes a[start] alone when the next start is not larger: empty bins.
    pooled = np.maximum.reduceat(crop, r_starts, axis=0)
    return np.maximum.reduceat(pooled, c_starts, axis=1)


def to_uint8(values: np.ndarray) -> np.ndarray:
    """Scales so the maximum becomes 255 (negative values are an error), rounds."""
    v = np.asarray(values, dtype=np.float64)
    top = float(v.max()) if v.size else 0.0
    if v.size and float(v.min()) < 0:
        raise DataError("values: must be >= 0 (heat maps and frames are non-negative)")
    if top <= 0:
        return np.zeros(v.shape, dtype=np.uint8)
    return np.rint(v * (255.0 / top)).astype(np.uint8)


def object_raster(
    image: np.ndarray, box: tuple[int, int, int, int], margin: float = 1.2, raster: int = 31
) -> np.ndarray:
    """Square crop → max-pool shrink → 0…255 uint8, for one box."""
    return to_uint8(max_pool_shrink(square_crop(image, box, margin), raster))
