"""CSNNClassifier on event streams: polarities as input channels and the events as
input spikes (the default), the summed count image as an option, the fitted bin
width and scale kept through save/load, bad options, and accuracy floors."""

from __future__ import annotations

import os

import numpy as np
import pytest

from snnconv import CSNNClassifier, KernelLearner
from snnconv.csnn import LEARNER_DEFAULTS
from snnconv.datasets import load_mnist5k
from snnconv.datasets.registry import PRESETS
from snnconv.events import NMNIST_SENSOR, count_frames, count_scale, saccade_events, to_images
from snnconv.events.input import default_bin_width, event_frames
from snnconv.exceptions import ParameterError


@pytest.fixture(scope="module")
def digits():
    """200 training and 100 test digits as synthetic saccade events (coarse 10 ms
    frames to keep the test fast), with labels."""
    images, labels = load_mnist5k()
    pick = np.random.default_rng(7).permutation(len(labels))[:300]
    events = [
        saccade_events(images[i], np.random.default_rng([7, int(i)]), frame_us=10_000) for i in pick
    ]
    return events[:200], labels[pick[:200]], events[200:], labels[pick[200:]]


def test_events_enter_as_polarity_channels_and_input_spikes(digits, tmp_path):
    tr, ytr, te, yte = digits
    clf = CSNNClassifier(sensor_size=NMNIST_SENSOR, n_threads=1).fit(tr, ytr)
    # kernels learned on the two-channel count frames, with the training scale
    frames, scale = event_frames(tr, NMNIST_SENSOR, None)
    assert clf.event_scale_ == scale
    assert clf.kernel_learner_.kernels_.shape[1:] == (2, 9, 9)
    own = KernelLearner(**LEARNER_DEFAULTS, random_state=0, n_threads=1).fit(frames)
    np.testing.assert_array_equal(clf.kernel_learner_.kernels_, own.kernels_)
    assert clf.n_features_in_ == 2 * 34 * 34
    assert clf.bin_width_us_ == default_bin_width(tr, clf.front_end_.active_steps)
    # the front-end ran the events themselves: the classifier sees run_events' counts
    counts = clf.front_end_.run_events(te, NMNIST_SENSOR, clf.bin_width_us_).pooled
    np.testing.assert_array_equal(clf.transform(te), counts)
    pred = clf.predict(te)
    np.testing.assert_array_equal(pred, clf.classifier_.predict(counts))
    back = CSNNClassifier.load(clf.save(tmp_path / "m"))
    assert back.event_input == "events" and back.bin_width_us_ == clf.bin_width_us_
    assert back.event_scale_ == clf.event_scale_
    np.testing.assert_array_equal(back.predict(te), pred)
    # measured 0.52 on these 200/100 samples (seed 7; chance is 0.10, and one online
    # pass of CoLaNET over 200 examples is little); the floor 0.42 is two binomial
    # standard deviations (0.05 at n = 100) under it
    assert np.mean(pred == yte) >= 0.42


def test_given_bin_width_is_used_and_streams_score_a_learning_curve(digits):
    tr, ytr, te, yte = digits
    clf = CSNNClassifier(sensor_size=NMNIST_SENSOR, bin_width_us=20_000, n_threads=1)
    clf.fit(tr[:60], ytr[:60], eval_set=(te[:20], yte[:20]), curve_points=2)
    assert clf.bin_width_us_ == 20_000
    counts = clf.front_end_.run_events(te[:20], NMNIST_SENSOR, 20_000).pooled
    np.testing.assert_array_equal(clf.transform(te[:20]), counts)
    # the curve's last point is the fitted model on the whole eval set
    assert clf.learning_curve_[-1] == (60, float(np.mean(clf.predict(te[:20]) == yte[:20])))


