"""Images as torch-like tensors, ``__array__`` objects and channel-first batches."""

from __future__ import annotations

import numpy as np
import pytest

import snnconv
from snnconv._util.images import as_stack
from snnconv.exceptions import DataError


class ArrayLike:
    """The minimal array protocol: numpy converts it, nothing else is provided."""

    def __init__(self, a: np.ndarray) -> None:
        self._a = a

    def __array__(self, dtype=None, copy=None):
        return self._a if dtype is None else self._a.astype(dtype)


class FakeTensor:
    """Duck-types a PyTorch tensor that numpy cannot convert directly (as on a GPU)."""

    def __init__(self, a: np.ndarray) -> None:
        self._a = a
        self.calls: list[str] = []

    def detach(self):
        self.calls.append("detach")
        return self

    def cpu(self):
        self.calls.append("cpu")
        return self

    def numpy(self):
        self.calls.append("numpy")
        return self._a

    def __iter__(self):  # tensors are iterable; they must not be read as a stream
        raise AssertionError("iterated")


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return (rng.random((12, 16, 16)) * 255).astype(np.uint8)


def test_as_stack_accepts_array_likes_and_channel_first(images):
    np.testing.assert_array_equal(as_stack(ArrayLike(images)), images)
    t = FakeTensor(images[:, None])
    np.testing.assert_array_equal(as_stack(t), images)
    assert t.calls == ["detach", "cpu", "numpy"]
    np.testing.assert_array_equal(as_stack(images[:, None]), images)
    floats = images[:, None].astype(np.float32) / 255
    np.testing.assert_allclose(as_stack(ArrayLike(floats)), images / 255, atol=1e-7)


def test_channel_count_other_than_one_is_an_error(images):
    rgb = np.repeat(images[:, None], 3, axis=1)
    with pytest.raises(DataError, match="3 channels"):
        as_stack(rgb)
    with pytest.raises(ValueError, match="3 channels"):
        as_stack(ArrayLike(rgb))
    with pytest.raises(ValueError, match="2-D shape"):
        as_stack(images[0])


def test_estimators_give_the_same_results_for_every_form(images):
    kernels = np.random.default_rng(1).random((3, 5, 5)) - 0.3
    snn = snnconv.ConvSNN(kernels, on_backlog="ignore", pool=1).fit(images)
    expected = snn.transform(images)
    for form in (ArrayLike(images), FakeTensor(images[:, None]), images[:, None]):
        np.testing.assert_array_equal(snn.transform(form), expected)
    # A stream of channel-first frames, too.
    np.testing.assert_array_equal(snn.transform(list(images[:, None])), expected)
    learner = snnconv.KernelLearner(random_state=0, kernel_size=5).fit(images)
    again = snnconv.KernelLearner(random_state=0, kernel_size=5).fit(ArrayLike(images[:, None]))
    np.testing.assert_array_equal(again.kernels_, learner.kernels_)


def test_real_torch_tensor(images):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    t = torch.tensor(images[:, None], dtype=torch.float32, requires_grad=False) / 255
    np.testing.assert_allclose(as_stack(t), images / 255, atol=1e-6)
    np.testing.assert_allclose(as_stack(t.requires_grad_(True)), images / 255, atol=1e-6)
