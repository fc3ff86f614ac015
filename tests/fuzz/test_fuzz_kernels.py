"""Fuzz: KernelLearner.fit / partial_fit / transform (docs/robustness.md)."""

from __future__ import annotations

import numpy as np
from fuzzing import (
    FUZZ,
    MIN_SHARE,
    N_THREADS,
    Tally,
    digit_like,
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

from snnconv import KernelLearner


@st.composite
def learner_params(draw, explicit_rate: bool = False):
    rate = reals(1e-6, 10.0)
    return inject(
        draw,
        dict(
            kernel_size=draw(ints(1, 7)),
            n_kernels=draw(ints(1, 12)),
            stride=draw(ints(1, 4)),
            w_min=draw(reals(-2.0, -1e-3)),
            w_max=draw(reals(1e-3, 3.0)),
            learning_rate=draw(rate if explicit_rate else st.one_of(st.none(), rate)),
            brightness_threshold=draw(st.one_of(st.none(), st.none(), reals(-1.0, 2.0))),
            brightness_quantile=draw(reals(0.0, 1.0)),
            saturation_quantile=draw(st.one_of(st.none(), reals(0.0, 0.99))),
            epochs=draw(st.integers(1, 2)),
            shuffle=draw(st.booleans()),
            keep_only_fired=draw(st.booleans()),
            random_state=draw(st.integers(0, 2**64 - 1)),
            n_threads=draw(N_THREADS),
        ),
    )


def _check(est: KernelLearner) -> dict:
    return fitted_attrs(est)


@FUZZ
@given(params=learner_params(), images=image_stacks())
def test_fit(params, images):
    est = KernelLearner(**params)
    run("KernelLearner.fit", lambda: _check(est.fit(images)))


@FUZZ
@given(params=learner_params(explicit_rate=True), a=image_stacks(), b=image_stacks())
def test_partial_fit(params, a, b):
    est = KernelLearner(**params)
    if run("KernelLearner.partial_fit", lambda: _check(est.partial_fit(a))) is not None:
        run("KernelLearner.partial_fit", lambda: _check(est.partial_fit(b)))


_FITTED: dict[int, KernelLearner] = {}


def _fitted(stride: int) -> KernelLearner:
    if stride not in _FITTED:
        _FITTED[stride] = KernelLearner(kernel_size=3, n_kernels=4, stride=stride).fit(digit_like())
    return _FITTED[stride]


@FUZZ
@given(stride=st.integers(1, 3), images=image_stacks(), n_threads=N_THREADS)
def test_transform(stride, images, n_threads):
    est = _fitted(stride)
    est.set_params(n_threads=n_threads)
    try:
        out = run("KernelLearner.transform", lambda: est.transform(images))
    finally:
        est.set_params(n_threads=None)
    if isinstance(out, np.ndarray):
        assert out.ndim == 4


@st.composite
def valid_learner_params(draw):
    """Parameters in their documented ranges (no injected faults)."""
    return dict(
        kernel_size=draw(st.integers(1, 5)),
        n_kernels=draw(st.integers(1, 8)),
        stride=draw(st.integers(1, 3)),
        w_min=draw(st.floats(-2.0, -1e-3)),
        w_max=draw(st.floats(1e-3, 3.0)),
        learning_rate=draw(st.one_of(st.none(), st.floats(1e-4, 1.0))),
        brightness_quantile=draw(st.floats(0.0, 1.0)),
        saturation_quantile=draw(st.one_of(st.none(), st.floats(0.0, 0.99))),
        epochs=draw(st.integers(1, 2)),
        shuffle=draw(st.booleans()),
        keep_only_fired=False,
        random_state=draw(st.integers(0, 2**32)),
        n_threads=draw(N_THREADS),
    )


def test_valid_fit_transform_succeed():
    """Valid parameters and images: fit and transform return results whose kernels lie
    in [w_min, w_max] and whose maps have the documented shape."""
    tally = Tally()

    @FUZZ
    @given(params=valid_learner_params(), images=valid_images())
    def check(params, images):
        est = KernelLearner(**params)
        k, s = params["kernel_size"], params["stride"]

        def fitted(est):
            assert est.kernels_.shape == (params["n_kernels"], k, k)
            assert est.kernels_.min() >= params["w_min"] - 1e-9
            assert est.kernels_.max() <= params["w_max"] + 1e-9
            assert est.n_images_seen_ == len(images) * params["epochs"]

        if run("KernelLearner.fit", lambda: est.fit(images), fitted, tally) is None:
            return
        n, h, w = images.shape
        shape = (n, params["n_kernels"], (h - k) // s + 1, (w - k) // s + 1)

        def maps(out):
            assert out.shape == shape and out.dtype == np.float32, (out.shape, shape)

        run("KernelLearner.transform", lambda: est.transform(images), maps, tally)

    check()
    tally.require("KernelLearner.fit", MIN_SHARE)
    tally.require("KernelLearner.transform", MIN_SHARE)


def test_valid_partial_fit_counts_images():
    tally = Tally()

    @FUZZ
    @given(
        params=valid_learner_params(),
        rate=st.floats(1e-4, 1.0),
        a=valid_images(min_side=6),
        data=st.data(),
    )
    def check(params, rate, a, data):
        params.update(learning_rate=rate)
        est = KernelLearner(**params)
        b = data.draw(valid_images(min_side=a.shape[1], max_side=a.shape[1]))
        b = b[:, : a.shape[1], : a.shape[2]]

        def seen(n):
            return lambda est: _assert(est.n_images_seen_ == n, (est.n_images_seen_, n))

        if run("KernelLearner.partial_fit", lambda: est.partial_fit(a), seen(len(a)), tally):
            run(
                "KernelLearner.partial_fit",
                lambda: est.partial_fit(b),
                seen(len(a) + len(b)),
                tally,
            )

    check()
    tally.require("KernelLearner.partial_fit", MIN_SHARE)


def _assert(ok, what):
    assert ok, what
