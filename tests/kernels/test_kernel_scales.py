"""Several kernel scales (``KernelLearner(scales=...)``): each side learns on its own with
the unchanged rule, the smaller kernels are centred in zeros at the main size, and the
whole state round-trips through model files and pickles."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import npz_files
import numpy as np
import pytest

import snnconv
from snnconv.exceptions import DataError, ModelFileError, ParameterError, ParameterTypeError


def _images(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 16, 16), np.uint8)
    for i in range(n):  # strokes of random position and direction, as a small domain
        r, c = rng.integers(2, 14, 2)
        if i % 2:
            x[i, r, max(c - 5, 0) : c + 5] = 255
        else:
            x[i, max(r - 5, 0) : r + 5, c] = 255
    return x


def _learner(**kw):
    return snnconv.KernelLearner(
        kernel_size=7, n_kernels=6, keep_only_fired=False, random_state=3, **kw
    )


@pytest.fixture(scope="module")
def fitted():
    x = _images()
    return x, _learner(scales=(3, 5)).fit(x)


def test_each_scale_is_the_plain_learner_of_its_side_centred_in_zeros(fitted):
    x, k = fitted
    main = _learner().fit(x)
    np.testing.assert_array_equal(k.kernels_[:6], main.kernels_)
    np.testing.assert_array_equal(k.all_kernels_, main.all_kernels_)
    start = 6
    for side in (3, 5):
        own = snnconv.KernelLearner(
            kernel_size=side, n_kernels=6, keep_only_fired=False, random_state=3
        ).fit(x)
        block = k.kernels_[start : start + 6]
        o = (7 - side) // 2
        np.testing.assert_array_equal(block[:, o : o + side, o : o + side], own.kernels_)
        inner = np.zeros((7, 7), bool)
        inner[o : o + side, o : o + side] = True
        assert np.all(block[:, ~inner] == 0.0)
        start += 6
    assert k.kernels_.shape == (18, 7, 7)
    np.testing.assert_array_equal(k.kernel_sizes_, [7] * 6 + [3] * 6 + [5] * 6)
    assert k.n_features_out_ == 18
    assert [s.kernel_size for s in k.scale_learners_] == [3, 5]


def test_without_scales_every_kernel_has_the_main_side():
    k = _learner().fit(_images())
    assert k.scale_learners_ == []
    np.testing.assert_array_equal(k.kernel_sizes_, [7] * 6)


def test_only_fired_kernels_of_each_scale_are_kept():
    x = _images()
    k = snnconv.KernelLearner(kernel_size=7, n_kernels=6, random_state=3, scales=(3,)).fit(x)
    sub = k.scale_learners_[0]
    assert k.kernels_.shape[0] == int(k.fired_.sum()) + int(sub.fired_.sum())
    assert (k.kernel_sizes_ == 3).sum() == int(sub.fired_.sum())


def test_model_file_and_pickle_keep_every_scale(fitted, tmp_path):
    x, k = fitted
    back = snnconv.KernelLearner.load(k.save(tmp_path / "k"))
    np.testing.assert_array_equal(back.kernels_, k.kernels_)
    np.testing.assert_array_equal(back.kernel_sizes_, k.kernel_sizes_)
    assert back.scales == (3, 5)
    np.testing.assert_array_equal(back.transform(x[:3]), k.transform(x[:3]))
    again = pickle.loads(pickle.dumps(k))
    np.testing.assert_array_equal(again.kernels_, k.kernels_)
    assert [s.kernel_size for s in again.scale_learners_] == [3, 5]


def test_a_file_missing_a_scale_or_its_arrays_is_refused(fitted, tmp_path):
    _, k = fitted
    path = Path(k.save(tmp_path / "k"))
    meta, arrays = npz_files.read(path)
    bad = dict(arrays)
    del bad["scale_1_weights"]
    npz_files.write(path, dict(meta), bad)
    with pytest.raises(ModelFileError, match="scale_1_weights"):
        snnconv.KernelLearner.load(path)
    m = json.loads(json.dumps(meta))
    del m["scale_0"]
    npz_files.write(path, m, dict(arrays))
    with pytest.raises(ModelFileError, match="scale_0"):
        snnconv.KernelLearner.load(path)
    for bad in ([1, 2], {"brightness_threshold_": 0.5}):
        m = json.loads(json.dumps(meta))
        m["scale_0"] = bad
        npz_files.write(path, m, dict(arrays))
        with pytest.raises(ModelFileError, match="scale_0: must hold exactly"):
            snnconv.KernelLearner.load(path)
    m = json.loads(json.dumps(meta))
    m["scale_0"]["brightness_threshold_"] = 0.123
    npz_files.write(path, m, dict(arrays))
    with pytest.raises(ModelFileError, match="brightness threshold"):
        snnconv.KernelLearner.load(path)


def test_files_written_before_scales_load_without_them(tmp_path):
    k = _learner().fit(_images())
    path = Path(k.save(tmp_path / "k"))
    meta, arrays = npz_files.read(path)
    del meta["params"]["scales"]
    meta["format_version"] = 2
    npz_files.write(path, meta, arrays)
    back = snnconv.KernelLearner.load(path)
    assert back.scales == ()
    np.testing.assert_array_equal(back.kernels_, k.kernels_)
    meta["format_version"] = 3  # a current file must hold the parameter
    npz_files.write(path, meta, arrays)
    with pytest.raises(ModelFileError, match="scales"):
        snnconv.KernelLearner.load(path)


@pytest.mark.parametrize(
    ("scales", "kind", "match"),
    [
        ((7,), ParameterError, r"\[1, 7\)"),
        ((0,), ParameterError, r"\[1, 7\)"),
        ((3, 3), ParameterError, "distinct"),
        ((2.5,), ParameterError, "integer"),
        ("35", ParameterTypeError, "tuple"),
        (5, ParameterTypeError, "tuple"),
    ],
)
def test_bad_scales_are_refused_before_learning(scales, kind, match):
    with pytest.raises(kind, match=match):
        _learner(scales=scales).fit(_images())


def test_scales_refuse_partial_fit_initial_resource_and_one_shot_streams():
    x = _images()
    with pytest.raises(ParameterError, match="partial_fit"):
        _learner(scales=(3,), learning_rate=0.1).partial_fit(x)
    with pytest.raises(ParameterError, match="initial_resource"):
        _learner(scales=(3,), initial_resource=np.zeros((6, 7, 7))).fit(x)
    with pytest.raises(DataError, match="one-shot"):
        _learner(scales=(3,)).fit(iter(list(x)))


def test_one_front_end_runs_every_scale_with_a_scale_per_kernel(fitted):
    x, k = fitted
    snn = snnconv.ConvSNN(
        k, stride=2, scale_per_kernel=True, target_rate=0.3, on_backlog="ignore"
    ).fit(x)
    assert snn.run(x[:4]).pooled.shape[1] == 18
    # each kernel calibrated on its own scale
    assert snn.scale_.shape == (18,) and np.unique(snn.scale_).size > 1
