"""Real data: kernels learned on MNIST must give features a linear probe can use."""

import numpy as np
import pytest

import snnconv
from snnconv.experiment.probe import probe_accuracy, relu_pool_features


@pytest.mark.slow
def test_probe_accuracy_on_mnist5k(mnist5k):
    images, labels = mnist5k
    train, test = images[:4000], images[4000:]
    kl = snnconv.KernelLearner().fit(train)  # every default of docs/algorithms.md §1
    assert 5 <= kl.kernels_.shape[0] <= 28
    assert kl.kernels_.shape[1:] == (9, 9)
    acc = probe_accuracy(
        relu_pool_features(kl.transform(train)),
        labels[:4000],
        relu_pool_features(kl.transform(test)),
        labels[4000:],
    )
    assert acc >= 0.95, acc
    # and the kernels help: raw pixels with the same probe stay clearly below
    raw = probe_accuracy(
        train.reshape(4000, -1).astype(float),
        labels[:4000],
        test.reshape(1000, -1).astype(float),
        labels[4000:],
    )
    assert acc > raw + 0.03, (acc, raw)
    assert np.isfinite(kl.kernels_).all()
