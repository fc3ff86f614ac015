"""The spiking CoLaNET's fast step against its reference step, through the estimator:
the same learned state, answers and predictions for several seeds and sizes.

The core picks its step implementation when the model is fitted, from the
``SNNCONV_COLANET_KERNEL`` environment variable (``reference``, ``portable``, ``avx2``
or, by default, the fastest the CPU runs: AVX-512 where it has it). The fast step
gives the same model with any number of threads."""

from __future__ import annotations

import numpy as np
import pytest

from snnconv import CoLaNET

KERNEL_ENV = "SNNCONV_COLANET_KERNEL"


def _data(seed: int, n: int, f: int, n_classes: int):
    rng = np.random.default_rng(seed)
    # Sparse non-negative features: about half of them zero, some saturated.
    X = rng.integers(0, 256, size=(n, f)).astype(np.float64)
    X[rng.random((n, f)) < 0.5] = 0.0
    y = rng.integers(0, n_classes, size=n)
    return X, y


def _fit(kernel: str, monkeypatch, X, y, **params) -> CoLaNET:
    monkeypatch.setenv(KERNEL_ENV, kernel)
    try:
        return CoLaNET(**params).fit(X, y)
    finally:
        monkeypatch.delenv(KERNEL_ENV)


@pytest.mark.parametrize(
    ("seed", "f", "n_classes", "microcolumns", "n_copies", "stochastic"),
    [
        (0, 50, 3, 5, 2, 2.212),
        (1, 97, 4, 7, 3, 0.0),
        (2, 64, 2, 15, 2, 1.0),
    ],
)
def test_fast_and_portable_steps_equal_the_reference(
    monkeypatch, seed, f, n_classes, microcolumns, n_copies, stochastic
):
    X, y = _data(seed, 160, f, n_classes)
    params = dict(
        microcolumns=microcolumns,
        n_copies=n_copies,
        stochastic=stochastic,
        threshold=3.0,
        random_state=seed,
        n_threads=1,
        encoding="rate",
    )
    Xtr, ytr, Xte = X[:100], y[:100], X[100:]
    ref = _fit("reference", monkeypatch, Xtr, ytr, **params)
    assert ref.firing_counts_["fired"].sum() > 0
    for kernel, threads in (("portable", 1), ("avx2", 1), ("fast", 1), ("fast", 2)):
        m = _fit(kernel, monkeypatch, Xtr, ytr, **{**params, "n_threads": threads})
        np.testing.assert_array_equal(m.weights_, ref.weights_)
        np.testing.assert_array_equal(m.resource_, ref.resource_)
        np.testing.assert_array_equal(m.free_resource_, ref.free_resource_)
        np.testing.assert_array_equal(m.stability_, ref.stability_)
        for k, v in ref.firing_counts_.items():
            np.testing.assert_array_equal(m.firing_counts_[k], v)
        np.testing.assert_array_equal(m.decision_function(Xte), ref.decision_function(Xte))
        np.testing.assert_array_equal(m.predict(Xte), ref.predict(Xte))
