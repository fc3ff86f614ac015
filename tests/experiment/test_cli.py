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
