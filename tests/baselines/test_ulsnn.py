"""ULSNN (Diehl & Cook 2015) baseline: hand cases, agreement with a numpy reference of
the step loop, invariants, API manners and an accuracy floor on the MNIST 5k sample."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from snnconv import _core
from snnconv.baselines import ULSNN, _readout
from snnconv.baselines import ulsnn as ulsnn_mod
from snnconv.exceptions import ModelFileError, NotFittedError

import ulsnn_reference as ref


def _core_net(w, theta, p: ref.P, seed=0, one_spike=False):
    d, n = w.shape
    params = {
        "n_inputs": d, "n_neurons": n, "time": p.time, "intensity": 1000.0,
        "intensity_step": 0.0, "max_retries": 0, "min_spikes": 0, "exc": p.exc,
        "inh": p.inh, "nu_pre": p.nu_pre, "nu_post": p.nu_post, "norm": p.norm,
        "theta_plus": p.theta_plus, "tc_theta_decay": p.tc_theta_decay,
        "one_spike": one_spike,
    }  # fmt: skip
    return _core.UlsnnCore(params, seed, np.ascontiguousarray(w), np.ascontiguousarray(theta), 0)


def test_engine_matches_numpy_reference_on_deterministic_trains():
    # Binary images at 1000 Hz: white pixels spike every step, black never, so the
    # whole network (STDP, θ, inhibition, normalisation) is deterministic.
    rng = np.random.default_rng(1)
    imgs = (rng.random((6, 16)) < 0.5).astype(np.float64)
    p = ref.P(time=60, norm=2.4, inh=5.0, nu_pre=0.01, nu_post=0.05)
    w0 = rng.uniform(0, 0.3, (16, 3))
    ref.normalise(w0, p.norm)
    th0 = np.zeros(3)
    core = _core_net(w0, th0, p)
    stats = core.train(imgs)
    w, th = w0.copy(), th0.copy()
    spikes = []
    for img in imgs:
        trains = np.tile(img.astype(bool), (p.time, 1))
        spikes.append(ref.present(w, th, trains, p, learning=True).sum())
    assert stats[:, 0].tolist() == spikes
    assert sum(spikes) > 20  # the comparison exercised real activity
    assert not np.allclose(w, w0)
    np.testing.assert_allclose(core.weights, w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(core.theta, th, rtol=0, atol=1e-12)
    # Frozen inference: same counts per neuron, weights and θ untouched.
    counts, retries = core.respond(imgs, 0, 1)
    for img, c in zip(imgs, counts, strict=True):
        trains = np.tile(img.astype(bool), (p.time, 1))
        assert c.tolist() == ref.present(w.copy(), th.copy(), trains, p, False).tolist()
    assert retries.tolist() == [0] * len(imgs)
    np.testing.assert_allclose(core.weights, w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(core.theta, th, rtol=0, atol=1e-12)


def _one_neuron(**kw):
    base = dict(n_neurons=1, intensity=1000.0, max_retries=0, min_spikes=0, nu=(0.0, 0.0))
    base.update(kw)
    return ULSNN(**base)


def test_single_neuron_constant_drive_fires_at_expected_steps():
    # 20 always-on pixels whose weights sum to norm = 20: a drive of 20 mV per step,
    # arriving from step 1 (one-step synaptic delay). From rest −65 one step reaches
    # −45 ≥ −52, so it fires at step 1, is refractory for 5 steps, and fires again on
    # the first driven step after: 1, 7, 13, ...
    m = _one_neuron(time=30, norm=20.0, theta_plus=0.0)
    img = np.full((1, 4, 5), 255, np.uint8)
    m.fit(img, [0])
    r = m.raster(img[0])
    assert r.shape == (30, 1)
    assert np.flatnonzero(r[:, 0]).tolist() == [1, 7, 13, 19, 25]


def test_theta_grows_by_theta_plus_per_spike_and_matches_reference():
    # One pixel, w = norm = 0.8: a drive of 0.8 per step, slower as θ grows.
    m = _one_neuron(time=120, norm=0.8, theta_plus=0.5, tc_theta_decay=1e300)
    imgs = np.full((3, 1, 1), 255, np.uint8)
    m.fit(imgs, [0, 0, 0])
    spikes = m.train_stats_[:, 0]
    assert spikes.sum() > 3
    assert m.theta_[0] == pytest.approx(0.5 * spikes.sum(), rel=1e-12)
    p = ref.P(time=120, norm=0.8, nu_pre=0, nu_post=0, theta_plus=0.5, tc_theta_decay=1e300)
    w, th = np.array([[0.8]]), np.zeros(1)
    expect = [ref.present(w, th, np.ones((120, 1), bool), p, True)[0] for _ in range(3)]
    assert spikes.tolist() == expect
    # Each presentation spikes less as θ rises (adaptive threshold).
    assert expect[0] > expect[2]


def test_refractory_period_and_inference_freezes_theta(mnist5k):
    x, y = mnist5k
    m = ULSNN(n_neurons=8, time=80, random_state=3).fit(x[:40], y[:40])
    theta, w = m.theta_.copy(), m.weights_.copy()
    for k in range(5):
        r = m.raster(x[50 + k], index=k)
        for j in range(r.shape[1]):
            steps = np.flatnonzero(r[:, j])
            assert (np.diff(steps) > 5).all()
    m.transform(x[50:60])
    np.testing.assert_array_equal(m._core.theta, theta)
    np.testing.assert_array_equal(m._core.weights, w)


def test_normalisation_makes_column_sums_exact(mnist5k):
    x, y = mnist5k
    m = ULSNN(n_neurons=10, time=50).fit(x[:30], y[:30])
    assert m.norm_ == pytest.approx(78.4)
    np.testing.assert_allclose(m.weights_.sum(axis=0), 78.4, rtol=1e-12)
    m2 = ULSNN(n_neurons=4, time=20, norm=12.5).fit(x[:5, :10, :10], y[:5])
    np.testing.assert_allclose(m2.weights_.sum(axis=0), 12.5, rtol=1e-12)


def test_stdp_sign_on_bright_and_dark_pixels():
    # Left half white, right half black. Potentiation (post after pre) can only raise
    # the weights of pixels that spiked; depression (pre after post) only lowers them.
    # After normalisation the shares move accordingly, against a run without STDP
    # from the same initial weights (same seed).
    img = np.zeros((1, 4, 4), np.uint8)
    img[0, :, :2] = 255
    bright = np.zeros(16, bool)
    bright[img[0].ravel() > 0] = True

    def weights(nu):
        m = ULSNN(n_neurons=1, time=100, norm=8.0, nu=nu, random_state=5)
        return m.fit(img, [0]).weights_[:, 0]

    w0 = weights((0.0, 0.0))
    wp = weights((0.0, 1e-2))
    wd = weights((1e-2, 0.0))
    assert (wp[bright] > w0[bright]).all() and (wp[~bright] < w0[~bright]).all()
    assert (wd[bright] < w0[bright]).all() and (wd[~bright] > w0[~bright]).all()


def test_deterministic_for_any_thread_count_and_chunking(mnist5k, monkeypatch):
    x, y = mnist5k
    a = ULSNN(n_neurons=12, time=60, n_threads=1).fit(x[:60], y[:60])
    b = ULSNN(n_neurons=12, time=60, n_threads=2).fit(x[:60], y[:60])
    np.testing.assert_array_equal(a.weights_, b.weights_)
    np.testing.assert_array_equal(a.theta_, b.theta_)
    ca = a.transform(x[100:140])
    np.testing.assert_array_equal(ca, b.transform(x[100:140]))
    assert ca.sum() > 0
    monkeypatch.setattr(ulsnn_mod, "_RESPOND_CHUNK", 7)
    np.testing.assert_array_equal(ca, b.transform(x[100:140]))
    c = ULSNN(n_neurons=12, time=60, random_state=1).fit(x[:60], y[:60])
    assert not np.array_equal(a.weights_, c.weights_)


def test_readout_hand_case():
    # 3 neurons, 2 classes; neuron 2 never fires.
    counts = np.array([[4, 0, 0], [2, 1, 0], [0, 3, 0], [1, 5, 0]])
    y = np.array([0, 0, 1, 1])
    rates, assign = _readout.assign(counts, y, 2)
    np.testing.assert_allclose(rates, [[3, 0.5, 0], [0.5, 4, 0]])
    assert assign.tolist() == [0, 1, -1]
    test = np.array([[2, 2, 9], [1, 0, 9]])
    np.testing.assert_allclose(_readout.scores(test, assign, rates), [[2, 2], [1, 0]])
    pw = _readout.scores(test, assign, rates, "proportion_weighting")
    np.testing.assert_allclose(pw, [[2 * 3 / 3.5, 2 * 4 / 4.5], [3 / 3.5, 0]])
    with pytest.raises(ValueError, match=r"^readout:"):
        _readout.scores(test, assign, rates, "vote")


def test_save_load_identical_predictions(mnist5k, tmp_path):
    x, y = mnist5k
    m = ULSNN(n_neurons=10, time=60, readout="proportion_weighting").fit(x[:50], y[:50])
    path = m.save(tmp_path / "ulsnn")
    assert path.endswith(".npz")
    m2 = ULSNN.load(path)
    assert m2.get_params() == m.get_params()
    np.testing.assert_array_equal(m2.predict(x[60:90]), m.predict(x[60:90]))
    np.testing.assert_array_equal(m2.weights_, m.weights_)
    np.testing.assert_array_equal(m2.assignments_, m.assignments_)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable"):
        ULSNN.load(tmp_path / "bad.npz")
    from snnconv._util.persistence import save_npz

    save_npz(tmp_path / "other.npz", "snnconv.KernelLearner", 1, {}, {})
    with pytest.raises(ValueError, match="holds a"):
        ULSNN.load(tmp_path / "other.npz")
    save_npz(tmp_path / "cut.npz", "snnconv.ULSNN", 2, {"params": m.get_params()}, {})
    with pytest.raises(ModelFileError, match="metadata: missing"):
        ULSNN.load(tmp_path / "cut.npz")


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"n_neurons": 0}, "^n_neurons:"),
        ({"time": 0}, "^time:"),
        ({"intensity": 900.0}, "^intensity:.*1000"),
        ({"intensity": -1.0}, "^intensity:"),
        ({"max_retries": 64}, r"^max_retries:.*\[0, 63\]"),
        ({"nu": (1e-4,)}, "^nu:"),
        ({"nu": (-1.0, 0.01)}, "^nu:"),
        ({"norm": 0.0}, "^norm:"),
        ({"readout": "vote"}, "^readout:"),
        ({"random_state": -1}, "^random_state:"),
        ({"n_threads": 0}, "^n_threads:"),
        ({"tc_theta_decay": float("nan")}, "^tc_theta_decay:"),
    ],
)
def test_bad_parameters_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        ULSNN(**kw).fit(np.zeros((2, 4, 4), np.uint8), [0, 1])


def test_wrong_parameter_type_is_a_type_error():
    with pytest.raises(TypeError, match=r"^epochs:"):
        ULSNN(epochs=1.5).fit(np.zeros((2, 4, 4), np.uint8), [0, 1])


def test_bad_inputs():
    m = ULSNN(n_neurons=2, time=10)
    with pytest.raises(NotFittedError, match="not fitted"):
        m.predict(np.zeros((1, 4, 4), np.uint8))
    with pytest.raises(ValueError, match=r"^images: expected a 3-D"):
        m.fit(np.zeros((4, 4), np.uint8), [0])
    with pytest.raises(ValueError, match="NaN"):
        m.fit(np.full((1, 4, 4), np.nan), [0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        m.fit(np.full((1, 4, 4), 2.0), [0])
    with pytest.raises(TypeError, match="dtype"):
        m.fit(np.zeros((1, 4, 4), np.int32), [0])
    with pytest.raises(ValueError, match=r"^y:"):
        m.fit(np.zeros((2, 4, 4), np.uint8), [0])
    with pytest.raises(ValueError, match=r"^y:"):
        m.fit(np.zeros((2, 4, 4), np.uint8), None)
    m.fit(np.zeros((2, 4, 4), np.uint8), ["a", "b"])
    with pytest.raises(ValueError, match=r"^images: expected images of shape \(4, 4\)"):
        m.predict(np.zeros((1, 5, 4), np.uint8))
    # All-black training images: nothing fires, every neuron stays unassigned, and
    # the prediction falls back to the first class rather than failing.
    assert m.assignments_.tolist() == [-1, -1]
    assert m.predict(np.zeros((1, 4, 4), np.uint8)).tolist() == ["a"]


def test_import_snnconv_does_not_import_baselines_or_torch():
    code = (
        "import sys, snnconv; assert 'snnconv.baselines' not in sys.modules; "
        "snnconv.baselines.ULSNN; assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_mnist5k_accuracy_floor(mnist5k):
    # Measured 81.2 % (all-activity) / 81.6 % (proportion weighting) with 100 neurons,
    # one epoch over 4,000 images (BindsNET anchor: ≈ 81 % after 20,000 images).
    x, y = mnist5k
    m = ULSNN(n_neurons=100, random_state=0).fit(x[:4000], y[:4000])
    counts = m.transform(x[4000:])
    acc = {}
    for r in _readout.READOUTS:
        pred = m.classes_[_readout.scores(counts, m.assignments_, m.rates_, r).argmax(1)]
        acc[r] = float(np.mean(pred == y[4000:]))
    assert acc["all_activity"] >= 0.78, acc
    assert acc["proportion_weighting"] >= 0.78, acc
    assert m.score(x[4000:], y[4000:]) == pytest.approx(acc["all_activity"])


def test_progress_bar_and_params_roundtrip(mnist5k, capsys):
    x, y = mnist5k
    m = ULSNN(n_neurons=3, time=20, progress=True).fit(x[:10], y[:10])
    assert "training ULSNN" in capsys.readouterr().err
    assert m.n_images_seen_ == 10 and m.train_stats_.shape == (10, 2)
    assert repr(m) == "ULSNN(n_neurons=3, time=20, progress=True)"
    m.set_params(readout="proportion_weighting")
    assert m.decision_function(x[:4]).shape == (4, len(m.classes_))
