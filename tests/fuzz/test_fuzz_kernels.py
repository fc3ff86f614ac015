"""Fuzz: KernelLearner.fit / partial_fit / transform (docs/robustness.md)."""

from __future__ import annotations

import numpy as np
from fuzzing import (
    FUZZ,
    N_THREADS,
    digit_like,
    fitted_attrs,
    image_stacks,
    inject,
    ints,
    reals,
    run,
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
