"""Lazy greyscale frame sources: a folder of images or a video file.

Frames are decoded one at a time on request, so a 1920×1080 clip of any length
costs the memory of a few frames. Every frame comes out as greyscale uint8 (H, W)
with the ITU-R 601 luma weights (the same integer formula as Pillow's "L" mode).

- Binary PGM/PPM (``.pgm``, ``.ppm``, ``.pnm``) are read with numpy alone; the
  synthetic generator writes PGM, so tests need no imaging library.
- PNG/JPEG/BMP/TIFF frames need Pillow, and video files (``.mpg``, ``.mp4``, …)
  need imageio with its PyAV plugin: both are in the optional extra ``video``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .._util.extras import require
from ..exceptions import DataError, DataFileNotFoundError, DataTypeError, ParameterIndexError

NETPBM_SUFFIXES = (".pgm", ".ppm", ".pnm")
PILLOW_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mpg", ".mpeg", ".mp4", ".avi", ".mov", ".mkv")


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3|4) → uint8 (H, W): L = (19595 R + 38470 G + 7471 B + 2^15) >> 16."""
    if rgb.ndim == 2:
        return np.ascontiguousarray(rgb, dtype=np.uint8)
    c = rgb[..., :3].astype(np.uint32)
    grey = (c[..., 0] * 19595 + c[..., 1] * 38470 + c[..., 2] * 7471 + 32768) >> 16
    return grey.astype(np.uint8)


_NETPBM_TOKEN = re.compile(rb"(?:\s|#[^\n]*\n)*(\S+)")


def read_netpbm(path: str | os.PathLike[str], size_only: bool = False):
    """Binary PGM (P5) or PPM (P6) with maxval <= 255 → greyscale uint8 (H, W).

    With ``size_only`` returns (height, width) after reading the header only.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(512)
        pos, fields = 0, []
        for _ in range(4):
            m = _NETPBM_TOKEN.match(head, pos)
            if m is None:
                raise DataError(f"{path}: truncated PGM/PPM header")
            fields.append(m.group(1))
            pos = m.end()
        magic = fields[0]
        if magic not in (b"P5", b"P6"):
            raise DataError(f"{path}: not a binary PGM/PPM file (magic {magic!r})")
        try:
            width, height, maxval = (int(f) for f in fields[1:])
        except ValueError:
            raise DataError(f"{path}: corrupt PGM/PPM header {fields!r}") from None
        if width < 1 or height < 1 or not 1 <= maxval <= 255:
            raise DataError(
                f"{path}: unsupported PGM/PPM size {width}x{height} or maxval {maxval} (8-bit only)"
            )
        if size_only:
            return height, width
        channels = 1 if magic == b"P5" else 3
        fh.seek(pos + 1)  # exactly one whitespace byte after maxval
        n = width * height * channels
        data = np.fromfile(fh, dtype=np.uint8, count=n)
    if data.size != n:
        raise DataError(f"{path}: pixel data truncated ({data.size} of {n} bytes)")
    img = data.reshape(height, width, channels) if channels == 3 else data.reshape(height, width)
    if maxval != 255:
        img = np.rint(img.astype(np.float64) * (255.0 / maxval)).astype(np.uint8)
    return to_grey(img)


def write_pgm(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Writes a greyscale uint8 (H, W) image as binary PGM."""
    path = Path(path)
    a = np.ascontiguousarray(image)
    if a.dtype != np.uint8 or a.ndim != 2:
        raise DataError(f"image: expected a uint8 (H, W) array, got {a.dtype} {a.shape}")
    with open(path, "wb") as fh:
        fh.write(f"P5\n{a.shape[1]} {a.shape[0]}\n255\n".encode())
        fh.write(a.tobytes())
    return path


def read_image(path: Path, size_only: bool = False):
    """Greyscale uint8 frame (or its (H, W) size) from any supported image file."""
    if path.suffix.lower() in NETPBM_SUFFIXES:
        return read_netpbm(path, size_only)
    image = require("PIL.Image", f"reading {path.suffix} frames")
    try:
        with image.open(path) as im:
            if size_only:
                return im.height, im.width
            return np.asarray(im.convert("L"), dtype=np.uint8)
    except OSError as exc:
        raise DataError(f"{path}: unreadable image ({exc})") from exc


