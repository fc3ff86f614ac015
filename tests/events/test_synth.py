"""The DVS pixel model and the synthetic saccade tree: exact events of a hand-made
change, determinism, the folder layout and the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from snnconv.cli.main import main
from snnconv.events import emulate, load_nmnist, saccade_events, write_synthetic_nmnist
from snnconv.events.synth import _render
from snnconv.exceptions import DataError, ParameterError


def test_dvs_threshold_crossings_exact():
    # one pixel's log intensity 0 -> 1.0 -> 0.5 at t = 0, 100, 200; threshold 0.3
    lf = np.array([0.0, 1.0, 0.5]).reshape(3, 1, 1)
    ev = emulate(lf, np.array([0.0, 100.0, 200.0]), threshold=0.3)
    # up: crossings at 0.3, 0.6, 0.9 (t = 30, 60, 90), reference 0.9; down: 0.6 (t = 180)
    assert ev["t"].tolist() == [30, 60, 90, 180]
    assert ev["p"].tolist() == [1, 1, 1, 0]


def test_dvs_defects():
    with pytest.raises(DataError, match="strictly increasing"):
        emulate(np.zeros((2, 1, 1)), np.array([0.0, 0.0]))
    with pytest.raises(ParameterError, match="threshold"):
        emulate(np.zeros((2, 1, 1)), np.array([0.0, 1.0]), threshold=0)


def test_render_places_the_image_at_the_centre():
    img = np.arange(28 * 28, dtype=float).reshape(28, 28)
    f = _render(img, np.array([0.0, 1.0]), np.array([0.0, 0.0]), 34)
    np.testing.assert_array_equal(f[0, 3:31, 3:31], img)
    np.testing.assert_array_equal(f[1, 3:31, 4:32], img)
    assert f[0, :3].sum() == 0


def test_saccades_are_deterministic_and_plausible():
    img = np.zeros((28, 28), np.uint8)
    img[8:20, 12:16] = 255
    a = saccade_events(img, np.random.default_rng([0, 1]))
    b = saccade_events(img, np.random.default_rng([0, 1]))
    c = saccade_events(img, np.random.default_rng([0, 2]))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert 300 < len(a) < 5000
    assert 0.3 < a["p"].mean() < 0.7
    assert a["t"].max() <= 300_000 and (np.diff(a["t"]) >= 0).all()


def test_tree_layout_and_cli(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 28, 28)).astype(np.uint8)
    labels = np.arange(12) % 3
    root = write_synthetic_nmnist(tmp_path / "a", images, labels, n_train=6, n_test=3, seed=4)
    ev, y = load_nmnist(root, "train")
    assert len(ev) == 6 and set(y) <= {0, 1, 2}
    assert len(load_nmnist(root, "test")[0]) == 3
    assert "Synthetic" in (root / "README.txt").read_text()
    again = write_synthetic_nmnist(tmp_path / "b", images, labels, n_train=6, n_test=3, seed=4)
    for split in ("train", "test"):
        for e1, e2 in zip(load_nmnist(root, split)[0], load_nmnist(again, split)[0], strict=True):
            np.testing.assert_array_equal(e1, e2)
    with pytest.raises(ParameterError, match="other settings"):
        write_synthetic_nmnist(tmp_path / "b", images, labels, n_train=6, n_test=3, seed=5)
    with pytest.raises(ParameterError, match="n_train"):
        write_synthetic_nmnist(tmp_path / "c", images, labels, n_train=10, n_test=3)
    assert main(["events", "synth", "--out", str(tmp_path / "x"), "--n-train", "0"]) == 2
