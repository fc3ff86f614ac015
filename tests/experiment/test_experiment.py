"""The experiment runner: configuration, folds, backends, reports, CLI."""

import json

import numpy as np
import pytest

from snnconv.cli import main
from snnconv.experiment import ExperimentConfig, load_experiment_data, make_folds, run_experiment
from snnconv.experiment.report import summary_rows


def small_config(**run):
    cfg = ExperimentConfig()
    cfg.run.methods = ["probe"]
    cfg.run.folds = 2
    cfg.run.limit = 400
    cfg.run.progress = False
    for k, v in run.items():
        cfg.set(f"run.{k}", v)
    return cfg


def test_toml_round_trip_and_overrides(tmp_path):
    cfg = ExperimentConfig()
    cfg.override("kernels.stride=1")
    cfg.override('run.methods=["csnn", "cnn2"]')
    cfg.override("run.dataset=digits")  # a bare word is a string
    cfg.override("classifier.params.microcolumns=12")
    path = tmp_path / "c.toml"
    path.write_text(cfg.to_toml())
    back = ExperimentConfig.from_toml(path)
    assert back.to_dict() == cfg.to_dict()
    assert back.kernels.stride == 1 and back.run.methods == ["csnn", "cnn2"]
    assert back.classifier.params == {"microcolumns": 12}


@pytest.mark.parametrize(
    ("assignment", "match"),
    [
        ("kernels.stride=1.5", "integer"),
        ("kernels.nope=1", "no field"),
        ("nope.x=1", "unknown key"),
        ("run.figures=3", "true or false"),
        ("run.folds", "table.field=value"),
    ],
)
def test_bad_overrides_are_named(assignment, match):
    with pytest.raises(ValueError, match=match):
        ExperimentConfig().override(assignment)


def test_folds_are_stratified_and_grouped():
    cfg = small_config()
    data = load_experiment_data(cfg.run)
    folds = make_folds(data, 2, 0)
    for train, test in folds:
        assert not set(train) & set(test)
        assert np.bincount(data.labels[test]).min() >= 15
    data.groups = np.arange(len(data.labels)) % 4
    for train, test in make_folds(data, 2, 0):
        assert not set(data.groups[train]) & set(data.groups[test])


def test_backends_give_identical_results():
    data = load_experiment_data(small_config().run)
    serial = run_experiment(small_config(backend="serial"), data)
    local = run_experiment(small_config(backend="local", n_jobs=2, threads_per_task=1), data)
    for a, b in zip(serial.tasks, local.tasks, strict=True):
        assert (a.method, a.fold, a.seed) == (b.method, b.fold, b.seed)
        assert a.result.accuracy == b.result.accuracy
        np.testing.assert_array_equal(a.result.predictions, b.result.predictions)
    rows = summary_rows(serial)
    assert rows[0]["runs"] == 2 and 0.8 < rows[0]["accuracy_mean"] <= 1.0


@pytest.mark.slow
def test_dask_local_cluster_two_folds():
    pytest.importorskip("distributed")
    data = load_experiment_data(small_config().run)
    serial = run_experiment(small_config(backend="serial"), data)
    dask = run_experiment(small_config(backend="dask", n_jobs=2, threads_per_task=1), data)
    assert [t.result.accuracy for t in dask.tasks] == [t.result.accuracy for t in serial.tasks]
    assert [t.fold for t in dask.tasks] == [0, 1]


def test_unavailable_method_is_skipped_not_fatal():
    cfg = small_config(backend="serial")
    cfg.run.methods = ["probe", "nonexistent"]
    res = run_experiment(cfg, load_experiment_data(cfg.run))
    assert "nonexistent" in res.skipped and [t.method for t in res.tasks] == ["probe", "probe"]


def test_cli_run_writes_results_and_figures(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "run",
            "--methods",
            "probe",
            "--folds",
            "2",
            "--limit",
            "300",
            "--out",
            str(out),
            "--quiet",
            "--backend",
            "serial",
            "--set",
            "kernels.n_kernels=12",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "| Kernel features + logistic regression |" in printed
    record = json.loads((out / "results.json").read_text())
    assert record["config"]["kernels"]["n_kernels"] == 12
    assert [r["fold"] for r in record["runs"]] == [0, 1]
    assert all(r["n_train"] + r["n_test"] == 300 for r in record["runs"])
    for name in ["results.md", "confusion_probe.png", "per_class_probe.png", "kernels_probe.png"]:
        assert (out / name).stat().st_size > 100


def test_cli_config_prints_the_defaults_as_toml(capsys):
    import dataclasses

    import snnconv

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    from snnconv.csnn import FRONT_DEFAULTS, LEARNER_DEFAULTS

    def plain(d):  # as TOML holds it: tuples are arrays
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    assert main(["config", "--print-defaults"]) == 0
    parsed = tomllib.loads(capsys.readouterr().out)
    assert parsed == {k: plain(v) for k, v in dataclasses.asdict(ExperimentConfig()).items()}
    assert ExperimentConfig.from_dict(parsed) == ExperimentConfig()
    assert parsed["run"]["dataset"] == "mnist5k"
    # The estimator tables hold the defaults of the stages the CSNN builds.
    for table, est in (
        ("kernels", snnconv.KernelLearner(**LEARNER_DEFAULTS)),
        ("conv_snn", snnconv.ConvSNN(**FRONT_DEFAULTS)),
    ):
        params = plain(est.get_params(deep=False))
        for key, value in parsed[table].items():
            assert value == params[key], f"{table}.{key}"


def test_split_protocol_repeats_the_datasets_own_split():
    from snnconv.experiment.data import ExperimentData

    labels = np.arange(100) % 10
    mask = np.arange(100) >= 80
    data = ExperimentData(
        np.zeros((100, 9, 9), np.uint8), labels, [str(i) for i in range(10)], None, "toy", mask
    )
    folds = make_folds(data, 3, 0)  # auto: the data has its own split
    assert len(folds) == 3
    for train, test in folds:
        np.testing.assert_array_equal(test, np.arange(80, 100))
        np.testing.assert_array_equal(train, np.arange(80))
    assert len(make_folds(data, 2, 0, protocol="folds")[0][1]) == 50
    data.test_mask = None
    with pytest.raises(ValueError, match="own test split"):
        make_folds(data, 2, 0, protocol="split")
