"""results.json provenance, learning-curve data and the mode of written files."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess

import numpy as np
import pytest

from snnconv._util import provenance
from snnconv._util.persistence import save_npz
from snnconv.experiment import ExperimentConfig
from snnconv.experiment.data import ExperimentData
from snnconv.experiment.methods import MethodResult
from snnconv.experiment.report import learning_curves, to_json, write_results
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


def test_results_json_carries_provenance_and_learning_curves(tmp_path):
    res, _ = fake_results()
    write_results(res, tmp_path)
    record = json.loads((tmp_path / "results.json").read_text())
    utc = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    assert re.fullmatch(utc, record["created_utc"])
    assert re.fullmatch(utc, record["started_utc"])
    v = record["versions"]
    assert v["snnconv"] and v["numpy"] == np.__version__ and v["python"]
    assert set(v) == {"snnconv", "numpy", "scikit-learn", "torch", "python"}
    assert v["torch"] == provenance.package_version("torch")  # None when absent
    assert record["git_commit"] == provenance.git_commit()
    (curve,) = record["learning_curves"]
    assert curve["method"] == "csnn" and curve["folds"] == [0, 1, 2]
    acc = np.array(curve["accuracy_per_fold"])
    assert acc.shape == (3, 4)
    np.testing.assert_allclose(curve["accuracy_mean"], acc.mean(axis=0))
    np.testing.assert_allclose(curve["accuracy_std"], acc.std(axis=0, ddof=1))
    assert len(curve["training_images"]) == 4
    assert "Started " in (tmp_path / "results.md").read_text()


def test_git_commit_is_the_checkout_head_or_none(monkeypatch):
    root = provenance.source_root()
    commit = provenance.git_commit()
    if root is None:
        assert commit is None
    else:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        assert commit == head and len(commit) == 40
    monkeypatch.setattr(provenance, "source_root", lambda: None)
    assert provenance.git_commit() is None
    assert to_json(fake_results()[0])["git_commit"] is None


def test_learning_curves_with_one_fold_have_zero_spread():
    res, _ = fake_results(n_folds=2)
    res.tasks = [t for t in res.tasks if t.fold == 0]
    (curve,) = learning_curves(res)
    assert curve["accuracy_std"] == [0.0] * 4


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_written_files_are_0644(tmp_path, umask_022):
    res, data = fake_results()
    write_results(res, tmp_path)
    assert _mode(tmp_path / "results.json") == 0o644
    assert _mode(tmp_path / "results.md") == 0o644
    model = save_npz(tmp_path / "m.npz", "kind", 1, {}, {"a": np.zeros(3)})
    assert _mode(model) == 0o644
    pytest.importorskip("matplotlib")
    from snnconv.experiment.figures import write_figures

    for p in write_figures(res, data, tmp_path / "fig"):
        assert _mode(p) == 0o644, p


def test_modes_respect_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        write_results(fake_results()[0], tmp_path)
        model = save_npz(tmp_path / "m.npz", "kind", 1, {}, {"a": np.zeros(3)})
    finally:
        os.umask(old)
    assert _mode(tmp_path / "results.json") == 0o600
    assert _mode(model) == 0o600
