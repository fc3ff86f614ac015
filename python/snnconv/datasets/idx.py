"""The IDX file format of MNIST and Fashion-MNIST (gzip-compressed or raw).

Layout: two zero bytes, a type code, the number of dimensions ``d``, then ``d``
big-endian uint32 sizes and the data in big-endian C order. Every field is checked
and the data length must match the sizes exactly, so a truncated download or a
swapped file is an error naming the file, never a silently short array.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from ..exceptions import DataError, DataFileNotFoundError, DataTypeError, ResourceLimitError

#: IDX type code → numpy big-endian dtype.
_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in _DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    from .._util.validation import alloc_budget

    if not path.is_file():
        if not path.exists():
            raise DataFileNotFoundError(f"{path}: IDX file not found")
        raise DataError(f"{path}: not a regular file")
    budget = alloc_budget()
    if path.stat().st_size > budget:
        raise ResourceLimitError(
            f"{path}: {path.stat().st_size} bytes, above the per-allocation budget of "
            f"{budget} bytes (SNNCONV_MAX_ALLOC_BYTES)"
        )
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == _GZIP_MAGIC:  # by content, not by file name
        # Decompressed in one bounded step: a small file may expand to any size.
        try:
            d = zlib.decompressobj(wbits=31)
            out = d.decompress(raw, budget + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt gzip stream ({exc})") from exc
        if len(out) > budget:
            raise ResourceLimitError(
                f"{path}: decompresses to more than the per-allocation budget of {budget} "
                "bytes (SNNCONV_MAX_ALLOC_BYTES)"
            )
        if not d.eof:
            raise DataError(f"{path}: corrupt gzip stream (truncated)")
        return out
    return raw


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """The array stored in an IDX file, in native byte order."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0:
        raise DataError(
            f"{path}: not an IDX file (magic must start with two zero bytes, got {raw[:4].hex()})"
        )
    code, ndim = raw[2], raw[3]
    if code not in _DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _DTYPES)
        raise DataError(f"{path}: unknown IDX type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: header truncated ({len(raw)} bytes, need {header})")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize  # exact: a forged header may not fit 64 bits
    actual = len(raw) - header
    if actual != expected:
        raise DataError(
            f"{path}: sizes {shape} of type {dtype.name} need {expected} data bytes, "
            f"file has {actual} ({'truncated' if actual < expected else 'trailing data'})"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike[str], array: np.ndarray, compress: bool = False) -> Path:
    """Writes ``array`` as IDX (gzip-compressed when ``compress``); for tests and export."""
    path = Path(path)
    a = np.asarray(array)
    native = a.dtype.newbyteorder("=")
    if native not in _CODES:
        raise DataTypeError(f"array: dtype {a.dtype} has no IDX type code")
    if a.ndim == 0 or a.ndim > 255:
        raise DataError(f"array: IDX needs 1..255 dimensions, got {a.ndim}")
    code = _CODES[native]
    head = bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, dtype=">u4").tobytes()
    blob = head + np.ascontiguousarray(a, dtype=_DTYPES[code]).tobytes()
    if compress:
        blob = gzip.compress(blob, mtime=0)
    path.write_bytes(blob)
    return path


def load_idx(
    images_path: str | os.PathLike[str], labels_path: str | os.PathLike[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Images (uint8 N×H×W) and int64 labels from an MNIST-style IDX pair."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataError(
            f"{images_path}: expected 3-D unsigned-byte images, got {images.ndim}-D {images.dtype}"
        )
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"{labels_path}: expected 1-D integer labels, got {labels.ndim}-D {labels.dtype}"
        )
    if len(labels) != len(images):
        raise DataError(
            f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path}"
        )
    return images, labels.astype(np.int64)
