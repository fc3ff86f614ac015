"""Speed of the spiking front-end (docs/algorithms.md §2) against numpy, measured in the same run.

MNIST-size set-up: 28×28 images, 28 kernels 9×9, stride 2, pool 2,
15-step frames (10 active), calibrated to 1 conv spike per neuron per frame.

    python -m pytest benchmarks/bench_conv_snn.py

Prints images/s and synaptic events/s per core for the Rust core on one thread and
on all threads, and the ratio to two numpy implementations: the step-by-step
reference of the tests (per image, per input spike: the "numpy loop"), and a dense
batched numpy version (every step convolves the whole batch's input raster with
BLAS; rate-equivalent, not spike-exact) as the strongest simple numpy baseline.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import snnconv
from snnconv import _core

from conftest import report
from snn_reference import accumulator_input, simulate

N_RUST = 2000
N_LOOP = 20
N_DENSE = 500
RESULTS: dict[str, tuple[float, float]] = {}  # name -> (images/s, events/s)


@pytest.fixture(scope="module")
def setup(mnist_images):
    images = mnist_images
    learner = snnconv.KernelLearner(keep_only_fired=False, random_state=0).fit(images[:1000])
    snn = snnconv.ConvSNN(learner, on_backlog="ignore").fit(images[1000:1200])
    assert snn.kernels_.shape == (28, 9, 9)
    x = images[2000 : 2000 + N_RUST]
    g = _core.normalise_brightness(x, snn.saturation_quantile_)
    core = snn._core_for(28, 28)
    events_per_image = float(snn.run(x).synaptic_events.mean())
    return snn, core, g, events_per_image


def record(name: str, benchmark, n_images: int, events_per_image: float, cores: int) -> None:
    t = benchmark.stats.stats.min
    ips = n_images / t
    RESULTS[name] = (ips, ips * events_per_image / cores)


def test_rust_one_thread(benchmark, setup):
    _, core, g, epi = setup
    benchmark.pedantic(core.run, args=(g, None, 0, 1), rounds=5, iterations=1)
    record("rust, 1 thread", benchmark, len(g), epi, 1)


def test_rust_all_threads(benchmark, setup):
    _, core, g, epi = setup
    n = os.cpu_count() or 1
    benchmark.pedantic(core.run, args=(g, None, 0, None), rounds=5, iterations=1)
    record(f"rust, {n} threads", benchmark, len(g), epi, n)


def numpy_loop(snn, g: np.ndarray) -> np.ndarray:
    carry = None
    pooled = []
    for img in g:
        inputs, carry = accumulator_input(img, 15, 10, 1.0, carry)
        pooled.append(simulate(inputs, snn.kernels_, snn.scale_, 2, 2, snn.tau, 1.0)["pooled"])
    return np.stack(pooled)


def test_numpy_loop(benchmark, setup):
    snn, core, g, epi = setup
    pooled = benchmark.pedantic(numpy_loop, args=(snn, g[:N_LOOP]), rounds=1, iterations=1)
    np.testing.assert_array_equal(pooled, core.run(g[:N_LOOP])[0])  # same spikes
    record("numpy step loop", benchmark, N_LOOP, epi, 1)


def numpy_dense(snn, g: np.ndarray) -> np.ndarray:
    """Whole batch per step: dense convolution of the input raster (BLAS)."""
    n = len(g)
    aw = (snn.scale_[:, None, None] * snn.kernels_).astype(np.float32).reshape(28, 81)
    level = np.floor(g * (255 << 23) + 0.5).astype(np.int64)
    z = np.zeros_like(level)
    u = np.zeros((n, 100, 28), np.float32)
    v = np.zeros((n, 25, 28), np.int64)
    pooled = np.zeros((n, 25, 28), np.uint16)
    d = np.float32(1 - 1 / snn.tau)
    for t in range(15):
        u *= d
        if t < 10:
            z += level
            s = z >= (255 << 23)
            z[s] -= 255 << 23
            win = np.lib.stride_tricks.sliding_window_view(s, (9, 9), axis=(1, 2))[:, ::2, ::2]
            u += win.reshape(n, 100, 81).astype(np.float32) @ aw.T
        spk = u >= 1.0
        u[spk] -= 1.0
        block = spk.reshape(n, 5, 2, 5, 2, 28).sum(axis=(2, 4)).reshape(n, 25, 28)
        v += block * ((1 << 20) + 1)
        fire = v >= 1 << 20
        v[fire] -= 1 << 20
        pooled += fire
    return pooled


def test_numpy_dense(benchmark, setup):
    snn, _, g, epi = setup
    pooled = benchmark.pedantic(numpy_dense, args=(snn, g[:N_DENSE]), rounds=2, iterations=1)
    # Each image from zero carry, as numpy_dense does; equal up to summation order.
    fresh = snnconv.ConvSNN(snn.kernels_, scale=snn.scale_, reset_carry=True).fit(g[:1])
    ref = fresh._core_for(28, 28).run(g[:N_DENSE])[0]
    ref = ref.transpose(0, 2, 3, 1).reshape(N_DENSE, 25, 28)
    assert np.abs(pooled.astype(int) - ref).mean() < 0.01
    record("numpy dense batched", benchmark, N_DENSE, epi, 1)


def test_report(setup, capsys):
    _, _, _, epi = setup
    if "rust, 1 thread" not in RESULTS:
        pytest.skip("run the whole file")
    one = RESULTS["rust, 1 thread"][0]
    lines = [
        f"synaptic events per image: {epi:,.0f}",
        f"{'':22s}{'images/s':>12s}{'events/s/core':>16s}{'rust 1-thread ×':>18s}",
    ]
    for name, (ips, eps) in RESULTS.items():
        lines.append(f"{name:22s}{ips:12,.0f}{eps:16.3e}{one / ips:18.1f}")
    report(capsys, lines)
    assert math.isfinite(one)


def test_calibration_share_of_fit(benchmark, capsys):
    """Calibration's fixed cost: α's bisection over the CSNN's calibration sample
    (``calibration_size`` of the training images, default 100) against the whole
    ``CSNNClassifier.fit`` on 1,000 shuffled training images of all ten classes, one
    thread, best of 3 each (goal: ≤ 10 %); also the bisection over all 1,000 images.
    Also in CPU time (one thread, so CPU time is the work done, and it drifts far less
    than wall time when other jobs load the machine)."""
    import inspect
    import time

    from snnconv.datasets import load_mnist5k

    images, labels = load_mnist5k()
    order = np.random.default_rng(0).permutation(len(labels))[:1000]
    images, labels = images[order], labels[order]
    size = inspect.signature(snnconv.CSNNClassifier).parameters["calibration_size"].default
    sample = np.sort(np.random.default_rng(0).choice(1000, size, replace=False))
    learner = snnconv.KernelLearner(random_state=0, n_threads=1).fit(images)
    front = snnconv.ConvSNN(learner, on_backlog="ignore", n_threads=1)
    cal_cpu = {size: [], 1000: []}

    def calibrate():
        for n, part in ((size, images[sample]), (1000, images)):
            t = time.process_time()
            front.fit(part)
            cal_cpu[n].append(time.process_time() - t)

    benchmark.pedantic(calibrate, rounds=3, iterations=1)
    fits, fits_cpu = [], []
    for _ in range(3):
        model = snnconv.CSNNClassifier(random_state=0, n_threads=1)
        t, c = time.perf_counter(), time.process_time()
        model.fit(images, labels)
        fits.append(time.perf_counter() - t)
        fits_cpu.append(time.process_time() - c)
    fit = min(fits_cpu)
    report(
        capsys,
        [
            f"CSNNClassifier.fit (1,000 images, 10 classes): {min(fits):.3f} s wall, "
            f"{fit:.3f} s CPU (kernels {model.timings_['kernels']:.2f}, front-end "
            f"{model.timings_['front_end']:.2f}, classifier {model.timings_['classifier']:.2f})",
            f"calibration on the default {size} images: {min(cal_cpu[size]):.3f} s CPU, "
            f"{min(cal_cpu[size]) / fit:.1%} of fit (goal <= 10 %)",
            f"calibration on all 1,000 images: {min(cal_cpu[1000]):.3f} s CPU, "
            f"{min(cal_cpu[1000]) / fit:.1%} of fit ({front.n_calibration_evaluations_} passes)",
        ],
    )
