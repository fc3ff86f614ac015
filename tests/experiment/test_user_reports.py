"""Small things users ran into: messages that contradict each other or say the wrong
number, options that pass the up-front checks and fail at the end, a command that
does nothing without a word, and figures of one run drawn on different axes."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from snnconv.cli import main
from snnconv.exceptions import DataError, ParameterError


def _refused(capsys, argv) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err  # one line, no traceback
    return err


@pytest.mark.parametrize("folds", ["0", "1"])
def test_folds_0_and_1_get_the_same_story(tmp_path, capsys, folds):
    """digits has no own test split: stratified folds need at least 2, and both 0 and 1
    say so with the same range."""
    err = _refused(
        capsys,
        ["run", "--out", str(tmp_path), "--quiet", "--dataset", "digits", "--folds", folds],
    )
    assert "run.folds: must be an integer in [2, 1000] for stratified folds" in err, err


def test_resume_refusal_counts_tasks_not_files(tmp_path):
    from snnconv.experiment.taskstore import ResumeError, TaskStore

    store, _ = TaskStore.open(tmp_path, {"a": 1}, resume=False)
    for fold in (0, 1):  # two finished tasks: a record and an array file each
        (store.folder / f"digital-{fold}.json").write_text("{}")
        (store.folder / f"digital-{fold}.npz").write_bytes(b"")
    with pytest.raises(ResumeError, match="holds 2 finished tasks"):
        TaskStore.open(tmp_path, {"a": 1}, resume=False)


def test_idx_header_beyond_64_bits_is_reported_exactly(tmp_path):
    from snnconv.datasets.idx import read_idx

    path = tmp_path / "huge.idx"
    path.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", 2**32 - 1, 65535, 65535))
    need = (2**32 - 1) * 65535 * 65535
    with pytest.raises(DataError, match=f"need {need} data bytes, file has 0"):
        read_idx(path)


def test_idx_gzip_bomb_stops_at_the_budget(tmp_path, monkeypatch):
    import gzip

    from snnconv.datasets.idx import read_idx
    from snnconv.exceptions import ResourceLimitError

    path = tmp_path / "bomb.idx.gz"
    path.write_bytes(
        gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 1 << 22) + bytes(4 << 20))
    )
    monkeypatch.setenv("SNNCONV_MAX_ALLOC_BYTES", str(1 << 20))
    with pytest.raises(ResourceLimitError, match="decompresses to more than"):
        read_idx(path)
    monkeypatch.delenv("SNNCONV_MAX_ALLOC_BYTES")
    assert read_idx(path).shape == (1 << 22,)


def test_torch_backend_without_torch_is_refused_up_front(tmp_path, capsys, monkeypatch):
    from snnconv.baselines import cnn

    monkeypatch.setattr(cnn, "_torch_available", lambda: False)
    base = ["run", "--out", str(tmp_path), "--quiet", "--dataset", "digits"]
    err = _refused(capsys, [*base, "--methods", "cnn2", "--set", "baselines.cnn_backend='torch'"])
    assert "baselines.cnn_backend: 'torch' needs PyTorch" in err
    assert not (tmp_path / "results.json").exists()
    # Without a CNN method the backend is not used, so nothing is refused for it.
    from snnconv.experiment import ExperimentConfig
    from snnconv.experiment.validate import check_config

    cfg = ExperimentConfig()
    cfg.run.methods = ["digital"]
    cfg.baselines.cnn_backend = "torch"
    check_config(cfg)


def test_prepare_names_classes_it_did_not_find(tmp_path, capsys):
    from snnconv.datasets.synth_neovision2 import generate_clips

    clips = generate_clips(tmp_path / "clips", 1, seed=0, n_frames=4)
    argv = ["neovision2", "prepare", str(clips[0].csv_path), "--out", str(tmp_path / "o.npz")]
    err = _refused(capsys, [*argv, "--quiet", "--classes", "Dragon"])
    assert "--classes: no object of Dragon in the clips" in err
    held = err.split("their annotations hold ")[1].split(", ")  # what the clips do hold
    assert held and set(held) <= {"Car", "Truck", "Bus", "Person", "Cyclist", "DCR"}
    assert not (tmp_path / "o.npz").exists()
    assert main([*argv, "--quiet", "--classes", held[0], "Dragon"]) == 0
    assert "no object of Dragon" in capsys.readouterr().err


def test_per_class_figures_of_a_run_share_one_axis(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from snnconv import plots

    good = np.full((3, 4), 0.95)
    poor = np.array([[0.5, 0.9, 0.9, 0.9]] * 3)
    bottom = plots.accuracy_axis_bottom({"a": good, "b": poor})
    assert bottom == 40.0  # just below the lowest bar (50 %), a multiple of 10
    fig_a = plots.per_class_accuracy_grouped({"a": good}, list("wxyz"), bottom=bottom)
    fig_b = plots.per_class_accuracy_grouped({"b": poor}, list("wxyz"), bottom=bottom)
    assert fig_a.axes[0].get_ylim() == fig_b.axes[0].get_ylim() == (40.0, 100.0)
    # Alone, the good method's axis would start higher: the shared one is the point.
    alone = plots.per_class_accuracy_grouped({"a": good}, list("wxyz"))
    assert alone.axes[0].get_ylim()[0] == 90.0


def test_results_json_provenance_fields(tmp_path):
    from _fake_results import fake_results

    from snnconv.experiment.report import write_results

    res, _ = fake_results()
    write_results(res, tmp_path)
    record = json.loads((tmp_path / "results.json").read_text())
    assert {"command", "os", "cpu", "git_commit_source"} <= set(record)
    assert isinstance(record["command"], list)


def test_theory_and_synth_sizes_are_checked_before_allocating(monkeypatch):
    from snnconv.datasets.synth_neovision2 import generate_clip
    from snnconv.exceptions import ResourceLimitError
    from snnconv.theory import TheoryParams
    from snnconv.theory.simulate import simulate_run

    monkeypatch.setenv("SNNCONV_MAX_ALLOC_BYTES", str(64 << 20))
    with pytest.raises(ResourceLimitError, match="microcolumns"):
        simulate_run(TheoryParams(), 0, microcolumns=10**12)
    with pytest.raises(ResourceLimitError, match="frame_size"):
        generate_clip("/nonexistent-never-created", 0, frame_size=(180, 100_000))


def test_parameter_errors_are_still_value_errors():
    assert issubclass(ParameterError, ValueError)
