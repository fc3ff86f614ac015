"""ULSNN hands the core fewer images per call as ``time`` grows, so Ctrl-C (honoured
between calls) stays prompt for long presentations; the result does not depend on
how the images are split into calls."""

from __future__ import annotations

import numpy as np

from snnconv.baselines import ULSNN, ulsnn


def test_images_per_call_shrink_with_time():
    assert ulsnn._per_call(64, 250) == 64  # the default time: unchanged
    assert ulsnn._per_call(64, 500) == 32
    assert ulsnn._per_call(64, 100_000) == 1  # one image (≈ 0.7 s) per call
    assert ulsnn._per_call(512, 100_000) == 1


def test_calls_do_not_change_the_result(monkeypatch):
    rng = np.random.default_rng(0)
    x, y = rng.random((12, 5, 5)), np.arange(12) % 2
    whole = ULSNN(n_neurons=3, time=30, random_state=1).fit(x, y)
    monkeypatch.setattr(ulsnn, "_TRAIN_CHUNK", 1)
    monkeypatch.setattr(ulsnn, "_RESPOND_CHUNK", 1)
    split = ULSNN(n_neurons=3, time=30, random_state=1).fit(x, y)
    np.testing.assert_array_equal(split.weights_, whole.weights_)
    np.testing.assert_array_equal(split.theta_, whole.theta_)
    np.testing.assert_array_equal(split.transform(x), whole.transform(x))
