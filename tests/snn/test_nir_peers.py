"""The exported NIR graph run by other NIR tools (Norse, snnTorch, Sinabs).

Each test loads ``to_nir``'s output into one peer, feeds it snnconv's own input spike
rasters and compares the peer's conv-layer spikes with snnconv's for the peer's reset
rule, and its pooled counts with what the peer's pooling neurons do by their own rules
(docs/nir.md lists the differences). A peer that cannot be installed is skipped with
the reason; Sinabs pins nir <= 1.0.4, so CI runs its test in a separate venv
(``.ci/nir-sinabs``).
"""

from __future__ import annotations

import numpy as np
import pytest

import snnconv
from snnconv import nir as snir

nir = pytest.importorskip("nir", reason="the optional 'nir' package is not installed")
PEERS = "pip install 'snnconv[nir-peers]'"


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8×8 digits, upsampled ×3 to 24×24 uint8 (no download, no mlxtend,
    so the test also runs in the Sinabs venv)."""
    from sklearn.datasets import load_digits

    x = load_digits().images.astype(np.float64) * (255 / 16)
    x = np.kron(x, np.ones((3, 3))).round().astype(np.uint8)
    learner = snnconv.KernelLearner(n_kernels=8, random_state=0).fit(x[:300])
    return x, learner


def _frames(learner, images, n=12, **kw):
    """A fitted front-end and snnconv's recording of ``n`` test frames."""
    snn = snnconv.ConvSNN(learner, on_backlog="ignore", **kw).fit(images[:200])
    frames, carry = [], None
    for i, image in enumerate(images[1000 : 1000 + n]):
        frame = snn.simulate(image, i, carry)
        carry = frame["carry"]
        frames.append(frame)
    return snn, frames


def _conv_only(graph):
    """The exported graph cut after the conv neurons (same nodes): input → conv → lif."""
    nodes = {k: graph.nodes[k] for k in ("input", "conv", "lif")}
    n = np.asarray(graph.nodes["conv"].weight).shape[0]
    shape = (n, *np.asarray(graph.nodes["lif"].v_threshold).shape[1:])
    nodes["output"] = nir.Output(output_type={"output": np.array(shape)})
    edges = [("input", "conv"), ("conv", "lif"), ("lif", "output")]
    return snir._graph(nir, nodes, edges, {})


def _block_sum(raster, pool):
    """Sum pooling over full pool×pool blocks of a (T, n, P, Q) raster."""
    t, n, p, q = raster.shape
    pp, qq = p // pool, q // pool
    r = raster[:, :, : pp * pool, : qq * pool].reshape(t, n, pp, pool, qq, pool)
    return r.sum(axis=(3, 5))


def _first(y):
    """The output of a nirtorch module called as net(x): a tensor or (tensor, state)."""
    return y[0] if isinstance(y, tuple) else y


def _raster(frame):
    import torch

    return torch.from_numpy(frame["input"].astype(np.float32))[:, None]  # (T, 1, H, W)


def test_norse_runs_the_portable_export(digits):
    norse = pytest.importorskip("norse.torch", reason=f"Norse is not installed ({PEERS})")
    images, learner = digits
    # Norse's LIF and IF reset to zero (NIR >= 1.0.6), so its conv layer is ConvSNN(reset="zero").
    snn, frames = _frames(learner, images, reset="zero")
    graph = snir.to_nir(snn, images.shape[1:])
    conv_net = norse.from_nir(_conv_only(graph), dt=1.0)
    full_net = norse.from_nir(graph, dt=1.0)

    def run(net, x):
        out, state = [], None
        for t in range(x.shape[0]):
            y, state = net(x[t : t + 1], state)
            out.append(y[0].detach().numpy())
        return np.stack(out)

    total = 0
    for frame in frames:
        x = _raster(frame)
        conv = run(conv_net, x)
        np.testing.assert_array_equal(conv, frame["conv"])  # spike for spike
        # Pooling neurons that reset to zero fire once in a step whatever arrives:
        # the count is the number of steps in which the block had a conv spike.
        pooled = run(full_net, x).sum(axis=0)
        np.testing.assert_array_equal(pooled, (_block_sum(conv, snn.pool) > 0).sum(axis=0))
        total += int(frame["conv"].sum())
    assert total > 100


