"""results.json provenance, learning-curve data and the mode of written files."""

from __future__ import annotations

import json
import os
import platform
import re
import stat
import subprocess

import numpy as np
import pytest
from _fake_results import fake_results

from snnconv._util import provenance
from snnconv._util.persistence import save_npz
from snnconv.experiment.report import learning_curves, to_json, write_results


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
    assert record["git_dirty"] in (None, True, False)
    assert (record["git_dirty"] is None) == (record["git_commit"] is None)
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
    # Installed from a wheel: the commit the core was built from, said to be so.
    built, dirty = provenance.build_commit()
    record = to_json(fake_results()[0])
    assert record["git_commit"] == built
    assert record["git_commit_source"] == (None if built is None else "build")
    assert record["git_dirty"] == dirty


def test_results_json_records_command_os_and_cpu(monkeypatch):
    import sys

    monkeypatch.setattr(sys, "argv", ["snnconv", "run", "--folds", "3"])
    record = to_json(fake_results()[0])
    assert record["command"] == ["snnconv", "run", "--folds", "3"]
    assert record["os"] == platform.platform()
    assert record["cpu"] == provenance.cpu_model()
    from snnconv import _core

    text = _core.__git_commit__
    assert text == "" or re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", text)


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
