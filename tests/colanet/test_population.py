"""Population (Gaussian receptive field) encoding of CoLaNET (docs/algorithms.md §3.2.1).

With the rate code a handful of signed, standardised features cannot drive CoLaNET
(it stays at chance on 2-D blobs and iris); the population code brings it within 10 %
of a logistic regression on blobs, iris, wine and breast cancer.
"""

from __future__ import annotations

import numpy as np
import pytest

from snnconv import CoLaNET, DigitalCoLaNET
from snnconv.colanet.population import PopulationCode
from snnconv.exceptions import ParameterError

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import (  # noqa: E402
    load_breast_cancer,
    load_iris,
    load_wine,
    make_blobs,
)
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

DATASETS = {
    "blobs": lambda: make_blobs(600, n_features=2, centers=3, random_state=0),
    "iris": lambda: load_iris(return_X_y=True),
    "wine": lambda: load_wine(return_X_y=True),
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
}


def _cv_scores(X, y, folds=3):
    """Mean accuracy of LogisticRegression and of population-coded CoLaNET over
    stratified folds; the scaler and the code are fitted on each training part only."""
    lr, snn = [], []
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=0).split(X, y):
        scaler = StandardScaler().fit(X[tr])
        Xtr, Xte = scaler.transform(X[tr]), scaler.transform(X[te])
        lr.append(LogisticRegression(max_iter=2000).fit(Xtr, y[tr]).score(Xte, y[te]))
        model = CoLaNET(encoding="population", n_copies=5, epochs=2, n_threads=1)
        snn.append(model.fit(Xtr, y[tr]).score(Xte, y[te]))
    return float(np.mean(lr)), float(np.mean(snn))


@pytest.mark.parametrize("name", list(DATASETS))
def test_population_code_reaches_90_percent_of_logistic_regression(name):
    X, y = DATASETS[name]()
    lr, snn = _cv_scores(X, y)
    assert snn >= 0.9 * lr, f"{name}: CoLaNET {snn:.3f} vs LogisticRegression {lr:.3f}"


def test_rate_code_stays_at_chance_on_blobs():
    """Why the option exists: two rate-coded features cannot make an L neuron fire."""
    X, y = make_blobs(300, n_features=2, centers=3, random_state=0)
    X = X - X.min(axis=0)
    model = CoLaNET(encoding="rate", n_copies=3, n_threads=1).fit(X[:200], y[:200])
    assert model.score(X[200:], y[200:]) < 0.5


def test_code_shape_range_and_drive():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 3))
    code = PopulationCode.fit(a, size=8, t_p=10, target_spikes=937.0)
    r = code.transform(a)
    assert code.centres.shape == code.widths.shape == (3, 8)
    assert r.shape == (500, code.n_outputs) == (500, 3 * 8 * code.repeats)
    assert r.min() >= 0 and r.max() <= 1
    # Centres are increasing quantiles; the repeats bring the drive up to the target.
    assert (np.diff(code.centres, axis=1) >= 0).all()
    spikes = np.floor(r * 10).sum(axis=1).mean()
    assert spikes >= 937 > spikes * (code.repeats - 1) / code.repeats
    # Values beyond the training range answer like its ends.
    far = code.transform(np.full((1, 3), 100.0))
    end = code.transform(a.max(axis=0, keepdims=True))
    assert np.allclose(far, end)


def test_constant_and_discrete_features_are_handled():
    a = np.zeros((50, 2))
    a[:, 1] = np.arange(50) % 2  # two values: most quantiles coincide
    code = PopulationCode.fit(a, size=5, t_p=10, target_spikes=100.0)
    assert (code.widths > 0).all()
    assert np.isfinite(code.transform(a)).all()


@pytest.mark.parametrize("cls", [CoLaNET, DigitalCoLaNET])
def test_population_model_accepts_signed_input_and_round_trips(cls, tmp_path):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = cls(encoding="population", population_size=6, n_copies=2, n_threads=1).fit(X, y)
    assert model.n_features_in_ == 4
    code = model.population_
    assert model.resource_.shape[-1] == code.n_outputs == 4 * 6 * code.repeats
    assert model.encode(X[:3]).shape == (3, code.n_outputs)
    path = model.save(tmp_path / "m.npz")
    again = cls.load(path)
    np.testing.assert_array_equal(again.decision_function(X), model.decision_function(X))
    np.testing.assert_array_equal(again.population_.centres, code.centres)
    with pytest.raises(ValueError, match="expecting 4 features"):
        model.predict(X[:, :3])


def test_rate_code_still_rejects_negative_input():
    with pytest.raises(ValueError, match="non-negative"):
        CoLaNET(encoding="rate", n_copies=1).fit(-np.ones((4, 2)), [0, 1, 0, 1])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"encoding": "gaussian"}, "encoding"),
        ({"encoding": "population", "population_size": 1}, "population_size"),
        ({"encoding": "population", "population_size": 2.5}, "population_size"),
    ],
)
def test_bad_encoding_parameters(params, match):
    with pytest.raises(ParameterError, match=match):
        CoLaNET(**params).fit(np.ones((4, 2)), [0, 1, 0, 1])


@pytest.mark.parametrize("input_max", ["match", "max", 3.0])
def test_population_encoding_is_the_same_on_any_number_of_threads(input_max):
    """The code's numpy work is split over threads by rows (enough rows to split: 1,200
    training and 700 test examples); every row and the scale must come out the same."""
    X, y = make_blobs(1200, n_features=6, centers=4, random_state=1)
    test = make_blobs(700, n_features=6, centers=4, random_state=2)[0]
    fits = {
        t: CoLaNET(encoding="population", population_size=4, input_max=input_max, n_copies=2)
        .set_params(n_threads=t)
        .fit(X, y)
        for t in (1, 2, 3)
    }
    for t in (2, 3):
        assert fits[t].input_max_ == fits[1].input_max_
        np.testing.assert_array_equal(fits[t].weights_, fits[1].weights_)
        np.testing.assert_array_equal(fits[t]._encode(test), fits[1]._encode(test))
        np.testing.assert_array_equal(fits[t].votes(test), fits[1].votes(test))
