"""Object extraction from NEOVISION2 clips into an :class:`ObjectArray` (docs/algorithms.md §6).

Two ways to find objects:

- :func:`extract_objects` — from the annotation boxes (training data). Rows are
  kept when their class is in ``classes``, the clipped box is at least ``min_size``
  pixels on both sides and (optionally) not Ambiguous / Occluded; tracks are linked
  by IoU (:mod:`.tracks`) and ``every=k`` keeps every k-th crop of each track.
- :func:`detect_objects` — for unannotated footage: the heat-map detector
  (:mod:`.detect`), DCR regions of the CSV (if any) ignored; labels are −1.

Crops come from the difference heat map (``source="heat"``, the presentation's
input) or from the grey frame (``source="frame"``). The heat map has no difference
at frame 0, so with ``source="heat"`` objects of frame 0 are skipped and counted
under ``info["skipped"]["first_frame"]``. Frames are streamed one at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .._util.progress import progress_bar
from ..datasets.frames import FrameFolder
from ..datasets.neovision2 import TOWER_CLASSES, Clip
from ..exceptions import DataError, ParameterError
from .crops import object_raster
from .detect import detect_boxes
from .heatmap import DifferenceHeatMap
from .object_array import ObjectArray
from .tracks import assign_tracks

_SOURCES = ("heat", "frame")


def _check(source: str, margin: float, raster: int, every: int, min_size: int) -> None:
    if source not in _SOURCES:
        raise ParameterError(f"source: must be one of {_SOURCES}, got {source!r}")
    if not (isinstance(margin, (int, float)) and 0 < margin < np.inf):
        raise ParameterError(f"margin: must be a finite number > 0, got {margin!r}")
    if not (isinstance(raster, (int, np.integer)) and raster >= 1):
        raise ParameterError(f"raster: must be an integer >= 1, got {raster!r}")
    if not (isinstance(every, (int, np.integer)) and every >= 1):
        raise ParameterError(f"every: must be an integer >= 1, got {every!r}")
    if not (isinstance(min_size, (int, np.integer)) and min_size >= 1):
        raise ParameterError(f"min_size: must be an integer >= 1, got {min_size!r}")


def _images(
    clip: Clip, last: int, needed: set[int], heat: DifferenceHeatMap | None
) -> Iterator[tuple[int, np.ndarray]]:
    """(t, image) for the frames up to ``last``: the heat map after frame t when
    ``heat`` is given (every frame is needed for it), else the grey frame t of each
    ``needed`` t (a frame folder reads just those)."""
    if last < 0:
        return
    if last >= len(clip):
        raise DataError(
            f"{clip.csv_path}: annotations reach frame {last}, the clip has {len(clip)} frames"
        )
    if heat is None and isinstance(clip.frames, FrameFolder):
        for t in sorted(needed):
            yield t, clip.frame(t)
        return
    if heat is not None:
        heat.reset()
    for t, frame in enumerate(clip):
        if heat is not None:
            yield t, heat.update(frame)
        elif t in needed:
            yield t, frame
        if t >= last:
            return


def _subsample(track: np.ndarray, frame: np.ndarray, every: int) -> np.ndarray:
    """Mask keeping the 0th, k-th, 2k-th … row of each track in frame order."""
    order = np.lexsort((frame, track))
    rank = np.zeros(len(track), dtype=np.int64)
    prev, r = None, 0
    for i in order:
        r = r + 1 if track[i] == prev else 0
        prev = track[i]
        rank[i] = r
    return rank % every == 0


def _assemble(
    images: list[np.ndarray],
    rows: list[dict[str, np.ndarray]],
    raster: int,
    classes: tuple[str, ...],
    clips: Sequence[Clip],
    info: dict[str, Any],
) -> ObjectArray:
    def cat(key: str, width: int | None = None) -> np.ndarray:
        parts = [r[key] for r in rows]
        shape = (0, width) if width else (0,)
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(shape, np.int64)

    return ObjectArray(
        images=np.stack(images) if images else np.zeros((0, raster, raster), np.uint8),
        labels=cat("label"),
        classes=classes,
        clip=cat("clip"),
        track=cat("track"),
        frame=cat("frame"),
        boxes=cat("boxes", 4).reshape(-1, 4),
        clip_names=tuple(c.name for c in clips),
        info=info,
    )


def extract_objects(
    clips: Sequence[Clip],
    *,
    source: str = "heat",
    classes: Sequence[str] = TOWER_CLASSES,
    margin: float = 1.2,
    raster: int = 31,
    n_frames: float = 3.0,
    every: int = 1,
    min_size: int = 1,
    skip_ambiguous: bool = False,
    skip_occluded: bool = False,
    iou_min: float = 0.3,
    max_gap: int = 3,
    n_threads: int | None = None,
    progress: bool = False,
) -> ObjectArray:
    """The object array of the annotated objects of ``clips`` (see the module doc)."""
    _check(source, margin, raster, every, min_size)
    classes = tuple(classes)
    if not classes or len(set(classes)) != len(classes):
        raise ParameterError(f"classes: must be a non-empty list of distinct names, got {classes}")
    skipped: dict[str, int] = defaultdict(int)
    rows_per_clip: list[dict[str, np.ndarray]] = []
    next_track = 0
    for clip in clips:
        ann = clip.annotations.objects()
        skipped["empty_type"] += ann.skipped_empty
        h, w = clip.frame_size
        boxes = ann.boxes(w, h)
        size_ok = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) >= min_size
        known = np.isin(ann.object_type, classes)
        keep = size_ok & known
        skipped["outside_or_small"] += int((~size_ok).sum())
        skipped["other_class"] += int((size_ok & ~known).sum())
        if skip_ambiguous:
            skipped["ambiguous"] += int((keep & ann.ambiguous).sum())
            keep &= ~ann.ambiguous
        if skip_occluded:
            skipped["occluded"] += int((keep & ann.occlusion).sum())
            keep &= ~ann.occlusion
        label = np.array([classes.index(c) for c in ann.object_type[keep]], dtype=np.int64)
        frame, bx = ann.frame[keep], boxes[keep]
        track = assign_tracks(frame, bx, label, iou_min, max_gap) + next_track
        next_track = int(track.max()) + 1 if len(track) else next_track
        sel = _subsample(track, frame, every)
        skipped["subsampled"] += int((~sel).sum())
        if source == "heat":
            first = frame == 0
            skipped["first_frame"] += int((sel & first).sum())
            sel &= ~first
        rows_per_clip.append(
            {"frame": frame[sel], "boxes": bx[sel], "label": label[sel], "track": track[sel]}
        )
    heat = DifferenceHeatMap(n_frames=n_frames, n_threads=n_threads) if source == "heat" else None
    total = sum(
        (int(r["frame"].max()) + 1 if heat else len(np.unique(r["frame"])))
        if len(r["frame"])
        else 0
        for r in rows_per_clip
    )
    images: list[np.ndarray] = []
    with progress_bar(progress, total, "frames", unit="frame") as bar:
        for ci, (clip, rows) in enumerate(zip(clips, rows_per_clip, strict=True)):
            rows["clip"] = np.full(len(rows["frame"]), ci, dtype=np.int64)
            by_frame: dict[int, list[int]] = defaultdict(list)
            for i, t in enumerate(rows["frame"].tolist()):
                by_frame[t].append(i)
            crops: list[np.ndarray] = [np.empty(0)] * len(rows["frame"])
            last = int(rows["frame"].max()) if len(rows["frame"]) else -1
            for t, img in _images(clip, last, set(by_frame), heat):
                for i in by_frame.get(t, ()):
                    crops[i] = object_raster(img, tuple(rows["boxes"][i]), margin, raster)
                bar.update(1)
            images.extend(crops)
    info = {
        "source": source,
        "margin": margin,
        "raster": raster,
        "n_frames": n_frames,
        "every": every,
        "min_size": min_size,
        "skipped": dict(skipped),
    }
    return _assemble(images, rows_per_clip, raster, classes, clips, info)


def detect_objects(
    clips: Sequence[Clip],
    *,
    threshold: float = 6.0,
    min_area: int = 12,
    merge_distance: int = 6,
    margin: float = 1.2,
    raster: int = 31,
    n_frames: float = 3.0,
    every: int = 1,
    iou_min: float = 0.3,
    max_gap: int = 3,
    n_threads: int | None = None,
    progress: bool = False,
) -> ObjectArray:
    """Unlabelled object array of moving regions found by the heat-map detector."""
    _check("heat", margin, raster, every, 1)
    heat = DifferenceHeatMap(n_frames=n_frames, n_threads=n_threads)
    images: list[np.ndarray] = []
    rows_per_clip: list[dict[str, np.ndarray]] = []
    next_track = 0
    with progress_bar(progress, sum(len(c) for c in clips), "frames", unit="frame") as bar:
        for ci, clip in enumerate(clips):
            h, w = clip.frame_size
            frames, boxes, crops = [], [], []
            for t, img in _images(clip, len(clip) - 1, set(), heat):
                if t > 0:  # no difference yet at frame 0
                    ignore = clip.annotations.ignore_mask(t, w, h)
                    for b in detect_boxes(img, threshold, min_area, 8, merge_distance, ignore):
                        frames.append(t)
                        boxes.append(b)
                        crops.append(object_raster(img, tuple(b), margin, raster))
                bar.update(1)
            frame = np.asarray(frames, dtype=np.int64)
            bx = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
            track = assign_tracks(frame, bx, np.zeros(len(frame)), iou_min, max_gap) + next_track
            next_track = int(track.max()) + 1 if len(track) else next_track
            keep = _subsample(track, frame, every)
            images.extend(c for c, k in zip(crops, keep, strict=True) if k)
            rows_per_clip.append(
                {
                    "frame": frame[keep],
                    "boxes": bx[keep],
                    "label": np.full(int(keep.sum()), -1, dtype=np.int64),
                    "track": track[keep],
                    "clip": np.full(int(keep.sum()), ci, dtype=np.int64),
                }
            )
    info = {
        "source": "detector",
        "threshold": threshold,
        "min_area": min_area,
        "merge_distance": merge_distance,
        "margin": margin,
        "raster": raster,
        "n_frames": n_frames,
        "every": every,
    }
    return _assemble(images, rows_per_clip, raster, (), clips, info)
