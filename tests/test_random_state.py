"""``random_state`` follows scikit-learn: None, an int, a numpy RandomState or
Generator. An int is the core's seed unchanged (results are those of that seed);
from the others one seed is drawn per fit and kept as ``seed_``."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import sk_tiny

from snnconv.exceptions import ParameterError


def _fit(name, random_state, **kw):
    X, y = sk_tiny.data_for(name)
    est = sk_tiny.FACTORIES[name](random_state=random_state, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return est, sk_tiny.outputs(est, X)


def _same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# ConvSNN with Poisson spikes: its transform draws from the seed too.
CASES = {name: {} for name in sk_tiny.FACTORIES}
CASES["ConvSNN"] = {"encoding": "poisson"}


@pytest.mark.parametrize("name", list(sk_tiny.FACTORIES))
def test_int_seed_is_used_unchanged(name):
    est, out = _fit(name, 5, **CASES[name])
    assert est.seed_ == 5 and est.random_state == 5
    _same(_fit(name, np.int64(5), **CASES[name])[1], out)


@pytest.mark.parametrize("name", list(sk_tiny.FACTORIES))
@pytest.mark.parametrize("kind", ["generator", "randomstate"])
def test_generator_and_randomstate_draw_one_seed_per_fit(name, kind):
    make = np.random.default_rng if kind == "generator" else np.random.RandomState
    est, out = _fit(name, make(11), **CASES[name])
    seed = est.seed_
    assert isinstance(seed, int) and seed >= 0
    # Reproducible from an equal generator, and equal to fitting with that int seed.
    _same(_fit(name, make(11), **CASES[name])[1], out)
    _same(_fit(name, seed, **CASES[name])[1], out)
    # Every later call uses the seed drawn in fit, so results stay fixed after fit.
    X, _ = sk_tiny.data_for(name)
    _same(sk_tiny.outputs(est, X), out)
    # A pickled copy computes the same (the generator travels with it).
    _same(sk_tiny.outputs(pickle.loads(pickle.dumps(est)), X), out)


def test_one_generator_gives_each_fit_a_new_seed():
    rng = np.random.default_rng(0)
    est = sk_tiny.colanet(random_state=rng)
    X, y = sk_tiny.blob_features()
    first = est.fit(X, y).seed_
    assert est.fit(X, y).seed_ != first


@pytest.mark.parametrize("name", ["KernelLearner", "CoLaNET", "ULSNN", "CNN2"])
def test_none_uses_numpy_global_state(name):
    np.random.seed(3)  # noqa: NPY002 - None means numpy's global RandomState
    est, out = _fit(name, None)
    np.random.seed(3)  # noqa: NPY002
    again, out2 = _fit(name, None)
    assert est.seed_ == again.seed_
    _same(out, out2)


@pytest.mark.parametrize("name", list(sk_tiny.FACTORIES))
@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_invalid_random_state_is_a_parameter_error(name, bad):
    X, y = sk_tiny.data_for(name)
    with pytest.raises((ParameterError, ValueError), match="random_state"):
        sk_tiny.FACTORIES[name](random_state=bad).fit(X, y)


def test_saved_model_records_the_drawn_seed(tmp_path):
    X, y = sk_tiny.blob_features()
    m = sk_tiny.colanet(random_state=np.random.default_rng(2)).fit(X, y)
    loaded = type(m).load(m.save(tmp_path / "m.npz"))
    assert loaded.random_state == loaded.seed_ == m.seed_
    np.testing.assert_array_equal(loaded.predict_proba(X), m.predict_proba(X))
