"""The IDX file format of MNIST and Fashion-MNIST (gzip-compressed or raw).

Layout: two zero bytes, a type code, the number of dimensions ``d``, then ``d``
big-endian uint32 sizes and the data in big-endian C order. Every field is checked
and the data length must match the sizes exactly, so a truncated download or a
swapped file is an error naming the file, never a silently short array.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import shutil
import tempfile
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


def read_idx(path: str | os.PathLike[str], mmap: bool = False) -> np.ndarray:
    """The array stored in an IDX file, in native byte order.

    ``mmap=True``: a read-only ``numpy.memmap`` of the data instead of an array in
    memory, so a data set larger than the memory can be fitted (the estimators read it
    a block at a time). A gzip-compressed file is decompressed once into the cache
    folder (:func:`idx_cache_dir`) and that copy is mapped; later calls reuse it while
    the compressed file keeps its size and modification time. Multi-byte types are
    mapped as stored (big-endian); numpy reads them correctly.
    """
    path = Path(path)
    if not path.is_file():
        if not path.exists():
            raise DataFileNotFoundError(f"{path}: IDX file not found")
        raise DataError(f"{path}: not a regular file")
    if mmap:
        return _map_idx(path)
    raw = _read_bytes(path)
    shape, dtype, header = _header(path, raw[: 4 + 4 * 255], len(raw))
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _header(path: Path, head: bytes, size: int) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, data offset) from the first bytes of a raw IDX file of ``size``."""
    if len(head) < 4:
        raise DataError(f"{path}: too short for an IDX header ({len(head)} bytes)")
    if head[0] != 0 or head[1] != 0:
        raise DataError(
            f"{path}: not an IDX file (magic must start with two zero bytes, got {head[:4].hex()})"
        )
    code, ndim = head[2], head[3]
    if code not in _DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _DTYPES)
        raise DataError(f"{path}: unknown IDX type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions")
    offset = 4 + 4 * ndim
    if len(head) < offset:
        raise DataError(f"{path}: header truncated ({len(head)} bytes, need {offset})")
    shape = tuple(int(v) for v in np.frombuffer(head, dtype=">u4", count=ndim, offset=4))
    dtype = _DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize  # exact: a forged header may not fit 64 bits
    if size - offset != expected:
        raise DataError(
            f"{path}: sizes {shape} of type {dtype.name} need {expected} data bytes, file has "
            f"{size - offset} ({'truncated' if size - offset < expected else 'trailing data'})"
        )
    if math.prod(max(d, 1) for d in shape) * dtype.itemsize >= 2**62:
        # An empty array whose other sizes numpy cannot index (a forged header).
        raise DataError(f"{path}: sizes {shape} exceed what an array can index")
    return shape, dtype, offset


def idx_cache_dir() -> Path:
    """Where decompressed copies of gzip IDX files are kept for ``mmap=True``:
    ``$SNNCONV_CACHE_DIR/idx``, else ``$XDG_CACHE_HOME/snnconv/idx`` (default
    ``~/.cache/snnconv/idx``)."""
    root = os.environ.get("SNNCONV_CACHE_DIR")
    if root:
        return Path(root) / "idx"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "snnconv" / "idx"


def _raw_copy(path: Path) -> Path:
    """The decompressed copy of a gzip file, written once (atomically) to the cache."""
    st = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    folder = idx_cache_dir()
    target = folder / f"{path.name.removesuffix('.gz')}-{key[:16]}"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name, suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(path, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        os.replace(tmp, target)
    except (OSError, EOFError, zlib.error) as exc:
        Path(tmp).unlink(missing_ok=True)
        raise DataError(f"{path}: corrupt gzip stream ({exc})") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _map_idx(path: Path) -> np.ndarray:
    with open(path, "rb") as fh:
        compressed = fh.read(2) == _GZIP_MAGIC
    raw = _raw_copy(path) if compressed else path
    size = raw.stat().st_size
    with open(raw, "rb") as fh:
        head = fh.read(4 + 4 * 255)
    shape, dtype, offset = _header(path, head, size)
    if dtype.itemsize == 1:
        dtype = dtype.newbyteorder("=")
    return np.memmap(raw, dtype=dtype, mode="r", offset=offset, shape=shape)


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
    images_path: str | os.PathLike[str],
    labels_path: str | os.PathLike[str],
    mmap: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Images (uint8 N×H×W) and int64 labels from an MNIST-style IDX pair.

    ``mmap=True``: the images are a read-only memory map (see :func:`read_idx`); the
    labels are read into memory."""
    images, labels = read_idx(images_path, mmap=mmap), read_idx(labels_path)
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
