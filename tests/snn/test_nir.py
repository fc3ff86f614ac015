"""NIR export/import of the spiking front-end (snnconv.nir)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import snnconv
from snnconv import nir as snir
from snnconv.exceptions import ModelFileError

nir = pytest.importorskip("nir", reason="the optional 'nir' package is not installed")


@pytest.fixture(scope="module")
def data(mnist5k):
    images, _ = mnist5k
    learner = snnconv.KernelLearner(random_state=0).fit(images[:1000])
    return images, learner


#: What NIR's own neurons do on a spike: reset to v_reset = 0 from nir 1.0.6 on, before
#: subtract the threshold.
NIR_RESET = "subtract" if snir._older_than(nir.version, (1, 0, 6)) else "zero"


def _graph(nodes, edges):
    """A NIRGraph without nir's type check (a keyword nir < 1.0.5 does not have)."""
    return snir._graph(nir, nodes, edges, {})


def _front_end(learner, images, **kw):
    kw.setdefault("on_backlog", "ignore")
    return snnconv.ConvSNN(learner, **kw).fit(images[:200])


def test_round_trip_through_a_file_gives_identical_counts(data, tmp_path):
    images, learner = data
    snn = _front_end(learner, images)
    path = tmp_path / "front_end.nir"
    nir.write(path, snir.to_nir(snn, (28, 28)))
    back = snir.from_nir(nir.read(path))
    test = images[1000:1300]
    np.testing.assert_array_equal(back.transform(test), snn.transform(test))
    np.testing.assert_array_equal(back.kernels_, snn.kernels_)
    np.testing.assert_array_equal(back.scale_, snn.scale_)
    assert back.get_params()["reset"] == "subtract"
    # A path works too, and the restored model exports the same graph again.
    again = snir.from_nir(str(path))
    np.testing.assert_array_equal(
        snir.to_nir(again).nodes["conv"].weight, snir.to_nir(snn, (28, 28)).nodes["conv"].weight
    )


@pytest.mark.parametrize(
    "settings",
    [
        {"tau": None, "reset": "zero"},
        {"encoding": "poisson", "random_state": 3, "pool": 1, "stride": 1},
    ],
)
def test_round_trip_variants(data, settings):
    images, learner = data
    snn = _front_end(learner, images, **settings)
    graph = snir.to_nir(snn, (28, 28))
    kind = nir.IF if settings.get("tau", 10.0) is None else nir.LIF
    assert isinstance(graph.nodes["lif"], kind)
    back = snir.from_nir(graph)
    test = images[1000:1100]
    np.testing.assert_array_equal(back.transform(test), snn.transform(test))


def _simulate_graph(graph: nir.NIRGraph, raster: np.ndarray) -> np.ndarray:
    """A plain forward-Euler simulation of the exported graph on one frame's input
    raster (P, H, W); returns the output spike counts (n_kernels, P', Q')."""
    dt = float(graph.metadata["dt"])
    conv, lif = graph.nodes["conv"], graph.nodes["lif"]
    pool, pif = graph.nodes["pool"], graph.nodes["pool_neurons"]
    weight = np.asarray(conv.weight, dtype=np.float64)[:, 0]  # (n, K, K)
    k, s = weight.shape[1], int(np.atleast_1d(conv.stride)[0])
    pk = int(np.atleast_1d(pool.kernel_size)[0])
    v = np.zeros(np.asarray(lif.v_threshold).shape)
    q = np.zeros(np.asarray(pif.v_threshold).shape)
    counts = np.zeros(q.shape, dtype=np.int64)
    n, pc, qc = v.shape
    _, pp, qq = q.shape
    for frame in raster.astype(np.float64):
        windows = np.lib.stride_tricks.sliding_window_view(frame, (k, k))[::s, ::s]
        current = np.einsum("pqij,aij->apq", windows[:pc, :qc], weight) + np.asarray(
            conv.bias, dtype=np.float64
        ).reshape(-1, 1, 1)
        # LIF: tau dv/dt = (v_leak - v) + r I, one Euler step of length dt.
        v = v + dt / lif.tau * (lif.v_leak - v + lif.r * current)
        spikes = v >= lif.v_threshold
        assert lif.metadata["reset"] == "subtract"
        v = np.where(spikes, v - lif.v_threshold, v)
        # SumPool2d over full blocks, then the pooling IF neurons: dv/dt = r I.
        blocks = spikes[:, : pp * pk, : qq * pk].reshape(n, pp, pk, qq, pk).sum(axis=(2, 4))
        q = q + dt * pif.r * blocks
        fired = q >= pif.v_threshold
        q = np.where(fired, q - pif.v_threshold, q)
        counts += fired
    return counts


def test_numpy_simulation_of_the_graph_matches_snnconv(data):
    images, learner = data
    snn = _front_end(learner, images)
    graph = snir.to_nir(snn, (28, 28), form="exact")
    test = images[2000:2020]
    expected = snn.transform(test)
    carry = None
    for i, image in enumerate(test):
        frame = snn.simulate(image, i, carry)  # the encoder's spike raster of image i
        carry = frame["carry"]
        np.testing.assert_array_equal(frame["pooled"], expected[i])
        got = _simulate_graph(graph, frame["input"])
        np.testing.assert_array_equal(got, expected[i], err_msg=f"image {i}")
    assert expected.sum() > 0


