"""Event filters applied before binning: a per-pixel refractory period and tonic's
neighbourhood denoise, vectorised (sorting and searching, no Python loop per event).

Semantics, and where they differ from tonic's loops:

- :func:`refractory` drops an event when the same pixel (either polarity) had an event,
  kept or dropped, less than or exactly ``period_us`` before it, as tonic's
  ``RefractoryPeriod`` does; unlike tonic, a pixel's first event is always kept (tonic
  starts each pixel's memory at ``-period_us`` and so drops first events at ``t = 0``).
- :func:`denoise` keeps an event when one of its four direct neighbours (either
  polarity) had an event in ``(t - filter_us, t]``, as tonic's ``Denoise``; a neighbour
  event with exactly the same timestamp counts whichever comes first in the stream, and
  unlike tonic (whose memory starts at ``filter_us``) events in the first ``filter_us``
  of the recording are not kept for free.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import ParameterError
from .stream import check_events


def _check_time(name: str, value: float) -> int:
    if not np.isfinite(value) or value < 0:
        raise ParameterError(f"{name}: must be a time >= 0 in µs, got {value!r}")
    return int(value)


def refractory(events: np.ndarray, period_us: float) -> np.ndarray:
    """``events`` without those within ``period_us`` of the pixel's previous event."""
    period = _check_time("period_us", period_us)
    check_events(events)
    if len(events) < 2 or period == 0:
        return events
    width = int(events["x"].max()) + 1
    pix = events["y"].astype(np.int64) * width + events["x"]
    order = np.lexsort((events["t"], pix))
    ps, ts = pix[order], events["t"][order].astype(np.int64)
    keep_sorted = np.ones(len(events), bool)
    keep_sorted[1:] = (ps[1:] != ps[:-1]) | (ts[1:] - ts[:-1] > period)
    keep = np.empty(len(events), bool)
    keep[order] = keep_sorted
    return events[keep]


def denoise(events: np.ndarray, filter_us: float) -> np.ndarray:
    """``events`` that have a 4-neighbour event in the ``filter_us`` before them."""
    window = _check_time("filter_us", filter_us)
    check_events(events)
    if len(events) == 0:
        return events
    x, y = events["x"].astype(np.int64), events["y"].astype(np.int64)
    t = events["t"].astype(np.int64)
    t0 = int(t.min())
    t = t - t0
    width, height = int(x.max()) + 1, int(y.max()) + 1
    span = int(t.max()) + window + 1
    keys = np.sort((y * width + x) * span + t + window)
    found = np.zeros(len(events), bool)
    for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        nx, ny = x + dx, y + dy
        ok = (nx >= 0) & (nx < width) & (ny >= 0) & (ny < height)
        base = (ny * width + nx) * span
        hi = np.searchsorted(keys, base + t + window, side="right")
        lo = np.searchsorted(keys, base + t, side="right")
        found |= ok & (hi > lo)
    return events[found]
