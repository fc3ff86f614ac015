"""A NEOVISION2 clip: its annotation CSV plus its frames, read lazily.

A clip is ``NAME.csv`` next to either a folder ``NAME/`` of frame images or a video
``NAME.mpg`` (or .mp4, …), as in the public distribution (one MPEG + one CSV per
clip) and in tools that extract the frames first. See :mod:`.neovision2_csv` for
the CSV rules and :mod:`.frames` for the frame formats.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..exceptions import DataFileNotFoundError
from .frames import VIDEO_SUFFIXES, FrameFolder, VideoFrames, open_frames
from .neovision2_csv import (
    DCR,
    HEADER,
    TOWER_CLASSES,
    Annotations,
    canonical_type,
    read_annotations,
)

__all__ = [
    "DCR",
    "HEADER",
    "TOWER_CLASSES",
    "Annotations",
    "Clip",
    "canonical_type",
    "open_clip",
    "read_annotations",
]


class Clip:
    """Annotations and lazily decoded greyscale frames of one clip."""

    def __init__(
        self,
        csv_path: Path,
        frames: FrameFolder | VideoFrames,
        annotations: Annotations | None = None,
    ) -> None:
        self.csv_path = csv_path
        self.name = csv_path.stem
        self.frames = frames
        self.annotations = read_annotations(csv_path) if annotations is None else annotations

    @property
    def frame_size(self) -> tuple[int, int]:
        """(height, width) of the frames."""
        return self.frames.frame_size

    def __len__(self) -> int:
        return len(self.frames)

    def frame(self, index: int) -> np.ndarray:
        """Greyscale uint8 frame ``index`` (0-based)."""
        return self.frames.read(index)

    def __iter__(self) -> Iterator[np.ndarray]:
        """All frames in order, one at a time."""
        return iter(self.frames)

    def boxes(self) -> np.ndarray:
        """Clipped integer boxes of every annotation row (see Annotations.boxes)."""
        h, w = self.frame_size
        return self.annotations.boxes(w, h)

    def ignore_mask(self, frame: int) -> np.ndarray:
        """Boolean (H, W) mask of the DCR regions of ``frame``."""
        h, w = self.frame_size
        return self.annotations.ignore_mask(frame, w, h)

    def __repr__(self) -> str:
        return f"Clip({self.name!r}, {len(self.annotations)} rows, frames from {self.frames.path})"


def open_clip(path: str | os.PathLike[str], frames: str | os.PathLike[str] | None = None) -> Clip:
    """Opens a clip from its CSV (or from its frame folder / video next to the CSV).

    ``frames`` overrides where the frames are; by default ``NAME/`` is tried first,
    then ``NAME`` with a video suffix.
    """
    p = Path(path)
    if p.suffix.lower() == ".csv":
        csv_path = p
    elif p.is_dir():
        csv_path = p.with_name(p.name + ".csv")
        frames = p if frames is None else frames
    elif p.suffix.lower() in VIDEO_SUFFIXES:
        csv_path = p.with_suffix(".csv")
        frames = p if frames is None else frames
    else:
        csv_path = p.with_name(p.name + ".csv")
    if not csv_path.is_file():
        raise DataFileNotFoundError(f"{csv_path}: annotation CSV not found")
    annotations = read_annotations(csv_path)  # CSV errors first: they name file and line
    if frames is None:
        stem = csv_path.with_suffix("")
        candidates = [stem] + [stem.with_suffix(s) for s in VIDEO_SUFFIXES]
        found = [c for c in candidates if c.exists()]
        if not found:
            raise DataFileNotFoundError(
                f"{csv_path}: no frames found (looked for the folder {stem} and "
                f"{stem}{{{','.join(VIDEO_SUFFIXES)}}})"
            )
        frames = found[0]
    return Clip(csv_path, open_frames(frames), annotations)
