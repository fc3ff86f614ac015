"""The stream runner and ``snnconv continual`` on a few hundred images."""

import json

import numpy as np
import pytest

from snnconv.cli.main import main
from snnconv.continual import make_stream
from snnconv.continual.runner import run_method, run_stream
from snnconv.experiment.taskstore import ResumeError

FAST = {"microcolumns": 4, "n_copies": 3}


@pytest.fixture(scope="module")
def stream(mnist5k):
    images, labels = mnist5k
    return make_stream("split", images[:500], labels[:500], class_order="natural")


def test_rows_are_the_model_after_each_task(stream):
    r = run_method(stream, "colanet", FAST, seed=0, preset=False)
    assert r.accuracy_matrix.shape == (5, 5) and len(r.train_time_s) == 5
    # a class-incremental model cannot answer a task whose classes it has not met
    assert np.all(r.accuracy_matrix[np.triu_indices(5, 1)] == 0)
    # right after the first task (two classes) CoLaNET is nearly always right
    assert r.accuracy_matrix[0, 0] >= 0.9
    # all-seen accuracy of the last row: the test-size-weighted mean of the row
    n = np.array([t.n_test for t in stream.tasks])
    assert r.seen_accuracy[-1] == pytest.approx(np.dot(r.accuracy_matrix[-1], n) / n.sum())
    again = run_method(stream, "colanet", FAST, seed=0, preset=False)
    np.testing.assert_array_equal(again.accuracy_matrix, r.accuracy_matrix)


def test_resume_reuses_finished_methods_and_refuses_other_settings(stream, tmp_path):
    first = run_stream(stream, ["colanet"], {"colanet": FAST}, 0, out=tmp_path)
    saved = tmp_path / "continual-runs" / "colanet.json"
    stamp = saved.stat().st_mtime_ns
    with pytest.raises(ResumeError, match="--resume"):
        run_stream(stream, ["colanet"], {"colanet": FAST}, 0, out=tmp_path)
    again = run_stream(stream, ["colanet"], {"colanet": FAST}, 0, out=tmp_path, resume=True)
    assert saved.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(
        again["colanet"].accuracy_matrix, first["colanet"].accuracy_matrix
    )
    with pytest.raises(ResumeError, match="other parameters"):
        run_stream(stream, ["colanet"], {"colanet": {**FAST, "reward": 0.3}}, 0, tmp_path, True)


