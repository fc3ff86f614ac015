"""The binary task of the theory: a scalar x, Gaussian receptive fields, Poisson counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .formulas import TheoryParams


@dataclass
class BinaryTask:
    """x ~ U[0, 1); class 1 on [a, b]; node i centred at m_i = (i + 0.5)/n emits
    Poisson(f_max·exp(−(x − m_i)²/(2σ²))·T_p) spikes. Seeded and reproducible."""

    params: TheoryParams
    seed: int = 0

    @property
    def centres(self) -> np.ndarray:
        n = round(self.params.density)
        return (np.arange(n) + 0.5) / n

    def rates(self, x: np.ndarray) -> np.ndarray:
        p = self.params
        diff = np.asarray(x, dtype=float)[:, None] - self.centres[None, :]
        return p.f_max * np.exp(-(diff**2) / (2.0 * p.sigma**2)) * p.t_p

    def sample(self, n_examples: int, stream: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, spike counts (n_examples, n_nodes) uint16, labels 0/1)."""
        rng = np.random.default_rng([self.seed, stream])
        x = rng.random(n_examples)
        counts = rng.poisson(self.rates(x)).astype(np.uint16)
        labels = ((x >= self.params.a) & (x <= self.params.b)).astype(np.int64)
        return x, counts, labels