def _frame_number(p: Path) -> int | None:
    m = re.search(r"(\d+)$", p.stem)
    return int(m.group(1)) if m else None


class FrameFolder:
    """Frames stored as numbered image files, one per frame.

    The files must carry contiguous numbers at the end of their names (e.g.
    ``frame_000000.pgm``, ``frame_000001.pgm`` …, or ffmpeg's ``%06d.png`` starting at
    1); the file with the smallest number is frame 0, since NEOVISION2 frame indices
    are 0-based whatever number the extraction tool started from.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder)
        if not self.path.is_dir():
            raise DataFileNotFoundError(f"{self.path}: frame folder not found")
        files = [
            p
            for p in self.path.iterdir()
            if p.suffix.lower() in NETPBM_SUFFIXES + PILLOW_SUFFIXES and not p.name.startswith(".")
        ]
        if not files:
            raise DataError(f"{self.path}: no image frames in the folder")
        numbered = [(_frame_number(p), p) for p in files]
        bad = [p.name for n, p in numbered if n is None]
        if bad:
            raise DataError(f"{self.path}: frame file names must end in a number: {bad[:3]}")
        numbered.sort(key=lambda t: (t[0], t[1].name))
        nums = [n for n, _ in numbered]
        expected = list(range(nums[0], nums[0] + len(nums)))
        if nums != expected:
            missing = sorted(set(expected) - set(nums))
            raise DataError(
                f"{self.path}: frame numbers are not contiguous from {nums[0]} "
                f"(missing {missing[:5]}, or duplicates)"
            )
        self.files = [p for _, p in numbered]
        self._size: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self.files)

    @property
    def frame_size(self) -> tuple[int, int]:
        """(height, width), from the first frame's header."""
        if self._size is None:
            self._size = tuple(read_image(self.files[0], size_only=True))
        return self._size

    def read(self, index: int) -> np.ndarray:
        if not 0 <= index < len(self.files):
            raise ParameterIndexError(f"frame {index} out of range 0..{len(self.files) - 1}")
        img = read_image(self.files[index])
        if img.shape != self.frame_size:
            raise DataError(
                f"{self.files[index]}: frame size {img.shape} differs from the clip's "
                f"{self.frame_size}"
            )
        return img

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self.files)):
            yield self.read(i)


class VideoFrames:
    """Frames decoded one by one from a video file (extra ``video``: imageio + PyAV).

    Random access decodes from the start, so the pipeline only iterates in order.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DataFileNotFoundError(f"{self.path}: video file not found")
        self._iio = require("imageio.v3", f"reading {self.path.suffix} video")
        self._size: tuple[int, int] | None = None
        self._len: int | None = None

    def _props(self) -> None:
        props = self._iio.improps(self.path, plugin="pyav")
        self._len = int(props.shape[0]) if props.shape and props.shape[0] else None
        self._size = (int(props.shape[-3]), int(props.shape[-2]))

    @property
    def frame_size(self) -> tuple[int, int]:
        if self._size is None:
            self._props()
        assert self._size is not None
        return self._size

    def __len__(self) -> int:
        if self._size is None:
            self._props()
        if self._len is None:
            raise DataTypeError(f"{self.path}: the container does not state its frame count")
        return self._len

    def __iter__(self) -> Iterator[np.ndarray]:
        for frame in self._iio.imiter(self.path, plugin="pyav"):
            yield to_grey(np.asarray(frame))

    def read(self, index: int) -> np.ndarray:
        for i, f in enumerate(self):
            if i == index:
                return f
        raise ParameterIndexError(f"frame {index} beyond the end of {self.path}")


def open_frames(path: str | os.PathLike[str]) -> FrameFolder | VideoFrames:
    """A frame folder or a video file, by what ``path`` is."""
    p = Path(path)
    if p.is_dir():
        return FrameFolder(p)
    if p.suffix.lower() in VIDEO_SUFFIXES:
        return VideoFrames(p)
    raise DataError(
        f"{p}: expected a folder of frames or a video file ({', '.join(VIDEO_SUFFIXES)})"
    )
