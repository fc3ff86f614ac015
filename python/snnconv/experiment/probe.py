"""Feature probe: how linearly separable are the classes in a kernel bank's maps?

Features are ReLU(conv) sum-pooled over non-overlapping pool×pool blocks (the
spiking front-end's rate picture), classified by logistic regression (extra
``data``). Used by ``snnconv kernels`` and the tests to judge a kernel set.
"""

from __future__ import annotations

import numpy as np

from .._util.extras import require


def sum_pool(maps: np.ndarray, pool: int) -> np.ndarray:
    """Sums non-overlapping pool×pool blocks of (N, C, P, Q) maps (edge rows dropped)."""
    n, c, p, q = maps.shape
    pp, qq = p // pool, q // pool
    blocks = maps[:, :, : pp * pool, : qq * pool].reshape(n, c, pp, pool, qq, pool)
    return blocks.sum(axis=(3, 5))


def relu_pool_features(maps: np.ndarray, pool: int = 2) -> np.ndarray:
    """Flattened sum-pooled ReLU maps, one row per image."""
    pooled = sum_pool(np.maximum(maps, 0.0), pool)
    return pooled.reshape(pooled.shape[0], -1)


def fit_probe(features: np.ndarray, labels: np.ndarray):
    """A standardised logistic regression fitted on the features (extra ``data``)."""
    lm = require("sklearn.linear_model", "the feature probe")
    pipe = require("sklearn.pipeline", "the feature probe")
    pre = require("sklearn.preprocessing", "the feature probe")
    model = pipe.make_pipeline(pre.StandardScaler(), lm.LogisticRegression(max_iter=3000))
    return model.fit(features, labels)


def probe_accuracy(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    test_features: np.ndarray,
    test_labels: np.ndarray,
) -> float:
    """Held-out accuracy of :func:`fit_probe` on the features."""
    return float(fit_probe(train_features, train_labels).score(test_features, test_labels))
