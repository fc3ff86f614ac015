"""The digital (non-spiking) CoLaNET of SPEC §4 (colanet-notes §14.2)."""

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
    algorithm of notes §14.2.
    """

    _kind = "digital"
    _format = "snnconv.DigitalCoLaNET"
    _fixed = {  # noqa: RUF012 - read-only; values for the spiking-only Rust fields
        "hebbian_window": 10,
        "dopamine_time": 10,
        "max_isi": 10,
        "frame_steps": 15,
        "label_step": 9,
    }

    def __init__(
        self,
        microcolumns: int = 20,
        n_copies: int = 15,
        threshold: float = 8.571,
        threshold_excess: float = 0.218,
        tau_v: float | None = 3.0,
        hebbian: float = -0.177,
        reward: float = 0.18,
        stability_ratio: float = 0.05,
        w_min: float = -0.253,
        w_max: float = 0.0924,
        initial_weight: float = 0.0,
        silent_synapses: int = 27,
        renorm_threshold: float = 1.0,
        presentation_steps: int = 10,
        stochastic: float = 2.212,
        input_max: float | str = "match",
        target_spikes: float = 937.0,
        epochs: int = 1,
        shuffle: bool = True,
        random_state: int = 0,
        n_threads: int | None = None,
        progress: bool = False,
    ) -> None:
        self.microcolumns = microcolumns
        self.n_copies = n_copies
        self.threshold = threshold
        self.threshold_excess = threshold_excess
        self.tau_v = tau_v
        self.hebbian = hebbian
        self.reward = reward
        self.stability_ratio = stability_ratio
        self.w_min = w_min
        self.w_max = w_max
        self.initial_weight = initial_weight
        self.silent_synapses = silent_synapses
        self.renorm_threshold = renorm_threshold
        self.presentation_steps = presentation_steps
        self.stochastic = stochastic
        self.input_max = input_max
        self.target_spikes = target_spikes
        self.epochs = epochs
        self.shuffle = shuffle
        self.random_state = random_state
        self.n_threads = n_threads
        self.progress = progress
