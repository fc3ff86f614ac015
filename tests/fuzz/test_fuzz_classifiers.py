"""Fuzz: CoLaNET and DigitalCoLaNET fit / predict, and the ULSNN baseline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fuzzing import (
    DTYPES,
    FUZZ,
    MIN_SHARE,
    N_THREADS,
    Tally,
    fitted_attrs,
    image_stacks,
    inject,
    ints,
    reals,
    run,
    valid_images,
)
from hypothesis import given
from hypothesis import strategies as st

from snnconv import CoLaNET, DigitalCoLaNET


@st.composite
def features(draw, max_rows: int = 8, max_cols: int = 12):
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from([None, "x", 5, [], [[]], np.empty((2**40, 0))]))
    if kind == 1:
        return np.zeros(draw(st.sampled_from([(3,), (2, 3, 4), (0, 4), (3, 0)])))
    n, d = draw(st.integers(1, max_rows)), draw(st.integers(1, max_cols))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.random((n, d)) * draw(st.sampled_from([1.0, 10.0, 255.0, 1e-300, 1e300]))
    dtype = draw(DTYPES)
    if kind == 2:
        x.flat[0] = draw(st.sampled_from([np.nan, np.inf, -1.0, 1e308]))
    elif np.dtype(dtype).kind in "iub":
        x = np.clip(x, 0, 200).astype(dtype)
    else:
        with np.errstate(over="ignore"):
            x = x.astype(dtype)
    return x


def labels_for(draw, x):
    n = min(x.shape[0], 8) if isinstance(x, np.ndarray) and x.ndim >= 1 else 3
    kind = draw(st.integers(0, 6))
    if kind == 0:
        return draw(st.sampled_from([None, "abc", [np.nan] * n, [2**70] * n, [[0]] * n]))
    if kind == 1:
        return np.zeros(n + 1, dtype=int)
    classes = draw(st.integers(2, 4))
    y = np.asarray(draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)))
    if kind == 2:
        y = y * 10**15 - 3
    if kind == 3:
        y = y.astype(str)
    return y


@st.composite
def colanet_params(draw, digital: bool):
    p = dict(
        microcolumns=draw(ints(1, 4)),
        n_copies=draw(ints(1, 3)),
        threshold=draw(reals(0.1, 20.0)),
        threshold_excess=draw(reals(0.0, 1.0)),
        hebbian=draw(reals(-1.0, 0.0)),
        reward=draw(reals(0.0, 1.0)),
        stability_ratio=draw(reals(0.0, 1.0)),
        w_min=draw(reals(-1.0, -0.01)),
        w_max=draw(reals(0.01, 1.0)),
        initial_weight=draw(st.one_of(st.just(0.0), reals(-0.01, 0.009))),
        silent_synapses=draw(ints(-1, 50)),
        renorm_threshold=draw(reals(0.0, 2.0)),
        presentation_steps=draw(ints(1, 12)),
        input_max=draw(st.one_of(st.just("match"), st.just("max"), reals(0.1, 300.0))),
        target_spikes=draw(reals(1.0, 2000.0)),
        epochs=draw(st.integers(1, 2)),
        shuffle=draw(st.booleans()),
        random_state=draw(st.integers(0, 2**32)),
        n_threads=draw(N_THREADS),
    )
    if not digital:
        p.update(
            tau_v=draw(reals(1.0, 10.0)),
            hebbian_window=draw(ints(0, 20)),
            dopamine_time=draw(ints(0, 20)),
            max_isi=draw(ints(0, 20)),
            frame_steps=draw(ints(12, 30)),
            label_step=draw(ints(0, 11)),
            stochastic=draw(reals(0.0, 5.0)),
        )
    return inject(draw, p)


def _fit_predict(entry, est, x, y, x2, scores="predict_proba"):
    if run(f"{entry}.fit", lambda: fitted_attrs(est.fit(x, y))) is None:
        return
    run(f"{entry}.predict", lambda: est.predict(x2))
    run(f"{entry}.{scores}", lambda: getattr(est, scores)(x2))


@FUZZ
@given(params=colanet_params(digital=False), x=features(), x2=features(), data=st.data())
def test_colanet(params, x, x2, data):
    _fit_predict("CoLaNET", CoLaNET(**params), x, labels_for(data.draw, x), x2)


@FUZZ
@given(params=colanet_params(digital=True), x=features(), x2=features(), data=st.data())
def test_digital_colanet(params, x, x2, data):
    _fit_predict("DigitalCoLaNET", DigitalCoLaNET(**params), x, labels_for(data.draw, x), x2)


@st.composite
def ulsnn_params(draw):
    p = draw(
        st.fixed_dictionaries(
            dict(
                n_neurons=ints(1, 6),
                time=ints(1, 30),
                epochs=st.just(1),
                intensity=reals(1.0, 200.0),
                intensity_step=reals(0.0, 50.0),
                max_retries=ints(0, 3),
                min_spikes=ints(0, 6),
                exc=reals(0.0, 50.0),
                inh=reals(0.0, 200.0),
                nu=st.one_of(
                    st.tuples(reals(0.0, 1e-2), reals(0.0, 1e-1)),
                    st.tuples(reals(0.0, 1e-2), reals(0.0, 1e-1)),
                    st.sampled_from([None, (1.0,), "x", (1e308, 1e308), (float("nan"), 0.1)]),
                ),
                norm=st.one_of(st.none(), reals(0.1, 100.0)),
                theta_plus=reals(0.0, 1.0),
                tc_theta_decay=reals(1.0, 1e7),
                one_spike=st.booleans(),
                readout=st.sampled_from(["all_activity", "proportion_weighting"]),
                shuffle=st.booleans(),
                random_state=st.integers(0, 2**32),
                n_threads=N_THREADS,
            )
        )
    )
    return inject(draw, p)


@FUZZ
@given(
    params=ulsnn_params(),
    images=image_stacks(max_side=8),
    images2=image_stacks(max_side=8),
    data=st.data(),
)
def test_ulsnn(params, images, images2, data):
    from snnconv.baselines import ULSNN

    y = labels_for(data.draw, images if isinstance(images, np.ndarray) else np.zeros(3))
    _fit_predict("ULSNN", ULSNN(**params), images, y, images2, "decision_function")


_FITTED: dict[str, Any] = {}


def _fitted(kind: str) -> Any:
    if kind not in _FITTED:
        from snnconv.baselines import ULSNN

        rng = np.random.default_rng(0)
        x, y = rng.random((12, 9)) * 10, np.arange(12) % 3
        if kind == "ULSNN":
            est = ULSNN(n_neurons=4, time=20).fit(rng.random((12, 3, 3)), y)
        else:
            cls = CoLaNET if kind == "CoLaNET" else DigitalCoLaNET
            est = cls(microcolumns=2, n_copies=2).fit(x, y)
        _FITTED[kind] = est
    return _FITTED[kind]


@FUZZ
@given(
    kind=st.sampled_from(["CoLaNET", "DigitalCoLaNET", "ULSNN"]),
    x=st.one_of(
        features(max_cols=9),
        image_stacks(max_side=4),
        st.builds(
            lambda s, n: np.random.default_rng(s).random((n, 9)) * 10,
            st.integers(0, 99),
            st.integers(1, 6),
        ),
        st.builds(
            lambda s, n: np.random.default_rng(s).random((n, 3, 3)),
            st.integers(0, 99),
            st.integers(1, 6),
        ),
    ),
    n_threads=N_THREADS,
)
def test_fitted_predict(kind, x, n_threads):
    est = _fitted(kind)
    est.set_params(n_threads=n_threads)
    scores = "decision_function" if kind == "ULSNN" else "predict_proba"
    try:
        run(f"{kind}.predict", lambda: est.predict(x))
        run(f"{kind}.{scores}", lambda: getattr(est, scores)(x))
    finally:
        est.set_params(n_threads=None)


@st.composite
def valid_task(draw, max_rows: int = 12, max_cols: int = 10):
    """Non-negative features (N, F) with 2-3 classes, each present."""
    classes = draw(st.integers(2, 3))
    n = draw(st.integers(classes, max_rows))
    d = draw(st.integers(1, max_cols))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    y = np.arange(n) % classes
    x = rng.random((n, d)) * draw(st.sampled_from([1.0, 10.0, 255.0]))
    x[:, 0] += y  # something to learn
    if draw(st.booleans()):
        x = np.clip(x, 0, 255).astype(np.uint8)
    return x, y


@st.composite
def valid_colanet_params(draw, digital: bool):
    p = dict(
        microcolumns=draw(st.integers(1, 4)),
        n_copies=draw(st.integers(1, 3)),
        presentation_steps=draw(st.integers(1, 12)),
        input_max=draw(st.one_of(st.just("match"), st.just("max"), st.floats(0.5, 300.0))),
        target_spikes=draw(st.floats(1.0, 2000.0)),
        encoding=draw(st.sampled_from(["rate", "rate", "population"])),
        epochs=draw(st.integers(1, 2)),
        shuffle=draw(st.booleans()),
        random_state=draw(st.integers(0, 2**32)),
        n_threads=draw(N_THREADS),
    )
    if not digital:
        p.update(frame_steps=draw(st.integers(12, 30)))
    return p


def _check_classifier(entry: str, est, x, y, tally) -> None:
    classes = np.unique(y)

    def fitted(est):
        np.testing.assert_array_equal(est.classes_, classes)

    if run(f"{entry}.fit", lambda: est.fit(x, y), fitted, tally) is None:
        return

    def labels(p):
        assert p.shape == (len(x),) and set(p.tolist()) <= set(classes.tolist())

    def proba(p):
        assert p.shape == (len(x), len(classes))
        assert (p >= 0).all() and np.allclose(p.sum(axis=1), 1.0)

    pred = run(f"{entry}.predict", lambda: est.predict(x), labels, tally)
    p = run(f"{entry}.predict_proba", lambda: est.predict_proba(x), proba, tally)
    if pred is not None and p is not None:  # the label of the largest probability
        best = classes[np.argmax(p, axis=1)]
        answered = p.max(axis=1) > p.min(axis=1)
        np.testing.assert_array_equal(pred[answered], best[answered])


@pytest.mark.parametrize("cls", [CoLaNET, DigitalCoLaNET])
def test_valid_colanet_succeeds(cls):
    """Valid parameters and features: fit, predict and predict_proba succeed, predict a
    training label and agree with each other."""
    tally = Tally()
    name = cls.__name__

    @FUZZ
    @given(params=valid_colanet_params(cls is DigitalCoLaNET), task=valid_task())
    def check(params, task):
        _check_classifier(name, cls(**params), *task, tally)

    check()
    for entry in ("fit", "predict", "predict_proba"):
        tally.require(f"{name}.{entry}", MIN_SHARE)


def test_valid_ulsnn_succeeds():
    from snnconv.baselines import ULSNN

    tally = Tally()

    @FUZZ
    @given(
        n_neurons=st.integers(1, 6),
        time=st.integers(5, 40),
        images=valid_images(min_side=3, max_side=8, n_min=3, n_max=8),
        seed=st.integers(0, 2**32),
        readout=st.sampled_from(["all_activity", "proportion_weighting"]),
        n_threads=N_THREADS,
    )
    def check(n_neurons, time, images, seed, readout, n_threads):
        y = np.arange(len(images)) % 2
        est = ULSNN(
            n_neurons=n_neurons,
            time=time,
            readout=readout,
            random_state=seed,
            n_threads=n_threads,
        )
        classes = np.unique(y)
        if run("ULSNN.fit", lambda: est.fit(images, y), None, tally) is None:
            return

        def scores(s):
            assert s.shape == (len(images), len(classes)) and (s >= 0).all()

        def labels(p):
            assert p.shape == (len(images),) and set(p.tolist()) <= set(classes.tolist())

        run("ULSNN.decision_function", lambda: est.decision_function(images), scores, tally)
        run("ULSNN.predict", lambda: est.predict(images), labels, tally)

    check()
    for entry in ("fit", "decision_function", "predict"):
        tally.require(f"ULSNN.{entry}", MIN_SHARE)
