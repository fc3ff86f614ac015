"""A DVS pixel model: intensity frames → events.

Each pixel remembers the log intensity at which it last fired (its reference). Between
two frames its log intensity is taken to move linearly; every time it crosses
``reference ± threshold`` the pixel emits an event (ON upwards, OFF downwards) at the
interpolated crossing time and the reference moves by one threshold. This is the
contrast-threshold model of DVS and ATIS cameras without their noise, bandwidth limit
or refractory period (optional shot noise can be added: ``noise_hz`` spurious events
per pixel per second, half ON, half OFF, at uniform times).

The same model turns rendered saccades (:mod:`.synth`) and video clips
(:func:`snnconv.preprocess.events.clip_events`) into event streams.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import DataError, ParameterError
from .stream import EVENT_DTYPE, make_events

#: Default contrast threshold, in natural-log units (about a 22 % change in intensity).
THRESHOLD = 0.2
#: Intensity added before the log, so black pixels have a finite log intensity.
LOG_OFFSET = 0.05


def log_intensity(frames: np.ndarray, offset: float = LOG_OFFSET) -> np.ndarray:
    """``log(offset + g)`` with ``g`` the frames scaled to [0, 1] (uint8 by 255)."""
    f = np.asarray(frames)
    g = f.astype(np.float64) / 255.0 if f.dtype == np.uint8 else f.astype(np.float64)
    return np.log(offset + g)


def emulate(
    log_frames: np.ndarray,
    times_us: np.ndarray,
    threshold: float = THRESHOLD,
    noise_hz: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Events of a DVS watching ``log_frames`` (T, H, W) taken at ``times_us`` (T,),
    sorted by time. The first frame sets every pixel's reference and emits nothing."""
    lf = np.asarray(log_frames, np.float64)
    ts = np.asarray(times_us, np.float64)
    if lf.ndim != 3 or ts.shape != (lf.shape[0],):
        raise DataError(
            f"log_frames: expected (T, H, W) with T matching times_us, got {lf.shape} "
            f"and {ts.shape}"
        )
    if not np.isfinite(lf).all():
        raise DataError("log_frames: contains NaN or infinite values")
    if len(ts) > 1 and (np.diff(ts) <= 0).any():
        raise DataError("times_us: must be strictly increasing")
    if not (np.isfinite(threshold) and threshold > 0):
        raise ParameterError(f"threshold: must be > 0, got {threshold!r}")
    if not (np.isfinite(noise_hz) and noise_hz >= 0):
        raise ParameterError(f"noise_hz: must be >= 0, got {noise_hz!r}")
    n_frames, h, w = lf.shape
    ref = lf[0].copy()
    parts: list[tuple[np.ndarray, ...]] = []
    for k in range(1, n_frames):
        prev, cur = lf[k - 1], lf[k]
        diff = cur - ref
        n = np.floor(np.abs(diff) / threshold).astype(np.int64)
        idx = np.flatnonzero(n)
        if idx.size == 0:
            continue
        cnt = n.ravel()[idx]
        sign = np.sign(diff.ravel()[idx])
        pix = np.repeat(idx, cnt)
        # the j-th crossing (1-based) of each pixel: reference + sign * j * threshold
        j = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt) + 1
        s = np.repeat(sign, cnt)
        level = ref.ravel()[pix] + s * j * threshold
        p0, p1 = prev.ravel()[pix], cur.ravel()[pix]
        span = p1 - p0
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(span != 0, (level - p0) / span, 1.0)
        frac = np.clip(frac, 0.0, 1.0)
        t = ts[k - 1] + frac * (ts[k] - ts[k - 1])
        parts.append((pix % w, pix // w, t, (s > 0).astype(np.uint8)))
        ref.ravel()[idx] += sign * cnt * threshold
    if noise_hz > 0 and n_frames > 1:
        rng = rng if rng is not None else np.random.default_rng(0)
        dur = (ts[-1] - ts[0]) * 1e-6
        m = int(rng.poisson(noise_hz * dur * h * w))
        pix = rng.integers(0, h * w, m)
        parts.append((pix % w, pix // w, rng.uniform(ts[0], ts[-1], m), rng.integers(0, 2, m)))
    if not parts:
        return np.zeros(0, EVENT_DTYPE)
    x, y, t, p = (np.concatenate(c) for c in zip(*parts, strict=True))
    t = np.floor(t).astype(np.int64)
    order = np.lexsort((x, y, t))
    return make_events(x[order], y[order], t[order], p[order])
