"""The spiking CoLaNET v2 classifier (docs/algorithms.md §3)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import ParameterError, ParameterTypeError
from .base import ColanetBase


class CoLaNET(ColanetBase):
    """Spiking columnar classifier with local anti-Hebbian and dopamine plasticity.

    Per copy: one column per class with ``microcolumns`` learning (L) neurons, an OUT
    and a BIASGATE neuron, and a Target node per class. Each example is a frame of
    ``frame_steps`` steps whose first ``presentation_steps`` carry the input spikes;
    in training the label's Target node fires at ``label_step``, forces an L neuron of
    its column if that column stayed silent (recruitment), rewards the column's firing
    L three steps later and resets all potentials one step after that. ``n_copies``
    independent copies vote with relative votes; inference freezes plasticity.

    Defaults are Kiselev's KNP MNIST settings (docs/algorithms.md §3): H = ``threshold``,
    k = ``threshold_excess``, τ_v = ``tau_v``, d_H = ``hebbian``, D = ``reward``,
    r = ``stability_ratio``, [w_min, w_max), n_s = ``silent_synapses`` (−1 switches
    conservation off) with the free pool spread once |F| ≥ ``renorm_threshold``,
    T_H = ``hebbian_window``, T_D = ``dopamine_time``, ISI_max = ``max_isi``,
    σ = ``stochastic`` (uniform stimulation per step; it is also what makes
    the copies of an ensemble differ — with σ = 0 they are identical).

    X: features (N, F), or (N, C, P, Q) spike counts (flattened). With the rate code
    feature x sends ⌊T_p·min(max(x, 0) / input_max_, 1)⌋ spikes; ``input_max`` is a
    number, ``"max"`` (largest training value) or ``"match"`` (default: the scale
    giving ``target_spikes`` input spikes per example on average; by default 937, the
    drive of raw MNIST the defaults were tuned for, and 2,000 with the population
    code); see ``snnconv.colanet.base``. ``encode(X)`` shows the
    counts. Learning is online: ``fit`` makes ``epochs`` passes in a seeded shuffled
    order (``shuffle``).

    ``encoding="population"`` sees each feature through ``population_size`` Gaussian
    receptive fields centred on its training quantiles, the whole code repeated until
    it can send ``target_spikes`` (2,000) spikes per example (docs/algorithms.md §3.2.1,
    ``snnconv.colanet.population``). It accepts signed features and lets CoLaNET learn
    low-dimensional data (2-D blobs, iris, wine, breast cancer, digits), where the rate
    code stays near chance. The default ``encoding="auto"`` takes it when a training
    feature is negative or the features are too few to send ``target_spikes`` spikes
    with the rate code (tabular data), and the rate code otherwise (raw pixels);
    ``encoding_`` says which. The fitted code is ``population_`` (``None`` with the
    rate code).

    Out-of-range values at predict time never raise: the rate code sends 0 spikes
    below 0 and T_p above ``input_max_``; the population code answers a value outside
    the range a feature had in the first training batch as it answers that range's
    nearest end.

    Learned state: ``resource_``, ``weights_``, ``stability_``, ``free_resource_``,
    ``firing_counts_``, ``usage_`` (microcolumns recruited per copy and column).
    """

    _kind = "spiking"
    _format = "snnconv.CoLaNET"

    def trace(self, x: Any, label: Any = None, copy: int = 0) -> dict[str, np.ndarray]:
        """Runs one frame of one copy from rest and returns its step-by-step record.

        ``x`` is one example (F features, encoded as in ``fit``). Without ``label`` the
        frame is an inference frame (nothing changes); with a label it is a training
        frame: the Target spike, forcing, reward and reset happen and *the copy learns*
        (useful to watch or test one learning step; see docs/results.md).

        Returns arrays over the ``frame_steps`` steps: ``potential`` (steps, L) after
        the step, ``spike`` (steps, L) with 0 = none, 1 = own, 2 = forced, ``out`` and
        ``gate`` (steps, n_classes) spikes, ``reward_column`` (steps,) index of the
        rewarded column or −1, ``reset`` (steps,) whether the −30 reset arrived.
        L neuron j belongs to column j // microcolumns.
        """
        self._check_fitted()
        a = self._features(np.asarray(x).reshape(1, -1), self.n_features_in_)
        counts = self._encode(a)[0]
        idx = None
        if label is not None:
            hits = np.flatnonzero(self.classes_ == label)
            if hits.size != 1:
                raise ParameterError(f"label: {label!r} is not among classes_ = {self.classes_!r}")
            idx = int(hits[0])
        if isinstance(copy, bool) or not isinstance(copy, (int, np.integer)):
            raise ParameterTypeError(f"copy: must be an integer, got {type(copy).__name__}")
        if not 0 <= copy < self.n_copies:
            raise ParameterError(f"copy: must be in [0, {self.n_copies}), got {copy}")
        return self._core.trace(int(copy), counts, idx, self.seed_)
