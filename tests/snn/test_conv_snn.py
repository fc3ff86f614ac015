"""ConvSNN estimator: calibration on real images, determinism, API manners."""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest

import snnconv
from snnconv.exceptions import NotFittedError


@pytest.fixture(scope="module")
def mnist(mnist5k):
    return mnist5k  # shuffled (images, labels), shared by the whole session


@pytest.fixture(scope="module")
def learner(mnist):
    return snnconv.KernelLearner(random_state=0).fit(mnist[0][:1500])


def mean_conv_rate(snn, images) -> np.ndarray:
    """Spikes per conv neuron per frame of each kernel, measured by run()."""
    out = snn.run(images)
    n_pos = math.prod(snn.simulate(images[0])["conv"].shape[2:])
    return out.conv_counts.sum(axis=0) / (len(images) * n_pos)


@pytest.mark.parametrize("target", [1.0, 0.4])
def test_calibration_hits_the_target_rate_on_real_images(mnist, learner, target):
    sample = mnist[0][2000:2300]
    snn = snnconv.ConvSNN(learner, target_rate=target).fit(sample)
    assert abs(snn.calibration_rate_ - target) <= 0.02 * target
    assert np.all(snn.scale_ == snn.scale_[0]) and snn.scale_[0] > 0
    # Independently measured by run() on the same sample: the same rate.
    rates = mean_conv_rate(snn, sample)
    assert rates.mean() == pytest.approx(snn.calibration_rate_, rel=1e-12)
    np.testing.assert_allclose(rates, snn.calibration_rates_, rtol=1e-12)
    # And it generalises to unseen images of the domain.
    assert abs(mean_conv_rate(snn, mnist[0][3000:3300]).mean() - target) < 0.1 * target


def test_per_kernel_calibration(mnist, learner):
    sample = mnist[0][2000:2200]
    snn = snnconv.ConvSNN(learner, scale_per_kernel=True).fit(sample)
    rates = mean_conv_rate(snn, sample)
    assert np.all(np.abs(rates - 1.0) <= 0.02)
    assert len(np.unique(snn.scale_)) > 1


def test_higher_target_needs_larger_scale(mnist, learner):
    sample = mnist[0][2000:2100]
    lo = snnconv.ConvSNN(learner, target_rate=0.5).fit(sample)
    hi = snnconv.ConvSNN(learner, target_rate=2.0).fit(sample)
    assert hi.scale_[0] > lo.scale_[0]


def test_deterministic_for_any_thread_count(mnist, learner):
    sample, x = mnist[0][:100], mnist[0][:300]
    for enc in ("accumulator", "poisson"):
        fits = [
            snnconv.ConvSNN(learner, encoding=enc, n_threads=n, on_backlog="ignore").fit(sample)
            for n in (1, 2)
        ]
        np.testing.assert_array_equal(fits[1].scale_, fits[0].scale_)
        snn = fits[0]
        outs = [snn.set_params(n_threads=n).run(x) for n in (1, 2, 3)]
        for o in outs[1:]:
            np.testing.assert_array_equal(o.pooled, outs[0].pooled)
            np.testing.assert_array_equal(o.backlog, outs[0].backlog)
            np.testing.assert_array_equal(o.synaptic_events, outs[0].synaptic_events)


def test_chunked_run_chains_carry_and_streams(mnist, learner, monkeypatch):
    # Small chunks must give exactly what one big call gives.
    x = mnist[0][:50]
    for enc in ("accumulator", "poisson"):
        snn = snnconv.ConvSNN(learner, encoding=enc, on_backlog="ignore").fit(x)
        whole = snn.run(x)
        monkeypatch.setattr(snnconv._util.images, "CHUNK_PIXELS", 784 * 7)
        parts = snn.run(x)
        monkeypatch.undo()
        np.testing.assert_array_equal(parts.pooled, whole.pooled)
        np.testing.assert_array_equal(parts.input_spikes, whole.input_spikes)


def test_run_continues_a_stream_across_calls(mnist, learner):
    x = mnist[0][:30]
    for enc in ("accumulator", "poisson"):
        snn = snnconv.ConvSNN(learner, encoding=enc, scale=0.3).fit(x)
        whole = snn.run(x)
        head = snn.run(x[:13])
        tail = snn.run(x[13:], carry=head.carry, first_index=13)
        np.testing.assert_array_equal(np.concatenate([head.pooled, tail.pooled]), whole.pooled)
        fresh = snn.run(x[13:])  # a new presentation: differs
        assert not np.array_equal(fresh.input_spikes, whole.input_spikes[13:])


