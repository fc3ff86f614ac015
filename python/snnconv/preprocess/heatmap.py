"""Difference heat map of a greyscale frame sequence (docs/algorithms.md §6).

For frames I_0, I_1, … and the per-pixel difference D_k = |I_k − I_{k−1}| (in
grey levels), the heat map after frame t ≥ 1 is the decay-weighted mean

    H_t = Σ_{k=1..t} λ^{t−k} D_k / Σ_{k=1..t} λ^{t−k},   λ = 1 − 1 / n_frames.

The weights of an infinitely long history sum to n_frames, so H averages over
about ``n_frames`` recent differences; ``n_frames=1`` is the plain difference
|I_t − I_{t−1}|. Normalising by the weight sum (not by 1 − λ) keeps the first maps
unbiased: H_1 = D_1 exactly. H_0 is all zeros (no pair yet). The loop runs in Rust
(``rust/preprocess/heat.rs``).

Moving cameras: ``align(previous, current)`` may return ``previous`` warped onto
``current`` (e.g. a global shift estimated by phase correlation) before the
difference is taken. The accumulated history is not warped, so keep ``n_frames``
small with a moving camera.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from .. import _core
from .._util.params import ParamsMixin
from ..exceptions import DataError, DataTypeError, ParameterError

Align = Callable[[np.ndarray, np.ndarray], np.ndarray]


class DifferenceHeatMap(ParamsMixin):
    """Streaming heat map: feed frames with :meth:`update`, one at a time.

    Frames are greyscale uint8 (H, W) or float (converted to float32, any unit);
    the heat map is float32 in the frames' unit.
    """

    def __init__(
        self, n_frames: float = 3.0, align: Align | None = None, n_threads: int | None = None
    ) -> None:
        self.n_frames = n_frames
        self.align = align
        self.n_threads = n_threads
        self._core: _core.HeatMapCore | None = None
        self._previous: np.ndarray | None = None

    @property
    def decay(self) -> float:
        """λ = 1 − 1 / n_frames."""
        return 1.0 - 1.0 / float(self.n_frames)

    def reset(self) -> DifferenceHeatMap:
        """Forgets the history (start of a new clip)."""
        self._core = None
        self._previous = None
        return self

    @property
    def n_pairs_(self) -> int:
        """Frame pairs accumulated since the last reset."""
        return 0 if self._core is None else self._core.pairs

    def _frame(self, frame: np.ndarray) -> np.ndarray:
        a = np.asarray(frame)
        if a.ndim != 2:
            raise DataError(f"frame: expected a greyscale 2-D array (H, W), got shape {a.shape}")
        if a.dtype == np.uint8:
            return np.ascontiguousarray(a)
        if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
            raise DataTypeError(f"frame: dtype {a.dtype} is not supported; use uint8 or float")
        f = np.ascontiguousarray(a, dtype=np.float32)
        if not np.isfinite(f).all():
            raise DataError("frame: contains NaN or infinity")
        return f

    def update(self, frame: np.ndarray) -> np.ndarray:
        """Adds ``frame`` and returns the heat map H_t (zeros for the first frame)."""
        n = self.n_frames
        if isinstance(n, bool) or not isinstance(n, (int, float)) or not 1.0 <= n < np.inf:
            raise ParameterError(f"n_frames: must be a number >= 1, got {n!r}")
        current = self._frame(frame)
        if self._core is None:
            self._core = _core.HeatMapCore(
                current.shape[0], current.shape[1], self.decay, self.n_threads
            )
        elif self._previous is not None and (
            current.shape != self._previous.shape or current.dtype != self._previous.dtype
        ):
            raise DataError(
                f"frame: {current.dtype} {current.shape} differs from the previous frame's "
                f"{self._previous.dtype} {self._previous.shape}; call reset() between clips"
            )
        if self._previous is not None:
            previous = self._previous
            if self.align is not None:
                previous = self._frame(self.align(previous, current)).astype(current.dtype)
            self._core.update(previous, current)
        self._previous = current
        return self._core.heat()

    def transform(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Heat map after each frame of a stream (lazy; resets first)."""
        self.reset()
        for f in frames:
            yield self.update(f)