def test_snntorch_runs_the_portable_export(digits):
    pytest.importorskip("snntorch", reason=f"snnTorch is not installed ({PEERS})")
    # snnTorch's NIR import needs nirtorch, which snnTorch itself does not require
    pytest.importorskip("nirtorch", reason=f"nirtorch is not installed ({PEERS})")
    from snntorch.import_nir import import_from_nir

    images, learner = digits
    # snnTorch's LIF resets to zero and assumes dt = 1e-4.
    snn, frames = _frames(learner, images, n=4, reset="zero")
    graph = snir.to_nir(snn, images.shape[1:], dt=1e-4)
    conv_net = import_from_nir(_conv_only(graph))
    full_net = import_from_nir(graph)  # SumPool2d through nirtorch's default mapping

    def run(net, x):
        for m in net.modules():  # a fresh frame: zero potentials
            if hasattr(m, "reset_hidden"):
                m.reset_hidden()
        out = [_first(_first(net(x[t : t + 1])))[0].detach().numpy() for t in range(len(x))]
        return np.stack(out)

    total = 0
    for frame in frames:
        x = _raster(frame)
        conv = run(conv_net, x)
        np.testing.assert_array_equal(conv.astype(bool), frame["conv"])
        # snnTorch imports NIR's IF as its Leaky neuron with beta = 0.9 (reset by
        # subtraction, reset_delay=False), so the pooling neurons leak their backlog.
        pooled = run(full_net, x).sum(axis=0)
        np.testing.assert_array_equal(pooled, _snntorch_if(_block_sum(conv, snn.pool)))
        total += int(frame["conv"].sum())
    assert total > 30


def _snntorch_if(drive, beta=0.9, threshold=snir.POOL_THRESHOLD):
    """Spike counts of snnTorch's Leaky(beta, reset by subtraction, reset_delay=False),
    the neuron its importer makes of an IF node, driven by ``drive`` (T, ...)."""
    mem = np.zeros(drive.shape[1:])
    count = np.zeros(drive.shape[1:], dtype=np.int64)
    for x in drive.astype(np.float64):
        reset = mem > threshold
        mem = beta * mem + x - reset * threshold
        spike = mem > threshold
        mem = mem - (spike.astype(float) - reset) * threshold
        count += spike
    return count


SINABS_MISSING = (
    "Sinabs is not installed: it pins nir <= 1.0.4, so CI runs this test in its own venv "
    "(.ci/nir-sinabs)"
)


def _sinabs_run(net):
    """A function raster (T, 1, H, W) → the outputs (T, ...) of ``net`` from zero state."""

    def run(x):
        for m in net.modules():
            if hasattr(m, "reset_states"):
                m.reset_states()
        return _first(net(x)).detach().numpy()

    return run


def sinabs_like_snnconv(net, reset="subtract"):
    """The settings docs/nir.md gives for running an export in Sinabs: every neuron
    layer fires at most one spike per step (``SingleSpike``; Sinabs' default
    ``MultiSpike`` fires ⌊v / threshold⌋), IAF potentials have no floor (Sinabs'
    importer puts one at −threshold), and for ``ConvSNN(reset="zero")`` the conv
    neurons reset to zero (the pooling neurons always subtract)."""
    import sinabs
    from sinabs.activation import MembraneReset, SingleSpike

    layers = [m for m in net.modules() if isinstance(m, sinabs.layers.LIF)]
    assert 1 <= len(layers) <= 2, layers  # conv neurons (and pooling neurons)
    for layer in layers:
        layer.spike_fn = SingleSpike
        layer.min_v_mem = None
    if reset == "zero":
        layers[0].reset_fn = MembraneReset()
    return net