def test_transform_shapes_dtypes_and_inputs(mnist, learner):
    x = mnist[0][:20]
    snn = snnconv.ConvSNN(learner, on_backlog="ignore").fit(x)
    n = learner.kernels_.shape[0]
    out = snn.transform(x)
    assert out.shape == (20, n, 5, 5) and out.dtype == np.uint16
    assert snn.output_shape(28, 28) == (n, 5, 5)
    # float input in [0, 1] and a list of frames give the same counts.
    np.testing.assert_array_equal(snn.transform(x / 255.0), out)
    np.testing.assert_array_equal(snn.transform(list(x)), out)
    flat = snnconv.ConvSNN(learner, flatten=True, on_backlog="ignore").fit(x).transform(x)
    np.testing.assert_array_equal(flat, out.reshape(20, -1))
    # Other image sizes work (fully convolutional): 32x32 -> 12x12 conv -> 6x6.
    big = np.zeros((2, 32, 32), np.uint8)
    big[:, 2:30, 2:30] = x[:2]
    assert snn.transform(big).shape == (2, n, 6, 6)


def test_run_statistics_are_consistent(mnist, learner):
    x = mnist[0][:30]
    snn = snnconv.ConvSNN(learner, on_backlog="ignore").fit(x)
    out = snn.run(x)
    assert (out.conv_counts.sum(axis=1) == out.conv_spikes).all()
    assert (out.pooled.sum(axis=(1, 2, 3)) == out.pool_spikes).all()
    # All conv neurons of a 10x10 map are pooled: pooled + backlog = conv spikes.
    held = out.pooled.astype(np.int64) + out.backlog
    np.testing.assert_array_equal(held.sum(axis=(2, 3)), out.conv_counts)
    assert (out.synaptic_events > out.input_spikes).all()


