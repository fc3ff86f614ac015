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


def test_prepare_options_change_what_they_say(tmp_path, capsys):
    assert main(["neovision2", "synth", "--out", str(tmp_path), "--frames", "16"]) == 0
    (csv,) = tmp_path.glob("*.csv")

    def prepare(name, *opts):
        out = tmp_path / f"{name}.npz"
        assert main(["neovision2", "prepare", str(csv), "--out", str(out), "--quiet", *opts]) == 0
        return ObjectArray.load(out)

    base = prepare("base")
    assert len(base) > 4
    # --threads: the same array on one thread
    one = prepare("one", "--threads", "1")
    np.testing.assert_array_equal(one.images, base.images)
    # --raster: the side of the crops; the same objects
    small = prepare("small", "--raster", "17")
    assert small.images.shape == (len(base), 17, 17)
    np.testing.assert_array_equal(small.track, base.track)
    # --every 2: every second annotated frame of each track (counted from the track's
    # first annotation; the heat source then drops frame 0, which has no heat map)
    half = prepare("half", "--every", "2")
    assert 0 < len(half) < len(base)
    for t in np.unique(base.track):
        frames, kept = base.frame[base.track == t], half.frame[half.track == t]
        assert set(kept) <= set(frames) and len(kept) >= (len(frames) - 1) // 2
        assert (np.diff(kept) == 2).all()
    # --classes: only those classes' objects, labels indexing the classes given
    name = base.classes[int(np.bincount(base.labels).argmax())]
    only = prepare("only", "--classes", name)
    assert list(only.classes) == [name]
    assert len(only) == int((np.asarray(base.classes)[base.labels] == name).sum())
    # --source frame: crops of the grey frames (frame 0 included: it needs no heat map)
    frame = prepare("frame", "--source", "frame")
    keys = {
        (int(t), int(f)): i for i, (t, f) in enumerate(zip(frame.track, frame.frame, strict=True))
    }
    shared = [keys[(int(t), int(f))] for t, f in zip(base.track, base.frame, strict=True)]
    assert len(frame) > len(base) and (frame.frame == 0).sum() == len(frame) - len(base)
    np.testing.assert_array_equal(frame.labels[shared], base.labels)
    assert not np.array_equal(frame.images[shared], base.images)
    # --min-size: boxes with a side below it are dropped
    side = np.minimum(base.boxes[:, 2] - base.boxes[:, 0], base.boxes[:, 3] - base.boxes[:, 1])
    cut = int(np.median(side)) + 1
    big = prepare("big", "--min-size", str(cut))
    assert 0 < len(big) < len(base)
    # --skip-occluded: rows marked occluded in the CSV are left out (one row of a known
    # class after frame 0 is marked)
    lines = csv.read_text().splitlines()
    head = lines[0].split(",")
    occl, kind = head.index("Occlusion"), head.index("ObjectType")
    row = next(
        i
        for i, line in enumerate(lines[1:], 1)
        if line.split(",")[kind] in base.classes and int(line.split(",")[0]) > 0
    )
    cells = lines[row].split(",")
    cells[occl] = "True"
    lines[row] = ",".join(cells)
    csv.write_text("\n".join(lines) + "\n")
    assert len(prepare("kept")) == len(base)
    skipped = prepare("skipped", "--skip-occluded")
    assert len(skipped) == len(base) - 1 and skipped.info["skipped"]["occluded"] == 1