def test_parameter_mapping(data):
    images, learner = data
    snn = _front_end(learner, images, tau=8.0, threshold=2.0)
    graph = snir.to_nir(snn, (28, 28), form="exact", dt=1e-3)
    lif = graph.nodes["lif"]
    np.testing.assert_allclose(lif.tau, 8.0e-3)
    np.testing.assert_allclose(lif.r, 8.0)
    np.testing.assert_allclose(lif.v_threshold, 2.0)
    # One Euler step: v <- (1 - dt/tau) v + r dt/tau I = (1 - 1/8) v + I.
    np.testing.assert_allclose(1e-3 / lif.tau, 1 / 8)
    np.testing.assert_allclose(lif.r * 1e-3 / lif.tau, 1.0)
    w = graph.nodes["conv"].weight
    assert w.dtype == np.float32 and w.shape == (snn.kernels_.shape[0], 1, 9, 9)
    np.testing.assert_array_equal(
        w[:, 0], (snn.scale_[:, None, None] * snn.kernels_).astype(np.float32)
    )
    assert graph.nodes["output"].output_type["output"].tolist() == list(snn.output_shape(28, 28))
    back = snir.from_nir(graph)
    assert back.tau == pytest.approx(8.0) and back.threshold == 2.0


def test_refuses_other_graphs(data):
    images, learner = data
    graph = snir.to_nir(_front_end(learner, images), (28, 28))
    nodes = dict(graph.nodes)
    nodes["pool"] = nir.AvgPool2d(
        kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])
    )
    bad = _graph(nodes, graph.edges)
    with pytest.raises(ModelFileError, match="unsupported node 'pool' \\(AvgPool2d\\)"):
        snir.from_nir(bad)
    nodes = dict(graph.nodes)
    nodes["extra"] = nir.Scale(scale=np.array([2.0]))
    edges = [*graph.edges[:-1], ("pool_neurons", "extra"), ("extra", "output")]
    with pytest.raises(ValueError, match="'extra' \\(Scale\\)"):
        snir.from_nir(_graph(nodes, edges))
    with pytest.raises(TypeError, match="NIRGraph"):
        snir.from_nir(42)


def test_classifier_front_end_and_clear_errors(data):
    images, learner = data
    snn = _front_end(learner, images)

    class Fitted:  # stands in for a fitted CSNNClassifier
        front_end_ = snn

    assert snir.to_nir(Fitted(), (28, 28)).nodes["conv"].weight.shape[0] == snn.kernels_.shape[0]
    with pytest.raises(ValueError, match="image_shape"):
        snir.to_nir(snn)
    with pytest.raises(TypeError, match="fitted ConvSNN"):
        snir.to_nir(object())


def test_missing_nir_names_the_extra(monkeypatch, data):
    images, learner = data
    monkeypatch.setitem(sys.modules, "nir", None)
    with pytest.raises(ImportError, match=r"snnconv\[nir\]"):
        snir.to_nir(_front_end(learner, images), (28, 28))


def test_foreign_graphs_follow_nir_semantics(data, tmp_path):
    """Without snnconv's metadata, NIR's own semantics apply: reset to v_reset = 0,
    brightness = pixel / 255, and an input gain r·dt/tau folded into the weights."""
    images, learner = data
    snn = _front_end(learner, images)
    graph = snir.to_nir(snn, (28, 28), form="exact")
    lif = graph.nodes["lif"]
    foreign = _graph(
        {
            **graph.nodes,
            "lif": nir.LIF(
                tau=lif.tau, r=2 * lif.r, v_leak=lif.v_leak, v_threshold=lif.v_threshold
            ),
        },
        graph.edges,
    )
    back = snir.from_nir(foreign, frame_steps=20)
    assert back.get_params()["reset"] == NIR_RESET
    assert back.saturation_quantile_ is None and back.frame_steps == 20
    np.testing.assert_array_equal(back.scale_, 1.0)
    np.testing.assert_allclose(back.kernels_, 2 * graph.nodes["conv"].weight[:, 0])
    # snnconv.nir.write is to_nir + nir.write.
    path = snir.write(snn, tmp_path / "g.nir", (28, 28))
    assert isinstance(nir.read(path).nodes["lif"], nir.LIF)


@pytest.mark.parametrize("form", ["portable", "exponential"])
def test_portable_forms_round_trip_through_a_file(data, tmp_path, form):
    images, learner = data
    snn = _front_end(learner, images)
    path = tmp_path / f"{form}.nir"
    snir.write(snn, path, (28, 28), form=form)
    back = snir.from_nir(path)
    np.testing.assert_array_equal(back.kernels_, snn.kernels_)
    np.testing.assert_array_equal(back.scale_, snn.scale_)
    assert back.tau == pytest.approx(snn.tau, rel=1e-12)
    test = images[1000:1100]
    np.testing.assert_array_equal(back.transform(test), snn.transform(test))


