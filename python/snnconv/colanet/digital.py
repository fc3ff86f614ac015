"""The digital (non-spiking) CoLaNET of docs/algorithms.md §4."""

from __future__ import annotations

from .base import ColanetBase


class DigitalCoLaNET(ColanetBase):
    """CoLaNET's learning rules without spikes: one excitation per example.

    Per example the spike counts n_i give U_j = Σ_i w_ji·n_i (each spike weighted by its
    leak when ``tau_v`` is set, see below); microcolumn j fires iff
    U_j ≥ θ_j = H + k·Σw⁺_j, one winner (largest U − θ) per column. Training depresses
    every column winner on the active inputs (anti-Hebbian), rewards the winner of the
    label's column, or, if that column is silent, forces and rewards its
    largest-margin microcolumn (recruitment); resources are conserved with
    ``silent_synapses``. The answer is the column of the largest-margin winner.

    Hyperparameters have the meaning and defaults of :class:`snnconv.CoLaNET`; the
    spike-timing ones (windows, frame layout) have no digital counterpart and are
    absent. Two refinements keep the twin close to the spiking network (on raw MNIST
    5k: 75.0 % vs 76.1 % for one noiseless copy, 90.6 % vs 91.1 % for 15 noisy ones):
    ``tau_v`` weights each input spike by the leak it suffers until the end of the
    presentation (``None``: plain counts), and ``stochastic`` adds the leaked uniform
    stimulation σ·Σ_k (1 − 1/τ_v)^k ξ_k to every excitation — which is also what makes
    the ``n_copies`` copies differ. ``tau_v=None, stochastic=0, n_copies=1`` is the bare
    algorithm of docs/algorithms.md §4.

    ``encoding="population"`` / ``population_size`` give the population (Gaussian
    receptive field) input code of :class:`snnconv.CoLaNET` (docs/algorithms.md §3.2.1).
    """

    _kind = "digital"
    _format = "snnconv.DigitalCoLaNET"
