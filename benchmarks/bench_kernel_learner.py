"""Kernel learner speed (issue 2).

    python -m pytest benchmarks/bench_kernel_learner.py --benchmark-only

- fit on 2,000 MNIST images (28x28, K=9, N_C=28, s=2), one thread, against the numpy
  transcription of SPEC §1 timed in the same run (target: >= 50x);
- transform of one 1920x1080 frame: GMAC/s on one core and on all cores (target:
  >= 8 GMAC/s per core).
"""

import os
import time

import numpy as np
import pytest

import snnconv
from snnconv import _core

import kernel_reference as ref
from conftest import report

N_FIT = 2000
N_NUMPY = 200  # the numpy loop is timed on a prefix and compared per image


def _learner(**kw):
    return snnconv.KernelLearner(shuffle=False, n_threads=1, **kw)


def test_fit_vs_numpy(benchmark, mnist_images, capsys):
    images = mnist_images[:N_FIT]
    kl = benchmark.pedantic(lambda: _learner().fit(images), rounds=3, iterations=1)
    rust_per_image = benchmark.stats.stats.min / N_FIT
    pre = np.stack([ref.saturate(g / 255.0, 0.03) for g in images[:N_NUMPY]])
    t0 = time.perf_counter()
    ref.fit(pre, 9, 28, 2, -0.3, 1.0, kl.learning_rate_, kl.brightness_threshold_)
    numpy_per_image = (time.perf_counter() - t0) / N_NUMPY
    benchmark.extra_info["speedup_vs_numpy"] = numpy_per_image / rust_per_image
    report(
        capsys,
        [
            f"fit, 1 thread: {1e6 * rust_per_image:.1f} us/image "
            f"({1 / rust_per_image:,.0f} images/s)",
            f"numpy reference: {1e6 * numpy_per_image:.0f} us/image",
            f"speed-up: {numpy_per_image / rust_per_image:.0f}x (target >= 50x)",
        ],
    )


@pytest.mark.parametrize("threads", [1, os.cpu_count() or 1])
def test_transform_full_hd(benchmark, threads, capsys):
    rng = np.random.default_rng(0)
    frame = rng.random((1, 1080, 1920))
    kernels = rng.uniform(-0.3, 0.7, (28, 9, 9))
    out = benchmark.pedantic(
        lambda: _core.conv_features(frame, kernels, 2, threads),
        rounds=5,
        iterations=1,
        warmup_rounds=1,
    )
    p, q = out.shape[2:]
    macs = 28 * 81 * p * q
    gmacs = macs / benchmark.stats.stats.min / 1e9
    benchmark.extra_info["gmac_per_s"] = gmacs
    report(
        capsys,
        [
            f"transform 1920x1080, 28 kernels 9x9, stride 2, {threads} thread(s): "
            f"{1e3 * benchmark.stats.stats.min:.1f} ms, {gmacs:.1f} GMAC/s "
            f"({gmacs / threads:.1f} per core; target >= 8 per core)",
        ],
    )
