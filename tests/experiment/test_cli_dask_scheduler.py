"""``snnconv run --scheduler ADDR`` against a Dask scheduler and workers started here
as separate processes on 127.0.0.1 (what a user does with ``dask scheduler`` and
``dask worker``): the results equal a serial run's."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time

import pytest

from snnconv.cli import main

pytest.importorskip("distributed")

RUN = ["run", "--dataset", "mnist5k", "--limit", "400", "--folds", "2", "--methods", "probe"]
RUN += ["--no-figures", "--quiet", "--set", "run.learning_curve=false"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def scheduler(tmp_path):
    """A scheduler and two one-thread workers in their own processes; stopped after."""
    if shutil.which("dask") is None:
        pytest.skip("the dask command is not installed")
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    log = (tmp_path / "dask.log").open("w")
    procs = [
        subprocess.Popen(
            [
                "dask",
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dashboard-address",
                ":0",
                "--no-show",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    ]
    try:
        from distributed import Client

        deadline = time.monotonic() + 60
        while True:  # the scheduler listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or procs[0].poll() is not None:
                    pytest.fail(
                        "the dask scheduler did not start: " + (tmp_path / "dask.log").read_text()
                    )
                time.sleep(0.2)
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        "dask",
                        "worker",
                        addr,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--no-dashboard",
                        "--local-directory",
                        str(tmp_path / "workers"),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        with Client(addr, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield addr
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        log.close()


@pytest.mark.slow
def test_run_on_an_external_scheduler_equals_a_serial_run(scheduler, tmp_path, capsys):
    assert main([*RUN, "--scheduler", scheduler, "--out", str(tmp_path / "dask")]) == 0
    printed = capsys.readouterr().out
    assert main([*RUN, "--backend", "serial", "--out", str(tmp_path / "serial")]) == 0
    dask = json.loads((tmp_path / "dask" / "results.json").read_text())
    serial = json.loads((tmp_path / "serial" / "results.json").read_text())
    assert dask["config"]["run"]["backend"] == "dask"
    assert dask["config"]["run"]["scheduler"] == scheduler
    assert [(r["method"], r["fold"]) for r in dask["runs"]] == [("probe", 0), ("probe", 1)]
    assert [r["accuracy"] for r in dask["runs"]] == [r["accuracy"] for r in serial["runs"]]
    assert all(r["accuracy"] > 0.7 for r in dask["runs"])
    assert "| Kernel features + logistic regression |" in printed
