"""DigitalCoLaNET (docs/algorithms.md §4): agreement with a numpy reference, invariants, API."""

from __future__ import annotations

import numpy as np
import pytest

import snnconv
from snnconv import DigitalCoLaNET
from snnconv.exceptions import DataError, NotFittedError


def _weight(W: np.ndarray, w_min: float, w_max: float) -> np.ndarray:
    r = np.maximum(W, 0.0)
    span = w_max - w_min
    return w_min + span * r / (span + r)


def _reference(counts: np.ndarray, labels: np.ndarray, p: dict, n_classes: int):
    """Steps 1-8 of docs/algorithms.md §4 with one microcolumn per column (so no random ties)."""
    n_in = counts.shape[1]
    span = p["w_max"] - p["w_min"]
    o = p["initial_weight"] - p["w_min"]
    W = np.full((n_classes, n_in), o * span / (span - o))
    F = np.zeros(n_classes)
    s = np.zeros(n_classes)
    r, dh, D, ns = p["stability_ratio"], p["hebbian"], p["reward"], p["silent_synapses"]

    def change(j: int, active: np.ndarray, dw: float) -> None:
        W[j, active] += dw
        F[j] -= dw * active.sum()
        if abs(F[j]) >= p["renorm_threshold"] and F[j] != 0:
            W[j] += F[j] / (n_in + ns)
            F[j] = 0.0

    for n, y in zip(counts, labels, strict=True):
        w = _weight(W, p["w_min"], p["w_max"])
        margin = w @ n - (p["threshold"] + p["threshold_excess"] * np.maximum(w, 0).sum(1))
        active = n > 0
        fired = margin >= 0
        for j in np.flatnonzero(fired):
            s[j] = max(0.0, s[j] + r * dh)
            change(j, active, dh * min(2.0 ** -s[j], 1.0))
        if not fired[y]:
            s[y] = max(0.0, s[y] + r * dh)
        change(y, active, D * min(2.0 ** -s[y], 1.0))
        s[y] = max(0.0, s[y] + (2 * r * D if fired[y] else -r * D))
    return W, F, s


