"""Errors from the Rust core arrive as the classes of ``snnconv.exceptions``, by kind,
with the parameter's name in the message (and remain ``ValueError``s)."""

from __future__ import annotations

import numpy as np
import pytest

from snnconv import _core
from snnconv.exceptions import DataError, ModelFileError, ParameterError, SnnconvError


def _learner(**kw):
    params = dict(
        kernel_size=3,
        n_kernels=2,
        stride=1,
        w_min=-1.0,
        w_max=1.0,
        learning_rate=0.1,
        brightness_threshold=0.5,
    )
    params.update(kw)
    return params


def test_bad_kernel_size_is_a_parameter_error():
    with pytest.raises(ParameterError, match="kernel_size") as info:
        _core.KernelLearnerCore(_learner(kernel_size=0), 0)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, SnnconvError)


def test_bad_stride_and_n_threads_are_parameter_errors():
    images = np.zeros((1, 5, 5))
    kernels = np.zeros((1, 3, 3))
    with pytest.raises(ParameterError, match=r"^stride: must be >= 1"):
        _core.conv_features(images, kernels, 0)
    with pytest.raises(ParameterError, match=r"^n_threads: must be None or in \[1, \d+\] .*got 0"):
        _core.conv_features(images, kernels, 1, 0)


def test_nan_image_is_a_data_error():
    images = np.full((1, 4, 4), 0.5)
    images[0, 1, 2] = np.nan
    with pytest.raises(DataError, match="images"):
        _core.normalise_brightness(images)
    assert not issubclass(DataError, ParameterError)


def test_wrong_shape_is_a_data_error():
    with pytest.raises(DataError, match=r"^images: image of 2x2 is smaller"):
        _core.conv_features(np.zeros((1, 2, 2)), np.zeros((1, 3, 3)), 1)


def test_tampered_kernel_state_is_a_model_file_error():
    good = _core.KernelLearnerCore(_learner(), 0)
    r, w = good.resource, good.weights
    with pytest.raises(ModelFileError, match="state"):
        _core.KernelLearnerCore.restore(_learner(), 0, r[:1], w[:1], [False, False], 0)
    bad = r.copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(ModelFileError, match="resource"):
        _core.KernelLearnerCore.restore(_learner(), 0, bad, w, [False, False], 0)
    with pytest.raises(ModelFileError, match="state"):
        _core.KernelLearnerCore.restore(_learner(), 0, r, w, [False], 0)


def test_tampered_colanet_state_is_a_model_file_error():
    from snnconv import DigitalCoLaNET

    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (20, 6)).astype(np.uint8)
    y = np.arange(20) % 2
    m = DigitalCoLaNET(microcolumns=2, random_state=0).fit(x, y)
    core = m._core
    stability = core.stability.copy()
    stability[0, 0] = -1.0
    with pytest.raises(ModelFileError, match=r"^state: saved arrays hold invalid values"):
        core.restore(core.resource, core.free, stability, core.counters, core.seen)
    with pytest.raises(ModelFileError, match=r"^state: saved arrays do not match"):
        core.restore(core.resource[:, :1], core.free, core.stability, core.counters, 0)


def test_tampered_ulsnn_state_is_a_model_file_error():
    params = _ulsnn_params(9, 3)
    w = np.full((9, 3), 0.1)
    theta = np.zeros(3)
    _core.UlsnnCore(params, 0, w, theta, 0)  # the untampered state restores
    w[0, 0] = np.nan
    with pytest.raises(ModelFileError, match=r"^weights: must be finite"):
        _core.UlsnnCore(params, 0, w, theta, 0)
    with pytest.raises(ModelFileError, match=r"^theta"):
        _core.UlsnnCore(params, 0, np.full((9, 3), 0.1), np.zeros(2), 0)
    with pytest.raises(ModelFileError, match=r"^weights: must have shape"):
        _core.UlsnnCore(params, 0, np.full((3, 9), 0.1), theta, 0)
    with pytest.raises(ParameterError, match=r"^weights: weights and theta"):
        _core.UlsnnCore(params, 0, np.full((9, 3), 0.1), None, 0)


def _ulsnn_params(n_inputs, n_neurons):
    d = dict(_core.default_params()["ulsnn"], n_inputs=n_inputs, n_neurons=n_neurons)
    d["norm"] = d.pop("norm_per_input") * n_inputs
    return d


def test_panic_guard_message_is_unchanged_elsewhere():
    # n_threads is checked by the core before any work runs.
    with pytest.raises(ParameterError):
        _core.normalise_brightness(np.zeros((1, 2, 2), np.uint8), None, 0)


def test_loading_a_tampered_kernel_file_is_a_model_file_error(tmp_path):
    from snnconv import KernelLearner

    rng = np.random.default_rng(0)
    images = (rng.random((6, 12, 12)) * 255).astype(np.uint8)
    path = KernelLearner(kernel_size=3, n_kernels=4, stride=1).fit(images).save(tmp_path / "k")
    z = dict(np.load(path, allow_pickle=False))
    z["resource"] = z["resource"].copy()
    z["resource"][0, 0, 0] = np.nan
    bad = tmp_path / "bad.npz"
    np.savez(bad, **z)
    with pytest.raises(ModelFileError, match="resource"):
        KernelLearner.load(bad)
