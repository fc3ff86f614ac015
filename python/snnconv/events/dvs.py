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


class DVSSensor:
    """A streaming DVS: feed log-intensity frames with :meth:`update`, one at a time;
    each call returns the events since the previous frame (sorted by time). The first
    frame sets every pixel's reference and emits nothing."""

    def __init__(
        self,
        threshold: float = THRESHOLD,
        noise_hz: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        if not (np.isfinite(threshold) and threshold > 0):
            raise ParameterError(f"threshold: must be > 0, got {threshold!r}")
        if not (np.isfinite(noise_hz) and noise_hz >= 0):
            raise ParameterError(f"noise_hz: must be >= 0, got {noise_hz!r}")
        self.threshold = float(threshold)
        self.noise_hz = float(noise_hz)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self._ref: np.ndarray | None = None
        self._prev: np.ndarray | None = None
        self._t: float = 0.0

    def update(self, log_frame: np.ndarray, t_us: float) -> np.ndarray:
        """Events between the previous frame and ``log_frame`` taken at ``t_us``."""
        cur = np.asarray(log_frame, np.float64)
        if cur.ndim != 2:
            raise DataError(f"log_frame: expected (H, W), got shape {cur.shape}")
        if not np.isfinite(cur).all():
            raise DataError("log_frame: contains NaN or infinite values")
        if self._ref is None or self._prev is None:
            self._ref, self._prev, self._t = cur.copy(), cur, float(t_us)
            return np.zeros(0, EVENT_DTYPE)
        if cur.shape != self._prev.shape:
            raise DataError(
                f"log_frame: shape {cur.shape} differs from the first {self._prev.shape}"
            )
        if not t_us > self._t:
            raise DataError(f"times_us: must be strictly increasing, got {t_us} after {self._t}")
        events = self._crossings(self._prev, cur, self._t, float(t_us))
        self._prev, self._t = cur, float(t_us)
        return events

    def _crossings(self, prev: np.ndarray, cur: np.ndarray, t0: float, t1: float) -> np.ndarray:
        assert self._ref is not None
        h, w = cur.shape
        ref = self._ref.ravel()
        thr = self.threshold
        diff = cur.ravel() - ref
        n = np.floor(np.abs(diff) / thr).astype(np.int64)
        idx = np.flatnonzero(n)
        parts: list[tuple[np.ndarray, ...]] = []
        if idx.size:
            cnt = n[idx]
            sign = np.sign(diff[idx])
            pix = np.repeat(idx, cnt)
            # the j-th crossing (1-based) of each pixel: reference + sign * j * threshold
            j = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt) + 1
            s = np.repeat(sign, cnt)
            level = ref[pix] + s * j * thr
            p0, p1 = prev.ravel()[pix], cur.ravel()[pix]
            span = p1 - p0
            with np.errstate(divide="ignore", invalid="ignore"):
                frac = np.where(span != 0, (level - p0) / span, 1.0)
            t = t0 + np.clip(frac, 0.0, 1.0) * (t1 - t0)
            parts.append((pix % w, pix // w, t, (s > 0).astype(np.uint8)))
            ref[idx] += sign * cnt * thr
        if self.noise_hz > 0:
            m = int(self.rng.poisson(self.noise_hz * (t1 - t0) * 1e-6 * h * w))
            pix = self.rng.integers(0, h * w, m)
            parts.append(
                (pix % w, pix // w, self.rng.uniform(t0, t1, m), self.rng.integers(0, 2, m))
            )
        if not parts:
            return np.zeros(0, EVENT_DTYPE)
        x, y, t, p = (np.concatenate(c) for c in zip(*parts, strict=True))
        t = np.rint(t).astype(np.int64)
        order = np.lexsort((x, y, t))
        return make_events(x[order], y[order], t[order], p[order])


def emulate(
    log_frames: np.ndarray,
    times_us: np.ndarray,
    threshold: float = THRESHOLD,
    noise_hz: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Events of a DVS watching ``log_frames`` (T, H, W) taken at ``times_us`` (T,),
    sorted by time (:class:`DVSSensor` over all frames at once)."""
    lf = np.asarray(log_frames, np.float64)
    ts = np.asarray(times_us, np.float64)
    if lf.ndim != 3 or ts.shape != (lf.shape[0],):
        raise DataError(
            f"log_frames: expected (T, H, W) with T matching times_us, got {lf.shape} "
            f"and {ts.shape}"
        )
    sensor = DVSSensor(threshold, noise_hz, rng)
    parts = [sensor.update(f, t) for f, t in zip(lf, ts, strict=True)]
    return np.concatenate(parts) if parts else np.zeros(0, EVENT_DTYPE)