def _two_prototypes(n: int, seed: int = 0, n_in: int = 40):
    """Two classes of noisy binary patterns over disjoint halves of the inputs."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = np.zeros((n, n_in))
    half = n_in // 2
    for k in range(n):
        on = rng.random(half) < 0.8
        X[k, y[k] * half : (y[k] + 1) * half] = on * 10
        X[k, rng.integers(0, n_in, 2)] = 10
    return X, y


def test_matches_numpy_reference_of_the_spec():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 11, (300, 20)) * (rng.random((300, 20)) < 0.4)
    y = rng.integers(0, 2, 300)
    kw = dict(
        microcolumns=1,
        n_copies=1,
        tau_v=None,
        stochastic=0.0,
        threshold=2.0,
        silent_synapses=5,
        renorm_threshold=0.5,
        input_max=10,
        encoding="rate",
    )
    m = DigitalCoLaNET(shuffle=False, **kw).fit(X, y)
    W, F, s = _reference(X.astype(np.uint8), y, {**m.get_params()}, 2)
    np.testing.assert_allclose(m.resource_[0, :, 0], W, rtol=0, atol=1e-9)
    np.testing.assert_allclose(m.free_resource_[0, :, 0], F, rtol=0, atol=1e-9)
    np.testing.assert_allclose(m.stability_[0, :, 0], s, rtol=0, atol=1e-12)
    # Every branch ran: own firings in both columns (some unrewarded), recruitments,
    # and pools that were spread.
    c = m.firing_counts_
    assert c["fired"].sum() > c["rewarded"].sum() - c["forced"].sum() > 0
    assert c["forced"].sum() > 0


def test_learns_two_prototypes_and_conserves_resource():
    X, y = _two_prototypes(400)
    m = DigitalCoLaNET(microcolumns=4, threshold=2.0, silent_synapses=0, input_max=10)
    m.fit(X[:300], y[:300])
    assert m.score(X[300:], y[300:]) >= 0.95
    total = m.resource_.sum() + m.free_resource_.sum()
    start = m.get_params()
    span = start["w_max"] - start["w_min"]
    w0 = -start["w_min"] * span / (span + start["w_min"])
    assert total == pytest.approx(w0 * m.resource_.size, rel=1e-12)
    w = m.weights_
    assert (w >= m.w_min).all() and (w < m.w_max).all()
    assert (m.usage_ >= 1).all()


def test_encoding_is_explicit():
    m = DigitalCoLaNET(input_max=255, encoding="rate")
    m.fit(np.array([[0, 255], [255, 128]]), [0, 1])
    X = np.array([[255, 128], [25, 300]])
    np.testing.assert_array_equal(m.encode(X), [[10, 5], [0, 10]])
    auto = DigitalCoLaNET(input_max="max", encoding="rate")
    auto.fit(np.array([[0.0, 0.5], [0.25, 0.1]]), [0, 1])
    assert auto.input_max_ == 0.5
    np.testing.assert_array_equal(auto.encode([[0.5, 0.25]]), [[10, 5]])
    # (N, C, P, Q) front-end counts are flattened.
    four_d = DigitalCoLaNET(input_max=10, encoding="rate")
    four_d.fit(np.ones((4, 2, 3, 3), np.uint16), [0, 1, 0, 1])
    assert four_d.n_features_in_ == 18


def test_match_scale_hits_the_target_spike_count():
    # 100 features of value 1: 500 spikes per example means 5 spikes each.
    m = DigitalCoLaNET(target_spikes=500).fit(np.ones((2, 100)), [0, 1])
    np.testing.assert_array_equal(m.encode(np.ones((1, 100))), np.full((1, 100), 5))
    rng = np.random.default_rng(0)
    X = rng.exponential(1.0, (300, 200)) * (rng.random((300, 200)) < 0.5)
    m = DigitalCoLaNET().fit(X, rng.integers(0, 2, 300))
    assert abs(m.encode(X).sum(axis=1).mean() - 937) < 5
    # Data too sparse to reach the target saturate every non-zero feature.
    X = np.eye(4) * 3.0
    sparse = DigitalCoLaNET(encoding="rate").fit(X, [0, 1, 0, 1])
    np.testing.assert_array_equal(sparse.encode(X), np.eye(4) * 10)
    # The "auto" code takes the population code for such data (4 features cannot
    # send 937 spikes), and the rate code for data that can.
    assert DigitalCoLaNET().fit(X, [0, 1, 0, 1]).encoding_ == "population"
    assert m.encoding_ == "rate"


def test_partial_fit_in_chunks_equals_fit():
    X, y = _two_prototypes(200, seed=3)
    kw = dict(microcolumns=3, threshold=2.0, input_max=10, shuffle=False, encoding="rate")
    a = DigitalCoLaNET(**kw).fit(X, y)
    b = DigitalCoLaNET(**kw)
    for s in range(0, 200, 37):
        b.partial_fit(X[s : s + 37], y[s : s + 37], classes=[0, 1])
    np.testing.assert_array_equal(a.resource_, b.resource_)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_save_load_predicts_identically(tmp_path):
    X, y = _two_prototypes(200, seed=4)
    m = DigitalCoLaNET(microcolumns=3, threshold=2.0, input_max=10, n_copies=2).fit(X, y)
    path = m.save(tmp_path / "digital")
    back = DigitalCoLaNET.load(path)
    np.testing.assert_array_equal(back.decision_function(X), m.decision_function(X))
    np.testing.assert_array_equal(back.stability_, m.stability_)
    assert back.get_params() == m.get_params()
    with pytest.raises(ValueError, match="CoLaNET"):
        snnconv.CoLaNET.load(path)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"hebbian": 0.1}, "hebbian"),
        ({"w_min": 0.2}, "w_min"),
        ({"initial_weight": 0.0924}, "initial_weight"),
        ({"microcolumns": 0}, "microcolumns"),
        ({"silent_synapses": -2}, "silent_synapses"),
        ({"input_max": 0}, "input_max"),
        ({"input_max": "auto"}, "input_max"),
        ({"target_spikes": -1}, "target_spikes"),
    ],
)
def test_bad_parameters_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        DigitalCoLaNET(**kw).fit(np.ones((2, 3)), [0, 1])


def test_bad_inputs_are_named():
    m = DigitalCoLaNET()
    with pytest.raises(ValueError, match="non-negative"):
        DigitalCoLaNET(encoding="rate").fit(-np.ones((2, 3)), [0, 1])
    with pytest.raises(ValueError, match="NaN"):
        m.fit(np.full((2, 3), np.nan), [0, 1])
    with pytest.raises(ValueError, match="2 classes"):
        m.fit(np.ones((2, 3)), [0, 0])
    with pytest.raises(DataError, match="2 classes"):
        DigitalCoLaNET().partial_fit(np.ones((2, 3)), [0, 0])  # no classes=: the batch's
    m.fit(np.ones((2, 3)), [0, 1])
    with pytest.raises(ValueError, match="3 features"):
        m.predict(np.ones((2, 4)))
    with pytest.raises(DataError, match="not among classes_"):
        m.partial_fit(np.ones((1, 3)), [7])
    with pytest.raises(NotFittedError, match="not fitted"):
        DigitalCoLaNET().predict(np.ones((1, 3)))


def test_deterministic_across_thread_counts_with_noisy_copies():
    X, y = _two_prototypes(200, seed=5)
    kw = dict(microcolumns=3, threshold=2.0, input_max=10, n_copies=4)
    a = DigitalCoLaNET(n_threads=1, **kw).fit(X, y)
    b = DigitalCoLaNET(n_threads=2, **kw).fit(X, y)
    np.testing.assert_array_equal(a.resource_, b.resource_)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))
    # The leaked stimulation makes the copies learn differently.
    assert not np.array_equal(np.sort(a.resource_[0], axis=1), np.sort(a.resource_[1], axis=1))
