"""Classifiers take labels of any type: ``classes_`` holds them sorted, the core sees
their index 0..K-1 (as ``LabelEncoder`` maps them) and ``predict`` answers with the
original labels. A single class and continuous targets are clear errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sk_tiny
from sklearn.exceptions import DataConversionWarning

from snnconv.exceptions import DataError

CLASSIFIERS = list(sk_tiny.CLASSIFIERS)
#: Settings under which each tiny classifier answers more than one class on its data
#: (one epoch of the CNNs predicts a single class), so that comparing predictions
#: across label types compares more than one label.
ANSWERS_SEVERAL = {"CNN1": {"epochs": 5}, "CNN2": {"epochs": 10}}


def _fit(name, y_map=None, labels=None, **kw):
    X, y = sk_tiny.data_for(name)
    if labels is None:
        labels = y if y_map is None else np.asarray(y_map)[y]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est = sk_tiny.FACTORIES[name](**kw).fit(X, labels)
    return est, X, y


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize(
    "y_map",
    [["cat", "dog", "eel"], [3, 10, 42], [-5, 0, 7], np.array(["b", "a", "c"], dtype=object)],
    ids=["strings", "non-contiguous", "negative", "object"],
)
def test_any_label_type_gives_the_same_model(name, y_map):
    X, y = sk_tiny.data_for(name)
    mapped = np.asarray(y_map)[: len(np.unique(y))]
    labels = mapped[y]
    kw = ANSWERS_SEVERAL.get(name, {})
    est, _, _ = _fit(name, labels=labels, **kw)
    classes = np.sort(mapped)
    np.testing.assert_array_equal(est.classes_, classes)
    # The core sees each label's index among the sorted labels, so the model fitted on
    # those indices (0..K-1) directly is the same model: the same predictions, mapped
    # to the labels, the same probabilities and the same score.
    index = np.searchsorted(classes, labels)
    base, _, _ = _fit(name, labels=index, **kw)
    pred = est.predict(X)
    assert pred.dtype == classes.dtype
    np.testing.assert_array_equal(pred, classes[base.predict(X)])
    if hasattr(est, "predict_proba"):
        np.testing.assert_array_equal(est.predict_proba(X), base.predict_proba(X))
    assert est.score(X, labels) == base.score(X, index)
    assert est.score(X, labels) == np.mean(pred == labels)
    assert len(set(pred)) > 1


@pytest.mark.parametrize("name", [n for n in CLASSIFIERS if n != "ULSNN"])
def test_single_class_is_a_clear_error(name):
    X, _ = sk_tiny.data_for(name)
    with pytest.raises(DataError, match="at least 2 classes"):
        sk_tiny.FACTORIES[name]().fit(X, np.full(len(X), "only"))


def test_ulsnn_learns_without_labels_so_one_class_is_allowed():
    X, _ = sk_tiny.bar_images()
    est = sk_tiny.ulsnn().fit(X, np.full(len(X), 4))
    np.testing.assert_array_equal(est.predict(X), 4)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_continuous_target_is_a_clear_error(name):
    X, _ = sk_tiny.data_for(name)
    y = np.linspace(0, 1, len(X)) + 0.001
    with pytest.raises(DataError, match="Unknown label type: 'continuous'"):
        sk_tiny.FACTORIES[name]().fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        sk_tiny.FACTORIES[name]().fit(X, np.stack([y, y], axis=1) > 0.5)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_column_y_warns_and_works_like_1d(name):
    base, X, y = _fit(name)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        est = sk_tiny.FACTORIES[name]().fit(X, y[:, None])
    np.testing.assert_array_equal(est.predict(X), base.predict(X))


def test_partial_fit_classes_of_any_type():
    X, y = sk_tiny.blob_features()
    labels = np.array(["x", "y", "z"])[y]
    m = sk_tiny.colanet().partial_fit(X[:30], labels[:30], classes=["z", "x", "y"])
    m.partial_fit(X[30:], labels[30:])
    np.testing.assert_array_equal(m.classes_, ["x", "y", "z"])
    base = sk_tiny.colanet().partial_fit(X[:30], y[:30], classes=[0, 1, 2])
    base.partial_fit(X[30:], y[30:])
    np.testing.assert_array_equal(m.predict(X), np.array(["x", "y", "z"])[base.predict(X)])
    with pytest.raises(ValueError, match="not among classes_"):
        m.partial_fit(X[:3], ["w", "x", "y"])
