"""Object extraction from NEOVISION2 clips into an :class:`ObjectArray` (SPEC §6).

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

from .._progress import progress_bar
from ..datasets.frames import FrameFolder
from ..datasets.neovision2 import TOWER_CLASSES, Clip
from .crops import object_raster
from .detect import detect_boxes
from .heatmap import DifferenceHeatMap
from .object_array import ObjectArray
from .tracks import assign_tracks

_SOURCES = ("heat", "frame")


def _check(source: str, margin: float, raster: int, every: int, min_size: int) -> None:
    if source not in _SOURCES:
        raise ValueError(f"source: must be one of {_SOURCES}, got {source!r}")
    if not (isinstance(margin, (int, float)) and 0 < margin < np.inf):
        raise ValueError(f"margin: must be a finite number > 0, got {margin!r}")
    if not (isinstance(raster, (int, np.integer)) and raster >= 1):
        raise ValueError(f"raster: must be an integer >= 1, got {raster!r}")
    if not (isinstance(every, (int, np.integer)) and every >= 1):
        raise ValueError(f"every: must be an integer >= 1, got {every!r}")
    if not (isinstance(min_size, (int, np.integer)) and min_size >= 1):
        raise ValueError(f"min_size: must be an integer >= 1, got {min_size!r}")


def _frames(clip: Clip, last: int, needed: set[int], heat: bool) -> Iterator[tuple[int, Any]]:
    """(t, frame) for t = 0..last; a frame folder without heat map skips unneeded ones."""
    if last >= len(clip):
        raise ValueError(
            f"{clip.csv_path}: annotations reach frame {last}, the clip has {len(clip)} frames"
        )
    if not heat and isinstance(clip.frames, FrameFolder):
        for t in sorted(needed):
            yield t, clip.frame(t)
        return
    for t, f in enumerate(clip):
        yield t, f
        if t >= last:
            return


def _subsample(track: np.ndarray, frame: np.ndarray, every: int) -> np.ndarray:
    """Mask keeping the 0th, k-th, 2k-th … row of each track in frame order."""
    keep = np.zeros(len(track), dtype=bool)
    order = np.lexsort((frame, track))
    rank = np.zeros(len(track), dtype=np.int64)
    prev, r = None, 0
    for i in order:
        r = r + 1 if track[i] == prev else 0
        prev = track[i]
        rank[i] = r
    keep[:] = rank % every == 0
    return keep


def _crop_rows(
    clips: Sequence[Clip],
    rows_per_clip: list[dict[str, np.ndarray]],
    source: str,
    margin: float,
    raster: int,
    n_frames: float,
    n_threads: int | None,
    progress: bool,
    detector: dict[str, Any] | None = None,
) -> tuple[list[np.ndarray], list[dict[str, np.ndarray]]]:
    """Crops of the given rows (or of detections when ``detector``), clip by clip."""
    heat = source == "heat" or detector is not None
    total = 0
    for clip, rows in zip(clips, rows_per_clip, strict=False):
        if detector is not None:
            total += len(clip)
        elif len(rows["frame"]):
            total += int(rows["frame"].max()) + 1 if heat else len(np.unique(rows["frame"]))
    images: list[np.ndarray] = []
    found: list[dict[str, np.ndarray]] = []
    with progress_bar(progress, total, "frames", unit="frame") as bar:
        for clip, rows in zip(clips, rows_per_clip, strict=False):
            hm = DifferenceHeatMap(n_frames=n_frames, n_threads=n_threads)
            if detector is not None:
                last, needed = len(clip) - 1, set(range(len(clip)))
            else:
                last = int(rows["frame"].max()) if len(rows["frame"]) else -1
                needed = set(rows["frame"].tolist())
            by_frame: dict[int, list[int]] = defaultdict(list)
            if detector is None:
                for i, t in enumerate(rows["frame"].tolist()):
                    by_frame[t].append(i)
            crops: list[np.ndarray] = [np.empty(0)] * len(rows["frame"])
            det_rows: dict[str, list[Any]] = {"frame": [], "boxes": []}
            det_crops: list[np.ndarray] = []
            if last >= 0:
                h, w = clip.frame_size
                for t, frame in _frames(clip, last, needed, heat):
                    img = hm.update(frame) if heat else frame
                    if detector is not None:
                        if t > 0:
                            ignore = clip.annotations.ignore_mask(t, w, h)
                            for b in detect_boxes(img, ignore=ignore, **detector):
                                det_rows["frame"].append(t)
                                det_rows["boxes"].append(b)
                                det_crops.append(object_raster(img, tuple(b), margin, raster))
                    else:
                        for i in by_frame.get(t, ()):
                            crops[i] = object_raster(img, tuple(rows["boxes"][i]), margin, raster)
                    bar.update(1)
            if detector is not None:
                images.extend(det_crops)
                found.append(
                    {
                        "frame": np.asarray(det_rows["frame"], dtype=np.int64),
                        "boxes": np.asarray(det_rows["boxes"], dtype=np.int64).reshape(-1, 4),
                    }
                )
            else:
                images.extend(crops)
                found.append(rows)
    return images, found


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
        raise ValueError(f"classes: must be a non-empty list of distinct names, got {classes}")
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
    images, found = _crop_rows(
        clips, rows_per_clip, source, margin, raster, n_frames, n_threads, progress
    )
    n = len(images)
    cat = lambda key: (  # noqa: E731
        np.concatenate([r[key] for r in found]) if found else np.zeros(0, np.int64)
    )
    return ObjectArray(
        images=np.stack(images) if n else np.zeros((0, raster, raster), np.uint8),
        labels=cat("label").astype(np.int64),
        classes=classes,
        clip=np.concatenate(
            [np.full(len(r["frame"]), i, dtype=np.int64) for i, r in enumerate(found)]
        )
        if found
        else np.zeros(0, np.int64),
        track=cat("track").astype(np.int64),
        frame=cat("frame").astype(np.int64),
        boxes=cat("boxes").reshape(-1, 4).astype(np.int64),
        clip_names=tuple(c.name for c in clips),
        info={
            "source": source,
            "margin": margin,
            "raster": raster,
            "n_frames": n_frames,
            "every": every,
            "min_size": min_size,
            "skipped": dict(skipped),
        },
    )


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
    detector = {"threshold": threshold, "min_area": min_area, "merge_distance": merge_distance}
    empty = [{"frame": np.zeros(0, np.int64)} for _ in clips]
    images, found = _crop_rows(
        clips, empty, "heat", margin, raster, n_frames, n_threads, progress, detector
    )
    tracks, keep_all, next_track = [], [], 0
    for r in found:
        t = assign_tracks(r["frame"], r["boxes"], np.zeros(len(r["frame"])), iou_min, max_gap)
        t = t + next_track
        next_track = int(t.max()) + 1 if len(t) else next_track
        tracks.append(t)
        keep_all.append(_subsample(t, r["frame"], every))
    keep = np.concatenate(keep_all) if keep_all else np.zeros(0, bool)
    n = int(keep.sum())
    stack = np.stack(images)[keep] if images else np.zeros((0, raster, raster), np.uint8)
    return ObjectArray(
        images=stack if n else np.zeros((0, raster, raster), np.uint8),
        labels=np.full(n, -1, dtype=np.int64),
        classes=(),
        clip=np.concatenate([np.full(len(r["frame"]), i) for i, r in enumerate(found)])[
            keep
        ].astype(np.int64)
        if found
        else np.zeros(0, np.int64),
        track=np.concatenate(tracks)[keep].astype(np.int64) if tracks else np.zeros(0, np.int64),
        frame=np.concatenate([r["frame"] for r in found])[keep].astype(np.int64)
        if found
        else np.zeros(0, np.int64),
        boxes=np.concatenate([r["boxes"] for r in found])[keep].reshape(-1, 4).astype(np.int64)
        if found
        else np.zeros((0, 4), np.int64),
        clip_names=tuple(c.name for c in clips),
        info={
            "source": "detector",
            "threshold": threshold,
            "min_area": min_area,
            "merge_distance": merge_distance,
            "margin": margin,
            "raster": raster,
            "n_frames": n_frames,
            "every": every,
        },
    )