def test_cli_writes_json_markdown_and_figures(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["continual", "--scenario", "permuted", "--tasks", "2", "--limit", "300"]
    args += ["--methods", "colanet", "--set", "colanet.n_copies=3", "--out", str(out)]
    assert main([*args, "--quiet"]) == 0
    d = json.loads((out / "continual.json").read_text())
    assert d["stream"]["scenario"] == "permuted" and len(d["stream"]["tasks"]) == 2
    assert d["stream"]["tasks"][0]["name"] == "identity"
    assert set(d["methods"]) == {"colanet"} and "git_commit" in d and d["versions"]["numpy"]
    col = d["methods"]["colanet"]
    assert np.asarray(col["accuracy_matrix"]).shape == (2, 2)
    assert set(col["metrics"]) >= {"average_accuracy", "forgetting", "backward_transfer"}
    # the permuted preset under the --set values: what ran is recorded
    assert col["params"] == {"microcolumns": 40, "n_copies": 3} and len(col["train_time_s"]) == 2
    assert (out / "continual-colanet.png").stat().st_size > 0
    assert "| colanet |" in capsys.readouterr().out
    assert main([*args, "--quiet", "--resume", "--no-figures"]) == 0
    assert main([*args, "--quiet"]) == 2  # finished results there, no --resume
    # other parameters: --resume refuses the saved stream
    assert main([*args, "--quiet", "--resume", "--no-preset"]) == 2
    assert "other parameters" in capsys.readouterr().err
    plain = tmp_path / "plain"
    no_preset = [*args[:-1], str(plain), "--quiet", "--no-preset", "--no-figures"]
    assert main(no_preset) == 0
    d = json.loads((plain / "continual.json").read_text())
    assert d["methods"]["colanet"]["params"] == {"n_copies": 3}


def test_presets_per_scenario_and_user_values_win(stream):
    from snnconv.continual import CSNN_INCREMENTAL, DOMAIN, INCREMENTAL, preset
    from snnconv.continual.presets import with_preset

    assert preset("permuted") == DOMAIN == {"microcolumns": 40}
    assert preset("split") == INCREMENTAL and preset("rotated") == {}
    assert preset("permuted", "cnn2") == {}  # only colanet and csnn have presets
    assert preset("split", "csnn") == CSNN_INCREMENTAL == {"hebbian": -0.1}
    assert preset("permuted", "csnn") == {} and preset("rotated", "csnn") == {}
    assert with_preset("permuted", "colanet", {"microcolumns": 25}) == {"microcolumns": 25}
    preset("split")["reward"] = 5.0  # a copy: the preset itself is unchanged
    assert INCREMENTAL["reward"] == 1.0
    # run_method merges the preset into what it records, run_stream too
    r = run_method(stream, "colanet", {**FAST, "threshold_excess": 0.5}, seed=0)
    assert r.params == {"reward": 1.0, "threshold_excess": 0.5, **FAST}
    res = run_stream(stream, ["colanet"], {"colanet": FAST}, 0, preset=False)
    assert res["colanet"].params == FAST
    # csnn's classifier gets its split preset the same way
    r = run_method(stream, "csnn", FAST, seed=0)
    assert r.params == {**CSNN_INCREMENTAL, **FAST}
    assert run_method(stream, "csnn", FAST, seed=0, preset=False).params == FAST


def test_cli_bad_values_are_one_line_errors(capsys):
    assert main(["continual", "--methods", "colanet,svm"]) == 2
    assert "unknown method 'svm'" in capsys.readouterr().err
    assert main(["continual", "--set", "colanet=3"]) == 2
    assert "METHOD.PARAM=VALUE" in capsys.readouterr().err


def test_incremental_settings_keep_the_old_classes(mnist5k):
    """Split MNIST on 1,000 images (800 / 200), 5 copies of 10 microcolumns: with the
    defaults the newest columns take the votes (measured 0.545 at the end), with
    INCREMENTAL the stream ends at 0.82. Floors 0.75 / ceiling 0.65 leave 7-10 points."""
    from snnconv.continual import INCREMENTAL

    images, labels = mnist5k
    s = make_stream("split", images[:1000], labels[:1000], class_order="natural")
    small = {"n_copies": 5, "microcolumns": 10}
    plain = run_method(s, "colanet", small, seed=0, preset=False)
    kept = run_method(s, "colanet", small, seed=0)  # the split preset is INCREMENTAL
    assert kept.params == {**INCREMENTAL, **small}
    assert plain.seen_accuracy[-1] <= 0.65
    assert kept.seen_accuracy[-1] >= 0.75
    assert kept.metrics()["forgetting"] < plain.metrics()["forgetting"] - 0.2


def test_csnn_scores_cached_test_counts_as_it_would_the_images(mnist5k, monkeypatch):
    # csnn runs its fixed front-end on each task's test images once, not after every
    # task: the accuracy matrix must be the one of predicting from the images each time
    import snnconv.csnn as csnn
    import snnconv.streaming as streaming
    from snnconv.continual.methods import CSNNMethod

    images, labels = mnist5k
    s = make_stream("permuted", images[:400], labels[:400], n_tasks=3)
    made = []
    real = streaming.pooled_counts

    def counting(front, stack):
        made.append(stack.shape[0])
        return real(front, stack)

    # every run of the front-end over a stack: partial_fit's and the test counts'
    monkeypatch.setattr(streaming, "pooled_counts", counting)
    monkeypatch.setattr(csnn, "pooled_counts", counting)
    cached = run_method(s, "csnn", FAST, seed=0)
    n_train, n_test = s.tasks[0].n_train, s.tasks[0].n_test
    # each task's training counts, and after the first task each test set's, once:
    # not again for the 6 tests of the later rows
    assert made == [n_train, n_test, n_test, n_test, n_train, n_train]
    monkeypatch.setattr(CSNNMethod, "caches_tests", False)
    made.clear()
    plain = run_method(s, "csnn", FAST, seed=0)
    assert made == [n_train] * 3  # predict runs the front-end on the images itself
    np.testing.assert_array_equal(cached.accuracy_matrix, plain.accuracy_matrix)
    # each permutation's test images give other counts: a cache serving one task's
    # counts for another would change the columns
    m = plain.accuracy_matrix
    assert not np.array_equal(m[:, 0], m[:, 1]) and not np.array_equal(m[:, 1], m[:, 2])
    assert m[0, 0] > 0.5
