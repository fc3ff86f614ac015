"""The core-held image stack the kernel learner learns from."""

import numpy as np
import pytest

from snnconv import _core


def _params(kernel_size, n_kernels, stride, w_min, w_max, learning_rate, brightness_threshold):
    return {
        "kernel_size": kernel_size,
        "n_kernels": n_kernels,
        "stride": stride,
        "w_min": w_min,
        "w_max": w_max,
        "learning_rate": learning_rate,
        "brightness_threshold": brightness_threshold,
    }


def _images(seed=0, n=12, h=11, w=13):
    rng = np.random.default_rng(seed)
    raw = (rng.random((n, h, w)) ** 2 * 255).astype(np.uint8)
    raw[rng.random(raw.shape) < 0.5] = 0
    return raw


@pytest.mark.parametrize("sq", [None, 0.03, 0.4])
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_take_gives_the_brightness_normalised_images(sq, dtype):
    raw = _images()
    images = raw if dtype == np.uint8 else raw / 255.0
    stack = _core.PreparedStack(images, sq, 1)
    assert stack.shape == raw.shape and len(stack) == len(raw)
    idx = np.array([3, 0, 11, 3], dtype=np.uint64)
    np.testing.assert_array_equal(stack.take(idx), _core.normalise_brightness(images, sq, 1)[idx])


@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_learning_from_the_stack_equals_learning_from_the_array(dtype):
    raw = _images(1, n=20)
    images = raw if dtype == np.uint8 else raw / 255.0
    stack = _core.PreparedStack(images, 0.03, None)
    pre = _core.normalise_brightness(images, 0.03, None)
    order = np.random.default_rng(2).permutation(20).astype(np.uint64)
    params = _params(3, 5, 2, -0.3, 1.0, 0.05, 0.2)
    cores = [_core.KernelLearnerCore(params, 7, None) for _ in range(2)]
    s1 = cores[0].learn(stack, order, 1)
    s2 = cores[1].learn(pre, order, 1)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(cores[0].resource, cores[1].resource)
    assert s1[:, :2].sum() > 0, "the learner must have updated kernels"


@pytest.mark.parametrize("q", [0.1, 0.75, 0.95])
def test_quantile_passes_over_the_stack(q):
    raw = _images(3)
    counted = _core.StreamQuantile(q)
    stack = _core.PreparedStack(raw, 0.03, 1, counted)
    later = _core.StreamQuantile(q)
    stack.count_into(later)
    pre = _core.normalise_brightness(raw, 0.03, 1)
    for sq in (counted, later):
        assert sq.locate()
        stack.collect_into(sq)
        assert sq.finish() == np.quantile(pre, q, method="inverted_cdf")


def test_bad_input_is_named():
    stack = _core.PreparedStack(_images(), None, 1)
    with pytest.raises(ValueError, match="idx"):
        stack.take(np.array([12], dtype=np.uint64))
    core = _core.KernelLearnerCore(_params(3, 2, 1, -0.3, 1.0, 0.1, 0.2), 0, None)
    with pytest.raises(ValueError, match="order"):
        core.learn(stack, np.array([99], dtype=np.uint64))
    with pytest.raises(TypeError, match="PreparedStack"):
        core.learn([[1.0]])
    with pytest.raises(ValueError, match="saturation_quantile"):
        _core.PreparedStack(_images(), 1.5)
    with pytest.raises(ValueError, match="images"):
        _core.PreparedStack(np.full((2, 3, 3), 1.5))
