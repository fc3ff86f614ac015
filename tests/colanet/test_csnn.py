"""The assembled classifier: images in, labels out."""

import numpy as np
import pytest

import snnconv
from snnconv.datasets.sources import FASHION_MNIST_DIR
from snnconv.exceptions import NotFittedError


def small_model(**kw):
    return snnconv.CSNNClassifier(
        classifier=snnconv.CoLaNET(n_copies=3, microcolumns=8), calibration_size=200, **kw
    )


def test_fit_predict_save_load(mnist5k, tmp_path):
    images, labels = mnist5k
    model = small_model().fit(images[:600], labels[:600])
    pred = model.predict(images[4000:4200])
    assert pred.shape == (200,) and set(np.unique(pred)) <= set(range(10))
    # Holds 0.850 on these 200 test images; floor 0.02 (four images) below.
    assert model.score(images[4000:4200], labels[4000:4200]) >= 0.83
    n_k = model.kernel_learner_.kernels_.shape[0]
    # 784 inputs + n_k*10*10 conv + n_k*5*5 pool + 3 copies * 10 columns * (8 L + 2) + 10
    assert model.n_neurons_ == 784 + n_k * 100 + n_k * 25 + 3 * 10 * 10 + 10
    assert 0 <= model.backlog_fraction_ < 1
    path = model.save(tmp_path / "model")
    back = snnconv.CSNNClassifier.load(path)
    np.testing.assert_array_equal(back.predict(images[4000:4200]), pred)
    model.save(tmp_path / "model")  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_two_channel_images_fit_predict_save_load(mnist5k, tmp_path):
    """(N, C, H, W) input end to end: the kernels get C channels, the neuron count
    counts C·H·W input nodes, and a saved model loads and predicts the same."""
    images, labels = mnist5k
    pair = np.stack([images, np.roll(images, 2, axis=2)], axis=1)  # two views of each
    model = small_model().fit(pair[:400], labels[:400])
    kern = model.kernel_learner_.kernels_
    assert kern.ndim == 4 and kern.shape[1:] == (2, 9, 9)
    n_k = kern.shape[0]
    assert model.n_features_in_ == 2 * 28 * 28
    assert model.n_neurons_ == 2 * 784 + n_k * 100 + n_k * 25 + 3 * 10 * 10 + 10
    assert model.transform(pair[4000:4010]).shape == (10, n_k, 5, 5)
    pred = model.predict(pair[4000:4100])
    # Far above chance (0.1) on 100 test images; a summed-channel mix-up would not be.
    assert (pred == labels[4000:4100]).mean() >= 0.6
    back = snnconv.CSNNClassifier.load(model.save(tmp_path / "two"))
    np.testing.assert_array_equal(back.predict(pair[4000:4100]), pred)
    with pytest.raises(snnconv.exceptions.DataError, match="channels"):
        model.predict(images[4000:4010, None].repeat(3, axis=1))


def test_learning_curve_and_fitted_learner_reuse(mnist5k):
    images, labels = mnist5k
    learner = snnconv.KernelLearner().fit(images[:600])
    model = small_model(kernel_learner=learner)
    model.fit(
        images[:600], labels[:600], eval_set=(images[4000:4200], labels[4000:4200]), curve_points=3
    )
    assert model.kernel_learner_ is learner
    assert [n for n, _ in model.learning_curve_] == [200, 400, 600]
    assert all(0 <= a <= 1 for _, a in model.learning_curve_)


def test_learning_curve_does_not_change_the_model(mnist5k):
    """The curve's points are snapshots of the one training pass: fit with eval_set
    trains exactly as without it (chunks split at other example numbers give the same
    state, since the core numbers its per-example streams globally)."""
    images, labels = mnist5k
    learner = snnconv.KernelLearner().fit(images[:700])
    test = images[4000:4200]
    plain = small_model(kernel_learner=learner).fit(images[:700], labels[:700])
    cls = snnconv.CoLaNET(n_copies=3, microcolumns=8, epochs=2)
    curved = snnconv.CSNNClassifier(kernel_learner=learner, classifier=cls, calibration_size=200)
    twice = _clone_fit(curved, images[:700], labels[:700])
    curved.fit(images[:700], labels[:700], eval_set=(test, labels[4000:4200]), curve_points=7)
    assert [n for n, _ in curved.learning_curve_] == [200, 400, 600, 800, 1000, 1200, 1400]
    np.testing.assert_array_equal(curved.classifier_.weights_, twice.classifier_.weights_)
    np.testing.assert_array_equal(curved.predict(test), twice.predict(test))
    assert curved.learning_curve_[-1][1] == twice.score(test, labels[4000:4200])
    one = small_model(kernel_learner=learner)
    one.fit(images[:700], labels[:700], eval_set=(test, labels[4000:4200]), curve_points=3)
    for a in ("weights_", "resource_", "free_resource_", "stability_"):
        np.testing.assert_array_equal(getattr(one.classifier_, a), getattr(plain.classifier_, a))
    np.testing.assert_array_equal(one.classifier_.class_counts_, plain.classifier_.class_counts_)
    np.testing.assert_array_equal(one.predict(test), plain.predict(test))
    np.testing.assert_array_equal(one._eval_prediction[0], plain.predict(test))
    assert one.learning_curve_[-1][1] == plain.score(test, labels[4000:4200])


