"""KernelLearner as a library: inputs, invariants, persistence, determinism, errors."""

import numpy as np
import pytest

import snnconv
from snnconv.exceptions import NotFittedError

import kernel_reference as ref


def small(**kw):
    params = dict(kernel_size=3, n_kernels=4, stride=1, learning_rate=0.05)
    params.update(kw)
    return snnconv.KernelLearner(**params)


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(42)
    return (rng.random((40, 12, 12)) ** 2 * 255).astype(np.uint8)


def test_invariants_after_fit(images):
    kl = small(keep_only_fired=False).fit(images)
    r0 = ref.zero_weight_resource(-0.3, 1.0)
    # Both branches conserve each kernel's total resource (the walk never exhausts here).
    np.testing.assert_allclose(kl.resource_.sum(axis=(1, 2)), 9 * r0, rtol=0, atol=1e-9)
    touched = ~np.all(kl.resource_ == r0, axis=(1, 2))
    assert touched.all()
    np.testing.assert_array_equal(kl.all_kernels_, ref.weight(kl.resource_, -0.3, 1.0))
    assert (kl.all_kernels_ >= -0.3).all() and (kl.all_kernels_ < 1.0).all()
    assert kl.n_images_seen_ == 40


def test_uint8_equals_float_input(images):
    a = small().fit(images)
    b = small().fit(images / 255.0)
    np.testing.assert_array_equal(a.resource_, b.resource_)


def test_seed_determinism_and_shuffle(images):
    a = small(random_state=3).fit(images)
    b = small(random_state=3).fit(images)
    c = small(random_state=4).fit(images)
    np.testing.assert_array_equal(a.resource_, b.resource_)
    assert not np.array_equal(a.resource_, c.resource_)


def test_bit_identical_for_any_thread_count():
    # Large frames so the convolution runs in parallel.
    rng = np.random.default_rng(1)
    frames = (rng.random((3, 120, 140)) * 255).astype(np.uint8)
    runs = [
        snnconv.KernelLearner(n_threads=t, learning_rate=0.2, keep_only_fired=False).fit(frames)
        for t in (1, 2, 3)
    ]
    assert np.abs(runs[0].all_kernels_).max() > 0
    for r in runs[1:]:
        np.testing.assert_array_equal(r.resource_, runs[0].resource_)
        np.testing.assert_array_equal(r.transform(frames), runs[0].transform(frames))


def test_partial_fit_equals_fit_on_the_concatenation(images):
    kw = dict(shuffle=False, brightness_threshold=0.3)
    whole = small(**kw).fit(images)
    parts = small(**kw)
    parts.partial_fit(images[:15]).partial_fit(images[15:])
    np.testing.assert_array_equal(whole.resource_, parts.resource_)
    assert parts.n_images_seen_ == 40


def test_epochs_run_again_over_the_set(images):
    one = small(epochs=1).fit(images)
    two = small(epochs=2).fit(images)
    assert two.n_images_seen_ == 80
    assert not np.array_equal(one.resource_, two.resource_)


def test_stream_of_frames_of_different_sizes():
    rng = np.random.default_rng(2)
    frames = [(rng.random((h, w)) * 255).astype(np.uint8) for h, w in [(10, 12), (15, 9), (9, 9)]]
    kl = small(shuffle=False, keep_only_fired=False).fit(frames)
    # a list is re-iterable: same result as feeding each frame as a one-image stack
    ref_kl = small(
        shuffle=False,
        brightness_threshold=kl.brightness_threshold_,
        learning_rate=kl.learning_rate_,
    )
    for f in frames:
        ref_kl.partial_fit(f[None])
    np.testing.assert_array_equal(kl.resource_, ref_kl.resource_)
    maps = kl.transform(frames)
    assert [m.shape[1:] for m in maps] == [(8, 10), (13, 7), (7, 7)]