@pytest.mark.parametrize(
    ("tau", "reset", "rate"),
    [(10.0, "subtract", 1.0), (10.0, "subtract", 3.0), (None, "zero", 3.0)],
)
def test_sinabs_runs_the_exponential_export_exactly(digits, tau, reset, rate):
    """With one spike per step, Sinabs reproduces snnconv spike for spike: every conv
    raster entry and every pooled count (its pooling IF with threshold 1 − 2⁻²⁰ passes
    the conv spikes on one per step, as snnconv's pooling does), also at a conv rate
    of 3 spikes per frame, where Sinabs' default fires several spikes in a step."""
    sinabs = pytest.importorskip("sinabs", reason=SINABS_MISSING)
    images, learner = digits
    snn, frames = _frames(learner, images, tau=tau, reset=reset, target_rate=rate)
    graph = snir.to_nir(snn, images.shape[1:], form="exponential")
    conv_run = _sinabs_run(sinabs_like_snnconv(sinabs.from_nir(_conv_only(graph), 1), reset))
    full_run = _sinabs_run(sinabs_like_snnconv(sinabs.from_nir(graph, batch_size=1), reset))
    total = waiting = 0
    for frame in frames:
        x = _raster(frame)
        np.testing.assert_array_equal(conv_run(x), frame["conv"])
        np.testing.assert_array_equal(full_run(x).sum(axis=0), frame["pooled"])
        total += int(frame["conv"].sum())
        waiting += int(np.asarray(frame["backlog"]).sum())
    # The frames exercise both rules: many conv spikes, and pooling backlogs at frame end.
    assert total > 100 and waiting > 0


def test_sinabs_as_imported_fires_several_spikes_per_step(digits):
    """Sinabs' defaults (MultiSpike) give the same conv trains up to each neuron's
    first step of two or more spikes; its pooling neurons then pass every conv spike
    on at once."""
    sinabs = pytest.importorskip("sinabs", reason=SINABS_MISSING)
    images, learner = digits
    # Sinabs resets by subtraction, like snnconv; it decays by e^(-1/tau) per step. At
    # 3 conv spikes per frame some potentials pass two thresholds in one step.
    snn, frames = _frames(learner, images, target_rate=3.0)
    graph = snir.to_nir(snn, images.shape[1:], form="exponential")
    conv_run = _sinabs_run(sinabs.from_nir(_conv_only(graph), batch_size=1))
    full_run = _sinabs_run(sinabs.from_nir(graph, batch_size=1))
    multi = total = 0
    for frame in frames:
        x = _raster(frame)
        conv = conv_run(x)
        ref = frame["conv"].astype(conv.dtype)
        # Sinabs emits floor(v / threshold) spikes in a step, snnconv one (the rest of
        # the charge waits). Each neuron's train is equal up to its first step of two
        # or more spikes, and all of it for neurons that never get there.
        first = np.where((conv > 1).any(axis=0), (conv > 1).argmax(axis=0), len(conv))
        before = np.arange(len(conv))[:, None, None, None] < first[None]
        np.testing.assert_array_equal(np.where(before, conv, 0), np.where(before, ref, 0))
        multi += int((first < len(conv)).sum())
        total += int(ref.sum())
        pooled = full_run(x).sum(axis=0)
        np.testing.assert_array_equal(pooled, _block_sum(conv, snn.pool).sum(axis=0))
    assert total > 100 and 0 < multi < total


def test_from_nir_reads_sinabs_export_of_the_front_end():
    """Sinabs' own export of Conv2d → IAF → SumPool2d → IAF (NIR's standard IF, r = 1 and
    threshold 1, and nir 1.0.4's subtractive reset) loads as a front-end without leak."""
    sinabs = pytest.importorskip("sinabs", reason=SINABS_MISSING)
    import sinabs.layers as sl
    import torch

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 4, 9, stride=2, bias=False)
    net = torch.nn.Sequential(
        conv, sl.IAFSqueeze(batch_size=1), sl.SumPool2d(2), sl.IAFSqueeze(batch_size=1)
    )
    graph = sinabs.to_nir(net, torch.zeros(1, 1, 24, 24))
    snn = snir.from_nir(graph)
    assert (snn.tau, snn.stride, snn.pool, snn.threshold) == (None, 2, 2, 1.0)
    assert snn.get_params()["reset"] == "subtract"
    np.testing.assert_array_equal(snn.kernels_, conv.weight.detach().numpy()[:, 0])
    np.testing.assert_array_equal(snn.scale_, 1.0)
    assert snn.transform(np.zeros((1, 24, 24), np.uint8)).shape == (1, 4, 4, 4)
