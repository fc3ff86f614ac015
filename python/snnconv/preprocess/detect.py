"""A simple detector for unannotated video: thresholded heat map → connected
components (Rust, ``rust/preprocess/components.rs``) → merged boxes.

A moving object with uniform inside shows in the heat map mostly as its leading and
trailing edges, which can fall apart into several components; boxes closer than
``merge_distance`` pixels are therefore merged (repeatedly, until none are).
"""

from __future__ import annotations

import numpy as np

from .. import _core
from ..exceptions import DataError, ParameterError


def merge_boxes(boxes: np.ndarray, distance: int) -> np.ndarray:
    """Unions of boxes (x0, y0, x1, y1) whose gap is at most ``distance`` pixels."""
    out = [list(map(int, b)) for b in boxes]
    merged = True
    while merged:
        merged = False
        i = 0
        while i < len(out):
            j = i + 1
            while j < len(out):
                a, b = out[i], out[j]
                gap_x = max(a[0], b[0]) - min(a[2], b[2])
                gap_y = max(a[1], b[1]) - min(a[3], b[3])
                if gap_x <= distance and gap_y <= distance:
                    out[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del out[j]
                    merged = True
                else:
                    j += 1
            i += 1
    return np.asarray(out, dtype=np.int64).reshape(-1, 4)


def detect_boxes(
    heat: np.ndarray,
    threshold: float = 6.0,
    min_area: int = 12,
    connectivity: int = 8,
    merge_distance: int = 6,
    ignore: np.ndarray | None = None,
) -> np.ndarray:
    """Boxes (x0, y0, x1, y1), half-open, of the moving regions of a heat map.

    ``threshold`` is in the heat map's unit (grey levels for uint8 frames); regions
    under ``ignore`` (e.g. DCR masks) are not foreground; components smaller than
    ``min_area`` pixels are dropped *before* merging, boxes after merging are sorted
    by (y0, x0).
    """
    if not np.isfinite(threshold) or threshold < 0:
        raise ParameterError(f"threshold: must be a finite number >= 0, got {threshold!r}")
    if merge_distance < 0:
        raise ParameterError(f"merge_distance: must be >= 0, got {merge_distance}")
    if min_area < 1:
        raise ParameterError(f"min_area: must be >= 1, got {min_area}")
    h = np.ascontiguousarray(heat, dtype=np.float32)
    if h.ndim != 2:
        raise DataError(f"heat: expected a 2-D map, got shape {h.shape}")
    mask = None if ignore is None else np.ascontiguousarray(ignore, dtype=bool)
    comps = _core.components(h, float(threshold), int(min_area), int(connectivity), mask)
    boxes = merge_boxes(comps[:, :4], int(merge_distance))
    order = np.lexsort((boxes[:, 0], boxes[:, 1]))
    return boxes[order]
