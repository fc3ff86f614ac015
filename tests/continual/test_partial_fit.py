"""partial_fit as a stream uses it: classes at the first call, unknown labels refused,
and a model saved mid-stream continues bit-identically."""

import numpy as np
import pytest

import snnconv
from snnconv.baselines import CNN2
from snnconv.exceptions import DataError, ParameterError

FAST = dict(microcolumns=4, n_copies=3)


def _tasks(mnist5k, n=300):
    images, labels = mnist5k
    x, y = images[:n], labels[:n]
    return [
        (x[np.isin(y, [2 * k, 2 * k + 1])], y[np.isin(y, [2 * k, 2 * k + 1])]) for k in range(3)
    ]


def test_colanet_classes_at_the_first_call(mnist5k):
    (x0, y0), (x1, y1), _ = _tasks(mnist5k)
    m = snnconv.CoLaNET(**FAST).partial_fit(x0.reshape(len(x0), -1), y0)
    assert m.classes_.tolist() == [0, 1]  # no classes=: the first batch's
    with pytest.raises(DataError, match="label 2 is not among classes_"):
        m.partial_fit(x1.reshape(len(x1), -1), y1)
    d = snnconv.CoLaNET(**FAST).partial_fit(x0.reshape(len(x0), -1), y0, classes=range(10))
    assert d.classes_.tolist() == list(range(10))
    d.partial_fit(x1.reshape(len(x1), -1), y1)
    assert d.class_counts_[:4].tolist() == np.bincount(np.r_[y0, y1]).tolist()
    with pytest.raises(ParameterError, match="classes"):
        d.partial_fit(x1.reshape(len(x1), -1), y1, classes=[2, 3])


@pytest.mark.parametrize("digital", [False, True])
def test_colanet_saved_mid_stream_continues_bit_identically(mnist5k, tmp_path, digital):
    cls = snnconv.DigitalCoLaNET if digital else snnconv.CoLaNET
    tasks = [(x.reshape(len(x), -1), y) for x, y in _tasks(mnist5k)]
    a = cls(**FAST).partial_fit(*tasks[0], classes=range(10))
    b = cls.load(a.save(tmp_path / "mid.npz"))
    for x, y in tasks[1:]:
        a.partial_fit(x, y)
        b.partial_fit(x, y)
    np.testing.assert_array_equal(a.resource_, b.resource_)
    np.testing.assert_array_equal(a.stability_, b.stability_)
    x = np.concatenate([t[0] for t in tasks])
    np.testing.assert_array_equal(a.votes(x), b.votes(x))


def test_csnn_partial_fit_fixes_the_front_end_after_the_first_task(mnist5k, tmp_path):
    tasks = _tasks(mnist5k, 400)
    clf = snnconv.CoLaNET(n_copies=2, microcolumns=6)
    a = snnconv.CSNNClassifier(classifier=clf, calibration_size=50)
    a.partial_fit(*tasks[0], classes=range(10))
    kernels = a.kernel_learner_.kernels_.copy()
    scale = np.copy(a.front_end_.scale_)
    assert a.classes_.tolist() == list(range(10)) and a.image_shape_ == (28, 28)
    b = snnconv.CSNNClassifier.load(a.save(tmp_path / "mid"))
    for x, y in tasks[1:]:
        a.partial_fit(x, y)
        b.partial_fit(x, y)
    np.testing.assert_array_equal(a.kernel_learner_.kernels_, kernels)
    np.testing.assert_array_equal(a.front_end_.scale_, scale)
    np.testing.assert_array_equal(a.classifier_.resource_, b.classifier_.resource_)
    x = np.concatenate([t[0] for t in tasks])
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    # the first batch's kernels and calibration are those fit() makes on the same images
    f = snnconv.CSNNClassifier(classifier=clf, calibration_size=50).fit(*tasks[0])
    np.testing.assert_array_equal(f.kernel_learner_.kernels_, kernels)
    with pytest.raises(DataError, match="not among classes_"):
        snnconv.CSNNClassifier(classifier=clf).partial_fit(*tasks[0]).partial_fit(*tasks[1])


def test_cnn_partial_fit_continues_and_refuses_unknown_labels():
    from sk_tiny import bar_images

    x, y = bar_images(40)
    one = CNN2(epochs=1, backend="numpy").partial_fit(x[:20], y[:20], classes=[0, 1, 2])
    assert one.classes_.tolist() == [0, 1, 2]
    w = {k: v.copy() for k, v in one.net_.params.items()}
    one.partial_fit(x[20:], y[20:])
    assert len(one.loss_curve_) == 2
    assert all(not np.array_equal(w[k], one.net_.params[k]) for k in w)
    with pytest.raises(DataError, match="not among classes_"):
        one.partial_fit(x[:2], [0, 5])
    # fit still trains from scratch as before: the same as a first partial_fit
    a = CNN2(epochs=2, backend="numpy").fit(x, y)
    b = CNN2(epochs=2, backend="numpy").partial_fit(x, y)
    np.testing.assert_array_equal(a.predict_proba(x), b.predict_proba(x))


def test_cnn_saved_mid_stream_continues_bit_identically(tmp_path):
    """numpy backend: Adam's moments and step, and the random stream of shuffles and
    dropout, are in the file; a model loaded after any number of partial_fit calls
    trains on exactly as the one kept in memory."""
    from sk_tiny import bar_images

    x, y = bar_images(60)
    a = CNN2(epochs=1, backend="numpy").partial_fit(x[:20], y[:20], classes=[0, 1, 2])
    b = CNN2.load(a.save(tmp_path / "one.npz"))
    for part in (slice(20, 40), slice(40, 60)):
        a.partial_fit(x[part], y[part])
        b.partial_fit(x[part], y[part])
    np.testing.assert_array_equal(a.predict_proba(x), b.predict_proba(x))
    assert b.loss_curve_ == a.loss_curve_ and len(a.loss_curve_) == 3
    c = CNN2.load(a.save(tmp_path / "three.npz"))  # three calls' losses load too
    a.partial_fit(x[:20], y[:20])
    c.partial_fit(x[:20], y[:20])
    np.testing.assert_array_equal(a.predict_proba(x), c.predict_proba(x))
    for k, v in a.net_.state().items():
        np.testing.assert_array_equal(v, c.net_.state()[k])
