"""snnconv run under abuse: invalid values refused up front, workers that die with
their run, failing methods reported, killed runs resumed (docs/robustness.md)."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from snnconv.cli import main
from snnconv.experiment import ExperimentConfig, load_experiment_data, run_experiment
from snnconv.experiment.report import summary_rows, table

# ------------------------------------------------------------------ up-front checks


def _refused(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--folds", "0"], "run.folds"),
        (["--folds", "-5"], "run.folds"),
        (["--folds", str(10**30)], "run.folds"),
        (["--folds", "10**30"], "--folds"),
        (["--limit", "-1"], "run.limit"),
        (["--seed", "-1"], "run.seed"),
        (["--jobs", "100000"], "run.n_jobs"),
        (["--set", "kernels.n_kernels=1099511627776"], "kernels.n_kernels: .* would need"),
        (["--set", "kernels.n_kernels=2**40"], "kernels.n_kernels: expected an integer"),
        (["--set", "kernels.n_kernels=0"], "kernels.n_kernels"),
        (["--set", "kernels.kernel_size=1000000"], "kernels.n_kernels: .* would need"),
        (["--set", "kernels.w_min=1"], "kernels.w_min"),
        (["--set", "conv_snn.pool=0"], "conv_snn.pool"),
        (["--set", "classifier.params.nope=1"], "classifier.params"),
        (["--set", "classifier.params.microcolumns=0"], "classifier.microcolumns"),
        (["--set", "baselines.ulsnn_time=0"], "baselines.ulsnn_time"),
        (["--set", "baselines.cnn_backend=gpu"], "baselines.cnn_backend"),
        (["--methods", "csnn,nope"], "unknown method"),
        (["--methods", "csnn,csnn"], "more than once"),
        (["--dataset", "nope"], "unknown dataset"),
        (["--dataset", "mnist5k", "extra"], "takes no arguments"),
        (["--dataset", "idx", "only-one"], "IMAGES LABELS"),
        (["--dataset", "idx", "/nonexistent/a", "/nonexistent/b"], "no such file"),
        (["--dataset", "synthetic-neovision2", "10**9"], "number of clips"),
        (["--dataset", "synthetic-neovision2", "100000000"], "number of clips"),
    ],
)
def test_run_refuses_invalid_values_with_one_line(tmp_path, capsys, args, match):
    import re

    line = _refused(capsys, ["run", "--out", str(tmp_path / "out"), "--quiet", *args])
    assert re.search(match, line), line
    assert not (tmp_path / "out" / "tasks").exists()  # refused before any work


def test_out_and_config_paths_are_checked(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("mine")
    assert "is a file" in _refused(capsys, ["run", "--out", str(a_file)])
    assert "which is a file" in _refused(capsys, ["run", "--out", str(a_file / "sub")])
    assert "cannot write" in _refused(capsys, ["run", "--out", "/proc/1/snnconv-out"])
    assert a_file.read_text() == "mine"
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert "cannot write" in _refused(capsys, ["run", "--out", str(locked / "out")])
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    bad_toml = tmp_path / "bad2.toml"
    bad_toml.write_text("[run\nfolds = ")
    for command in (["run"], ["config"], ["tune"]):
        assert "is a folder" in _refused(capsys, [*command, "--config", str(tmp_path)])
        assert "no such file" in _refused(capsys, [*command, "--config", str(tmp_path / "no")])
        assert "UTF-8" in _refused(capsys, [*command, "--config", str(bad)])
        assert "not valid TOML" in _refused(capsys, [*command, "--config", str(bad_toml)])
    toml = tmp_path / "c.toml"
    toml.write_text("[run]\nfolds = 1000000000000000000000000000000\n")
    assert "run.folds" in _refused(capsys, ["run", "--config", str(toml)])
    toml.write_text("[run]\nfolds = 0\n")
    assert "run.folds" in _refused(capsys, ["config", "--config", str(toml)])
    assert "run.folds" in _refused(capsys, ["tune", "--config", str(toml)])


def test_other_subcommands_check_up_front(tmp_path, capsys):
    out = ["--out", str(tmp_path / "k")]
    assert "would need" in _refused(capsys, ["kernels", *out, "--n-kernels", str(2**40)])
    assert "n_kernels" in _refused(capsys, ["kernels", *out, "--n-kernels", "0"])
    # the estimator's n_threads cap (4 x cores) or the option's own check, whichever runs first
    assert "threads" in _refused(capsys, ["kernels", *out, "--threads", "100000"])
    assert "unknown dataset" in _refused(capsys, ["kernels", *out, "--dataset", "nope"])
    assert "--trials" in _refused(capsys, ["tune", "--out", str(tmp_path), "--trials", "0"])
    assert "--inner-folds" in _refused(capsys, ["tune", "--inner-folds", "1"])


def test_run_help_states_the_guarantees(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    for words in ("--resume", "OUT/tasks", "exit code 2", "SIGKILL", "docs/robustness.md"):
        assert words in text


# ------------------------------------------------------------------ failures are rows


def _small(**run):
    cfg = ExperimentConfig()
    cfg.run.methods = ["ulsnn100", "digital"]
    cfg.run.folds = 2
    cfg.run.limit = 300
    cfg.run.progress = False
    cfg.run.learning_curve = False
    for k, v in run.items():
        cfg.set(f"run.{k}", v)
    return cfg


@pytest.mark.parametrize("backend", ["serial", "local"])
def test_a_failing_method_gets_a_row_and_the_others_are_kept(backend):
    cfg = _small(backend=backend, n_jobs=2, threads_per_task=1)
    cfg.baselines.ulsnn_time = 0  # not validated here: ULSNN.fit raises in the task
    res = run_experiment(cfg, load_experiment_data(cfg.run))
    assert [t.method for t in res.tasks] == ["digital", "digital"]
    assert [(f.method, f.fold) for f in res.failed] == [("ulsnn100", 0), ("ulsnn100", 1)]
    assert "time" in res.failed[0].error
    text = table(res)
    assert "| ULSNN, 100 neurons (Diehl & Cook) | failed: ParameterError: time" in text
    assert "| Digital CoLaNET on raw pixels | " in text
    assert [r["method"] for r in summary_rows(res)] == ["digital"]


def test_a_worker_that_dies_is_reported_and_the_others_go_on():
    """A task that kills its worker process (here: an allocation the machine cannot
    make, which aborts unless the core refuses it first) breaks the pool; the other
    tasks are re-run and kept, the culprit is reported failed."""
    cfg = _small(backend="local", n_jobs=2, threads_per_task=1)
    cfg.run.methods = ["probe", "digital"]
    cfg.kernels.n_kernels = 2**40
    res = run_experiment(cfg, load_experiment_data(cfg.run))
    assert [t.method for t in res.tasks] == ["digital", "digital"]
    assert {f.method for f in res.failed} == {"probe"} and len(res.failed) == 2
    assert "failed: " in table(res)


def test_an_error_in_the_run_stops_its_workers():
    import multiprocessing

    class FullDisk:
        def save(self, task):
            raise OSError(28, "No space left on device")

    cfg = _small(backend="local", n_jobs=2, threads_per_task=1)
    cfg.run.methods = ["digital"]
    cfg.run.folds = 4
    with pytest.raises(OSError, match="No space"):
        run_experiment(cfg, load_experiment_data(cfg.run), store=FullDisk())
    assert multiprocessing.active_children() == []


def test_only_the_task_that_kills_its_worker_fails():
    import numpy as np
    from _worker_tasks import crash_or_echo

    from snnconv._util.progress import progress_bar
    from snnconv.experiment.runner import FailedTask, _run_local

    cfg = _small()
    data = load_experiment_data(cfg.run)
    folds = [(np.arange(10), np.arange(10, 20))] * 3
    jobs = [("a", 0), ("crash", 1), ("b", 2), ("c", 0), ("d", 1)]
    outcomes = []
    with progress_bar(False, len(jobs), "runs") as bar:
        _run_local(cfg, data, folds, jobs, 2, 1, outcomes.append, bar, task=crash_or_echo)
    failed = [o for o in outcomes if isinstance(o, FailedTask)]
    assert [(f.method, f.fold) for f in failed] == [("crash", 1)]
    assert "worker process died" in failed[0].error
    assert sorted(o for o in outcomes if not isinstance(o, FailedTask)) == sorted(
        j for j in jobs if j[0] != "crash"
    )


# ------------------------------------------------------------------ subprocess runs


def _live_marked(marker):
    """Live processes (not zombies) whose environment carries ``marker`` (/proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"SNNCONV_TEST_MARKER={marker}".encode() not in (entry / "environ").read_bytes():
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def _busy_workers(marker, parent):
    """Marked processes besides ``parent`` that have used over 0.6 s of CPU (the
    workers once inside a task; the resource tracker stays idle)."""
    busy = 0
    for pid in _live_marked(marker):
        if pid == parent:
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") > 0.6:
            busy += 1
    return busy


def _start_run(out, marker, *args):
    env = {**os.environ, "SNNCONV_TEST_MARKER": marker, "PYTHONUNBUFFERED": "1"}
    code = "import sys; from snnconv.cli import main; sys.exit(main())"
    cmd = [sys.executable, "-c", code, "run", "--out", str(out), "--quiet", "--no-figures"]
    return subprocess.Popen(
        [*cmd, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Its own process group, as a job in a terminal, and Ctrl-C that works even when
        # this test runs where SIGINT is ignored.
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_until(condition, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(step)
    return False


needs_proc = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")


@needs_proc
@pytest.mark.parametrize(
    ("sig", "code"),
    [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGTERM, 143), (signal.SIGINT, 130)],
    ids=["SIGKILL", "SIGTERM", "SIGINT"],
)
def test_workers_die_with_their_run(tmp_path, sig, code):
    marker = uuid.uuid4().hex
    run = [
        *("--methods", "colanet", "--folds", "2", "--limit", "3000"),
        *("--backend", "local", "--jobs", "2", "--set", "run.threads_per_task=1"),
        # Long enough tasks (a few seconds each) that the signal finds them running.
        *("--set", "classifier.params.epochs=4"),
    ]
    proc = _start_run(tmp_path / "out", marker, *run)
    try:
        # Its two workers, busy with the (long) tasks: idle ones would end on their own.
        assert _wait_until(lambda: _busy_workers(marker, proc.pid) >= 2, 120)
        time.sleep(0.5)
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)  # Ctrl-C reaches the whole process group
        else:
            proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, proc.stderr.read().decode()
    # The workers notice and end within a bounded time, even after SIGKILL of the run.
    assert _wait_until(lambda: not _live_marked(marker), 15, step=0.1), _live_marked(marker)
    if sig == signal.SIGINT:
        err = proc.stderr.read().decode()
        assert "interrupted" in err and "Traceback" not in err, err


def _accuracies(out):
    record = json.loads((Path(out) / "results.json").read_text())
    return [(r["method"], r["accuracy_mean"], r["accuracy_std"]) for r in record["summary"]], [
        (r["method"], r["fold"], r["accuracy"]) for r in record["runs"]
    ]


@needs_proc
def test_a_killed_run_resumes_to_the_same_table(tmp_path, capsys):
    args = [
        *("--methods", "digital,ulsnn100", "--folds", "3", "--limit", "600"),
        *("--set", "run.learning_curve=false", "--set", "run.threads_per_task=1"),
    ]
    # Uninterrupted reference, in this process.
    ref = tmp_path / "ref"
    assert (
        main(["run", "--out", str(ref), "--quiet", "--no-figures", "--backend", "serial", *args])
        == 0
    )
    # The same run in a subprocess, SIGKILLed as soon as its first task is on disk.
    out = tmp_path / "out"
    marker = uuid.uuid4().hex
    proc = _start_run(out, marker, "--backend", "local", "--jobs", "2", *args)
    tasks = out / "tasks"
    try:
        assert _wait_until(lambda: tasks.exists() and any(tasks.glob("*-*.json")), 120)
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    kept = sorted(p.name for p in tasks.glob("*-*.json"))
    assert 1 <= len(kept) < 6 and not (out / "results.json").exists()
    assert _wait_until(lambda: not _live_marked(marker), 15, step=0.1)
    # Without --resume the interrupted run's tasks are not overwritten.
    capsys.readouterr()
    rerun = ["run", "--out", str(out), "--quiet", "--no-figures", "--backend", "serial", *args]
    assert main(rerun) == 2
    assert "--resume" in capsys.readouterr().err
    # Another configuration is refused.
    assert main([*rerun, "--resume", "--seed", "1"]) == 2
    assert "run.seed" in capsys.readouterr().err
    # --resume runs only what is missing and gives the same table.
    assert main([*rerun, "--resume"]) == 0
    printed = capsys.readouterr().out
    assert f"resuming: {len(kept)} finished tasks reused" in printed
    assert _accuracies(out) == _accuracies(ref)


def test_resume_reuses_only_intact_tasks_and_finished_runs_are_replaced(tmp_path, capsys):
    out = tmp_path / "out"
    base = ["run", "--out", str(out), "--quiet", "--no-figures", "--backend", "serial"]
    small = ["--folds", "2", "--limit", "300", "--set", "run.learning_curve=false"]
    assert main([*base, *small, "--methods", "digital"]) == 0
    first = _accuracies(out)
    tasks = out / "tasks"
    assert sorted(p.name for p in tasks.iterdir()) == [
        "digital-0.json",
        "digital-0.npz",
        "digital-1.json",
        "digital-1.npz",
        "run.json",
    ]
    assert json.loads((tasks / "run.json").read_text())["state"] == "finished"
    # A damaged array file and a leftover temporary file: that task runs again.
    (tasks / "digital-1.npz").write_bytes(b"garbage")
    (tasks / ".snnconv-tmp-x").write_bytes(b"half a write")
    capsys.readouterr()
    assert main([*base, *small, "--methods", "digital,ulsnn100", "--resume"]) == 0
    assert "resuming: 1 finished tasks reused" in capsys.readouterr().out
    assert not (tasks / ".snnconv-tmp-x").exists()
    summary, runs = _accuracies(out)
    assert [r for r in runs if r[0] == "digital"] == first[1]
    assert [s[0] for s in summary] == ["digital", "ulsnn100"]
    # A finished run's tasks are replaced by a new run without --resume.
    assert main([*base, *small, "--methods", "ulsnn100"]) == 0
    assert sorted(p.name for p in tasks.glob("*.json")) == [
        "run.json",
        "ulsnn100-0.json",
        "ulsnn100-1.json",
    ]
    # Task files without run.json are never taken for this run's.
    (tasks / "run.json").unlink()
    capsys.readouterr()
    assert main([*base, *small, "--methods", "ulsnn100"]) == 2
    assert "no run.json" in capsys.readouterr().err


def test_task_files_round_trip_the_figure_arrays(tmp_path):
    import numpy as np

    from snnconv.experiment.methods import MethodResult
    from snnconv.experiment.runner import TaskResult
    from snnconv.experiment.taskstore import TaskStore

    rng = np.random.default_rng(0)
    artifacts = {
        "kernels": rng.normal(size=(4, 3, 3)),
        "rasters": {"input": rng.random((5, 9)) > 0.5, "CoLaNET L (copy 0)": np.zeros((2, 3))},
        "learning_curve": ([100, 200], [0.5, 0.625]),
    }
    result = MethodResult(0.75, np.array([1, 2, 3]), 1.5, 0.01, 42, {"kernels": 4}, artifacts)
    fp = {"config": {"a": 1}, "data_sha256": "d", "folds_sha256": "f"}
    store, done = TaskStore.open(tmp_path, fp, resume=True)
    assert done == {}
    store.save(TaskResult("csnn", 1, 1001, result, 2.0))
    assert oct((tmp_path / "tasks" / "csnn-1.json").stat().st_mode & 0o777) != "0o600"
    _, done = TaskStore.open(tmp_path, fp, resume=True)
    back = done[("csnn", 1)]
    assert (back.method, back.fold, back.seed, back.wall_time) == ("csnn", 1, 1001, 2.0)
    r = back.result
    assert (r.accuracy, r.train_time, r.neurons, r.extra) == (0.75, 1.5, 42, {"kernels": 4})
    np.testing.assert_array_equal(r.predictions, [1, 2, 3])
    np.testing.assert_array_equal(r.artifacts["kernels"], artifacts["kernels"])
    assert r.artifacts["learning_curve"] == ([100, 200], [0.5, 0.625])
    assert list(r.artifacts["rasters"]) == ["input", "CoLaNET L (copy 0)"]
    assert r.artifacts["rasters"]["input"].dtype == bool
    # Another configuration: refused, naming the field.
    from snnconv.experiment.taskstore import ResumeError

    with pytest.raises(ResumeError, match="differs in: a"):
        TaskStore.open(tmp_path, {**fp, "config": {"a": 2}}, resume=True)
