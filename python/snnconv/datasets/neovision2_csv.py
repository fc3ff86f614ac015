"""NEOVISION2 annotation CSV files (docs/algorithms.md §6; background docs/algorithms.md §3).

One row per object per annotated frame. The header must be exactly :data:`HEADER`;
frames are 0-based; each box is a quadrilateral (X1,Y1 … X4,Y4) that may leave
the frame; rows with an empty ObjectType are skipped (they occur in the real files);
``DCR`` rows are "don't care" regions, kept apart as ignore masks, never objects.
Any other defect raises ValueError naming the file and the line.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..exceptions import DataError

HEADER = (
    "Frame,BoundingBox_X1,BoundingBox_Y1,BoundingBox_X2,BoundingBox_Y2,"
    "BoundingBox_X3,BoundingBox_Y3,BoundingBox_X4,BoundingBox_Y4,"
    "ObjectType,Occlusion,Ambiguous,Confidence,SiteInfo,Version"
)
COLUMNS = tuple(HEADER.split(","))

#: The five classes of the fixed "Tower" camera clips.
TOWER_CLASSES = ("Car", "Truck", "Bus", "Person", "Cyclist")
#: The "don't care region" type.
DCR = "DCR"
#: Spellings seen in the real files (e.g. "Tractor-trailer") map to one canonical name.
_CANONICAL = {
    name.lower(): name
    for name in (
        *TOWER_CLASSES,
        "Tractor-Trailer",
        "Container",
        "Boat",
        "Plane",
        "Helicopter",
        DCR,
    )
}
_TRUE = {"TRUE", "True", "true", "1"}
_FALSE = {"FALSE", "False", "false", "0", ""}


def canonical_type(name: str) -> str:
    """Canonical spelling of an ObjectType (case-insensitive for known names)."""
    name = name.strip()
    return _CANONICAL.get(name.lower(), name)


@dataclass(frozen=True)
class Annotations:
    """Parsed rows of one CSV, as parallel arrays (one entry per row kept).

    ``quad`` holds the raw corners (x1, y1, …, x4, y4) as written; ``line`` the
    1-based line number in the file, for messages.
    """

    path: Path
    frame: np.ndarray  # int64 (n,)
    quad: np.ndarray  # float64 (n, 8)
    object_type: np.ndarray  # str (n,)
    occlusion: np.ndarray  # bool (n,)
    ambiguous: np.ndarray  # bool (n,)
    confidence: np.ndarray  # float64 (n,), NaN where the field was empty
    site_info: np.ndarray  # str (n,)
    version: np.ndarray  # str (n,)
    line: np.ndarray  # int64 (n,)
    skipped_empty: int = 0

    def __len__(self) -> int:
        return len(self.frame)

    def select(self, mask: np.ndarray) -> Annotations:
        """The rows where ``mask`` (bool or index array) selects."""
        return Annotations(
            self.path,
            *(
                getattr(self, f)[mask]
                for f in (
                    "frame",
                    "quad",
                    "object_type",
                    "occlusion",
                    "ambiguous",
                    "confidence",
                    "site_info",
                    "version",
                    "line",
                )
            ),
            skipped_empty=self.skipped_empty,
        )

    @property
    def is_dcr(self) -> np.ndarray:
        return self.object_type == DCR

    def objects(self) -> Annotations:
        """All rows except the DCR regions."""
        return self.select(~self.is_dcr)

    def dcr(self) -> Annotations:
        """Only the DCR (ignore) regions."""
        return self.select(self.is_dcr)

    def boxes(self, width: int, height: int) -> np.ndarray:
        """Integer axis-aligned boxes (x0, y0, x1, y1), half-open, clipped to the frame.

        Corner coordinates are continuous positions: the box is [min x, max x] ×
        [min y, max y] of the four corners, clipped to [0, width] × [0, height], then
        widened outwards to whole pixels (floor of the minimum, ceil of the maximum).
        A box entirely outside the frame comes out empty (x1 <= x0 or y1 <= y0).
        """
        xs, ys = self.quad[:, 0::2], self.quad[:, 1::2]
        x0 = np.floor(np.clip(xs.min(axis=1), 0, width))
        x1 = np.ceil(np.clip(xs.max(axis=1), 0, width))
        y0 = np.floor(np.clip(ys.min(axis=1), 0, height))
        y1 = np.ceil(np.clip(ys.max(axis=1), 0, height))
        return np.stack([x0, y0, x1, y1], axis=1).astype(np.int64).reshape(-1, 4)

    def ignore_mask(self, frame: int, width: int, height: int) -> np.ndarray:
        """Boolean (height, width) mask of the DCR regions annotated in ``frame``."""
        mask = np.zeros((height, width), dtype=bool)
        dcr = self.select(self.is_dcr & (self.frame == frame))
        for x0, y0, x1, y1 in dcr.boxes(width, height):
            mask[y0:y1, x0:x1] = True
        return mask


def _bool(value: str, column: str, where: str) -> bool:
    v = value.strip()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise DataError(f"{where}: {column} must be TRUE or FALSE, got {value!r}")


def read_annotations(path: str | os.PathLike[str]) -> Annotations:
    """Parses a NEOVISION2 annotation CSV (see the module doc for the rules). A file
    that is not UTF-8 is a DataError naming the file and the first bad line."""
    path = Path(path)
    try:
        return _read_annotations(path)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}:{_first_undecodable_line(path)}: not UTF-8 text "
            f"(byte {exc.object[exc.start : exc.start + 1]!r}); NEOVISION2 CSVs are UTF-8"
        ) from None


def _first_undecodable_line(path: Path) -> int | str:
    """1-based number of the first line that is not UTF-8 ("?" if unreadable)."""
    try:
        data = path.read_bytes()
    except OSError:
        return "?"
    for number, line in enumerate(data.splitlines(), 1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return number
    return "?"


def _read_annotations(path: Path) -> Annotations:
    frames: list[int] = []
    quads: list[list[float]] = []
    types: list[str] = []
    occl: list[bool] = []
    ambig: list[bool] = []
    conf: list[float] = []
    site: list[str] = []
    vers: list[str] = []
    lines: list[int] = []
    skipped = 0
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise DataError(f"{path}:1: unreadable CSV ({exc})") from exc
        if header is None:
            raise DataError(f"{path}: empty file, expected the NEOVISION2 header")
        if [h.strip() for h in header] != list(COLUMNS):
            raise DataError(
                f"{path}:1: not a NEOVISION2 annotation header; expected {HEADER!r}, "
                f"got {','.join(header)!r}"
            )
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise DataError(f"{path}:{reader.line_num}: unreadable CSV ({exc})") from exc
            where = f"{path}:{reader.line_num}"
            if not row or all(not f.strip() for f in row):
                continue  # blank line
            if len(row) != len(COLUMNS):
                raise DataError(f"{where}: expected {len(COLUMNS)} fields, got {len(row)}")
            kind = canonical_type(row[9])
            if not kind:
                skipped += 1
                continue
            try:
                frame = int(row[0].strip())
            except ValueError:
                raise DataError(f"{where}: Frame must be an integer, got {row[0]!r}") from None
            if frame < 0:
                raise DataError(f"{where}: Frame must be >= 0 (0-based), got {frame}")
            quad = []
            for col, text in zip(COLUMNS[1:9], row[1:9], strict=False):
                try:
                    v = float(text)
                except ValueError:
                    raise DataError(f"{where}: {col} must be a number, got {text!r}") from None
                if not math.isfinite(v):
                    raise DataError(f"{where}: {col} must be finite, got {text!r}")
                quad.append(v)
            c = row[12].strip()
            try:
                confidence = float(c) if c else math.nan
            except ValueError:
                raise DataError(f"{where}: Confidence must be a number, got {c!r}") from None
            if c and not math.isfinite(confidence):  # empty is NaN; "nan" or "inf" is not
                raise DataError(f"{where}: Confidence must be finite or empty, got {c!r}")
            frames.append(frame)
            quads.append(quad)
            types.append(kind)
            occl.append(_bool(row[10], "Occlusion", where))
            ambig.append(_bool(row[11], "Ambiguous", where))
            conf.append(confidence)
            site.append(row[13])
            vers.append(row[14].strip())
            lines.append(reader.line_num)
    return Annotations(
        path=path,
        frame=np.asarray(frames, dtype=np.int64),
        quad=np.asarray(quads, dtype=np.float64).reshape(-1, 8),
        object_type=np.asarray(types, dtype=str),
        occlusion=np.asarray(occl, dtype=bool),
        ambiguous=np.asarray(ambig, dtype=bool),
        confidence=np.asarray(conf, dtype=np.float64),
        site_info=np.asarray(site, dtype=str),
        version=np.asarray(vers, dtype=str),
        line=np.asarray(lines, dtype=np.int64),
        skipped_empty=skipped,
    )


def format_row(
    frame: int,
    quad: tuple[float, ...] | list[float],
    object_type: str,
    occlusion: bool = False,
    ambiguous: bool = False,
    confidence: float = 1.0,
    site_info: str = "",
    version: str = "1.4",
) -> list[str]:
    """One CSV row in the NEOVISION2 layout (used by the synthetic generator)."""

    def num(v: float) -> str:
        return str(int(v)) if float(v).is_integer() else repr(float(v))

    return [
        str(int(frame)),
        *(num(v) for v in quad),
        object_type,
        "TRUE" if occlusion else "FALSE",
        "TRUE" if ambiguous else "FALSE",
        num(confidence),
        site_info,
        version,
    ]