def test_backlog_policy(mnist, learner):
    x = mnist[0][:50]
    busy = snnconv.ConvSNN(learner, target_rate=3.0).fit(x)
    assert busy.run(x).backlog.any()
    with pytest.warns(UserWarning, match="backlog"):
        busy.transform(x)
    with warnings.catch_warnings():  # once per fitted model
        warnings.simplefilter("error")
        busy.transform(x)
    busy.set_params(on_backlog="raise")
    with pytest.raises(RuntimeError, match="frame_steps"):
        busy.transform(x)
    busy.set_params(on_backlog="ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        busy.transform(x)
    # A long enough frame drains it: counts then equal the block sums.
    calm = snnconv.ConvSNN(learner, scale=busy.scale_, frame_steps=120).fit(x)
    assert not calm.run(x).backlog.any()


def test_pipeline_with_unfitted_kernel_learner(mnist):
    pipeline = pytest.importorskip("sklearn.pipeline")
    lm = pytest.importorskip("sklearn.linear_model")
    pre = pytest.importorskip("sklearn.preprocessing")
    base = pytest.importorskip("sklearn.base")
    images, labels = mnist
    snn = snnconv.ConvSNN(snnconv.KernelLearner(random_state=0), flatten=True, on_backlog="ignore")
    clf = lm.LogisticRegression(max_iter=300, tol=1e-3)
    pipe = pipeline.Pipeline([("snn", snn), ("std", pre.StandardScaler()), ("clf", clf)])
    pipe.fit(images[:600], labels[:600])
    fitted = pipe.named_steps["snn"]
    assert hasattr(fitted, "kernel_learner_") and not hasattr(snn.kernels, "kernels_")
    assert pipe.score(images[4000:4500], labels[4000:4500]) > 0.85
    clone = base.clone(snn)
    assert clone.get_params()["kernels__kernel_size"] == 9
    assert not hasattr(clone, "scale_")


def test_saturation_follows_the_kernel_learner(mnist):
    x = mnist[0][:200]
    kl = snnconv.KernelLearner(saturation_quantile=None, random_state=0).fit(x)
    assert snnconv.ConvSNN(kl, scale=1.0).fit(x).saturation_quantile_ is None
    assert snnconv.ConvSNN(kl.kernels_, scale=1.0).fit(x).saturation_quantile_ == 0.03
    fixed = snnconv.ConvSNN(kl, scale=1.0, saturation_quantile=0.1).fit(x)
    assert fixed.saturation_quantile_ == 0.1
    # Preprocessing changes what the network sees.
    a = snnconv.ConvSNN(kl, scale=1.0, saturation_quantile=None).fit(x).simulate(x[0])["image"]
    b = snnconv.ConvSNN(kl, scale=1.0, saturation_quantile=0.03).fit(x).simulate(x[0])["image"]
    np.testing.assert_array_equal(a, x[0] / 255.0)
    assert b.max() == 1.0 and (b >= a).all()


def test_save_load_roundtrip(tmp_path, mnist, learner):
    x = mnist[0][:40]
    snn = snnconv.ConvSNN(learner, tau=math.inf, encoding="poisson", on_backlog="ignore").fit(x)
    path = snn.save(tmp_path / "snn")
    back = snnconv.ConvSNN.load(path)
    np.testing.assert_array_equal(back.scale_, snn.scale_)
    np.testing.assert_array_equal(back.kernels_, learner.kernels_)
    assert back.tau == math.inf and back.calibration_rate_ == snn.calibration_rate_
    np.testing.assert_array_equal(back.transform(x), snn.transform(x))
    with pytest.raises(ValueError, match="holds a"):
        snnconv.ConvSNN.load(learner.save(tmp_path / "kl.npz"))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable"):
        snnconv.ConvSNN.load(bad)


def test_fitted_front_end_can_be_copied_between_processes(mnist, learner):
    x = mnist[0][:10]
    snn = snnconv.ConvSNN(learner.kernels_, on_backlog="ignore").fit(x)
    expected = snn.transform(x)  # builds a compiled network, which is not picklable
    copy = pickle.loads(pickle.dumps(snn))
    np.testing.assert_array_equal(copy.transform(x), expected)


def test_fixed_scale_skips_calibration(mnist, learner):
    x = mnist[0][:20]
    n = learner.kernels_.shape[0]
    snn = snnconv.ConvSNN(learner, scale=0.3).fit(x)
    np.testing.assert_array_equal(snn.scale_, np.full(n, 0.3))
    assert not hasattr(snn, "calibration_rate_")
    per = snnconv.ConvSNN(learner, scale=np.linspace(0.1, 0.5, n)).fit(x)
    assert per.scale_[-1] == 0.5
    with pytest.raises(ValueError, match="scale"):
        snnconv.ConvSNN(learner, scale=np.ones(n + 1)).fit(x)
    with pytest.raises(ValueError, match="scale"):
        snnconv.ConvSNN(learner, scale=-1.0).fit(x)


GOOD = np.random.default_rng(0).uniform(-0.3, 1, (3, 5, 5))
IMAGES = np.random.default_rng(1).integers(0, 256, (4, 16, 16)).astype(np.uint8)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(kernels=GOOD[0]), ValueError, "kernels.*kernels\\[None\\]"),
        (dict(kernels=np.ones((2, 3, 4))), ValueError, "kernels"),
        (dict(kernels=np.ones((0, 3, 3))), ValueError, "kernels"),
        (dict(kernels=np.full((1, 3, 3), np.nan)), ValueError, "kernels.*NaN"),
        (dict(kernels=[[[1.0]]]), TypeError, "kernels"),
        (dict(kernels=np.ones((1, 17, 17))), ValueError, "smaller than"),
        (dict(tau=0.0), ValueError, "tau"),
        (dict(tau=-3.0), ValueError, "tau"),
        (dict(tau=0.5), ValueError, "tau"),
        (dict(tau=float("nan")), ValueError, "tau"),
        (dict(threshold=0.0), ValueError, "threshold"),
        (dict(threshold=math.inf), ValueError, "threshold"),
        (dict(target_rate=0.0), ValueError, "target_rate"),
        (dict(target_rate=15.0), ValueError, "target_rate"),
        (dict(stride=0), ValueError, "stride"),
        (dict(pool=0), ValueError, "pool"),
        (dict(pool=7), ValueError, "pool"),
        (dict(pool=100), ValueError, "pool"),
        (dict(frame_steps=0), ValueError, "frame_steps"),
        (dict(active_steps=16), ValueError, "active_steps"),
        (dict(active_steps=0), ValueError, "active_steps"),
        (dict(encoding="rate"), ValueError, "encoding"),
        (dict(reset="soft"), ValueError, "reset"),
        (dict(max_rate=1.5), ValueError, "max_rate"),
        (dict(saturation_quantile=1.0), ValueError, "saturation_quantile"),
        (dict(random_state=-1), ValueError, "random_state"),
        (dict(n_threads=0), ValueError, "n_threads"),
        (dict(stride=2.0), TypeError, "stride"),
        (dict(on_backlog="maybe"), ValueError, "on_backlog"),
    ],
)
def test_bad_parameters_are_rejected(kwargs, error, match):
    params = dict(kernels=GOOD)
    params.update(kwargs)
    with pytest.raises(error, match=match):
        snnconv.ConvSNN(**params).fit(IMAGES)


