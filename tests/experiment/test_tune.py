"""snnconv tune: the Optuna search runs, keeps the baseline as trial 0, writes a config."""

import json

import pytest

from snnconv.cli import main
from snnconv.experiment import ExperimentConfig


@pytest.mark.slow
def test_tune_writes_best_config(tmp_path, capsys):
    pytest.importorskip("optuna")
    out = tmp_path / "t"
    code = main(
        [
            "tune",
            "--limit",
            "300",
            "--trials",
            "2",
            "--out",
            str(out),
            "--quiet",
            "--set",
            "classifier.params.n_copies=2",
        ]
    )
    assert code == 0
    trials = json.loads((out / "trials.json").read_text())
    assert [t["number"] for t in trials] == [0, 1]
    assert trials[0]["params"]["classifier.params.threshold"] == pytest.approx(8.571)
    best = ExperimentConfig.from_toml(out / "best.toml")
    assert best.classifier.params["n_copies"] == 2
    best_trial = max(trials, key=lambda t: t["value"] or -1)
    for key, value in best_trial["params"].items():
        table, _, name = key.partition(".")
        section = getattr(best, table)
        got = (
            section.params[name.split(".", 1)[1]]
            if name.startswith("params.")
            else getattr(section, name)
        )
        assert got == pytest.approx(value)
    assert "best" in capsys.readouterr().out


def test_tune_rejects_bad_arguments():
    from snnconv.experiment import load_experiment_data
    from snnconv.experiment.tune import tune

    pytest.importorskip("optuna")
    cfg = ExperimentConfig()
    cfg.run.limit = 100
    data = load_experiment_data(cfg.run)
    with pytest.raises(ValueError, match="n_trials"):
        tune(cfg, data, n_trials=0)
    with pytest.raises(ValueError, match="n_jobs"):
        tune(cfg, data, n_jobs=0)