def test_partial_fit_on_streams_keeps_the_first_batch_settings(digits):
    tr, ytr, te, _ = digits
    clf = CSNNClassifier(sensor_size=NMNIST_SENSOR, n_threads=1)
    clf.partial_fit(tr[:40], ytr[:40], classes=np.arange(10))
    scale, width = clf.event_scale_, clf.bin_width_us_
    assert width == default_bin_width(tr[:40], clf.front_end_.active_steps)
    clf.partial_fit(tr[40:80], ytr[40:80])
    assert (clf.event_scale_, clf.bin_width_us_) == (scale, width)
    assert clf.predict(te[:10]).shape == (10,)


def test_summed_count_images_option_and_save_load(digits, tmp_path):
    tr, ytr, te, yte = digits
    clf = CSNNClassifier(sensor_size=NMNIST_SENSOR, event_input="image", n_threads=1)
    clf.fit(tr, ytr)
    frames = count_frames(tr, NMNIST_SENSOR)
    assert clf.event_scale_ == count_scale(frames)
    assert not hasattr(clf, "bin_width_us_")
    ref = CSNNClassifier(n_threads=1).fit(to_images(frames), ytr)
    test_images = to_images(count_frames(te, NMNIST_SENSOR), clf.event_scale_)
    pred = clf.predict(te)
    np.testing.assert_array_equal(pred, ref.predict(test_images))
    back = CSNNClassifier.load(clf.save(tmp_path / "m"))
    assert back.sensor_size == NMNIST_SENSOR and back.event_scale_ == clf.event_scale_
    assert back.event_input == "image"
    np.testing.assert_array_equal(back.predict(te), pred)
    # measured 0.46 on these samples; floor two binomial standard deviations under it
    assert np.mean(pred == yte) >= 0.36


def test_bad_event_options_are_refused(digits):
    tr, ytr, _, _ = digits
    with pytest.raises(ParameterError, match=r"sensor_size: event streams need"):
        CSNNClassifier().fit(tr[:20], ytr[:20])
    with pytest.raises(ParameterError, match=r"sensor_size: event streams need"):
        CSNNClassifier(event_input="image").fit(tr[:20], ytr[:20])
    with pytest.raises(ParameterError, match=r"event_input: must be one of 'events', 'image'"):
        CSNNClassifier(sensor_size=NMNIST_SENSOR, event_input="frames").fit(tr[:20], ytr[:20])
    with pytest.raises(ParameterError, match=r"bin_width_us: must be None or a number > 0"):
        CSNNClassifier(sensor_size=NMNIST_SENSOR, bin_width_us=-5).fit(tr[:20], ytr[:20])


@pytest.mark.slow
def test_synthetic_tree_accuracy_floor(tmp_path_factory):
    """The CSNN on the synthetic N-MNIST tree (``snnconv events synth`` defaults:
    2,000 train / 500 test, seed 0) with the settings of docs/events.md. The tree is
    written into a temporary folder (several minutes) unless SNNCONV_SYNTH_NMNIST
    names one written with the same defaults."""
    from snnconv import CoLaNET
    from snnconv.csnn import CLASSIFIER_DEFAULTS
    from snnconv.events import load_nmnist, write_synthetic_nmnist

    root = os.environ.get("SNNCONV_SYNTH_NMNIST")
    if root is None:
        images, labels = load_mnist5k()
        root = write_synthetic_nmnist(tmp_path_factory.mktemp("synth"), images, labels)
    tr, ytr = load_nmnist(root, "train")
    te, yte = load_nmnist(root, "test")
    assert len(ytr) == 2000 and len(yte) == 500
    clf = CSNNClassifier(
        classifier=CoLaNET(**CLASSIFIER_DEFAULTS, epochs=EPOCHS, random_state=0),
        sensor_size=NMNIST_SENSOR,
        random_state=0,
    ).fit(tr, ytr)
    assert clf.score(te, yte) >= FLOOR


#: The chosen CoLaNET passes (the nmnist dataset's preset) and the floor of the slow
#: test (docs/events.md).
EPOCHS = PRESETS["nmnist"]["classifier.params.epochs"]
FLOOR = 0.90
