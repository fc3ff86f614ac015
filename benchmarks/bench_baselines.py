"""Baseline speed.

    python -m pytest benchmarks/bench_baselines.py --benchmark-only -s

- ULSNN training and frozen inference on MNIST images (100 and 400 neurons,
  time = 250 steps): images/s per core and simulated steps/s, against the dense numpy
  step loop of tests/reference/ulsnn_reference.py timed on a few images in the same run;
- CNN1/CNN2 (numpy backend, one BLAS thread): training time per epoch on 4,000 images.
"""

import time

import numpy as np
import pytest

from snnconv.baselines import CNN1, CNN2, ULSNN

import ulsnn_reference as ref
from conftest import report

N_TRAIN = 500
N_INFER = 1000
N_NUMPY = 3  # the numpy loop is timed on a few images and compared per image


def _numpy_per_image(images, n_neurons, learning):
    """Seconds per image of the dense numpy step loop with the same Poisson rates."""
    rng = np.random.default_rng(0)
    d = images.shape[1] * images.shape[2]
    w = rng.uniform(0, 0.3, (d, n_neurons))
    ref.normalise(w, 0.1 * d)
    theta = np.zeros(n_neurons)
    p = ref.P(time=250, norm=0.1 * d)
    t0 = time.perf_counter()
    for img in images[:N_NUMPY]:
        trains = rng.random((250, d)) < img.ravel() / 255.0 * 128 / 1000
        ref.present(w, theta, trains, p, learning)
    return (time.perf_counter() - t0) / N_NUMPY


@pytest.mark.parametrize("n_neurons", [100, 400])
def test_ulsnn_train(benchmark, mnist_images, capsys, n_neurons):
    images = mnist_images[:N_TRAIN]
    labels = np.zeros(N_TRAIN, np.int64)
    # fit() = training (one thread, sequential) + the frozen assignment pass; time the
    # training alone through the core so the figure is per training image.
    m = ULSNN(n_neurons=n_neurons, n_threads=1)
    m.fit(images[:1], labels[:1])
    x = np.ascontiguousarray(images.reshape(N_TRAIN, -1) / 255.0)

    def train():
        m2 = ULSNN(n_neurons=n_neurons, n_threads=1)
        m2.norm_ = 78.4
        core = m2._new_core(784)
        core.train(x)

    benchmark.pedantic(train, rounds=2, iterations=1)
    per = benchmark.stats.stats.min / N_TRAIN
    numpy_per = _numpy_per_image(images, n_neurons, learning=True)
    benchmark.extra_info["speedup_vs_numpy"] = numpy_per / per
    report(
        capsys,
        [
            f"ULSNN train, {n_neurons} neurons, 1 thread: {1e3 * per:.2f} ms/image "
            f"({1 / per:,.0f} images/s, {250 / per:,.0f} steps/s)",
            f"numpy step loop: {1e3 * numpy_per:.0f} ms/image; speed-up {numpy_per / per:.0f}x",
        ],
    )


@pytest.mark.parametrize("n_neurons", [100, 400])
@pytest.mark.parametrize("threads", [1, 2])
def test_ulsnn_infer(benchmark, mnist_images, capsys, n_neurons, threads):
    m = ULSNN(n_neurons=n_neurons, n_threads=threads)
    m.fit(mnist_images[:200], np.zeros(200, np.int64))
    images = mnist_images[1000 : 1000 + N_INFER]
    benchmark.pedantic(lambda: m.transform(images), rounds=2, iterations=1)
    per = benchmark.stats.stats.min / N_INFER
    numpy_per = _numpy_per_image(images, n_neurons, learning=False)
    report(
        capsys,
        [
            f"ULSNN inference, {n_neurons} neurons, {threads} thread(s): "
            f"{1e3 * per:.3f} ms/image ({1 / per:,.0f} images/s, "
            f"{1 / per / threads:,.0f} per core, {250 / per:,.0f} steps/s)",
            f"numpy step loop (1 core): {1e3 * numpy_per:.0f} ms/image; "
            f"speed-up {numpy_per / per:.0f}x",
        ],
    )


@pytest.mark.parametrize("cls", [CNN1, CNN2])
def test_cnn_epoch(benchmark, mnist_images, capsys, cls):
    images = mnist_images[:4000]
    labels = np.arange(4000) % 10
    benchmark.pedantic(
        lambda: cls(backend="numpy", epochs=1, n_threads=1).fit(images, labels),
        rounds=2,
        iterations=1,
    )
    report(
        capsys,
        [
            f"{cls.__name__} (numpy, 1 BLAS thread): {benchmark.stats.stats.min:.2f} s per "
            "epoch of 4,000 images"
        ],
    )
