"""`snnconv run` over a memory-mapped image set: workers share the file instead of a
copy each, results equal the in-memory run, and each task records its peak memory."""

import pickle

import numpy as np

from snnconv._util.blocks import MappedFile, mapping, take
from snnconv.datasets.idx import write_idx
from snnconv.experiment import ExperimentConfig, load_experiment_data, run_experiment


def _config(tmp_path, **run):
    images = np.random.default_rng(0).integers(0, 256, (120, 12, 12), dtype=np.uint8)
    images[:, 3:9, 3:9] //= 3
    labels = np.arange(120) % 3
    write_idx(tmp_path / "images", images)
    write_idx(tmp_path / "labels", labels.astype(np.uint8), compress=True)
    cfg = ExperimentConfig()
    cfg.run.methods = ["probe"]
    cfg.run.folds = 2
    cfg.run.progress = False
    cfg.kernels.kernel_size, cfg.kernels.scales = 5, ()
    cfg.set("run.dataset", "idx")
    cfg.run.dataset_args = [str(tmp_path / "images"), str(tmp_path / "labels")]
    for k, v in run.items():
        cfg.set(f"run.{k}", v)
    return cfg, images


def test_idx_run_shares_the_map_and_records_peak_memory(tmp_path):
    cfg, images = _config(tmp_path, backend="local", n_jobs=2, threads_per_task=1)
    data = load_experiment_data(cfg.run)
    assert mapping(data.images) is not None
    ref = MappedFile.of(data.images)
    assert len(pickle.dumps(ref)) < 1000  # what the workers receive
    np.testing.assert_array_equal(ref.open(), images)
    local = run_experiment(cfg, data)
    serial_cfg, _ = _config(tmp_path, backend="serial")
    in_memory = load_experiment_data(serial_cfg.run)
    in_memory.images = np.array(in_memory.images)
    serial = run_experiment(serial_cfg, in_memory)
    assert len(local.tasks) == 2 and not local.failed
    for a, b in zip(local.tasks, serial.tasks, strict=True):
        np.testing.assert_array_equal(a.result.predictions, b.result.predictions)
        assert a.result.extra["peak_rss_mb"] > 10


def test_take_keeps_mapped_rows_on_disk(tmp_path):
    a = np.arange(600, dtype=np.uint16).reshape(100, 6)
    a.tofile(tmp_path / "a")
    m = np.memmap(tmp_path / "a", np.uint16, "r", shape=(100, 6))
    run = take(m, np.arange(10, 30))
    assert np.shares_memory(run, m)
    picked = take(m, np.array([5, 99, 0, 42]))
    assert mapping(picked) is not None and not np.shares_memory(picked, m)
    np.testing.assert_array_equal(picked, a[[5, 99, 0, 42]])
    np.testing.assert_array_equal(take(a, np.array([3, 1])), a[[3, 1]])
