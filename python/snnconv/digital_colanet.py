"""The digital (non-spiking) CoLaNET of SPEC §4 (colanet-notes §14.2)."""

from __future__ import annotations

from ._colanet_base import ColanetBase


class DigitalCoLaNET(ColanetBase):
    """CoLaNET's learning rules without spikes: one excitation per example.

    Per example the spike counts n_i give U_j = Σ_i w_ji·n_i; microcolumn j fires iff
    U_j ≥ θ_j = H + k·Σw⁺_j, one winner (largest U − θ) per column. Training depresses
    every column winner on the active inputs (anti-Hebbian), rewards the winner of the
    label's column, or, if that column is silent, forces and rewards its
    largest-margin microcolumn (recruitment); resources are conserved with
    ``silent_synapses``. The answer is the column of the largest-margin winner.

    Hyperparameters have the meaning and defaults of :class:`snnconv.CoLaNET`
    (timing ones — τ_v, windows, frame layout, stimulation — have no digital
    counterpart and are absent). ``n_copies`` copies differ only in random tie
    breaks, so the default is a single copy.
    """

    _kind = "digital"
    _format = "snnconv.DigitalCoLaNET"
    _fixed = {  # noqa: RUF012 - read-only; values for the spiking-only Rust fields
        "tau_v": 1.0,
        "hebbian_window": 10,
        "dopamine_time": 10,
        "max_isi": 10,
        "frame_steps": 15,
        "label_step": 9,
        "stochastic": 0.0,
    }

    def __init__(
        self,
        microcolumns: int = 20,
        n_copies: int = 1,
        threshold: float = 8.571,
        threshold_excess: float = 0.218,
        hebbian: float = -0.177,
        reward: float = 0.18,
        stability_ratio: float = 0.05,
        w_min: float = -0.253,
        w_max: float = 0.0924,
        initial_weight: float = 0.0,
        silent_synapses: int = 27,
        renorm_threshold: float = 1.0,
        presentation_steps: int = 10,
        input_max: float | None = None,
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
        self.hebbian = hebbian
        self.reward = reward
        self.stability_ratio = stability_ratio
        self.w_min = w_min
        self.w_max = w_max
        self.initial_weight = initial_weight
        self.silent_synapses = silent_synapses
        self.renorm_threshold = renorm_threshold
        self.presentation_steps = presentation_steps
        self.input_max = input_max
        self.epochs = epochs
        self.shuffle = shuffle
        self.random_state = random_state
        self.n_threads = n_threads
        self.progress = progress
