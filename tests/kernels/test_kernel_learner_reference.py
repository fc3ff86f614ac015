"""The Rust kernel learner against the numpy transcription of docs/algorithms.md §1."""

import numpy as np
import pytest

import snnconv

import kernel_reference as ref

CASES = [
    # (n_images, H, W, K, n_kernels, stride, saturation_quantile)
    (12, 14, 14, 3, 5, 1, None),
    (10, 20, 17, 5, 6, 2, 0.03),
    (8, 28, 28, 9, 4, 2, 0.03),
    (6, 16, 23, 4, 3, 3, None),
]


@pytest.mark.parametrize(("n", "h", "w", "k", "nk", "s", "sq"), CASES)
def test_matches_numpy_reference(n, h, w, k, nk, s, sq):
    rng = np.random.default_rng(1000 + k * 10 + s)
    images = rng.random((n, h, w)) ** 2  # darker than uniform: both branches occur
    # Random resources make all responses distinct (no exact ties), and spread the
    # weights over [w_min, w_max) so the spontaneous branch (c >= 1) occurs too.
    # even kernels: strong (they fire); odd kernels: weights near 0 (forced branch)
    strong = np.where(rng.random((nk, k, k)) < 0.3, 3.0, -0.5) + rng.uniform(0, 0.1, (nk, k, k))
    weak = ref.zero_weight_resource(-0.3, 1.0) + rng.uniform(-0.1, 0.3, size=(nk, k, k)) * 9 / k**2
    init = np.where((np.arange(nk) % 2 == 0)[:, None, None], strong, weak)
    lr, b = 0.05, 0.3
    learner = snnconv.KernelLearner(
        kernel_size=k,
        n_kernels=nk,
        stride=s,
        learning_rate=lr,
        brightness_threshold=b,
        saturation_quantile=sq,
        shuffle=False,
        keep_only_fired=False,
        initial_resource=init,
    ).fit(images)
    pre = np.stack([ref.saturate(g, sq) for g in images])
    w, r, fired = ref.fit(pre, k, nk, s, -0.3, 1.0, lr, b, init)
    np.testing.assert_allclose(learner.resource_, r, rtol=0, atol=1e-9)
    np.testing.assert_allclose(learner.all_kernels_, w, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(learner.fired_, fired)
    forced, spontaneous = learner.stats_[:, 0].sum(), learner.stats_[:, 1].sum()
    assert forced > 0 and spontaneous > 0, "both branches must be exercised"


def test_matches_reference_from_zero_weights_with_explicit_order():
    """From w = 0 the first image is all ties; use one kernel per position count so the
    outcome does not depend on tie-breaking: a single position."""
    rng = np.random.default_rng(5)
    blob = np.zeros((6, 6))
    blob[1:4, 2:5] = 1.0
    images = 0.6 * blob + 0.4 * rng.random((30, 6, 6))
    learner = snnconv.KernelLearner(
        kernel_size=6,
        n_kernels=1,
        stride=1,
        learning_rate=0.2,
        brightness_threshold=0.5,
        saturation_quantile=None,
        shuffle=False,
        keep_only_fired=False,
    ).fit(images)
    w, r, fired = ref.fit(images, 6, 1, 1, -0.3, 1.0, 0.2, 0.5)
    np.testing.assert_allclose(learner.resource_, r, rtol=0, atol=1e-9)
    np.testing.assert_allclose(learner.all_kernels_, w, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(learner.fired_, fired)
    assert fired.any(), "the kernel should grow strong enough to fire"


def test_preprocessing_and_default_threshold_match_reference():
    rng = np.random.default_rng(9)
    images = (rng.random((7, 12, 15)) ** 3 * 255).astype(np.uint8)
    images[2] = 0  # an all-zero image stays zero
    images[3] = 0
    images[3, 0, :3] = [5, 10, 0]  # the 97th percentile is 0: use the smallest non-zero
    learner = snnconv.KernelLearner(
        kernel_size=3, n_kernels=2, learning_rate=0.1, keep_only_fired=False
    ).fit(images)
    pre = np.stack([ref.saturate(g / 255.0, 0.03) for g in images])
    assert learner.brightness_threshold_ == np.quantile(pre, 0.75, method="inverted_cdf")
    assert pre[3, 0, 0] == 1.0 and pre[3, 0, 1] == 1.0 and pre[2].max() == 0.0
    # transform applies the same preprocessing, then a valid cross-correlation
    maps = learner.transform(images)
    expected = np.stack([ref.conv(g, learner.kernels_, 2) for g in pre])
    np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-5)
    assert maps.dtype == np.float32


@pytest.mark.parametrize("bq", [0.0, 0.1, 0.25, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("kind", ["uint8", "float", "list"])
def test_default_threshold_is_the_exact_quantile_for_every_input_path(bq, kind):
    """uint8 stacks count the threshold from per-image level histograms while
    preprocessing, float stacks from the values, lists in a separate pass: all give
    numpy's inverted-CDF quantile of the preprocessed pixels."""
    rng = np.random.default_rng(21)
    raw = (rng.random((9, 13, 11)) ** 2 * 255).astype(np.uint8)
    raw[rng.random(raw.shape) < 0.4] = 0  # mostly dark, as real images
    images = {"uint8": raw, "float": raw / 255.0, "list": list(raw)}[kind]
    learner = snnconv.KernelLearner(
        kernel_size=3, n_kernels=2, learning_rate=0.1, brightness_quantile=bq
    ).fit(images)
    pre = np.stack([ref.saturate(g / 255.0, 0.03) for g in raw])
    expected = np.quantile(pre, 1.0 - bq, method="inverted_cdf")
    assert learner.brightness_threshold_ == expected


def _blurred(rng, n, h, w, sigma):
    """Gaussian-blurred white noise (periodic), stretched to 0..255 per image."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    gain = np.exp(-2 * (np.pi * sigma) ** 2 * (fy**2 + fx**2))
    x = np.stack(
        [
            np.fft.irfft2(np.fft.rfft2(rng.standard_normal((h, w))) * gain, s=(h, w))
            for _ in range(n)
        ]
    )
    lo, hi = x.min(axis=(1, 2), keepdims=True), x.max(axis=(1, 2), keepdims=True)
    return np.round(255 * (x - lo) / (hi - lo)).astype(np.uint8)


def _input_class(kind, rng):
    if kind == "sparse_random":  # 20 % non-zero, no strokes
        levels = rng.integers(1, 256, (10, 28, 28), dtype=np.uint8)
        return np.where(rng.random(levels.shape) < 0.2, levels, 0).astype(np.uint8)
    if kind == "smooth_noise":  # dense: nearly every pixel non-zero
        return _blurred(rng, 10, 28, 28, 2.0)
    # video differences: |frame_t - frame_(t-1)| of a moving smooth pattern
    field = _blurred(rng, 1, 64, 64, 4.0)[0].astype(float)
    frames = np.stack([np.roll(field, (t, 2 * t), (0, 1))[:32, :30] for t in range(9)])
    diff = np.abs(np.diff(frames, axis=0))
    return np.round(255 * diff / diff.max()).astype(np.uint8)


@pytest.mark.parametrize("kind", ["sparse_random", "smooth_noise", "video_diff"])
def test_default_pipeline_matches_reference_on_dense_and_random_images(kind):
    """The whole default fit (K=9, 28 kernels, stride 2, saturation, quantile
    threshold, l = 3/|G|) from uint8 images that are not stroke-shaped: sparse
    random, dense smooth noise, video difference maps. Random initial resources
    make exact ties between responses improbable, so the reference (which does not
    break ties) is exact here."""
    rng = np.random.default_rng({"sparse_random": 1, "smooth_noise": 2, "video_diff": 3}[kind])
    raw = _input_class(kind, rng)
    nk, k = 28, 9
    strong = np.where(rng.random((nk, k, k)) < 0.3, 3.0, -0.5) + rng.uniform(0, 0.1, (nk, k, k))
    weak = ref.zero_weight_resource(-0.3, 1.0) + rng.uniform(-0.1, 0.3, size=(nk, k, k)) / 9
    init = np.where((np.arange(nk) % 2 == 0)[:, None, None], strong, weak)
    learner = snnconv.KernelLearner(
        shuffle=False, keep_only_fired=False, initial_resource=init
    ).fit(raw)
    pre = np.stack([ref.saturate(g / 255.0, 0.03) for g in raw])
    b = float(np.quantile(pre, 0.75, method="inverted_cdf"))
    assert learner.brightness_threshold_ == b
    w, r, fired = ref.fit(pre, k, nk, 2, -0.3, 1.0, 3.0 / len(raw), b, init)
    np.testing.assert_allclose(learner.resource_, r, rtol=0, atol=1e-9)
    np.testing.assert_allclose(learner.all_kernels_, w, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(learner.fired_, fired)
    assert learner.stats_[:, :2].sum() > 0


@pytest.mark.parametrize(
    ("n", "c", "h", "w", "k", "nk", "s", "sq"),
    [(10, 2, 14, 14, 3, 5, 1, None), (8, 3, 20, 17, 5, 6, 2, 0.03), (6, 2, 28, 28, 9, 4, 2, 0.03)],
)
def test_several_channels_match_numpy_reference(n, c, h, w, k, nk, s, sq):
    """C channels: C×K×K kernels, one tile of C·K² cells, each channel of each image
    saturated on its own (docs/algorithms.md §1.5)."""
    rng = np.random.default_rng(2000 + 10 * k + c)
    images = rng.random((n, c, h, w)) ** 2
    shape = (nk, c, k, k)
    strong = np.where(rng.random(shape) < 0.3, 3.0, -0.5) + rng.uniform(0, 0.1, shape)
    weak = ref.zero_weight_resource(-0.3, 1.0) + rng.uniform(-0.1, 0.3, shape) * 9 / (c * k**2)
    init = np.where((np.arange(nk) % 2 == 0)[:, None, None, None], strong, weak)
    lr, b = 0.05, 0.3
    learner = snnconv.KernelLearner(
        kernel_size=k,
        n_kernels=nk,
        stride=s,
        learning_rate=lr,
        brightness_threshold=b,
        saturation_quantile=sq,
        shuffle=False,
        keep_only_fired=False,
        initial_resource=init,
    ).fit(images)
    pre = np.stack([np.stack([ref.saturate(p, sq) for p in g]) for g in images])
    wts, r, fired = ref.fit(pre, k, nk, s, -0.3, 1.0, lr, b, init)
    assert learner.all_kernels_.shape == shape and learner.n_channels_ == c
    np.testing.assert_allclose(learner.resource_, r, rtol=0, atol=1e-9)
    np.testing.assert_allclose(learner.all_kernels_, wts, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(learner.fired_, fired)
    forced, spontaneous = learner.stats_[:, 0].sum(), learner.stats_[:, 1].sum()
    assert forced > 0 and spontaneous > 0, "both branches must be exercised"
    # Resource is conserved per kernel by both branches.
    np.testing.assert_allclose(r.sum(axis=(1, 2, 3)), init.sum(axis=(1, 2, 3)), atol=1e-9)
    # transform sums the channels' cross-correlations.
    maps = learner.transform(images)
    expected = np.stack([ref.conv(g, learner.kernels_, s) for g in pre])
    np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-5)


def test_several_channels_threshold_pools_channels_and_saves():
    """One B over the normalised values of every channel; uint8, float, list and a
    one-shot stream of (C, H, W) frames learn the same kernels; the model file keeps
    the (n, C, K, K) arrays."""
    rng = np.random.default_rng(4)
    raw = (rng.random((12, 2, 13, 11)) ** 2 * 255).astype(np.uint8)
    raw[rng.random(raw.shape) < 0.4] = 0
    pre = np.stack([np.stack([ref.saturate(p / 255.0, 0.03) for p in g]) for g in raw])
    fits = [
        snnconv.KernelLearner(kernel_size=3, n_kernels=4, keep_only_fired=False).fit(x)
        for x in (raw, raw / 255.0, list(raw))
    ]
    assert fits[0].brightness_threshold_ == np.quantile(pre, 0.75, method="inverted_cdf")
    for f in fits[1:]:
        np.testing.assert_array_equal(f.all_kernels_, fits[0].all_kernels_)
    stream = snnconv.KernelLearner(
        kernel_size=3,
        n_kernels=4,
        keep_only_fired=False,
        shuffle=False,
        learning_rate=fits[0].learning_rate_,
        brightness_threshold=fits[0].brightness_threshold_,
    )
    stream.fit(iter(list(raw)))
    ordered = snnconv.KernelLearner(**stream.get_params()).fit(raw)
    np.testing.assert_array_equal(stream.all_kernels_, ordered.all_kernels_)
    with pytest.raises(ValueError, match="channels"):
        fits[0].transform(raw[:, :1])
    with pytest.raises(ValueError, match="channels"):
        fits[0].partial_fit(raw[:, :1])


def test_several_channels_save_and_load(tmp_path):
    rng = np.random.default_rng(6)
    raw = (rng.random((10, 2, 12, 12)) * 255).astype(np.uint8)
    kl = snnconv.KernelLearner(kernel_size=3, n_kernels=3, keep_only_fired=False).fit(raw)
    path = kl.save(tmp_path / "kl.npz")
    back = snnconv.KernelLearner.load(path)
    assert back.n_channels_ == 2 and back.kernels_.shape == (3, 2, 3, 3)
    np.testing.assert_array_equal(back.transform(raw), kl.transform(raw))
