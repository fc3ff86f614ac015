"""Experiment results built by hand, for report and figure tests (nothing is trained)."""

from __future__ import annotations

import numpy as np

from snnconv.experiment import ExperimentConfig
from snnconv.experiment.data import ExperimentData
from snnconv.experiment.methods import MethodResult
from snnconv.experiment.runner import ExperimentResults, TaskResult


def fake_results(n_folds: int = 3, n_classes: int = 4, per_fold: int = 20):
    """Results of two methods over ``n_folds`` folds without training anything."""
    rng = np.random.default_rng(0)
    n = n_folds * per_fold
    labels = np.arange(n) % n_classes
    images = rng.integers(0, 255, (n, 12, 12), dtype=np.uint8)
    folds = [
        (np.setdiff1d(np.arange(n), np.arange(f, n, n_folds)), np.arange(f, n, n_folds))
        for f in range(n_folds)
    ]
    res = ExperimentResults(
        ExperimentConfig(), "toy", n, [f"c{i}" for i in range(n_classes)], folds
    )
    for method in ("csnn", "probe"):
        for f, (train, test) in enumerate(folds):
            truth = labels[test]
            pred = np.where(rng.random(len(test)) < 0.8, truth, (truth + 1) % n_classes)
            artifacts = {"kernels": rng.normal(size=(6, 5, 5))}
            if method == "csnn":
                sizes = np.linspace(len(train) / 4, len(train), 4).astype(int).tolist()
                accs = 0.5 + 0.1 * np.arange(4) + 0.01 * f
                artifacts["learning_curve"] = (sizes, accs.tolist())
                artifacts["rasters"] = {
                    "input": rng.random((15, 12, 12)) < 0.2,
                    "conv": rng.random((15, 3, 4, 4)) < 0.1,
                    "pool": rng.random((15, 3, 2, 2)) < 0.2,
                    "CoLaNET L (copy 0)": rng.random((15, 80)) < 0.02,
                    "CoLaNET OUT": rng.random((15, 4)) < 0.1,
                }
                artifacts["raster_labels"] = (int(truth[0]), int(pred[0]))
            result = MethodResult(
                accuracy=float(np.mean(pred == truth)),
                predictions=pred,
                train_time=1.0,
                infer_time_per_image=1e-3,
                neurons=100,
                artifacts=artifacts,
            )
            res.tasks.append(TaskResult(method, f, f, result, 1.0))
    data = ExperimentData(images, labels, res.class_names, None, "toy")
    return res, data
