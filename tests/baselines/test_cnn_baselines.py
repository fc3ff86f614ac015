"""CNN1/CNN2 baselines: the numpy backend against straightforward references (direct
convolution, finite-difference gradients), the docs/algorithms.md §7 layer sizes, API manners, and
accuracy floors on the MNIST 5k sample. The torch backend is tested where installed."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from snnconv.baselines import CNN1, CNN2
from snnconv.baselines._architectures import feature_shape
from snnconv.baselines._cnn_numpy import NumpyCNN, col2im, im2col, softmax_xent
from snnconv.exceptions import NotFittedError

HAS_TORCH = importlib.util.find_spec("torch") is not None


def _direct_conv(x, w, b, s):
    """Valid cross-correlation, NHWC input, (F, C, k, k) filters, by plain loops."""
    n, h, wd, _ = x.shape
    f, _, k, _ = w.shape
    p, q = (h - k) // s + 1, (wd - k) // s + 1
    out = np.zeros((n, p, q, f))
    for i in range(p):
        for j in range(q):
            patch = x[:, i * s : i * s + k, j * s : j * s + k, :]  # (n, k, k, c)
            out[:, i, j, :] = np.einsum("nabc,fcab->nf", patch, w) + b
    return out


@pytest.mark.parametrize(("k", "s"), [(4, 1), (3, 1), (9, 2)])
def test_im2col_convolution_matches_direct_loops(k, s):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 13, 11, 3))
    w = rng.normal(size=(5, 3, k, k))
    b = rng.normal(size=5)
    cols, p, q = im2col(x, k, s)
    got = (cols @ w.reshape(5, -1).T + b).reshape(2, p, q, 5)
    np.testing.assert_allclose(got, _direct_conv(x, w, b, s), atol=1e-12)
    # col2im is the adjoint of im2col: <im2col(x), g> == <x, col2im(g)>.
    g = rng.normal(size=cols.shape)
    np.testing.assert_allclose(
        np.sum(cols * g), np.sum(x * col2im(g, x.shape, k, s, p, q)), rtol=1e-12
    )


def test_layer_sizes_follow_spec():
    # 28×28: CNN1 conv4 → 25, pool → 12, conv3 → 10, pool → 5 (×64); CNN2 conv9/2 → 10,
    # pool → 5 (×28).
    assert feature_shape("cnn1", 28, 28) == (5, 5, 64)
    assert feature_shape("cnn2", 28, 28) == (5, 5, 28)
    assert feature_shape("cnn2", 31, 31) == (6, 6, 28)
    n1 = NumpyCNN("cnn1", (28, 28), 10, 0.5, 0)
    sizes = {k: v.shape for k, v in n1.params.items()}
    assert sizes == {
        "conv0.w": (32, 1, 4, 4),
        "conv0.b": (32,),
        "conv2.w": (64, 32, 3, 3),
        "conv2.b": (64,),
        "dense.w": (1600, 10),
        "dense.b": (10,),
    }
    n2 = NumpyCNN("cnn2", (28, 28), 5, 0.5, 0)
    assert {k: v.shape for k, v in n2.params.items()} == {
        "conv0.w": (28, 1, 9, 9),
        "conv0.b": (28,),
        "dense.w": (700, 5),
        "dense.b": (5,),
    }


@pytest.mark.parametrize(("arch", "size"), [("cnn1", 12), ("cnn2", 14)])
def test_backward_matches_finite_differences(arch, size):
    rng = np.random.default_rng(1)
    net = NumpyCNN(arch, (size, size), 3, 0.0, 2)
    net.params = {k: v.astype(np.float64) for k, v in net.params.items()}
    x = rng.random((4, size, size, 1))
    y = np.array([0, 1, 2, 1])

    def loss():
        return softmax_xent(net.forward(x, train=False)[0], y)[0]

    logits, cache = net.forward(x, train=True)
    grads = net.backward(softmax_xent(logits, y)[1], cache)
    eps = 1e-6
    for name, p in net.params.items():
        flat = p.reshape(-1)
        for idx in rng.choice(flat.size, size=min(5, flat.size), replace=False):
            old = flat[idx]
            flat[idx] = old + eps
            up = loss()
            flat[idx] = old - eps
            down = loss()
            flat[idx] = old
            num = (up - down) / (2 * eps)
            assert grads[name].reshape(-1)[idx] == pytest.approx(num, rel=1e-4, abs=1e-8), name


def test_seeded_and_reproducible(mnist5k):
    x, y = mnist5k
    a = CNN2(backend="numpy", epochs=2, random_state=3).fit(x[:300], y[:300])
    b = CNN2(backend="numpy", epochs=2, random_state=3).fit(x[:300], y[:300])
    np.testing.assert_array_equal(a.predict_proba(x[300:350]), b.predict_proba(x[300:350]))
    assert a.backend_ == "numpy" and len(a.loss_curve_) == 2
    assert a.loss_curve_[1] < a.loss_curve_[0]
    proba = a.predict_proba(x[300:310])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    c = CNN2(backend="numpy", epochs=2, random_state=4).fit(x[:300], y[:300])
    assert not np.array_equal(a.predict_proba(x[300:350]), c.predict_proba(x[300:350]))


def test_labels_of_any_type_and_float_images():
    rng = np.random.default_rng(0)
    x = rng.random((40, 14, 14))
    y = np.where(x[:, :7].mean(axis=(1, 2)) > x[:, 7:].mean(axis=(1, 2)), "top", "bottom")
    m = CNN2(backend="numpy", epochs=30, dropout=0.0).fit(x, y)
    assert set(m.classes_) == {"bottom", "top"}
    assert m.score(x, y) >= 0.9


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"epochs": 0}, r"^epochs:"),
        ({"batch_size": 0}, r"^batch_size:"),
        ({"learning_rate": 0.0}, r"^learning_rate:"),
        ({"dropout": 1.0}, r"^dropout:"),
        ({"backend": "jax"}, r"^backend:"),
        ({"random_state": -2}, r"^random_state:"),
    ],
)
def test_bad_parameters_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        CNN1(**kw).fit(np.zeros((2, 28, 28), np.uint8), [0, 1])


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"^images: 5x5 maps are too small"):
        CNN2(backend="numpy").fit(np.zeros((2, 5, 5), np.uint8), [0, 1])
    with pytest.raises(ValueError, match=r"^y:"):
        CNN2(backend="numpy").fit(np.zeros((2, 28, 28), np.uint8), [0, 1, 2])
    with pytest.raises(NotFittedError, match="not fitted"):
        CNN1().predict(np.zeros((1, 28, 28), np.uint8))
    m = CNN2(backend="numpy", epochs=1).fit(np.zeros((2, 28, 28), np.uint8), [0, 1])
    with pytest.raises(ValueError, match=r"^images: expected images of shape \(28, 28\)"):
        m.predict(np.zeros((1, 20, 20), np.uint8))


@pytest.mark.skipif(HAS_TORCH, reason="checks the message shown when torch is absent")
def test_torch_backend_missing_gives_install_hint():
    with pytest.raises(ImportError, match=r"pip install 'snnconv\[baselines\]'"):
        CNN2(backend="torch").fit(np.zeros((2, 28, 28), np.uint8), [0, 1])
    assert CNN2()._resolve_backend() == "numpy"


def test_numpy_backend_is_the_same_for_any_blas_thread_count():
    # A threaded BLAS splits its sums by thread count; the numpy backend pins one.
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (30, 12, 12), dtype=np.uint8)
    y = np.arange(30) % 3
    est = CNN1(epochs=1, batch_size=8, backend="numpy").fit(x, y)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        two = CNN1(epochs=1, batch_size=8, backend="numpy").fit(x, y)
        p2 = two.predict_proba(x)
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        p1 = est.predict_proba(x)
    np.testing.assert_array_equal(p1, p2)


def test_auto_backend_is_numpy_with_or_without_torch():
    # torch has no GPU path here and is the slower CPU backend: only asked for.
    assert CNN1()._resolve_backend() == CNN2()._resolve_backend() == "numpy"
    assert CNN2(backend="torch")._resolve_backend() == "torch"


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed (extra 'baselines')")
def test_torch_backend_same_architecture_and_learns(mnist5k):
    x, y = mnist5k
    m = CNN2(backend="torch", epochs=5).fit(x[:1000], y[:1000])
    n_torch = sum(p.numel() for p in m.net_.model.parameters())
    n_numpy = sum(v.size for v in NumpyCNN("cnn2", (28, 28), 10, 0.5, 0).params.values())
    assert n_torch == n_numpy
    assert m.score(x[4000:], y[4000:]) >= 0.85


def test_cnn2_numpy_mnist5k_floor(mnist5k):
    # Measured 96.0 % (20 epochs, about 4–6 s on one core).
    x, y = mnist5k
    m = CNN2(backend="numpy", n_threads=1).fit(x[:4000], y[:4000])
    assert m.score(x[4000:], y[4000:]) >= 0.95


@pytest.mark.slow
def test_cnn1_numpy_mnist5k_floor(mnist5k):
    # Measured 95.9 % (10 epochs, about 20–40 s on one core).
    x, y = mnist5k
    m = CNN1(backend="numpy", n_threads=1).fit(x[:4000], y[:4000])
    assert m.score(x[4000:], y[4000:]) >= 0.95


def test_save_load_predicts_identically(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((40, 28, 28)) * 255).astype(np.uint8)
    y = np.arange(40) % 3
    model = CNN2(epochs=1, backend="numpy").fit(x, y)
    path = model.save(tmp_path / "cnn2")
    back = CNN2.load(path)
    np.testing.assert_array_equal(back.predict_proba(x), model.predict_proba(x))
    assert back.backend_ == "numpy" and back.loss_curve_ == model.loss_curve_
    with pytest.raises(ValueError, match="holds a"):
        CNN1.load(path)
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable"):
        CNN2.load(tmp_path / "bad.npz")


@pytest.mark.parametrize("cls", [CNN1, CNN2])
@pytest.mark.parametrize("kw", [{"learning_rate": 1e300}, {"learning_rate": 1e30, "dropout": 0.99}])
def test_diverging_fit_stops_with_a_clear_error(cls, kw):
    from snnconv.exceptions import DivergenceError

    rng = np.random.default_rng(0)
    x = (rng.random((40, 20, 20)) * 255).astype(np.uint8)
    model = cls(epochs=50, backend="numpy", **kw)
    with (
        np.errstate(all="ignore"),
        pytest.raises(DivergenceError, match=r"learning_rate: training diverged at epoch 1"),
    ):
        model.fit(x, np.arange(40) % 3)  # stopped at epoch 1 of 50 (the message)
    with pytest.raises(NotFittedError):
        model.predict_proba(x)


def test_oversized_images_are_refused_before_allocating():
    import tracemalloc

    x = np.zeros((2, 4000, 4000), np.uint8)
    tracemalloc.start()  # numpy reports its buffers to tracemalloc
    try:
        with pytest.raises(MemoryError, match=r"images: CNN1 on 4000x4000 images needs about"):
            CNN1(backend="numpy").fit(x, [0, 1])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Refused before any image-sized buffer: the float32 copy alone would be 128 MB.
    assert peak < 16 * 2**20


def test_non_finite_probabilities_are_never_returned():
    from snnconv.exceptions import DivergenceError

    rng = np.random.default_rng(0)
    x = (rng.random((10, 20, 20)) * 255).astype(np.uint8)
    model = CNN2(epochs=1, backend="numpy").fit(x, np.arange(10) % 2)
    model.net_.params["dense.w"][:] = np.float32(3e38)
    with np.errstate(all="ignore"), pytest.raises(DivergenceError, match="non-finite"):
        model.predict_proba(x)


def test_subnormal_inputs_are_flushed_to_zero():
    x = np.full((2, 12, 12), 1e-40)
    x[:, 0, 0] = 0.5
    inputs = CNN2._inputs(x)
    assert inputs.dtype == np.float32 and inputs[0, 0, 0, 0] == 0.5
    assert np.count_nonzero(inputs) == 2


def _torch_copy_of(net: NumpyCNN, arch: str, shape: tuple[int, int], n_classes: int):
    """A TorchCNN holding exactly the weights of ``net``: conv weights share the
    (filters, channels, K, K) layout; the dense layer reads (H, W, C)-ordered features
    in numpy and (C, H, W)-ordered ones in torch, so its rows are permuted."""
    import torch

    from snnconv.baselines._cnn_torch import TorchCNN

    t = TorchCNN(arch, shape, n_classes, 0.0, 0)
    convs = [m for m in t.model if isinstance(m, torch.nn.Conv2d)]
    names = sorted({k.split(".")[0] for k in net.params if k.startswith("conv")}, key=len)
    names = sorted(names, key=lambda s: int(s[4:]))
    h, w, c = feature_shape(arch, *shape)
    with torch.no_grad():
        for conv, name in zip(convs, names, strict=True):
            conv.weight.copy_(torch.from_numpy(net.params[f"{name}.w"]))
            conv.bias.copy_(torch.from_numpy(net.params[f"{name}.b"]))
        dense = t.model[-1]
        wd = net.params["dense.w"].reshape(h, w, c, n_classes).transpose(3, 2, 0, 1)
        dense.weight.copy_(torch.from_numpy(np.ascontiguousarray(wd.reshape(n_classes, -1))))
        dense.bias.copy_(torch.from_numpy(net.params["dense.b"]))
    return t, names, (h, w, c)


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed (extra 'baselines')")
@pytest.mark.parametrize("arch", ["cnn1", "cnn2"])
def test_torch_and_numpy_backends_agree_on_the_same_weights(arch):
    """Same weights in: the same probabilities, loss and gradients out (float32
    tolerance; dropout off, one batch, so no random draw differs)."""
    import torch

    shape, k = (28, 28), 10
    rng = np.random.default_rng(1)
    x = rng.random((6, *shape, 1), dtype=np.float32)
    y = np.array([0, 1, 2, 3, 4, 5])
    net = NumpyCNN(arch, shape, k, 0.0, 0)
    t, names, (h, w, c) = _torch_copy_of(net, arch, shape, k)
    np.testing.assert_allclose(t.predict_proba(x), net.predict_proba(x), rtol=1e-4, atol=1e-6)

    logits, cache = net.forward(x, train=False)
    loss, dlogits = softmax_xent(logits, y)
    grads = net.backward(dlogits, cache)
    t.model.train()
    out = t.model(t._tensor(x))
    loss_t = torch.nn.CrossEntropyLoss()(out, torch.from_numpy(y))
    loss_t.backward()
    assert float(loss_t.detach()) == pytest.approx(loss, rel=1e-5)
    convs = [m for m in t.model if isinstance(m, torch.nn.Conv2d)]
    for conv, name in zip(convs, names, strict=True):
        gw, gb = grads[f"{name}.w"], grads[f"{name}.b"]
        scale = np.abs(gw).max()
        np.testing.assert_allclose(conv.weight.grad.numpy(), gw, rtol=1e-3, atol=1e-4 * scale)
        np.testing.assert_allclose(conv.bias.grad.numpy(), gb, rtol=1e-3, atol=1e-4 * scale)
    dense = t.model[-1]
    gd = grads["dense.w"].reshape(h, w, c, k).transpose(3, 2, 0, 1).reshape(k, -1)
    np.testing.assert_allclose(dense.weight.grad.numpy(), gd, rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(dense.bias.grad.numpy(), grads["dense.b"], rtol=1e-4, atol=1e-7)
