"""Tiny data and tiny estimators for the scikit-learn compatibility tests: every
estimator fits in well under a second on 12x12 images or a few flat features."""

from __future__ import annotations

from typing import Any

import numpy as np

import snnconv
from snnconv.baselines import CNN1, CNN2, ULSNN

SIZE = 12


def bar_images(n: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 12, 12) uint8 images of a vertical (label 0) or horizontal (label 1) bar at a
    random position, over faint noise; labels alternate."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 40, size=(n, SIZE, SIZE)).astype(np.uint8)
    y = np.arange(n) % 2
    for i in range(n):
        k = rng.integers(2, SIZE - 3)
        if y[i] == 0:
            x[i, :, k : k + 2] = 230
        else:
            x[i, k : k + 2, :] = 230
    return x, y


def blob_features(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 150) non-negative features: three classes, each mostly on its own block of 50
    inputs (values 0..10, noise elsewhere); labels cycle 0, 1, 2."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.uniform(0, 2, size=(n, 150)) * (rng.random((n, 150)) < 0.1)
    for c in range(3):
        rows = np.flatnonzero(y == c)
        x[rows, 50 * c : 50 * (c + 1)] += 10.0 * (rng.random((rows.size, 50)) < 0.8)
    return x, y


def kernel_learner(**kw: Any) -> snnconv.KernelLearner:
    return snnconv.KernelLearner(**{"kernel_size": 3, "n_kernels": 4, **kw})


def colanet(**kw: Any) -> snnconv.CoLaNET:
    return snnconv.CoLaNET(**{"microcolumns": 3, "n_copies": 2, "input_max": 10, **kw})


def digital_colanet(**kw: Any) -> snnconv.DigitalCoLaNET:
    return snnconv.DigitalCoLaNET(**{"microcolumns": 3, "n_copies": 2, "input_max": 10, **kw})


def conv_snn(**kw: Any) -> snnconv.ConvSNN:
    return snnconv.ConvSNN(**{"kernels": kernel_learner(), "on_backlog": "ignore", **kw})


def csnn(**kw: Any) -> snnconv.CSNNClassifier:
    return snnconv.CSNNClassifier(
        **{
            "kernel_learner": kernel_learner(),
            "classifier": snnconv.DigitalCoLaNET(microcolumns=2, n_copies=1, threshold=2.0),
            "calibration_size": 8,
            **kw,
        }
    )


def cnn1(**kw: Any) -> CNN1:
    return CNN1(**{"epochs": 1, "batch_size": 8, "backend": "numpy", **kw})


def cnn2(**kw: Any) -> CNN2:
    return CNN2(**{"epochs": 1, "batch_size": 8, "backend": "numpy", **kw})


def ulsnn(**kw: Any) -> ULSNN:
    return ULSNN(**{"n_neurons": 4, "time": 20, **kw})


#: name -> factory, for the eight public estimators
FACTORIES = {
    "KernelLearner": kernel_learner,
    "ConvSNN": conv_snn,
    "CoLaNET": colanet,
    "DigitalCoLaNET": digital_colanet,
    "CSNNClassifier": csnn,
    "CNN1": cnn1,
    "CNN2": cnn2,
    "ULSNN": ulsnn,
}
IMAGE_ESTIMATORS = ("KernelLearner", "ConvSNN", "CSNNClassifier", "CNN1", "CNN2", "ULSNN")
FLAT_ESTIMATORS = ("CoLaNET", "DigitalCoLaNET")
CLASSIFIERS = ("CoLaNET", "DigitalCoLaNET", "CSNNClassifier", "CNN1", "CNN2", "ULSNN")


def data_for(name: str) -> tuple[np.ndarray, np.ndarray]:
    return blob_features() if name in FLAT_ESTIMATORS else bar_images()


def outputs(est: Any, X: np.ndarray) -> dict[str, np.ndarray]:
    """Everything the fitted estimator computes from X, by method name."""
    out = {}
    for method in ("transform", "predict", "predict_proba", "decision_function"):
        if hasattr(est, method):
            out[method] = np.asarray(getattr(est, method)(X))
    return out
