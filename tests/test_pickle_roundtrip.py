"""Fitted estimators survive ``pickle``, ``copy.deepcopy`` and ``joblib``, in this
process and in a new one, and compute bit-identical results afterwards. The pickled
state is the model file's (the Rust cores are rebuilt from its arrays)."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
import sk_tiny
from sklearn.base import clone

METHODS = ("transform", "predict", "predict_proba", "decision_function")

#: Loads every pickled/joblib'ed estimator and writes what it computes on the inputs.
_CHILD = """
import pickle, sys, warnings
import joblib, numpy as np
warnings.simplefilter("ignore")
folder = sys.argv[1]
with open(f"{folder}/inputs.pkl", "rb") as fh:
    inputs = pickle.load(fh)
out = {}
for name, X in inputs.items():
    for how in ("pickle", "joblib"):
        path = f"{folder}/{name}.{how}"
        if how == "pickle":
            with open(path, "rb") as fh:
                est = pickle.load(fh)
        else:
            est = joblib.load(path)
        for method in METHODS:
            if hasattr(est, method):
                out[f"{name}|{how}|{method}"] = np.asarray(getattr(est, method)(X))
np.savez(f"{folder}/outputs.npz", **out)
""".replace("METHODS", repr(METHODS))


@pytest.fixture(scope="module")
def fitted():
    """Every estimator fitted on its tiny data, with its outputs on that data."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, factory in sk_tiny.FACTORIES.items():
            X, y = sk_tiny.data_for(name)
            est = factory().fit(X, y)
            out[name] = (est, X, sk_tiny.outputs(est, X))
    return out


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize("name", list(sk_tiny.FACTORIES))
def test_deepcopy_and_pickle_in_process(fitted, name):
    est, X, expected = fitted[name]
    _, y = sk_tiny.data_for(name)
    for twin in (copy.deepcopy(est), pickle.loads(pickle.dumps(est))):
        assert type(twin) is type(est) and twin is not est
        assert joblib.hash(twin.get_params()) == joblib.hash(est.get_params())
        _assert_same(sk_tiny.outputs(twin, X), expected)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            twin.set_params(random_state=7).fit(X[::-1], y[::-1])  # independent copies
    _assert_same(sk_tiny.outputs(est, X), expected)


def test_round_trip_in_a_new_process(fitted, tmp_path):
    inputs = {}
    for name, (est, X, _) in fitted.items():
        with open(tmp_path / f"{name}.pickle", "wb") as fh:
            pickle.dump(est, fh)
        joblib.dump(est, tmp_path / f"{name}.joblib")
        inputs[name] = X
    with open(tmp_path / "inputs.pkl", "wb") as fh:
        pickle.dump(inputs, fh)
    subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path)], check=True, timeout=300)
    with np.load(tmp_path / "outputs.npz") as got:
        seen = set()
        for key in got.files:
            name, _, method = key.split("|")
            expected = fitted[name][2][method]
            assert got[key].dtype == expected.dtype, key
            np.testing.assert_array_equal(got[key], expected, err_msg=key)
            seen.add(name)
    assert seen == set(sk_tiny.FACTORIES)


@pytest.mark.parametrize("name", list(sk_tiny.FACTORIES))
def test_clone_of_fitted_is_unfitted_and_pickles(fitted, name):
    est = fitted[name][0]
    fresh = pickle.loads(pickle.dumps(clone(est)))
    with pytest.raises(ValueError, match="not fitted"):
        for method in METHODS:
            if hasattr(fresh, method):
                getattr(fresh, method)(fitted[name][1])


def test_unpickled_models_keep_learning_like_the_original():
    X, _ = sk_tiny.bar_images()
    a = sk_tiny.kernel_learner(learning_rate=0.05).partial_fit(X[:15])
    b = pickle.loads(pickle.dumps(a))
    a.partial_fit(X[15:])
    b.partial_fit(X[15:])
    np.testing.assert_array_equal(a.resource_, b.resource_)
    np.testing.assert_array_equal(a.kernels_, b.kernels_)

    F, t = sk_tiny.blob_features()
    for m in (sk_tiny.colanet(), sk_tiny.digital_colanet()):
        m.partial_fit(F[:30], t[:30], classes=[0, 1, 2])
        twin = copy.deepcopy(m)
        m.partial_fit(F[30:], t[30:])
        twin.partial_fit(F[30:], t[30:])
        np.testing.assert_array_equal(m.resource_, twin.resource_)
        np.testing.assert_array_equal(m.predict_proba(F), twin.predict_proba(F))


def test_pickle_of_a_loaded_model(tmp_path):
    F, t = sk_tiny.blob_features()
    m = sk_tiny.colanet().fit(F, t)
    loaded = type(m).load(m.save(tmp_path / "m.npz"))
    again = pickle.loads(pickle.dumps(loaded))
    np.testing.assert_array_equal(again.predict_proba(F), m.predict_proba(F))
