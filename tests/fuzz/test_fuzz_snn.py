"""Fuzz: ConvSNN.fit / transform / run / simulate and a tiny CSNNClassifier."""

from __future__ import annotations

import numpy as np
from fuzzing import (
    FUZZ,
    HOSTILE,
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

from snnconv import ConvSNN, CSNNClassifier, KernelLearner


@st.composite
def kernel_arrays(draw):
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return draw(st.sampled_from([None, "k", 3, [], np.zeros((0, 3, 3)), np.zeros((2, 3, 4))]))
    if kind == 1:
        return np.empty(draw(st.sampled_from([(2**40, 0, 0), (0, 3, 3), (3, 0, 0)])))
    n, k = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = rng.normal(size=(n, k, k)) * draw(st.sampled_from([1.0] * 6 + [1e-30, 1e30, 1e300]))
    if kind == 2:
        a.flat[0] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    if kind == 3:
        a = a.astype(draw(st.sampled_from([np.float32, np.int64, np.uint8])))
    return a


@st.composite
def snn_params(draw):
    steps = draw(ints(1, 20))
    return inject(
        draw,
        dict(
            stride=draw(ints(1, 3)),
            pool=draw(ints(1, 3)),
            tau=draw(st.one_of(st.none(), reals(1.0, 50.0))),
            threshold=draw(reals(1e-3, 5.0)),
            target_rate=draw(reals(0.01, 0.9)) * steps,
            frame_steps=steps,
            active_steps=draw(ints(1, steps)),
            encoding=draw(st.sampled_from(["accumulator", "poisson"])),
            max_rate=draw(reals(0.01, 1.0)),
            reset_carry=draw(st.booleans()),
            reset=draw(st.sampled_from(["subtract", "zero"])),
            scale=draw(st.one_of(st.none(), st.none(), reals(0.0, 10.0))),
            scale_per_kernel=draw(st.booleans()),
            saturation_quantile=draw(st.one_of(st.just("auto"), st.none(), reals(0.0, 0.99))),
            flatten=draw(st.booleans()),
            on_backlog=draw(st.sampled_from(["ignore", "warn", "raise"])),
            random_state=draw(st.integers(0, 2**32)),
            n_threads=draw(N_THREADS),
        ),
    )


@FUZZ
@given(
    kernels=kernel_arrays(),
    params=snn_params(),
    images=st.one_of(image_stacks(), st.builds(digit_like, st.integers(1, 6))),
    other=st.one_of(st.none(), image_stacks()),
)
def test_fit_transform_run(kernels, params, images, other):
    import warnings

    est = ConvSNN(kernels, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if run("ConvSNN.fit", lambda: fitted_attrs(est.fit(images))) is None:
            return
        run("ConvSNN.transform", lambda: est.transform(images if other is None else other))
        run("ConvSNN.run", lambda: est.run(images))


@FUZZ
@given(
    kernels=kernel_arrays(),
    params=snn_params(),
    image=st.one_of(
        image_stacks(ndim=2), st.builds(lambda s: digit_like(1, seed=s)[0], st.integers(0, 99))
    ),
    index=st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([-1, 2**64, 1.5, None])),
    carry=st.one_of(
        st.none(), st.none(), HOSTILE, st.sampled_from([np.zeros((3, 3)), np.full((12, 12), 2**63)])
    ),
)
def test_simulate(kernels, params, image, index, carry):
    est = ConvSNN(kernels, **params)
    if run("ConvSNN.fit", lambda: fitted_attrs(est.fit(digit_like()))) is None:
        return
    run("ConvSNN.simulate", lambda: est.simulate(image, index, carry))


@st.composite
def csnn_params(draw):
    return inject(
        draw,
        dict(
            kernel_size=draw(ints(1, 5)),
            n_kernels=draw(ints(1, 6)),
            pool=draw(ints(1, 2)),
            calibration_size=draw(ints(1, 10)),
            n_threads=draw(N_THREADS),
        ),
    )


@FUZZ
@given(
    params=csnn_params(),
    images=image_stacks(min_side=6),
    data=st.data(),
)
def test_csnn_fit_predict(params, images, data):
    from snnconv import DigitalCoLaNET

    p = params
    est = CSNNClassifier(
        kernel_learner=KernelLearner(
            kernel_size=p["kernel_size"], n_kernels=p["n_kernels"], stride=1, keep_only_fired=False
        ),
        front_end=ConvSNN(None, pool=p["pool"], frame_steps=8, active_steps=6),
        classifier=DigitalCoLaNET(microcolumns=2, n_copies=1),
        calibration_size=p["calibration_size"],
        n_threads=p["n_threads"],
    )
    n = min(images.shape[0], 8) if isinstance(images, np.ndarray) and images.ndim else 3
    y = data.draw(
        st.one_of(
            st.lists(st.integers(0, 2), min_size=n, max_size=n).map(np.asarray),
            st.lists(st.integers(0, 2), min_size=n, max_size=n).map(np.asarray),
            st.lists(st.integers(-2, 3), min_size=0, max_size=8),
            st.sampled_from([None, "abc", [0.5, np.nan], [2**70]]),
        )
    )
    if run("CSNNClassifier.fit", lambda: est.fit(images, y) and None) is None and not hasattr(
        est, "classes_"
    ):
        return
    run("CSNNClassifier.predict", lambda: est.predict(images))


_SNN: dict[tuple, ConvSNN] = {}


def _fitted_snn(encoding: str, pool: int) -> ConvSNN:
    key = (encoding, pool)
    if key not in _SNN:
        k = np.random.default_rng(0).normal(size=(3, 3, 3))
        _SNN[key] = ConvSNN(k, encoding=encoding, pool=pool, on_backlog="ignore").fit(digit_like())
    return _SNN[key]


@FUZZ
@given(
    encoding=st.sampled_from(["accumulator", "poisson"]),
    pool=st.integers(1, 2),
    images=st.one_of(image_stacks(), st.builds(digit_like, st.integers(1, 6))),
    carry=st.one_of(*[st.none()] * 4, HOSTILE, st.just(np.zeros((12, 12), np.uint64))),
    first_index=st.one_of(*[st.integers(0, 2**64 - 1)] * 3, HOSTILE),
    image=st.one_of(
        image_stacks(ndim=2), st.builds(lambda s: digit_like(1, seed=s)[0], st.integers(0, 99))
    ),
    n_threads=N_THREADS,
)
def test_fitted_run_transform_simulate(
    encoding, pool, images, carry, first_index, image, n_threads
):
    est = _fitted_snn(encoding, pool)
    est.set_params(n_threads=n_threads)
    try:
        run("ConvSNN.run", lambda: est.run(images, carry, first_index))
        run("ConvSNN.transform", lambda: est.transform(images))
        run(
            "ConvSNN.simulate",
            lambda: est.simulate(image, 0 if first_index is None else first_index, carry),
        )
    finally:
        est.set_params(n_threads=None)


_CSNN: dict[str, CSNNClassifier] = {}


def _fitted_csnn(kind: str) -> CSNNClassifier:
    if kind not in _CSNN:
        from snnconv import DigitalCoLaNET

        images = digit_like(12)
        labels = np.arange(12) % 3 if kind == "ints" else np.array(["a", "b", "c"] * 4)
        _CSNN[kind] = CSNNClassifier(
            kernel_learner=KernelLearner(kernel_size=3, n_kernels=3, stride=1),
            front_end=ConvSNN(None, pool=2, frame_steps=8, active_steps=6, on_backlog="ignore"),
            classifier=DigitalCoLaNET(microcolumns=2, n_copies=1),
            calibration_size=6,
        ).fit(images, labels)
    return _CSNN[kind]


@FUZZ
@given(
    kind=st.sampled_from(["ints", "strings"]),
    images=st.one_of(image_stacks(), st.builds(digit_like, st.integers(1, 6))),
    n_threads=N_THREADS,
)
def test_fitted_csnn_predict(kind, images, n_threads):
    """Every example reaches predict/predict_proba of a fitted classifier (the fit-then-
    predict test above reaches predict only when its random fit succeeds)."""
    est = _fitted_csnn(kind)
    est.set_params(n_threads=n_threads)
    try:
        run("CSNNClassifier.predict", lambda: est.predict(images))
        run("CSNNClassifier.predict_proba", lambda: est.predict_proba(images))
    finally:
        est.set_params(n_threads=None)


@st.composite
def valid_snn(draw):
    """Valid kernels, parameters (no injected faults) and images at least as large as
    the kernels."""
    n, k = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    # Positive weights, so every kernel can reach a rate (a kernel without positive
    # weights never fires, which fit refuses by name).
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    kernels = np.abs(rng.normal(size=(n, k, k))) + 0.05
    steps = draw(st.integers(2, 20))
    pool = draw(st.integers(1, 3))
    active = draw(st.integers(1, steps))
    # At least one input spike per bright pixel in the active steps (fewer can leave a
    # frame silent, which fit refuses: no scale reaches the target).
    max_rate = draw(st.floats(min(1.0, max(0.2, 1.5 / active)), 1.0))
    stride = draw(st.integers(1, 3))
    params = dict(
        stride=stride,
        pool=pool,
        tau=draw(st.one_of(st.none(), st.floats(1.0, 50.0))),
        threshold=draw(st.floats(0.05, 5.0)),
        # Below what the input can drive: a few of the active steps' input spikes.
        target_rate=draw(st.floats(0.01, 0.1)) * active * max_rate,
        frame_steps=steps,
        active_steps=active,
        encoding=draw(st.sampled_from(["accumulator", "poisson"])),
        max_rate=max_rate,
        reset=draw(st.sampled_from(["subtract", "zero"])),
        scale=draw(st.one_of(st.none(), st.floats(0.0, 10.0))),
        scale_per_kernel=draw(st.booleans()),
        on_backlog="ignore",
        random_state=draw(st.integers(0, 2**32)),
        n_threads=draw(N_THREADS),
    )
    # Large enough for at least one pooling block of the convolution map.
    images = draw(valid_images(min_side=k + stride * pool, max_side=k + stride * pool + 8))
    return kernels, params, images


def test_valid_front_end_succeeds():
    """Valid kernels, parameters and images: fit, transform, run and simulate return
    counts of the documented shapes that agree with each other."""
    tally = Tally()

    @FUZZ
    @given(case=valid_snn())
    def check(case):
        kernels, params, images = case
        est = ConvSNN(kernels, **params)

        def fitted(est):
            assert est.scale_.shape == (len(kernels),) and (est.scale_ >= 0).all()

        if run("ConvSNN.fit", lambda: est.fit(images), fitted, tally) is None:
            return
        shape = (len(images), *est.output_shape(*images.shape[1:]))
        limit = params["pool"] ** 2 * params["frame_steps"]

        def counts(out):
            assert out.shape == shape and out.dtype == np.uint16, (out.shape, shape)
            assert int(out.max(initial=0)) <= limit

        t = run("ConvSNN.transform", lambda: est.transform(images), counts, tally)
        r = run("ConvSNN.run", lambda: est.run(images), lambda o: counts(o.pooled), tally)
        if t is not None and r is not None:
            np.testing.assert_array_equal(t, r.pooled)  # the same counts both ways
        i = len(images) - 1

        def record(out):
            assert out["pool"].shape[0] == params["frame_steps"]
            if r is not None:  # simulate(x[i], i, carry) reproduces image i of run(x)
                np.testing.assert_array_equal(out["pooled"], r.pooled[i])

        # Each frame of `run` starts from the carry the previous frames left.
        carry = None if r is None or i == 0 else est.run(images[:i]).carry
        run("ConvSNN.simulate", lambda: est.simulate(images[i], i, carry), record, tally)

    check()
    for entry in ("fit", "transform", "run", "simulate"):
        tally.require(f"ConvSNN.{entry}", MIN_SHARE)


def test_valid_csnn_succeeds():
    """A small valid CSNNClassifier fits and predicts labels it was trained on."""
    tally = Tally()

    @FUZZ
    @given(
        k=st.integers(2, 4),
        n_kernels=st.integers(1, 4),
        images=valid_images(min_side=8, n_min=3, n_max=8),
        classes=st.integers(2, 3),
    )
    def check(k, n_kernels, images, classes):
        from snnconv import DigitalCoLaNET

        y = np.arange(len(images)) % classes
        est = CSNNClassifier(
            kernel_learner=KernelLearner(
                kernel_size=k, n_kernels=n_kernels, stride=1, keep_only_fired=False
            ),
            front_end=ConvSNN(None, pool=2, frame_steps=8, active_steps=6, on_backlog="ignore"),
            classifier=DigitalCoLaNET(microcolumns=2, n_copies=1),
            calibration_size=4,
        )
        if run("CSNNClassifier.fit", lambda: est.fit(images, y), None, tally) is None:
            return

        def labels(p):
            assert p.shape == (len(images),) and set(p.tolist()) <= set(y.tolist())

        run("CSNNClassifier.predict", lambda: est.predict(images), labels, tally)

    check()
    tally.require("CSNNClassifier.fit", MIN_SHARE)
    tally.require("CSNNClassifier.predict", MIN_SHARE)
