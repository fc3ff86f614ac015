"""``snnconv neovision2 synth`` and ``prepare`` through the real command-line entry."""

from __future__ import annotations

import numpy as np

from snnconv.cli import main
from snnconv.datasets.neovision2 import HEADER
from snnconv.preprocess import ObjectArray


def test_synth_then_prepare(tmp_path, capsys):
    assert (
        main(["neovision2", "synth", "--clips", "2", "--out", str(tmp_path), "--frames", "12"]) == 0
    )
    csvs = sorted(tmp_path.glob("*.csv"))
    assert [p.name for p in csvs] == [
        "Neovision2-Synth-Tower-001.csv",
        "Neovision2-Synth-Tower-002.csv",
    ]
    assert csvs[0].read_text().splitlines()[0] == HEADER
    assert len(list((tmp_path / "Neovision2-Synth-Tower-002").glob("*.pgm"))) == 12
    capsys.readouterr()

    out = tmp_path / "objects.npz"
    args = ["neovision2", "prepare", *map(str, csvs), "--out", str(out), "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    objs = ObjectArray.load(out)
    assert len(objs) > 0 and objs.images.shape[1:] == (31, 31)
    assert set(np.unique(objs.clip)) == {0, 1}
    table = printed.splitlines()
    assert table[0].split() == ["class", "objects", "tracks", "clips"]
    totals = {line.split()[0]: int(line.split()[1]) for line in table[1:7]}
    assert totals == {**objs.class_counts(), "total": len(objs)}

    det = tmp_path / "det.npz"
    folder = str(tmp_path / "Neovision2-Synth-Tower-001")  # a clip given by its frame folder
    assert main(["neovision2", "prepare", folder, "--detect", "--out", str(det), "--quiet"]) == 0
    assert (ObjectArray.load(det).labels == -1).all()


def test_prepare_reports_errors(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\n1,2,3\n")
    (tmp_path / "bad").mkdir()
    rc = main(["neovision2", "prepare", str(bad), "--out", str(tmp_path / "o.npz"), "--quiet"])
    assert rc == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: expected 15 fields" in err