def test_generator_needs_explicit_threshold_and_rate():
    rng = np.random.default_rng(3)
    gen = (rng.random((10, 10)) for _ in range(5))
    with pytest.raises(ValueError, match="brightness_threshold"):
        small(learning_rate=0.1).fit(gen)
    gen = (rng.random((10, 10)) for _ in range(5))
    with pytest.warns(UserWarning, match="shuffle"):
        kl = small(learning_rate=0.1, brightness_threshold=0.5).fit(gen)
    assert kl.n_images_seen_ == 5


def test_save_load_roundtrip_and_continue(tmp_path, images):
    kl = small(keep_only_fired=False).fit(images[:20])
    path = kl.save(tmp_path / "k")
    assert path.endswith("k.npz")
    back = snnconv.KernelLearner.load(path)
    np.testing.assert_array_equal(back.kernels_, kl.kernels_)
    np.testing.assert_array_equal(back.resource_, kl.resource_)
    assert back.get_params() == {**kl.get_params(), "initial_resource": None}
    np.testing.assert_array_equal(back.transform(images), kl.transform(images))
    kl.partial_fit(images[20:])
    back.partial_fit(images[20:])
    np.testing.assert_array_equal(back.resource_, kl.resource_)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temp file left"


def test_load_rejects_corrupt_truncated_and_foreign_files(tmp_path, images):
    path = small().fit(images[:5]).save(tmp_path / "k.npz")
    blob = open(path, "rb").read()
    (tmp_path / "trunc.npz").write_bytes(blob[: len(blob) // 2])
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    np.savez(tmp_path / "foreign.npz", weights=np.zeros(3))
    for name in ["trunc.npz", "junk.npz", "foreign.npz"]:
        with pytest.raises(ValueError, match=r"snnconv model file|not a readable"):
            snnconv.KernelLearner.load(tmp_path / name)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(w_min=0.0), "w_min"),
        (dict(w_min=float("nan")), "w_min"),
        (dict(w_max=0.0), "w_max"),
        (dict(w_max=-1.0), "w_max"),
        (dict(stride=0), "stride"),
        (dict(kernel_size=0), "kernel_size"),
        (dict(n_kernels=0), "n_kernels"),
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(learning_rate=-1.0), "learning_rate"),
        (dict(epochs=0), "epochs"),
        (dict(brightness_quantile=1.5), "brightness_quantile"),
        (dict(saturation_quantile=1.0), "saturation_quantile"),
        (dict(random_state=-1), "random_state"),
        (dict(n_threads=0), "n_threads"),
        (dict(kernel_size=13), "kernel_size"),
        (dict(initial_resource=np.zeros((2, 3, 3))), "initial_resource"),
    ],
)
def test_bad_parameters_name_the_parameter(images, kw, match):
    with pytest.raises(ValueError, match=match):
        small(**kw).fit(images)


def test_bad_images_are_rejected():
    kl = small()
    with pytest.raises(ValueError, match="NaN"):
        kl.fit(np.full((2, 5, 5), np.nan))
    with pytest.raises(ValueError, match="NaN"):
        kl.fit(np.full((2, 5, 5), np.inf))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        kl.fit(np.full((2, 5, 5), 1.5))
    with pytest.raises(ValueError, match="3-D"):
        kl.fit(np.zeros((5, 5)))
    with pytest.raises(ValueError, match="empty"):
        kl.fit(np.zeros((0, 5, 5), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        kl.fit([])
    with pytest.raises(TypeError, match="dtype"):
        kl.fit(np.zeros((2, 5, 5), np.int32))
    with pytest.raises(TypeError, match="images"):
        kl.fit("not images")
    with pytest.raises(NotFittedError, match="not fitted"):
        small().transform(np.zeros((1, 5, 5), np.uint8))
    fitted = small(keep_only_fired=False).fit(np.zeros((2, 5, 5), np.uint8))
    with pytest.raises(ValueError, match="smaller"):
        fitted.transform(np.zeros((1, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="learning_rate"):
        small(learning_rate=None).partial_fit(np.zeros((2, 5, 5), np.uint8))


def test_sklearn_clone_and_repr():
    base = pytest.importorskip("sklearn.base")
    kl = small(n_kernels=3)
    clone = base.clone(kl)
    assert clone.get_params() == kl.get_params()
    assert "n_kernels=3" in repr(kl)