def test_portable_parameter_mapping(data):
    """r = 1 everywhere, the Euler gain dt/tau = 1/τ folded into the weights, pooling
    neurons with the standard r = 1 and a threshold just below one spike's charge."""
    images, learner = data
    snn = _front_end(learner, images, tau=8.0)
    graph = snir.to_nir(snn, (28, 28), dt=1e-3)  # the default form
    lif, pool = graph.nodes["lif"], graph.nodes["pool_neurons"]
    assert lif.tau.shape == lif.r.shape == (snn.kernels_.shape[0], 10, 10)
    np.testing.assert_array_equal(lif.r, 1.0)
    np.testing.assert_allclose(lif.tau, 8e-3)
    np.testing.assert_array_equal(
        graph.nodes["conv"].weight[:, 0],
        (8.0 * snn.scale_[:, None, None] * snn.kernels_).astype(np.float32),
    )
    np.testing.assert_array_equal(pool.r, 1.0)
    np.testing.assert_array_equal(pool.v_threshold, 1 - 2.0**-20)  # whatever dt
    expo = snir.to_nir(snn, (28, 28), form="exponential").nodes["lif"]
    assert expo.tau.shape == (snn.kernels_.shape[0], 1, 1)
    np.testing.assert_allclose(np.exp(-1 / expo.tau), 1 - 1 / 8.0)  # e^(-dt/tau) = 1 - 1/τ
    np.testing.assert_allclose(expo.r, expo.tau)  # unit input gain
    with pytest.raises(ValueError, match="form: must be one of"):
        snir.to_nir(snn, (28, 28), form="lossy")


def test_standard_if_pooling_and_old_nir_reset_rule(data, monkeypatch):
    """A foreign graph with NIR's standard pooling IF (r = 1, threshold 1) loads; its
    neurons reset to zero under nir >= 1.0.6 and by subtraction before (NIR_RESET)."""
    images, learner = data
    graph = snir.to_nir(_front_end(learner, images, tau=None), (28, 28))
    pool = graph.nodes["pool_neurons"]
    nodes = {
        **graph.nodes,
        "lif": nir.IF(r=graph.nodes["lif"].r, v_threshold=graph.nodes["lif"].v_threshold),
        "pool_neurons": nir.IF(r=np.ones_like(pool.r), v_threshold=np.ones_like(pool.r)),
    }
    foreign = _graph(nodes, graph.edges)
    back = snir.from_nir(foreign)
    assert back.tau is None and back.get_params()["reset"] == NIR_RESET
    np.testing.assert_array_equal(back.kernels_, graph.nodes["conv"].weight[:, 0])
    monkeypatch.setattr(nir, "version", "1.0.4", raising=False)
    assert snir.from_nir(foreign).get_params()["reset"] == "subtract"
    nodes["pool_neurons"] = nir.IF(r=np.ones_like(pool.r), v_threshold=np.full(pool.r.shape, 0.5))
    with pytest.raises(ModelFileError, match="fire once per input spike"):
        snir.from_nir(_graph(nodes, graph.edges))


def test_several_channels_export_as_a_multichannel_conv2d(data, tmp_path):
    """Kernels over C input channels become a Conv2d of C input channels on an Input
    of (C, H, W), and come back as the same front-end."""
    images, _ = data
    pair = np.stack([images[:300], np.roll(images[:300], 2, axis=2)], axis=1)
    learner = snnconv.KernelLearner(n_kernels=6, random_state=0).fit(pair)
    snn = snnconv.ConvSNN(learner, on_backlog="ignore").fit(pair[:100])
    graph = snir.to_nir(snn, (28, 28))
    assert graph.nodes["conv"].weight.shape == (snn.kernels_.shape[0], 2, 9, 9)
    assert list(graph.nodes["input"].input_type["input"]) == [2, 28, 28]
    path = tmp_path / "two.nir"
    nir.write(path, graph)
    back = snir.from_nir(nir.read(path))
    np.testing.assert_array_equal(back.kernels_, snn.kernels_)
    np.testing.assert_array_equal(back.transform(pair[200:260]), snn.transform(pair[200:260]))


def test_two_kernel_sizes_with_a_scale_per_kernel_export_as_one_conv2d(data, tmp_path):
    """The CSNN's front-end (9 × 9 and centred 5 × 5 kernels, one α per kernel) is one
    Conv2d of 9 × 9 weights, each kernel's α folded into its own weights."""
    images, _ = data
    learner = snnconv.KernelLearner(scales=(5,), random_state=0).fit(images[:1000])
    snn = _front_end(learner, images, scale_per_kernel=True)
    assert np.unique(snn.scale_).size > 1
    path = tmp_path / "sizes.nir"
    nir.write(path, snir.to_nir(snn, (28, 28)))
    back = snir.from_nir(nir.read(path))
    np.testing.assert_array_equal(back.kernels_, snn.kernels_)
    np.testing.assert_array_equal(back.scale_, snn.scale_)
    test = images[1000:1200]
    np.testing.assert_array_equal(back.transform(test), snn.transform(test))
