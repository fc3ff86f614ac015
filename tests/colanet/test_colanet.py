"""Spiking CoLaNET (docs/algorithms.md §3): invariants, determinism, persistence, API.

The one-frame timeline of a hand-built 2-class, 2-input network (forcing at the
expected step, reward only to the firing L of the correct column, depression of a
wrong-column firing, the −30 reset) is tested beside the code in
rust/colanet/network.rs; these tests drive the whole estimator.
"""

from __future__ import annotations

import numpy as np
import pytest

from snnconv import CoLaNET, DigitalCoLaNET


def _prototypes(n: int, seed: int = 0, per_class: int = 100, classes: int = 2):
    """Noisy binary patterns over disjoint blocks of inputs, 10 spikes when on."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    X = np.zeros((n, per_class * classes), np.uint8)
    for k in range(n):
        on = rng.random(per_class) < 0.8
        X[k, y[k] * per_class : (y[k] + 1) * per_class] = on * 10
        X[k, rng.integers(0, per_class * classes, 10)] = 10
    return X, y


FAST = dict(microcolumns=4, n_copies=3, input_max=10, encoding="rate")


def test_learns_prototypes_with_default_dynamics():
    X, y = _prototypes(300, classes=3)
    m = CoLaNET(**FAST).fit(X[:200], y[:200])
    assert m.score(X[200:], y[200:]) >= 0.95
    assert m.n_examples_seen_ == 200
    c = m.firing_counts_
    # Columns recruited microcolumns through forcing, then fired on their own.
    assert (c["forced"].sum(axis=2) >= 1).all()
    assert c["fired"].sum() > c["forced"].sum()
    assert (m.usage_ >= 1).all() and (m.usage_ <= 4).all()


def test_resource_is_conserved_without_silent_synapses():
    X, y = _prototypes(150, seed=1)
    m = CoLaNET(silent_synapses=0, renorm_threshold=0.3, **FAST).fit(X, y)
    p = m.get_params()
    span = p["w_max"] - p["w_min"]
    w0 = -p["w_min"] * span / (span + p["w_min"])
    per_neuron = m.resource_.sum(axis=3) + m.free_resource_
    np.testing.assert_allclose(per_neuron, w0 * X.shape[1], rtol=1e-12)
    # ... and it did move: some synapses gained, some lost.
    assert m.resource_.max() > w0 + 0.1 and m.resource_.min() < w0 - 1e-3


def test_silent_synapses_leak_resource_and_weights_stay_in_range():
    X, y = _prototypes(150, seed=2)
    m = CoLaNET(silent_synapses=27, **FAST).fit(X, y)
    w = m.weights_
    assert (w >= m.w_min).all() and (w < m.w_max).all()
    assert (m.stability_ >= 0).all() and m.stability_.max() > 0


def test_deterministic_across_thread_counts_and_chunks():
    X, y = _prototypes(120, seed=3)
    a = CoLaNET(n_threads=1, **FAST).fit(X, y)
    b = CoLaNET(n_threads=2, **FAST).fit(X, y)
    np.testing.assert_array_equal(a.resource_, b.resource_)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))
    c = CoLaNET(shuffle=False, **FAST)
    d = CoLaNET(shuffle=False, **FAST)
    c.fit(X, y)
    d.partial_fit(X[:50], y[:50], classes=[0, 1])
    d.partial_fit(X[50:], y[50:])
    np.testing.assert_array_equal(c.resource_, d.resource_)
    # Other seeds give other networks (the stochastic stimulation differs).
    e = CoLaNET(random_state=1, **FAST).fit(X, y)
    assert not np.array_equal(a.resource_, e.resource_)


def test_copies_differ_only_through_stochastic_stimulation():
    X, y = _prototypes(100, seed=4)
    quiet = CoLaNET(stochastic=0.0, **FAST).fit(X, y)

    def canonical(copy: np.ndarray) -> list[np.ndarray]:
        # Ties between identical untrained neurons are broken at random, so copies
        # agree up to a permutation of the microcolumns within a column.
        return [col[np.lexsort(col.T[::-1])] for col in copy]

    for a, b in zip(canonical(quiet.resource_[0]), canonical(quiet.resource_[1]), strict=True):
        np.testing.assert_array_equal(a, b)
    noisy = CoLaNET(**FAST).fit(X, y)
    pairs = zip(canonical(noisy.resource_[0]), canonical(noisy.resource_[1]), strict=True)
    assert any(not np.array_equal(a, b) for a, b in pairs)


def test_inference_is_frozen_and_order_independent():
    X, y = _prototypes(120, seed=5)
    m = CoLaNET(**FAST).fit(X, y)
    before = m.resource_.copy()
    v = m.votes(X)
    np.testing.assert_array_equal(m.resource_, before)
    # Each example is a fresh frame whose noise is seeded by its content: the votes of a
    # row depend neither on its neighbours nor on its position.
    np.testing.assert_array_equal(m.votes(X[7:8]), v[7:8])
    np.testing.assert_array_equal(m.votes(X[::-1])[::-1], v)
    p = m.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert (v.sum(axis=1) <= m.n_copies + 1e-12).all()


def test_save_load_predicts_identically_and_keeps_learning(tmp_path):
    X, y = _prototypes(160, seed=6)
    labels = np.array(["cat", "dog"])[y]
    m = CoLaNET(**FAST).fit(X[:100], labels[:100])
    path = m.save(tmp_path / "net.npz")
    back = CoLaNET.load(path)
    np.testing.assert_array_equal(back.decision_function(X), m.decision_function(X))
    np.testing.assert_array_equal(back.predict(X), m.predict(X))
    np.testing.assert_array_equal(back.firing_counts_["rewarded"], m.firing_counts_["rewarded"])
    assert back.n_examples_seen_ == 100 and back.classes_.tolist() == ["cat", "dog"]
    back.partial_fit(X[100:], labels[100:])
    assert back.n_examples_seen_ == 160
    with pytest.raises(ValueError, match="DigitalCoLaNET"):
        DigitalCoLaNET.load(path)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable"):
        CoLaNET.load(bad)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"tau_v": 0.5}, "tau_v"),
        ({"stochastic": -1.0}, "stochastic"),
        ({"frame_steps": 4}, "frame_steps"),
        ({"label_step": 15}, "label_step"),
        ({"presentation_steps": 256}, "presentation_steps"),
        ({"n_copies": 0}, "n_copies"),
        ({"reward": float("nan")}, "reward"),
    ],
)
def test_bad_parameters_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        CoLaNET(**kw).fit(np.ones((2, 3)), [0, 1])


def test_one_frame_timeline_of_a_hand_built_network():
    # 2 classes × 2 L, 2 inputs; weights span [−1, 5) so one input can drive an L neuron.
    # Fitting on blank examples recruits nothing (no input spike contributes), so the
    # network stays at its initial weights w = 0.
    p = dict(
        microcolumns=2,
        n_copies=1,
        w_min=-1.0,
        w_max=5.0,
        reward=20.0,
        silent_synapses=-1,
        stochastic=2.0,
        input_max=10,
        encoding="rate",
    )
    m = CoLaNET(**p).fit(np.zeros((2, 2)), [0, 1])
    w0 = m.resource_[0, 0, 0, 0]
    assert (m.resource_ == w0).all()
    np.testing.assert_allclose(m.weights_, 0.0, atol=1e-15)

    # Label 0, input 0 spiking every step: no L can fire on its own, so BIASGATE 0
    # fires at k = 10 and forces one L of column 0 at k = 11; it alone is rewarded at 12.
    tr = m.trace([10, 0], label=0)
    assert np.flatnonzero(tr["gate"][:, 0]).tolist() == [10] and not tr["gate"][:, 1].any()
    k, j = np.nonzero(tr["spike"])
    assert k.tolist() == [11] and j[0] in (0, 1) and tr["spike"][11, j[0]] == 2
    assert np.flatnonzero(tr["out"][:, 0]).tolist() == [12]
    assert tr["reward_column"].tolist() == [-1] * 12 + [0] + [-1] * 2
    # The −30 reset at k = 13 clears every potential that is not blocked (the loser of
    # column 0 is blocked by the winner's lateral gating from k = 12 on).
    assert tr["reset"].tolist() == [False] * 13 + [True, False]
    loser = 1 - j[0]
    assert tr["potential"][12, [2, 3]].min() > 0
    np.testing.assert_array_equal(tr["potential"][13, [j[0], 2, 3]], 0.0)
    assert tr["potential"][13, loser] > 0
    R = m.resource_[0].reshape(4, 2)
    assert R[j[0], 0] == pytest.approx(w0 + 20.0, abs=1e-12)
    assert R[j[0], 1] == w0 and (R[[loser, 2, 3]] == w0).all()

    # Label 1 on the same input: the trained L of column 0 now fires on its own (wrong
    # column) and is depressed once by d_H; column 1 is silent, so it is forced and
    # rewarded.
    tr = m.trace([10, 0], label=1)
    own = np.flatnonzero(tr["spike"][:, j[0]] == 1)
    assert own.size >= 1 and own[0] < 10
    assert np.flatnonzero(tr["gate"][:, 1]).tolist() == [10]
    forced = np.nonzero(tr["spike"] == 2)
    assert forced[0].tolist() == [11] and forced[1][0] in (2, 3)
    assert tr["reward_column"][12] == 1
    R2 = m.resource_[0].reshape(4, 2)
    assert R2[j[0], 0] == pytest.approx(R[j[0], 0] + m.hebbian, abs=1e-9)
    assert R2[forced[1][0], 0] == pytest.approx(w0 + 20.0, abs=1e-12)

    # Without a label the frame is frozen inference: OUT 0 answers, nothing learns.
    tr = m.trace([10, 0])
    assert tr["out"][:, 0].any() and not tr["gate"].any() and not tr["reset"].any()
    np.testing.assert_array_equal(m.resource_[0].reshape(4, 2), R2)


def test_scikit_learn_sees_classifiers():
    pytest.importorskip("sklearn")
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import cross_val_score

    assert is_classifier(CoLaNET()) and is_classifier(DigitalCoLaNET())
    c = clone(CoLaNET(microcolumns=3, stochastic=0.5))
    assert c.get_params()["microcolumns"] == 3 and not hasattr(c, "classes_")
    X, y = _prototypes(90, seed=7, classes=3)
    scores = cross_val_score(DigitalCoLaNET(microcolumns=3, input_max=10), X, y, cv=3)
    assert scores.min() >= 0.9


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64])
def test_plain_arrays_are_validated_as_check_array_would(dtype):
    """Numeric numpy input skips scikit-learn's check_array (its first call costs tens
    of milliseconds of imports) and gives exactly the array it would have given."""
    from sklearn.utils.validation import check_array

    from snnconv.colanet.input import as_features

    base = np.random.default_rng(0).integers(0, 200, (5, 2, 6, 4)).astype(dtype)
    X = base[:, :, ::2, :]  # not contiguous, 4-D
    want = np.ascontiguousarray(
        check_array(X, dtype="numeric", allow_nd=True).reshape(5, -1), dtype=np.float64
    )
    got = as_features(X)
    assert got.dtype == np.float64 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("bad", "match"), [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite_features_keep_scikit_learn_messages(bad, match):
    X, y = _prototypes(20)
    X = X.astype(np.float64)
    X[3, 5] = bad
    with pytest.raises(ValueError, match=match):
        CoLaNET(**FAST).fit(X, y)