def test_bad_images_are_rejected():
    snn = snnconv.ConvSNN(GOOD, scale=1.0).fit(IMAGES)
    with pytest.raises(ValueError, match="images"):
        snn.transform(IMAGES[0])
    with pytest.raises(ValueError, match="smaller than"):
        snn.transform(IMAGES[:, :4, :4])
    with pytest.raises(TypeError, match="dtype"):
        snn.transform(IMAGES.astype(np.int32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        snn.transform(IMAGES / 100.0)
    with pytest.raises(ValueError, match="NaN"):
        snn.transform(np.full((1, 16, 16), np.nan))
    with pytest.raises(ValueError, match="same size"):
        snn.transform([IMAGES[0], IMAGES[0, :10]])
    with pytest.raises(ValueError, match="image"):
        snn.simulate(IMAGES)
    with pytest.raises(NotFittedError, match="not fitted"):
        snnconv.ConvSNN(GOOD).transform(IMAGES)


def test_unreachable_target_is_reported():
    negative = -np.ones((2, 5, 5))
    with pytest.raises(ValueError, match=r"target_rate.*cannot be reached"):
        snnconv.ConvSNN(negative).fit(IMAGES)
    snn = snnconv.ConvSNN(negative, scale_per_kernel=True)
    with pytest.raises(ValueError, match=r"cannot be reached by any kernel \(kernel 0 first\)"):
        snn.fit(IMAGES)
    assert not hasattr(snn, "scale_")  # a failed fit leaves nothing stale behind


def test_a_kernel_out_of_reach_gets_the_median_scale_of_the_others():
    # Kernel 1 (all zero) never fires; with a scale per kernel it no longer stops the
    # calibration: it gets the lower median of the others' scales, named in a warning.
    rng = np.random.default_rng(3)
    ones, zero, spot = np.ones((5, 5)), np.zeros((5, 5)), np.zeros((5, 5))
    spot[2, 2] = 1.0
    kernels = np.stack([ones, zero, spot, 0.5 * ones + 0.1 * rng.random((5, 5))])
    snn = snnconv.ConvSNN(kernels, scale_per_kernel=True)
    with pytest.warns(UserWarning, match=r"cannot be reached by kernel 1 \(rate 0\)"):
        snn.fit(IMAGES)
    reached = [0, 2, 3]
    alone = [snnconv.ConvSNN(kernels[[a]], scale_per_kernel=True).fit(IMAGES) for a in reached]
    for a, one in zip(reached, alone, strict=True):
        assert snn.scale_[a] == one.scale_[0]
        assert snn.calibration_rates_[a] == one.calibration_rates_[0]
    assert snn.scale_[1] == np.sort(snn.scale_[reached])[1]
    assert snn.calibration_rates_[1] == 0.0
    assert snn.calibration_rate_ == pytest.approx(np.mean(snn.calibration_rates_))
    # The layer runs: kernel 1's maps stay silent, the others fire.
    counts = snn.transform(IMAGES)
    assert counts[:, 1].sum() == 0 and counts[:, [0, 2, 3]].sum() > 0


def test_repr_and_params():
    snn = snnconv.ConvSNN(GOOD, tau=None, pool=3)
    assert "tau=None" in repr(snn) and "pool=3" in repr(snn)
    assert snn.set_params(pool=2).pool == 2


def test_set_params_after_fit_takes_effect():
    snn = snnconv.ConvSNN(GOOD, scale=1.0, tau=None).fit(IMAGES)
    no_leak = snn.run(IMAGES).conv_spikes
    snn.set_params(tau=2.0)
    assert (snn.run(IMAGES).conv_spikes < no_leak).all()
    snn.set_params(tau=None)
    np.testing.assert_array_equal(snn.run(IMAGES).conv_spikes, no_leak)


def test_degenerate_values_are_rejected():
    with pytest.raises(ValueError, match="threshold"):
        snnconv.ConvSNN(GOOD, scale=1.0, threshold=1e-60).fit(IMAGES).transform(IMAGES)
    with pytest.raises(ValueError, match="scale"):
        snnconv.ConvSNN(GOOD, scale=1e300).fit(IMAGES).transform(IMAGES)
    dark = np.zeros((2, 16, 16), np.uint8)  # nothing to learn: no kernel fires
    learner = snnconv.KernelLearner(n_kernels=2, kernel_size=5, random_state=0).fit(dark)
    assert learner.kernels_.shape[0] == 0
    with pytest.raises(ValueError, match="no kernel"):
        snnconv.ConvSNN(learner).fit(IMAGES)
