"""Track ids for annotation or detection boxes (NEOVISION2 CSVs carry none).

Greedy IoU linking, frame by frame: a box joins the track of the same label whose
last box (seen at most ``max_gap`` frames earlier) overlaps it most, if that IoU is
at least ``iou_min``; otherwise it starts a new track. Pairs are matched in
decreasing IoU, ties by track id then row order, so the result is deterministic.
Tracks let grouped cross-validation keep all crops of one object on one side.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import ParameterError


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of half-open boxes a (n, 4) and b (m, 4)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(1, -1, 4)
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def assign_tracks(
    frame: np.ndarray,
    boxes: np.ndarray,
    labels: np.ndarray,
    iou_min: float = 0.3,
    max_gap: int = 3,
) -> np.ndarray:
    """Track id (0, 1, … in order of first appearance) of every row."""
    if not 0 < iou_min <= 1:
        raise ParameterError(f"iou_min: must lie in (0, 1], got {iou_min!r}")
    if max_gap < 1:
        raise ParameterError(f"max_gap: must be >= 1, got {max_gap}")
    frame = np.asarray(frame, dtype=np.int64)
    boxes = np.asarray(boxes).reshape(-1, 4)
    labels = np.asarray(labels)
    out = np.full(len(frame), -1, dtype=np.int64)
    last_box: list[np.ndarray] = []
    last_frame: list[int] = []
    last_label: list[object] = []
    for t in np.unique(frame):
        rows = np.flatnonzero(frame == t)
        live = [k for k in range(len(last_frame)) if 0 < t - last_frame[k] <= max_gap]
        pairs = []
        if live:
            m = iou(boxes[rows], np.asarray([last_box[k] for k in live]))
            for i, r in enumerate(rows):
                for j, k in enumerate(live):
                    if m[i, j] >= iou_min and labels[r] == last_label[k]:
                        pairs.append((-m[i, j], k, r))
        pairs.sort()
        used_tracks: set[int] = set()
        for _, k, r in pairs:
            if out[r] >= 0 or k in used_tracks:
                continue
            out[r] = k
            used_tracks.add(k)
        for r in rows:
            if out[r] < 0:
                out[r] = len(last_frame)
                last_box.append(boxes[r])
                last_frame.append(int(t))
                last_label.append(labels[r])
            else:
                last_box[out[r]] = boxes[r]
                last_frame[out[r]] = int(t)
    return out
