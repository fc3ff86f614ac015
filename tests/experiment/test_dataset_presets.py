"""Datasets that need other settings than the defaults get them, and a method that
cannot take a dataset's image size is skipped with its reason instead of failing."""

from __future__ import annotations

import json

from snnconv.cli import main
from snnconv.experiment.config import ExperimentConfig
from snnconv.experiment.methods import unsupported_reason


def test_digits_presets_apply_only_to_fields_left_at_their_defaults():
    cfg = ExperimentConfig()
    cfg.set("run.dataset", "digits")
    assert cfg.apply_dataset_presets() == {
        "kernels.kernel_size": 3,
        "kernels.stride": 1,
        "kernels.scales": [],
        "conv_snn.scale_per_kernel": False,
    }
    assert (cfg.kernels.kernel_size, cfg.kernels.stride, cfg.kernels.scales) == (3, 1, ())

    cfg = ExperimentConfig()
    cfg.set("run.dataset", "digits")
    cfg.set("kernels.kernel_size", 5)
    assert cfg.apply_dataset_presets() == {
        "kernels.stride": 1,
        "kernels.scales": [],
        "conv_snn.scale_per_kernel": False,
    }
    assert cfg.kernels.kernel_size == 5

    cfg = ExperimentConfig()
    assert cfg.apply_dataset_presets() == {}
    assert cfg.kernels.kernel_size == 9


def test_nmnist_preset_sets_one_classifier_parameter_unless_given():
    cfg = ExperimentConfig()
    cfg.set("run.dataset", "nmnist")
    cfg.set("classifier.params.n_copies", 2)
    assert cfg.apply_dataset_presets() == {"classifier.params.epochs": 5}
    assert cfg.classifier.params == {"n_copies": 2, "epochs": 5}

    cfg = ExperimentConfig()
    cfg.set("run.dataset", "nmnist")
    cfg.override("classifier.params.epochs=1")
    assert cfg.apply_dataset_presets() == {}
    assert cfg.classifier.params == {"epochs": 1}


def test_cnn_size_limits():
    assert (
        unsupported_reason("cnn2", 8, 8) == "8x8 maps are too small for the 9x9 convolution of CNN2"
    )
    assert unsupported_reason("cnn2", 28, 28) is None
    assert unsupported_reason("csnn", 8, 8) is None


def test_digits_runs_with_defaults(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["run", "--dataset", "digits", "--folds", "2", "--no-figures", "--quiet"]
    assert main([*args, "--methods", "csnn,cnn2", "--out", str(out)]) == 0
    assert "skipped cnn2: 8x8 maps are too small" in capsys.readouterr().err
    res = json.loads((out / "results.json").read_text())
    assert res["config"]["kernels"]["kernel_size"] == 3
    assert [row["method"] for row in res["summary"]] == ["csnn"]
    # Holds 0.8609 (folds 0.859 / 0.862); floors 0.02 below.
    assert res["summary"][0]["accuracy_mean"] >= 0.84
    assert all(r["accuracy"] >= 0.84 for r in res["runs"] if r["method"] == "csnn")
    assert "too small" in res["skipped"]["cnn2"]
