"""Image inputs: numpy stacks or streams of 2-D frames, validated once.

Accepted forms (docs/algorithms.md §1): a uint8 array (brightness = value / 255), a
float array already in [0, 1], each of shape (N, H, W) or channel-first (N, 1, H, W);
or any iterable of 2-D arrays of those dtypes (frames may differ in size, and are read
one at a time). Where several input channels are accepted (§1.5: ON/OFF contrast, event
polarities), arrays may also be (N, C, H, W) and frames (C, H, W); a stack of one
channel is always returned as (N, H, W), so single-channel code paths never change.
"Array" includes anything numpy can convert without copying it element by element:
PyTorch tensors (on any device, with or without gradients; torch itself is never
imported here), and any object with ``__array__`` or ``__array_interface__``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from .. import _core
from ..exceptions import DataError, DataTypeError

#: Pixels handed to the core per call: large enough to amortise the call, small
#: enough that Ctrl-C and the progress bar respond within a fraction of a second.
CHUNK_PIXELS = 1 << 20


def as_array(obj: Any) -> np.ndarray | None:
    """``obj`` as a numpy array if it is array-like (not a plain sequence), else None.

    PyTorch tensors are recognised by duck typing (``detach``/``cpu``/``numpy``), so a
    tensor on a GPU or one that requires gradients converts too.
    """
    if isinstance(obj, np.ndarray):
        return obj
    if all(callable(getattr(obj, m, None)) for m in ("detach", "cpu", "numpy")):
        return np.asarray(obj.detach().cpu().numpy())
    if hasattr(obj, "__array__") or hasattr(obj, "__array_interface__"):
        return np.asarray(obj)
    return None


def _squeeze_channel(a: np.ndarray, name: str, ndim: int, multichannel: bool = False) -> np.ndarray:
    """Drops the channel axis of a channel-first array with ``ndim`` + 1 dimensions
    when it holds one channel; keeps several when ``multichannel``."""
    if a.ndim == ndim + 1:
        if multichannel and a.shape[-3] >= 1:
            if a.shape[-3] > 1:
                return a
        elif a.shape[-3] != 1:
            raise DataError(
                f"{name}: channel-first input of shape {a.shape} has {a.shape[-3]} channels; "
                "snnconv works on one brightness channel (convert colour images to grey)"
            )
        return a.reshape(a.shape[:-3] + a.shape[-2:])
    return a


def as_stack(images: Any, name: str = "images", multichannel: bool = False) -> np.ndarray | None:
    """The input as a validated (N, H, W) uint8/float64 array, or None for streams.

    With ``multichannel``, (N, C, H, W) with C > 1 is kept as it is.
    """
    arr = as_array(images)
    if arr is not None:
        images = _squeeze_channel(arr, name, 3, multichannel)
        if images.ndim == 4:
            if images.shape[0] == 0:
                raise DataError(f"{name}: empty input (0 images)")
            if images.shape[2] == 0 or images.shape[3] == 0:
                raise DataError(f"{name}: images have no pixels, shape {images.shape}")
            return _as_core_dtype(images, name)
        if images.ndim != 3:
            raise DataError(
                f"{name}: expected a 3-D array (N, H, W) or (N, 1, H, W), got "
                f"{images.ndim}-D shape {images.shape}; for one image use images[None]"
            )
        if images.shape[0] == 0:
            raise DataError(f"{name}: empty input (0 images)")
        if images.shape[1] == 0 or images.shape[2] == 0:
            raise DataError(f"{name}: images have no pixels, shape {images.shape}")
        return _as_core_dtype(images, name)
    if isinstance(images, (str, bytes)) or not isinstance(images, Iterable):
        raise DataTypeError(
            f"{name}: expected an array (N, H, W) (numpy, torch, ...) or an iterable of "
            f"2-D arrays, got {type(images).__name__}"
        )
    return None


def _as_core_dtype(a: np.ndarray, name: str) -> np.ndarray:
    from .validation import check_alloc

    if a.dtype == np.uint8:
        if not a.flags.c_contiguous:
            check_alloc(name, a.shape, 1)  # the contiguous copy
        return np.ascontiguousarray(a)
    if np.issubdtype(a.dtype, np.floating):
        # float64 stays the caller's array (a memory map is not copied); other float
        # dtypes are converted whole, as the core reads float64 or uint8.
        if a.dtype != np.float64 or not a.flags.c_contiguous:
            check_alloc(name, a.shape, 8)  # the float64 copy
        out = np.ascontiguousarray(a, dtype=np.float64)
        finite, lo, hi = _float_range(out)
        if not finite:
            raise DataError(f"{name}: contains NaN or infinity")
        if lo < 0.0 or hi > 1.0:
            raise DataError(
                f"{name}: float brightness must lie in [0, 1], found range [{lo}, {hi}]; "
                "pass uint8 (0..255) or scale floats to [0, 1]"
            )
        return out
    raise DataTypeError(
        f"{name}: dtype {a.dtype} is not supported; use uint8 (0..255) or float in [0, 1]"
    )


def _float_range(a: np.ndarray) -> tuple[bool, float, float]:
    """(all finite, min, max) of ``a``, a block of images at a time: no temporary of
    the input's size, and the pages of a memory map are released as they are read."""
    from .blocks import BLOCK_BYTES, Reader, block_rows

    reader = Reader(a)
    step = block_rows(a[0].nbytes, BLOCK_BYTES)
    lo, hi = np.inf, -np.inf
    for s in range(0, a.shape[0], step):
        part = a[s : s + step]
        if not np.isfinite(part).all():
            return False, 0.0, 0.0
        lo, hi = min(lo, float(part.min())), max(hi, float(part.max()))
        reader.read(part.shape[0], True, a.strides[0])
    return True, lo, hi


