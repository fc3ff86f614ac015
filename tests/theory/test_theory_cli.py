"""``snnconv theory``: writes the figures and the predicted-vs-measured tables."""

import json

from snnconv.cli import main


def test_theory_command_writes_figures_and_tables(tmp_path, capsys):
    code = main(
        [
            "theory",
            "--out",
            str(tmp_path),
            "--seeds",
            "2",
            "--examples",
            "150",
            "--spiking-seeds",
            "1",
            "--spiking-examples",
            "60",
            "--sigma",
            "0.025",
            "--f-max",
            "0.4",
        ]
    )
    assert code == 0
    for name in ("w_t.png", "n_microcolumns.png", "accuracy.png", "theory.md", "theory.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    r = json.loads((tmp_path / "theory.json").read_text())
    assert r["params"]["sigma"] == 0.025 and r["params"]["f_max"] == 0.4
    assert r["predicted"]["l"] > 0 and r["predicted"]["t_0"] > r["predicted"]["t_0_printed"]
    assert len(r["measured"]["digital"]["n_recruited"]) == 2
    assert len(r["measured"]["spiking"]["n_recruited"]) == 1
    md = (tmp_path / "theory.md").read_text()
    assert "| microcolumns N (mode of recruited) |" in md
    assert md in capsys.readouterr().out


def test_theory_command_rejects_bad_arguments(tmp_path, capsys):
    assert main(["theory", "--out", str(tmp_path), "--seeds", "0"]) == 2
    assert "--seeds" in capsys.readouterr().err
    assert main(["theory", "--out", str(tmp_path), "--f-max", "0.01"]) == 2
    assert "f_max" in capsys.readouterr().err


def test_theory_command_takes_every_parameter_and_a_given_chi(tmp_path):
    import math

    from snnconv.theory import TheoryParams, report

    values = {"t_p": 12.0, "density": 400.0, "a": 0.2, "b": 0.6, "d": 0.3, "theta": 2.5}
    args = [f"--{k.replace('_', '-')}={v}" for k, v in values.items()]
    common = ["--seeds", "1", "--examples", "80", "--spiking-seeds", "0", "--no-plot", *args]
    given, fitted = tmp_path / "given", tmp_path / "fitted"
    assert main(["theory", "--out", str(given), *common, "--chi", "0.05"]) == 0
    assert main(["theory", "--out", str(fitted), *common, "--microcolumns", "3"]) == 0
    p = TheoryParams(**values)
    for out, source in ((given, "given"), (fitted, "fitted (digital median)")):
        r = json.loads((out / "theory.json").read_text())
        assert r["chi_source"] == source
        assert {k: r["params"][k] for k in values} == values
        # the predictions are the closed forms of these parameters
        expected = report.predictions(report.with_chi(p, r["params"]["chi"]))
        assert set(r["predicted"]) == set(expected)
        for key, value in expected.items():
            if isinstance(value, float) and not math.isnan(value):
                assert r["predicted"][key] == value, key
        assert list(r["measured"]) == ["digital"]  # --spiking-seeds 0
        assert sorted(x.name for x in out.iterdir()) == ["theory.json", "theory.md"]  # --no-plot
    assert json.loads((given / "theory.json").read_text())["params"]["chi"] == 0.05
    # --microcolumns 3: no run recruits more than three per class column
    assert (
        max(json.loads((fitted / "theory.json").read_text())["measured"]["digital"]["n_recruited"])
        <= 3
    )
