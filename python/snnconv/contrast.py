"""ON/OFF contrast channels (docs/algorithms.md §1.6): the input seen as retinas and event
cameras see it, as local brightness differences of both signs.

``contrast_channels(images, "on_off", size)`` turns grey images (N, H, W) into
(N, 2, H, W): with d = g − (mean of g over the ``size`` × ``size`` window centred on the
pixel), ON = max(d, 0) and OFF = max(−d, 0). ``"on_off_image"`` appends the image itself
as a third channel; ``"image"`` returns the images unchanged. Near the border the window
is cut to the part inside the image (the mean of the pixels that exist, no padding).

uint8 images give uint8 channels (each value rounded to the nearest level, so the
channels keep the images' resolution of 1/255 and their compact, exactly encoded form);
float images in [0, 1] give float64 channels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .exceptions import DataError, ParameterError

#: The accepted values of the ``channels`` option, and the channels each gives.
CHANNELS = {"image": 1, "on_off": 2, "on_off_image": 3}

#: Contrasts below this are round-off of the box sums, not contrast.
_ROUND_OFF = 1e-9

#: Pixels processed per numpy pass (bounds the float64 temporaries).
_CHUNK_PIXELS = 1 << 22


def check_channels(channels: Any, size: Any) -> None:
    """Validates the ``channels`` option and the ``contrast_size`` window side."""
    if not isinstance(channels, str) or channels not in CHANNELS:
        raise ParameterError(f"channels: must be one of {sorted(CHANNELS)}, got {channels!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= size <= 255:
        raise ParameterError(f"contrast_size: must be an odd integer in [1, 255], got {size!r}")
    if size % 2 == 0:
        raise ParameterError(f"contrast_size: must be odd (a centred window), got {size}")


def n_channels_of(channels: str) -> int:
    """Channels ``contrast_channels`` produces for the option ``channels``."""
    return CHANNELS[channels]


def contrast_channels(images: np.ndarray, channels: str = "on_off", size: int = 5) -> np.ndarray:
    """The channels of ``images`` (N, H, W), uint8 or float in [0, 1]: (N, C, H, W) with
    C = 2 (ON, OFF) or 3 (ON, OFF, image); ``"image"`` returns ``images`` as they are."""
    check_channels(channels, size)
    if channels == "image":
        return images
    a = np.asarray(images)
    if a.ndim != 3:
        raise DataError(
            f"images: channels={channels!r} derives its channels from grey images (N, H, W), "
            f"got shape {a.shape}"
        )
    c = CHANNELS[channels]
    levels = a.dtype == np.uint8
    out = np.empty((a.shape[0], c, *a.shape[1:]), dtype=np.uint8 if levels else np.float64)
    per = max(1, _CHUNK_PIXELS // max(1, a.shape[1] * a.shape[2]))
    for start in range(0, a.shape[0], per):
        part = a[start : start + per]
        g = part / 255.0 if levels else part.astype(np.float64)
        d = g - _local_mean(g, size)
        # The box sums round; a flat region must give no contrast at all (zeros keep
        # the channels sparse, and any value above 0 counts as bright when B = 0).
        d[np.abs(d) < _ROUND_OFF] = 0.0
        on, off = np.maximum(d, 0.0), np.maximum(-d, 0.0)
        dst = out[start : start + per]
        if levels:
            # d ∈ [−1, 1]: levels round to [0, 255]; the image channel is exact.
            dst[:, 0] = np.rint(on * 255.0)
            dst[:, 1] = np.rint(off * 255.0)
        else:
            dst[:, 0], dst[:, 1] = on, off
        if c == 3:
            dst[:, 2] = part
    return out


def _local_mean(g: np.ndarray, size: int) -> np.ndarray:
    """Mean of each pixel's ``size`` × ``size`` window cut to the image, (N, H, W)."""
    n, h, w = g.shape
    r = size // 2
    # Integral image with a zero first row and column: box sums in four lookups.
    s = np.zeros((n, h + 1, w + 1))
    np.cumsum(g, axis=1, out=s[:, 1:, 1:])
    np.cumsum(s[:, 1:, 1:], axis=2, out=s[:, 1:, 1:])
    y0 = np.clip(np.arange(h) - r, 0, h)
    y1 = np.clip(np.arange(h) + r + 1, 0, h)
    x0 = np.clip(np.arange(w) - r, 0, w)
    x1 = np.clip(np.arange(w) + r + 1, 0, w)
    box = (
        s[:, y1[:, None], x1[None, :]]
        - s[:, y0[:, None], x1[None, :]]
        - s[:, y1[:, None], x0[None, :]]
        + s[:, y0[:, None], x0[None, :]]
    )
    count = (y1 - y0)[:, None] * (x1 - x0)[None, :]
    return box / count
