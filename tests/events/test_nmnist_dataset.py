"""The ``nmnist`` dataset of the registry and ``snnconv run --dataset nmnist``."""

from __future__ import annotations

import gc
import json
import os

import numpy as np
import pytest

from snnconv._util.blocks import MappedFile
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


def test_dataset_carries_the_streams_next_to_the_images(tree):
    d = load_dataset("nmnist", [str(tree)])
    train, _ = load_nmnist(tree, "train")
    test, _ = load_nmnist(tree, "test")
    assert len(d.events) == 60 and d.events.sensor_size == NMNIST_SENSOR
    for i, s in enumerate(train + test):
        np.testing.assert_array_equal(d.events[i], s)
    # on a temporary file, so worker processes map it instead of receiving a copy
    assert isinstance(d.events.portable().events, MappedFile)
    path = d.events.portable().events.path
    del d
    gc.collect()
    assert not os.path.exists(path)  # deleted with the set
    on = load_dataset("nmnist", [str(tree), "on"])
    assert on.events.sensor_size == (34, 34, 1)
    np.testing.assert_array_equal(on.events[3], train[3][train[3]["p"] > 0])
    assert len(on.events.events) == sum(int((s["p"] > 0).sum()) for s in train + test)


def _run(tree, out, *extra):
    args = ["run", "--dataset", "nmnist", "--data-dir", str(tree), "--no-figures", "--quiet"]
    assert main([*args, "--out", str(out), *extra]) == 0
    return json.loads((out / "results.json").read_text())


def test_run_gives_the_csnn_the_event_streams(tree, tmp_path):
    from snnconv import CSNNClassifier
    from snnconv.experiment.config import ExperimentConfig
    from snnconv.experiment.runner import task_seed

    res = _run(tree, tmp_path / "out", "--methods", "csnn,digital", "--folds", "1")
    # The event study's five CoLaNET passes are the dataset's preset.
    assert res["config"]["classifier"]["params"] == {"epochs": 5}
    runs = {r["method"]: r for r in res["runs"]}
    extra = runs["csnn"]["extra"]
    assert extra["input"] == "events" and extra["input_channels"] == 2
    assert runs["digital"]["extra"]["input"] == "image"
    # The same CSNN fitted on the streams directly scores the same.
    cfg = ExperimentConfig()
    cfg.set("classifier.params.epochs", 5)
    clf = CSNNClassifier.from_config(cfg, random_state=task_seed(0, 0), n_threads=1)
    clf.set_params(sensor_size=NMNIST_SENSOR)
    train, y_train = load_nmnist(tree, "train")
    test, y_test = load_nmnist(tree, "test")
    clf.fit(train, y_train)
    assert clf.kernel_learner_.kernels_.shape[1] == 2
    assert extra["bin_width_us"] == clf.bin_width_us_
    assert extra["event_scale"] == clf.event_scale_
    assert runs["csnn"]["accuracy"] == clf.score(test, y_test)


def test_event_run_is_the_same_in_worker_processes(tree, tmp_path):
    common = ["--methods", "csnn", "--folds", "2", "--set", "run.learning_curve=false"]
    serial = _run(tree, tmp_path / "serial", *common, "--backend", "serial")
    local = _run(tree, tmp_path / "local", *common, "--backend", "local", "--jobs", "2")
    assert [r["extra"]["input"] for r in local["runs"]] == ["events", "events"]
    for a, b in zip(serial["runs"], local["runs"], strict=True):
        assert a["accuracy"] == b["accuracy"]
        assert a["extra"]["scale"] == b["extra"]["scale"]
        assert a["extra"]["backlog_fraction"] == b["extra"]["backlog_fraction"]


def test_limit_keeps_the_same_samples_of_streams_and_images(tree):
    from snnconv.experiment.config import RunConfig
    from snnconv.experiment.data import load_experiment_data

    full = load_dataset("nmnist", [str(tree)])
    data = load_experiment_data(RunConfig(dataset="nmnist", dataset_args=[str(tree)], limit=25))
    keep = np.sort(np.random.default_rng(0).permutation(60)[:25])
    assert len(data.events) == 25 and isinstance(data.events.portable().events, MappedFile)
    np.testing.assert_array_equal(data.images, full.images[keep])
    for i, k in enumerate(keep):
        np.testing.assert_array_equal(data.events[i], full.events[k])
