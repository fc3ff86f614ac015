"""The ``nmnist`` dataset of the registry and ``snnconv run --dataset nmnist``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from snnconv.cli.main import main
from snnconv.datasets.registry import check_dataset, load_dataset
from snnconv.events import (
    NMNIST_SENSOR,
    count_frames,
    count_scale,
    load_nmnist,
    saccade_events,
    to_images,
    write_nmnist_bin,
)
from snnconv.exceptions import ParameterError


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    from snnconv.datasets import load_mnist5k

    images, labels = load_mnist5k()
    root = tmp_path_factory.mktemp("nmnist")
    pick = np.random.default_rng(1).permutation(len(labels))[:60]
    for k, i in enumerate(pick):
        folder = root / ("Train" if k < 40 else "Test") / str(int(labels[i]))
        folder.mkdir(parents=True, exist_ok=True)
        ev = saccade_events(images[i], np.random.default_rng([1, int(i)]), frame_us=10_000)
        write_nmnist_bin(folder / f"{int(i):05d}.bin", ev)
    return root


def test_dataset_is_count_images_with_the_folder_split(tree):
    d = load_dataset("nmnist", [str(tree)])
    assert d.images.shape == (60, 34, 34) and d.images.dtype == np.uint8
    assert d.test_mask.sum() == 20 and not d.test_mask[:40].any()
    train, y = load_nmnist(tree, "train")
    frames = count_frames(train, NMNIST_SENSOR)
    np.testing.assert_array_equal(d.images[:40], to_images(frames, count_scale(frames)))
    np.testing.assert_array_equal(d.labels[:40], y)
    on = load_dataset("nmnist", [str(tree), "on"])
    np.testing.assert_array_equal(
        on.images[:40], to_images(frames[:, 1:], count_scale(frames[:, 1:]))
    )


def test_dataset_arguments_are_checked(tmp_path):
    with pytest.raises(ParameterError, match="nmnist takes ROOT"):
        check_dataset("nmnist", [])
    with pytest.raises(ParameterError, match="no Train folder"):
        check_dataset("nmnist", [str(tmp_path)])
    (tmp_path / "Train").mkdir()
    (tmp_path / "Test").mkdir()
    with pytest.raises(ParameterError, match="both, on or off"):
        check_dataset("nmnist", [str(tmp_path), "up"])


def test_run_uses_the_train_test_split(tree, tmp_path):
    out = tmp_path / "out"
    args = ["run", "--dataset", "nmnist", "--data-dir", str(tree), "--methods", "csnn"]
    assert main([*args, "--folds", "1", "--no-figures", "--quiet", "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["config"]["run"]["dataset_args"] == [str(tree)]
    assert [row["method"] for row in res["summary"]] == ["csnn"]
