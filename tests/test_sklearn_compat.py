"""The eight public estimators are scikit-learn estimators: scikit-learn's common checks,
the same conventions on image data, and use inside pipelines and model selection.

Image estimators (KernelLearner, ConvSNN, CSNNClassifier, CNN1, CNN2, ULSNN) take
(N, H, W) images; their tags say so (``input_tags.two_d_array=False``,
``three_d_array=True``), and scikit-learn's common checks, which all feed 2-D feature
matrices, then run only ``check_estimator_cloneable`` on them. The checks that need no
data run on them explicitly below, and ``test_image_estimator_conventions`` repeats the
data-dependent conventions with images.
"""

from __future__ import annotations

import copy
import warnings

import joblib
import numpy as np
import pytest
import sk_tiny
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.exceptions import SkipTestWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_estimator_tags_renamed,
    check_estimators_unfitted,
    check_get_params_invariance,
    check_mixin_order,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
    check_valid_tag_types,
    parametrize_with_checks,
)
from sklearn.utils.validation import check_is_fitted

import snnconv
from snnconv.exceptions import NotFittedError, SnnconvError

#: Every check scikit-learn runs and expects to fail, with the reason. Image
#: estimators have none: scikit-learn does not feed them 2-D data (see above); the
#: CoLaNETs take signed features (their default ``encoding="auto"``) and pass them all.
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {}


def _all() -> list:
    return [factory() for factory in sk_tiny.FACTORIES.values()]


def _id(est: object) -> str:
    return type(est).__name__


with warnings.catch_warnings():
    # "Can't test estimator ... which requires input of type InputTags(...,
    # three_d_array=True ...)" for each image estimator: expected, see the docstring.
    warnings.simplefilter("ignore", SkipTestWarning)
    _common_checks = parametrize_with_checks(
        _all(), expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(_id(est), {})
    )


@_common_checks
def test_sklearn_common_checks(estimator, check):
    check(estimator)


DATA_FREE_CHECKS = (
    check_estimator_cloneable,
    check_estimator_tags_renamed,
    check_valid_tag_types,
    check_estimator_repr,
    check_no_attributes_set_in_init,
    check_do_not_raise_errors_in_init_or_set_params,
    check_mixin_order,
    check_parameters_default_constructible,
    check_get_params_invariance,
    check_set_params,
    check_estimators_unfitted,
)


@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", sk_tiny.IMAGE_ESTIMATORS)
def test_image_estimators_pass_the_checks_that_need_no_data(name, check):
    est = sk_tiny.FACTORIES[name]()
    check(name, est)
    check(name, type(est)())  # the defaults too


@pytest.mark.parametrize("name", list(sk_tiny.FACTORIES))
def test_tags_tell_the_truth(name):
    est = sk_tiny.FACTORIES[name]()
    tags = get_tags(est)
    image = name in sk_tiny.IMAGE_ESTIMATORS
    assert tags.input_tags.two_d_array is not image
    assert tags.input_tags.three_d_array is image
    # Brightness, or features sent as spike counts; the CoLaNETs' default "auto" code
    # takes signed features through its population code.
    assert tags.input_tags.positive_only is (name not in sk_tiny.FLAT_ESTIMATORS)
    assert tags.requires_fit
    assert is_classifier(est) is (name in sk_tiny.CLASSIFIERS)
    assert tags.target_tags.required is (name in sk_tiny.CLASSIFIERS)
    if name in ("KernelLearner", "ConvSNN"):
        assert tags.transformer_tags is not None


@pytest.mark.parametrize("name", sk_tiny.IMAGE_ESTIMATORS)
def test_image_estimator_conventions(name):
    """What scikit-learn's data checks verify, with images instead of a 2-D matrix."""
    est = sk_tiny.FACTORIES[name]()
    X, y = sk_tiny.data_for(name)
    # Unfitted: sklearn's NotFittedError (also snnconv's), for every method.
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(est)
    for method in ("transform", "predict", "predict_proba", "decision_function"):
        if hasattr(est, method):
            with pytest.raises(NotFittedError, match="not fitted"):
                getattr(est, method)(X)
    params = joblib.hash(est.get_params())
    before = set(vars(est))
    assert est.fit(X, y) is est
    check_is_fitted(est)
    # fit neither changes the parameters nor sets public attributes without "_".
    assert joblib.hash(est.get_params()) == params
    added = set(vars(est)) - before
    assert added and all(a.endswith("_") or a.startswith("_") for a in added), added
    # Idempotent: a second fit with the same int random_state gives the same model.
    first = sk_tiny.outputs(est, X)
    again = sk_tiny.outputs(clone(est).fit(X, y), X)
    for key, value in first.items():
        np.testing.assert_array_equal(again[key], value, err_msg=key)
    # A clone of a fitted estimator is unfitted, with equal parameters.
    fresh = clone(est)
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(fresh)
    assert joblib.hash(fresh.get_params()) == params
    if is_classifier(est):
        np.testing.assert_array_equal(est.classes_, [0, 1])
        assert est.score(X, y) == pytest.approx(np.mean(est.predict(X) == y))
    # The image shape seen in fit; n_features_in_ (pixels) only where it is fixed by fit.
    assert est.image_shape_ == X.shape[1:]
    if name in ("KernelLearner", "ConvSNN"):
        assert not hasattr(est, "n_features_in_")  # any image size >= the kernels works
        assert est.transform(X[:, :-1, :-1]).shape[0] == len(X)
    else:
        assert est.n_features_in_ == X.shape[1] * X.shape[2]
        with pytest.raises(ValueError, match="shape"):
            est.predict(X[:, :-1, :-1])
    # 2-D input is refused with a clear message, not misread.
    with pytest.raises((ValueError, TypeError)):
        est.fit(X.reshape(len(X), -1), y)


