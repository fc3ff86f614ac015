"""Population (Gaussian receptive field) code for CoLaNET inputs (docs/algorithms.md §3.2.1).

With ``encoding="population"`` every feature is seen through ``population_size``
Gaussian tuning curves instead of one rate-coded input, so that low-dimensional or
signed data (standardised tabular features, 2-D points) reach the classifier as many
non-negative inputs whose *pattern* carries the value:

- centres: the k/(K−1) quantiles (k = 0 … K−1) of the feature over the training
  batch, so the fields spread over where the training data actually lie (an outlier
  does not squeeze the bulk of the data into one field);
- width of field k: ``WIDTH`` × the mean distance to its neighbouring centres
  (falling back to the feature's range / (K−1) where quantiles coincide, and to 1 for
  a constant feature);
- response: exp(−z²/2), z = (clip(x, first centre, last centre) − centre) / width, in
  [0, 1]; values outside the training range answer like its ends;
- drive: the L-neuron threshold and weight range were tuned for the input drive of raw
  MNIST (937 spikes per example). A handful of features cannot send that many
  spikes, so the whole code is repeated ``repeats`` times, the smallest number at
  which its mean spike count at full scale (a peak giving ``presentation_steps``
  spikes) reaches ``target_spikes`` (by default 2,000 for this code:
  ``input.DRIVE``). Repeated inputs spike
  identically, so this amounts to giving each field a larger weight range. The usual
  ``input_max`` rule then sets the scale on the repeated code.

The code is fitted at the first ``fit`` / ``partial_fit`` and saved with the model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._util.validation import check_alloc
from ..exceptions import ParameterError

#: Field width in units of the spacing between neighbouring centres.
WIDTH = 0.75

#: "auto" is resolved at the first fit (``snnconv.colanet.input.choose_encoding``).
ENCODINGS = ("auto", "rate", "population")

#: Training examples whose mean spike count sets ``repeats``.
SAMPLE = 2000


class PopulationCode:
    """Fitted Gaussian receptive fields: ``centres`` and ``widths`` (F, K), ``repeats``."""

    def __init__(self, centres: np.ndarray, widths: np.ndarray, repeats: int) -> None:
        self.centres = np.ascontiguousarray(centres, dtype=np.float64)
        self.widths = np.ascontiguousarray(widths, dtype=np.float64)
        self.repeats = int(repeats)
        if self.centres.ndim != 2 or self.centres.shape != self.widths.shape:
            raise ParameterError("population code: centres and widths must be (F, K) alike")
        if self.repeats < 1 or not (self.widths > 0).all():
            raise ParameterError("population code: repeats must be >= 1 and widths > 0")

    @classmethod
    def fit(cls, a: np.ndarray, size: int, t_p: int, target_spikes: float) -> PopulationCode:
        """Fields of ``size`` per feature of the (N, F) training batch ``a``."""
        centres = np.quantile(a, np.linspace(0.0, 1.0, size), axis=0).T  # (F, K)
        return cls.from_centres(centres, a[:SAMPLE], t_p, target_spikes)

    @classmethod
    def from_centres(
        cls, centres: np.ndarray, sample: np.ndarray, t_p: int, target_spikes: float
    ) -> PopulationCode:
        """The code with these (F, K) centres; ``sample`` (the first ``SAMPLE``
        training examples) sets ``repeats``. :meth:`fit` in two steps, so that the
        quantiles can be taken a few features at a time (``colanet.chunked``)."""
        code = cls(centres, widths_for(centres), 1)
        spikes = float(np.floor(code.transform(sample) * t_p).sum(axis=1).mean())
        ratio = target_spikes / spikes if spikes > 0 else 1.0
        # A ratio beyond the float range (target_spikes near 1e308, a sparse sample) is
        # as impossible as any other huge one: the size check below refuses it.
        code.repeats = max(1, math.ceil(ratio)) if math.isfinite(ratio) else 2**64
        # One example's repeated code must fit the budget (the classifier's synapses,
        # checked by the core, grow with it too): a huge target_spikes is refused here.
        check_alloc("target_spikes", (code.n_outputs,), 8)
        return code

    @property
    def n_features(self) -> int:
        return int(self.centres.shape[0])

    @property
    def n_outputs(self) -> int:
        """Inputs the classifier sees: features × fields × repeats."""
        return int(self.centres.size * self.repeats)

    def transform(self, a: np.ndarray) -> np.ndarray:
        """(N, F) features → (N, F·K·repeats) responses in [0, 1]."""
        check_alloc("X", (a.shape[0], self.centres.size), 8)  # the responses
        if self.repeats > 1:
            check_alloc("X", (a.shape[0], self.n_outputs), 8)  # and their repeats
        x = np.clip(a, self.centres[:, 0], self.centres[:, -1])
        z = (x[:, :, None] - self.centres[None]) / self.widths[None]
        r = np.exp(-0.5 * z * z).reshape(a.shape[0], -1)
        return np.tile(r, self.repeats) if self.repeats > 1 else r

    # ------------------------------------------------------------ persistence
    def arrays(self) -> dict[str, Any]:
        return {
            "population_centres": self.centres,
            "population_widths": self.widths,
            "population_repeats": np.array(self.repeats, np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: Any) -> PopulationCode:
        return cls(
            arrays["population_centres"],
            arrays["population_widths"],
            int(arrays["population_repeats"]),
        )


def check_encoding(encoding: Any, population_size: Any) -> None:
    """Validates the two encoding parameters."""
    if not isinstance(encoding, str) or encoding not in ENCODINGS:
        raise ParameterError(f"encoding: must be 'auto', 'rate' or 'population', got {encoding!r}")
    if (
        isinstance(population_size, bool)
        or not isinstance(population_size, (int, np.integer))
        or population_size < 2
    ):
        raise ParameterError(f"population_size: must be an integer >= 2, got {population_size!r}")


def widths_for(centres: np.ndarray) -> np.ndarray:
    """Field widths (F, K) from the centres (see the module doc): ``WIDTH`` × the mean
    gap to the neighbouring centres, the feature's range / (K−1) where centres
    coincide, 1 for a constant feature. Load recomputes them to check a file."""
    gaps = np.diff(centres, axis=1)
    spacing = np.empty_like(centres)
    spacing[:, 0] = gaps[:, 0]
    spacing[:, -1] = gaps[:, -1]
    spacing[:, 1:-1] = 0.5 * (gaps[:, 1:] + gaps[:, :-1])
    span = (centres[:, -1] - centres[:, 0]) / (centres.shape[1] - 1)
    span = np.where(span > 0, span, 1.0)
    spacing = np.where(spacing > 0, spacing, span[:, None])
    return WIDTH * spacing
