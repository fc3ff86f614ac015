"""The command line runs the main job end to end."""

import numpy as np

import snnconv
from snnconv.cli import main


def test_kernels_command_writes_model_and_figure(tmp_path, capsys):
    code = main(
        [
            "kernels",
            "--out",
            str(tmp_path),
            "--quiet",
            "--no-probe",
            "--dataset",
            "digits",
            "--kernel-size",
            "3",
            "--stride",
            "1",
            "--n-kernels",
            "8",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "learned" in out
    kl = snnconv.KernelLearner.load(tmp_path / "kernels.npz")
    assert kl.kernels_.shape[1:] == (3, 3)
    assert (tmp_path / "kernels.png").stat().st_size > 1000
    assert np.isfinite(kl.resource_).all()


def test_cli_reports_bad_input_without_traceback(tmp_path, capsys):
    code = main(["kernels", "--out", str(tmp_path), "--quiet", "--dataset", "nope"])
    assert code == 2
    assert "unknown dataset" in capsys.readouterr().err


def test_kernels_command_reads_every_registered_dataset(tmp_path, capsys):
    from snnconv.datasets import load_dataset, names
    from snnconv.preprocess import ObjectArray

    # nmnist (event trees) is read by tests/events/test_nmnist_dataset.py.
    assert names() == sorted(
        ["digits", "fashion-mnist", "idx", "mnist5k", "nmnist", "objects", "synthetic-neovision2"]
    )
    rng = np.random.default_rng(0)
    n = 40
    objects = ObjectArray(
        images=rng.integers(0, 256, (n, 16, 16), dtype=np.uint8),
        labels=np.arange(n, dtype=np.int64) % 2,
        classes=("car", "person"),
        clip=np.arange(n, dtype=np.int64) % 4,
        track=np.arange(n, dtype=np.int64),
        frame=np.zeros(n, np.int64),
        boxes=np.zeros((n, 4), np.int64),
        clip_names=("a", "b", "c", "d"),
    )
    path = objects.save(tmp_path / "objects.npz")
    data = load_dataset("objects", [str(path)])
    assert data.class_names == ["car", "person"] and data.groups is not None
    out = tmp_path / "out"
    args = ["kernels", "--out", str(out), "--quiet", "--no-probe", "--no-plot"]
    code = main([*args, "--dataset", "objects", str(path), "--kernel-size", "3"])
    assert code == 0
    assert "dataset objects: 40 images 16x16" in capsys.readouterr().out
    assert (out / "kernels.npz").exists()