def test_curve_sample_scores_the_intermediate_points_on_one_subset(mnist5k, monkeypatch):
    """Intermediate points see the same seeded sample of the eval set, the last point
    all of it; the model and the curve's example counts are as without the sample."""
    images, labels = mnist5k
    learner = snnconv.KernelLearner().fit(images[:600])
    test, truth = images[4000:4300], labels[4000:4300]
    sizes = []
    original = snnconv.CoLaNET.predict

    def counting(self, X):
        sizes.append(len(X))
        return original(self, X)

    monkeypatch.setattr(snnconv.CoLaNET, "predict", counting)
    model = small_model(kernel_learner=learner, random_state=4)
    model.fit(images[:600], labels[:600], eval_set=(test, truth), curve_points=4, curve_sample=50)
    assert sizes == [50, 50, 50, 300]
    full = small_model(kernel_learner=learner, random_state=4)
    full.fit(images[:600], labels[:600], eval_set=(test, truth), curve_points=4, curve_sample=None)
    assert sizes[4:] == [300] * 4
    assert [n for n, _ in model.learning_curve_] == [150, 300, 450, 600]
    assert model.learning_curve_[-1] == full.learning_curve_[-1]
    np.testing.assert_array_equal(model.classifier_.weights_, full.classifier_.weights_)
    # 50 examples: every intermediate accuracy is a multiple of 1/50
    assert all(round(a * 50, 9) == round(a * 50) for _, a in model.learning_curve_[:-1])
    with pytest.raises(ValueError, match="curve_sample"):
        model.fit(images[:60], labels[:60], eval_set=(test, truth), curve_sample=0)


def _clone_fit(model, images, labels):
    return snnconv.CSNNClassifier(**model.get_params(deep=False)).fit(images, labels)


def test_bad_inputs(mnist5k, tmp_path):
    images, labels = mnist5k
    with pytest.raises(ValueError, match="y"):
        small_model().fit(images[:50], labels[:40])
    with pytest.raises(ValueError, match="calibration_size"):
        snnconv.CSNNClassifier(calibration_size=0).fit(images[:50], labels[:50])
    with pytest.raises(NotFittedError, match="not fitted"):
        small_model().predict(images[:5])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "csnn.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt"):
        snnconv.CSNNClassifier.load(tmp_path / "bad")


@pytest.mark.slow
def test_five_fold_accuracy_floor_on_mnist5k(mnist5k):
    """CSNNClassifier (every default) on the MNIST 5k sample, 5 stratified
    folds: mean accuracy >= 94 % (the defaults give 95.52 % on these folds,
    94.9-96.0 % per fold; the one-size CSNN before them gave 95.2 % and had a floor
    of 93 %)."""
    ms = pytest.importorskip("sklearn.model_selection")
    images, labels = mnist5k
    accs = []
    folds = ms.StratifiedKFold(5, shuffle=True, random_state=0).split(images, labels)
    for train, test in folds:
        model = snnconv.CSNNClassifier().fit(images[train], labels[train])
        accs.append(model.score(images[test], labels[test]))
    assert np.mean(accs) >= 0.94, accs


@pytest.mark.slow
@pytest.mark.skipif(
    not (FASHION_MNIST_DIR / "t10k-labels-idx1-ubyte.gz").is_file(),
    reason="Debian package dataset-fashion-mnist not installed "
    "(apt-get install dataset-fashion-mnist; CI installs it)",
)
def test_accuracy_floor_on_a_fashion_mnist_subset():
    """Every default on a textured domain: a seeded 3,000 of Fashion-MNIST's training
    split, scored on a seeded 1,000 of its test split, three seeds: each >= 73 % (the
    defaults give 74.8 / 77.5 / 75.9 %; the one-size CSNN gave 75.9-76.5 %: the second
    kernel size helps with more data; with the rate code they gave 72.9-73.3 %)."""
    from snnconv.datasets import load_fashion_mnist

    x_train, y_train = load_fashion_mnist(split="train")
    x_test, y_test = load_fashion_mnist(split="test")
    rng = np.random.default_rng(0)
    train = np.sort(rng.choice(len(y_train), 3000, replace=False))
    test = np.sort(rng.choice(len(y_test), 1000, replace=False))
    accs = [
        snnconv.CSNNClassifier(random_state=seed)
        .fit(x_train[train], y_train[train])
        .score(x_test[test], y_test[test])
        for seed in (0, 1, 2)
    ]
    assert min(accs) >= 0.73, accs
