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
