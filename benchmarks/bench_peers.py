"""snnconv against the peer simulators, side by side in one run, one thread each.

    pip install torch bindsnet snntorch   # not part of any extra: heavy, only for this file
    python -m pytest benchmarks/bench_peers.py --benchmark-only -s

- ULSNN (Diehl & Cook 2015, 100 excitatory neurons, 250 steps of 1 ms, Poisson input
  of intensity 128) against BindsNET's ``DiehlAndCook2015`` model: training and
  inference per image (goal: snnconv >= 150x);
- the spiking front-end (28x28 MNIST, 28 kernels 9x9 stride 2, LIF, sum pooling 2,
  15-step frames with 10 active steps) against snnTorch ``Conv2d`` + ``Leaky`` on
  batches of 256 (goal: >= 3x per core).

The peers run on CPU with ``torch.set_num_threads(1)``; snnconv with ``n_threads=1``.
Each pair alternates rounds and keeps each side's best. A peer that is not installed
skips its test with the reason.
"""

import time

import numpy as np
import pytest

import snnconv
from snnconv.baselines import ULSNN

from conftest import report

torch = pytest.importorskip("torch", reason="torch not installed (pip install torch)")

N_BINDSNET = 8  # images per BindsNET round (≈ 0.1 s each)
N_ULSNN = 400
ROUNDS = 3


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def mnist():
    from snnconv.datasets import load_mnist5k

    images, labels = load_mnist5k()
    order = np.random.default_rng(0).permutation(len(labels))
    return images[order], labels[order]


def _best_alternating(sides):
    """sides: name -> (fn, n items); returns name -> best seconds per item."""
    best = dict.fromkeys(sides, np.inf)
    for _ in range(ROUNDS):
        for name, (fn, n) in sides.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], (time.perf_counter() - t) / n)
    return best


def _bindsnet_network(train):
    from bindsnet.encoding import PoissonEncoder
    from bindsnet.models import DiehlAndCook2015

    net = DiehlAndCook2015(n_inpt=784, n_neurons=100, inpt_shape=(1, 28, 28), dt=1.0)
    net.train(train)
    enc = PoissonEncoder(time=250, dt=1.0)

    def present(images):
        for img in images:
            x = enc(torch.as_tensor(img, dtype=torch.float32) / 255 * 128)
            net.run(inputs={"X": x.view(250, 1, 1, 28, 28)}, time=250)
            net.reset_state_variables()

    return present


def test_ulsnn_against_bindsnet(benchmark, capsys, mnist):
    pytest.importorskip("bindsnet", reason="BindsNET not installed (pip install bindsnet)")
    images, labels = mnist
    bn_train, bn_infer = _bindsnet_network(True), _bindsnet_network(False)
    fitted = ULSNN(n_neurons=100, n_threads=1, random_state=0).fit(
        images[:N_ULSNN], labels[:N_ULSNN]
    )

    def rounds():
        return _best_alternating(
            {
                "bindsnet train": (lambda: bn_train(images[:N_BINDSNET]), N_BINDSNET),
                "snnconv train": (
                    lambda: ULSNN(n_neurons=100, n_threads=1, random_state=0).fit(
                        images[:N_ULSNN], labels[:N_ULSNN]
                    ),
                    N_ULSNN,
                ),
                "bindsnet infer": (lambda: bn_infer(images[:N_BINDSNET]), N_BINDSNET),
                "snnconv infer": (lambda: fitted.predict(images[N_ULSNN:]), len(images) - N_ULSNN),
            }
        )

    best = benchmark.pedantic(rounds, rounds=1, iterations=1)
    # snnconv's fit includes its frozen labelling pass over the training images (one
    # inference per image), so its training figure is an upper bound.
    lines = []
    for phase in ("train", "infer"):
        ours, theirs = best[f"snnconv {phase}"], best[f"bindsnet {phase}"]
        benchmark.extra_info[f"{phase}_ratio"] = theirs / ours
        lines.append(
            f"ULSNN {phase}: snnconv {1e3 * ours:.3f} ms/image, BindsNET {1e3 * theirs:.1f} "
            f"ms/image -> x{theirs / ours:.0f} (goal >= 150)"
        )
    report(capsys, lines)


def test_front_end_against_snntorch(benchmark, capsys, mnist):
    snn = pytest.importorskip("snntorch", reason="snnTorch not installed (pip install snntorch)")
    import torch.nn.functional as F

    images = mnist[0]
    learner = snnconv.KernelLearner(keep_only_fired=False, random_state=0).fit(images[:1000])
    front = snnconv.ConvSNN(learner, on_backlog="ignore", n_threads=1).fit(images[:1000])
    kernels = torch.as_tensor(learner.kernels_[:, None], dtype=torch.float32)
    lif = snn.Leaky(beta=1 - 1 / 10, threshold=1.0, reset_mechanism="subtract")
    batch = torch.as_tensor(images[:256, None] / 255.0, dtype=torch.float32)

    def snntorch_batch():
        with torch.no_grad():
            mem = lif.init_leaky()
            acc = torch.zeros_like(batch)
            pooled = 0
            for t in range(15):
                if t < 10:  # accumulator encoding: a spike each time the sum passes 1
                    acc += batch
                    spikes = (acc >= 1).float()
                    acc -= spikes
                else:
                    spikes = torch.zeros_like(batch)
                spk, mem = lif(F.conv2d(spikes, kernels, stride=2), mem)
                pooled = pooled + F.avg_pool2d(spk, 2) * 4
        return pooled

    n_ours = 2000
    best = benchmark.pedantic(
        lambda: _best_alternating(
            {
                "snntorch": (snntorch_batch, 256),
                "snnconv": (lambda: front.transform(images[1000 : 1000 + n_ours]), n_ours),
            }
        ),
        rounds=1,
        iterations=1,
    )
    ratio = best["snntorch"] / best["snnconv"]
    benchmark.extra_info["ratio"] = ratio
    report(
        capsys,
        [
            f"front-end: snnconv {1 / best['snnconv']:,.0f} images/s, snnTorch (batch 256) "
            f"{1 / best['snntorch']:,.0f} images/s, one thread each -> x{ratio:.1f} (goal >= 3)"
        ],
    )
