"""The array of recognised objects (docs/algorithms.md §6) and its npz file.

One entry per object instance in one frame: a ``raster × raster`` uint8 image, its
class, and where it came from (clip, track, frame, box), so evaluation can group
folds by clip or track (docs/algorithms.md §7).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._util.persistence import load_npz, reading, save_npz
from ..exceptions import DataError

_FORMAT = "snnconv.ObjectArray"
_FORMAT_VERSION = 2  # 2: arrays carry SHA-256 checksums; 1 still loads


@dataclass
class ObjectArray:
    """Object crops with labels and provenance.

    ``labels`` index ``classes`` (−1: unlabelled detection); ``clip`` indexes
    ``clip_names``; ``track`` ids are unique across the whole array; ``boxes`` are
    the clipped half-open boxes (x0, y0, x1, y1) in frame pixels. ``info`` holds the
    settings that made the array and the counts of skipped rows.
    """

    images: np.ndarray  # uint8 (N, R, R)
    labels: np.ndarray  # int64 (N,)
    classes: tuple[str, ...]
    clip: np.ndarray  # int64 (N,)
    track: np.ndarray  # int64 (N,)
    frame: np.ndarray  # int64 (N,)
    boxes: np.ndarray  # int64 (N, 4)
    clip_names: tuple[str, ...]
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.images.ndim != 3 or self.images.dtype != np.uint8 or len(self.images) != n:
            raise DataError(
                f"images: expected uint8 (N, R, R) with N = {n}, got "
                f"{self.images.dtype} {self.images.shape}"
            )
        for name in ("clip", "track", "frame"):
            if getattr(self, name).shape != (n,):
                raise DataError(f"{name}: expected shape ({n},)")
        if self.boxes.shape != (n, 4):
            raise DataError(f"boxes: expected shape ({n}, 4), got {self.boxes.shape}")
        if n and (self.labels.min() < -1 or self.labels.max() >= len(self.classes)):
            raise DataError(f"labels: must lie in -1..{len(self.classes) - 1}")
        if n and (self.clip.min() < 0 or self.clip.max() >= len(self.clip_names)):
            raise DataError(f"clip: must lie in 0..{len(self.clip_names) - 1}")

    def class_counts(self) -> dict[str, int]:
        """Number of objects per class name (all classes listed, "?" for unlabelled)."""
        counts = np.bincount(self.labels[self.labels >= 0], minlength=len(self.classes))
        out = {c: int(k) for c, k in zip(self.classes, counts, strict=False)}
        unlabelled = int((self.labels < 0).sum())
        if unlabelled:
            out["?"] = unlabelled
        return out

    def save(self, path: str | os.PathLike[str], overwrite: bool = False) -> Path:
        """Writes an npz (no pickle, atomic) loadable with :meth:`load`. An existing
        file at ``path`` is replaced only if it is an object array; anything else raises
        FileExistsError unless ``overwrite=True``."""
        meta = {
            "classes": list(self.classes),
            "clip_names": list(self.clip_names),
            "info": self.info,
        }
        arrays = {
            "images": self.images,
            "labels": self.labels,
            "clip": self.clip,
            "track": self.track,
            "frame": self.frame,
            "boxes": self.boxes,
        }
        return save_npz(path, _FORMAT, _FORMAT_VERSION, meta, arrays, overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ObjectArray:
        meta, arrays = load_npz(path, _FORMAT, _FORMAT_VERSION)
        with reading(path, "ObjectArray"):
            missing = {"images", "labels", "clip", "track", "frame", "boxes"} - set(arrays)
            if missing:
                raise DataError(f"object array lacks {sorted(missing)}")
            for key in ("classes", "clip_names"):
                if not isinstance(meta[key], list) or not all(
                    isinstance(c, str) for c in meta[key]
                ):
                    raise DataError(f"{key}: must be a list of names")
            info = meta.get("info", {})
            if not isinstance(info, dict):
                raise DataError("info: must be a JSON object")
            return cls(
                images=arrays["images"],
                labels=arrays["labels"].astype(np.int64),
                classes=tuple(meta["classes"]),
                clip=arrays["clip"].astype(np.int64),
                track=arrays["track"].astype(np.int64),
                frame=arrays["frame"].astype(np.int64),
                boxes=arrays["boxes"].astype(np.int64),
                clip_names=tuple(meta["clip_names"]),
                info=dict(info),
            )