def frames(
    images: Iterable[Any], name: str = "images", multichannel: bool = False
) -> Iterator[np.ndarray]:
    """Yields each frame of a stream as a validated (1, H, W) array, or (1, C, H, W)
    for a frame of C > 1 channels when ``multichannel``."""
    n = 0
    for f in images:
        a = as_array(f)
        a = _squeeze_channel(np.asarray(f) if a is None else a, f"{name}[{n}]", 2, multichannel)
        if a.ndim != 2 and not (multichannel and a.ndim == 3):
            raise DataError(f"{name}: frame {n} must be 2-D (H, W), got shape {a.shape}")
        n += 1
        yield _as_core_dtype(a[None], f"{name}[{n - 1}]")
    if n == 0:
        raise DataError(f"{name}: empty input (0 images)")


def chunks(stack: np.ndarray, order: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """Index arrays covering ``order`` (default: all images) in bounded-size chunks."""
    n = stack.shape[0]
    order = np.arange(n, dtype=np.uint64) if order is None else order
    per = max(1, CHUNK_PIXELS // max(1, int(np.prod(stack.shape[1:]))))
    for start in range(0, len(order), per):
        yield order[start : start + per]


def normalise_brightness(
    batch: np.ndarray, saturation_quantile: float | None, n_threads: int | None
) -> np.ndarray:
    """Brightness in [0, 1] plus the per-image saturation rule, as float64; a
    (N, C, H, W) batch is normalised per image and channel."""
    if batch.ndim == 4:
        planes = batch.reshape(-1, *batch.shape[2:])
        out = _core.normalise_brightness(planes, saturation_quantile, n_threads)
        return out.reshape(batch.shape)
    return _core.normalise_brightness(batch, saturation_quantile, n_threads)


def image_size(stack: np.ndarray) -> tuple[int, int]:
    """(H, W) of a (N, H, W) or (N, C, H, W) stack."""
    return int(stack.shape[-2]), int(stack.shape[-1])


def n_channels(stack: np.ndarray) -> int:
    """C of a (N, C, H, W) stack; 1 for (N, H, W)."""
    return int(stack.shape[1]) if stack.ndim == 4 else 1
