"""Sizes, thread counts and numeric ranges are refused with named errors
(docs/robustness.md); each case once aborted, panicked or gave NaN."""

from __future__ import annotations

import numpy as np
import pytest

from snnconv import CoLaNET, ConvSNN, DigitalCoLaNET, KernelLearner
from snnconv._util.validation import max_threads
from snnconv.exceptions import ParameterError, ResourceLimitError, SnnconvError


@pytest.fixture(scope="module")
def images():
    return (np.random.default_rng(0).random((4, 12, 12)) * 255).astype(np.uint8)


def test_resource_limit_error_is_a_memory_error():
    assert issubclass(ResourceLimitError, MemoryError)
    assert issubclass(ResourceLimitError, SnnconvError)


@pytest.mark.parametrize(
    "params, name",
    [
        (dict(n_kernels=2**40), "n_kernels"),
        (dict(n_kernels=2**62), "n_kernels"),
        (dict(n_kernels=2**24), "n_kernels"),  # 32 GB of state: above the 1 GiB budget
    ],
)
def test_kernel_learner_sizes_are_refused_with_the_bytes(images, params, name, monkeypatch):
    monkeypatch.setenv("SNNCONV_MAX_ALLOC_BYTES", str(1 << 30))
    with pytest.raises(ResourceLimitError, match=rf"^{name}: would need .* bytes"):
        KernelLearner(**params).fit(images)


def test_integers_beyond_64_bits_are_parameter_errors(images):
    with pytest.raises(ParameterError, match="n_kernels"):
        KernelLearner(n_kernels=2**64).fit(images)


@pytest.mark.parametrize("n", [0, max_threads() + 1, 2**63 - 1])
def test_n_threads_is_capped(images, n):
    with pytest.raises(ParameterError, match=rf"n_threads: .*{max_threads()}\]"):
        KernelLearner(n_threads=n).fit(images)


def test_n_threads_cap_is_also_the_cores():
    from snnconv import _core

    x = np.zeros((1, 4, 4), np.uint8)
    with pytest.raises(ParameterError, match="n_threads"):
        _core.normalise_brightness(x, None, 10**6)


@pytest.mark.parametrize(
    "params, name",
    [
        (dict(w_min=-1e150), "w_min"),
        (dict(w_min=-1e-300), "w_min"),
        (dict(w_max=1e300), "w_max"),
        (dict(learning_rate=1e308), "learning_rate"),
    ],
)
def test_kernel_learner_numeric_ranges(images, params, name):
    with pytest.raises(ParameterError, match=f"^{name}:"):
        KernelLearner(**params).fit(images)


def test_extreme_but_accepted_ranges_stay_finite(images):
    est = KernelLearner(w_min=-1e6, w_max=1e-6, learning_rate=1e6, n_kernels=3, kernel_size=3)
    est.fit(images)
    assert np.isfinite(est.resource_).all() and np.isfinite(est.all_kernels_).all()


def test_zero_sized_stacks_with_huge_dimensions(images):
    with pytest.raises(ValueError, match="no pixels"):
        KernelLearner().fit(np.empty((2**40, 0, 5), np.uint8))


def test_conv_snn_recording_sizes(images, monkeypatch):
    monkeypatch.setenv("SNNCONV_MAX_ALLOC_BYTES", str(1 << 20))
    est = ConvSNN(np.ones((2, 3, 3)), frame_steps=65535, active_steps=1, pool=1).fit(images)
    with pytest.raises(ResourceLimitError, match=r"^frame_steps: would need"):
        est.simulate(images[0])


@pytest.mark.parametrize("cls", [CoLaNET, DigitalCoLaNET])
def test_colanet_sizes_and_ranges(cls, monkeypatch):
    x, y = np.ones((4, 6)), np.array([0, 1, 0, 1])
    monkeypatch.setenv("SNNCONV_MAX_ALLOC_BYTES", str(1 << 30))
    with pytest.raises(ResourceLimitError, match="microcolumns"):
        cls(microcolumns=2**40).fit(x, y)
    # The rate code (6 inputs) keeps one copy inside the budget, so the copies' product
    # is what is refused ("auto" would pick the population code's 240 inputs here).
    with pytest.raises(ResourceLimitError, match="n_copies"):
        cls(microcolumns=10**6, n_copies=1000, encoding="rate").fit(x, y)
    with pytest.raises(ParameterError, match=r"^hebbian"):
        cls(hebbian=-1e300).fit(x, y)


def test_colanet_tiny_features_scale(monkeypatch):
    # 'match' once bisected to 0 and divided by it.
    x = np.array([[6e-301], [2.7e-301]])
    est = CoLaNET(microcolumns=1, n_copies=1).fit(x, [0, 1])
    assert np.isfinite(est.predict_proba(x)).all()


@pytest.mark.parametrize("cls", [CoLaNET, DigitalCoLaNET])
def test_population_code_of_a_target_beyond_the_float_range(cls, monkeypatch):
    """target_spikes near 1e308 once made the repeat count infinite or the needed
    bytes too large for a float (OverflowError); now a ResourceLimitError naming it."""
    monkeypatch.setenv("SNNCONV_MAX_ALLOC_BYTES", str(1 << 30))
    x, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    sparse = np.zeros((20, 3))
    sparse[0, 0] = 1.0  # the sample sends less than one spike per example
    for data in (x, sparse):
        with pytest.raises(ResourceLimitError, match=r"^target_spikes: would need \d+\.\d GB"):
            cls(encoding="population", target_spikes=1e308, n_copies=1).fit(data, y)


def test_check_alloc_writes_sizes_beyond_the_float_range():
    from snnconv._util.validation import check_alloc

    with pytest.raises(ResourceLimitError, match=r"^x: would need 1(0{390})\.0 GB "):
        check_alloc("x", (10**399,), 1)


def test_wide_images_are_refused_before_the_column_masks(images, monkeypatch):
    """The network keeps, per image column, a bit mask over the conv columns (width ×
    ⌈Q/64⌉ words): 3 × 10⁶ images once aborted on a 125 GB allocation."""
    monkeypatch.setenv("SNNCONV_MAX_ALLOC_BYTES", str(1 << 30))
    est = ConvSNN(np.ones((2, 3, 3)), stride=1, pool=1, on_backlog="ignore").fit(images)
    with pytest.raises(ResourceLimitError, match=r"^images: would need 125\.0 GB"):
        est.output_shape(3, 1_000_000)
    assert est.output_shape(3, 20_000) == (2, 1, 19_998)  # 50 MB of masks: allowed


def test_compiled_networks_kept_stay_within_one_budget(images, monkeypatch):
    """Networks for several huge (allowed) image sizes are not all kept: together they
    could pass the process's address-space limit."""
    monkeypatch.setenv("SNNCONV_MAX_ALLOC_BYTES", str(64 << 20))
    est = ConvSNN(np.ones((2, 3, 3)), stride=1, pool=1, on_backlog="ignore").fit(images)
    for h in range(1000, 1006):
        assert est.output_shape(h, 1000) == (2, h - 2, 998)
        assert sum(size for _, size in est._cores.values()) <= 2 * (64 << 20)
    assert len(est._cores) < 6
    est.output_shape(12, 12)
    est.output_shape(13, 13)
    assert len(est._cores) >= 2  # small networks are still kept side by side