def test_not_fitted_error_is_sklearns_and_snnconvs():
    assert issubclass(NotFittedError, SklearnNotFittedError)
    assert issubclass(NotFittedError, SnnconvError)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    import pickle

    err = pickle.loads(pickle.dumps(NotFittedError("x")))
    assert type(err) is NotFittedError


def test_import_snnconv_does_not_import_sklearn():
    import subprocess
    import sys

    code = "import sys, snnconv, snnconv.exceptions; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_conv_snn_default_constructible_learns_its_kernels():
    X, _ = sk_tiny.bar_images()
    snn = snnconv.ConvSNN(on_backlog="ignore", random_state=3)
    assert snn.kernels is None
    snn.fit(X)
    learner = snn.kernel_learner_
    assert isinstance(learner, snnconv.KernelLearner)
    assert learner.stride == snn.stride and learner.random_state == 3
    np.testing.assert_array_equal(snn.kernels_, learner.kernels_)
    # the same as passing that KernelLearner explicitly
    explicit = snnconv.ConvSNN(snnconv.KernelLearner(random_state=3), on_backlog="ignore")
    np.testing.assert_array_equal(explicit.fit(X).transform(X), snn.transform(X))
    assert clone(snn).kernels is None


def test_binary_decision_function_follows_sklearn():
    X, y = sk_tiny.blob_features()
    keep = y < 2
    m = sk_tiny.colanet().fit(X[keep] + 0.0, y[keep])
    d, p, v = m.decision_function(X), m.predict_proba(X), m.votes(X)
    assert d.shape == (len(X),) and v.shape == (len(X), 2)
    np.testing.assert_allclose(d, p[:, 1] - p[:, 0])
    answered = v.max(axis=1) > 0
    np.testing.assert_array_equal((d > 0)[answered], (m.predict(X) == 1)[answered])


# ---------------------------------------------------------------------- pipelines
def _flatten(x):
    return x.reshape(len(x), -1)


def test_cross_val_score_and_grid_search_over_csnn():
    # Vertical against horizontal bars: separable (a logistic regression on the
    # front-end's counts scores 1.0). Three epochs over five copies, threshold 0.5.
    X, y = sk_tiny.bar_images(40)
    model = sk_tiny.csnn(
        classifier=snnconv.DigitalCoLaNET(microcolumns=2, n_copies=5, threshold=0.5, epochs=3)
    )
    scores = cross_val_score(model, X, y, cv=3)
    # Holds 0.714 / 0.846 / 0.923 (mean 0.828); floors about 0.02 below.
    assert scores.shape == (3,) and scores.min() >= 0.69 and scores.mean() >= 0.80
    # At threshold 50 no neuron fires, so every answer is the first class (score 0.5):
    # the grid search must keep 0.5.
    search = GridSearchCV(model, {"classifier__threshold": [0.5, 50.0]}, cv=2, n_jobs=2)
    search.fit(X, y)
    assert search.best_params_ == {"classifier__threshold": 0.5}
    good, silent = search.cv_results_["mean_test_score"]
    assert silent == 0.5 and good >= 0.80  # holds 0.825
    assert search.best_score_ == good
    assert search.predict(X).shape == (len(X),)
    assert set(search.classes_) == {0, 1}


def test_conv_snn_in_a_pipeline_with_grid_search():
    X, y = sk_tiny.bar_images(40)
    pipe = make_pipeline(
        sk_tiny.conv_snn(), FunctionTransformer(_flatten), LogisticRegression(max_iter=200)
    )
    pipe.fit(X, y)
    fitted_pred = pipe.predict(X)
    grid = {"convsnn__target_rate": [0.5, 1.0], "convsnn__kernels__n_kernels": [3, 4]}
    search = GridSearchCV(pipe, grid, cv=2, n_jobs=2).fit(X, y)  # on a fitted pipeline
    assert set(search.best_params_) == set(grid)
    assert search.best_estimator_ is not pipe
    np.testing.assert_array_equal(pipe.predict(X), fitted_pred)  # left as it was
    assert search.predict(X).shape == (len(X),)
    # flatten=True does the same without the FunctionTransformer
    flat = make_pipeline(sk_tiny.conv_snn(flatten=True), LogisticRegression(max_iter=200))
    np.testing.assert_array_equal(flat.fit(X, y).predict(X), fitted_pred)


def test_deepcopy_of_a_fitted_pipeline():
    X, y = sk_tiny.bar_images()
    pipe = make_pipeline(sk_tiny.conv_snn(flatten=True), LogisticRegression(max_iter=200))
    pipe.fit(X, y)
    np.testing.assert_array_equal(copy.deepcopy(pipe).predict_proba(X), pipe.predict_proba(X))
