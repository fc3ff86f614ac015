"""A plain numpy transcription of docs/algorithms.md §1, used only by the tests.

Written for clarity, not speed: it is the yardstick the Rust learner must match.
Tie-breaking is not reproduced (tests that use it avoid exact ties).

Images are (H, W) for one channel or (C, H, W) for several (§1.5); kernels and
resources are then (n, K, K) or (n, C, K, K), and one tile is all C·K² cells.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def weight(resource: np.ndarray, w_min: float, w_max: float) -> np.ndarray:
    r = np.maximum(resource, 0.0)
    span = w_max - w_min
    return w_min + span * r / (span + r)


def zero_weight_resource(w_min: float, w_max: float) -> float:
    return -w_min * (w_max - w_min) / w_max


def saturate(g: np.ndarray, saturation_quantile: float | None) -> np.ndarray:
    """Per-image rescaling so the (1 - q) quantile pixel maps to 1, then clip."""
    if saturation_quantile is None:
        return g
    v = np.quantile(g, 1.0 - saturation_quantile, method="inverted_cdf")
    if v <= 0:
        positive = g[g > 0]
        if positive.size == 0:
            return g
        v = positive.min()
    return np.minimum(g / v, 1.0)


def conv(g: np.ndarray, w: np.ndarray, stride: int) -> np.ndarray:
    """Valid cross-correlation; with channels, summed over them too."""
    k = w.shape[-1]
    if g.ndim == 3:
        windows = sliding_window_view(g, (k, k), axis=(1, 2))[:, ::stride, ::stride]
        return np.einsum("acij,cpqij->apq", w, windows)
    windows = sliding_window_view(g, (k, k))[::stride, ::stride]
    return np.einsum("aij,pqij->apq", w, windows)


def fit(images, k, n_kernels, stride, w_min, w_max, lr, b, initial_resource=None):
    """Returns (weights, resource, fired) after one pass over ``images`` in order."""
    channels = () if np.ndim(images[0]) == 2 else (np.shape(images[0])[0],)
    if initial_resource is None:
        resource = np.full((n_kernels, *channels, k, k), zero_weight_resource(w_min, w_max))
        w = np.zeros_like(resource)
    else:
        resource = np.array(initial_resource, dtype=float)
        w = weight(resource, w_min, w_max)
    fired = np.zeros(n_kernels, dtype=bool)
    cells = int(np.prod(channels, dtype=int)) * k * k
    for g in images:
        c = conv(g, w, stride)
        free = c.copy()
        updated: set[int] = set()
        first = True
        while True:
            idx = int(np.argmax(free))
            best = free.flat[idx]
            if best == -np.inf or (not first and best < 0):
                break
            first = False
            a, p, q = np.unravel_index(idx, free.shape)
            if a not in updated:
                updated.add(a)
                tile = g[..., p * stride : p * stride + k, q * stride : q * stride + k].ravel()
                res = resource[a].reshape(-1)
                if best < 1:
                    bright = tile > b
                    n_b = int(bright.sum())
                    if 0 < n_b < cells:
                        res[bright] += lr
                        res[~bright] -= lr * n_b / (cells - n_b)
                else:
                    fired[a] = True
                    w_old = w[a].reshape(-1).copy()
                    order = np.argsort(-tile, kind="stable")
                    potential, n_b, i, reached = 0.0, 0, 0, False
                    while i < cells:
                        v = tile[order[i]]
                        while i < cells and tile[order[i]] == v:
                            potential += v * w_old[order[i]]
                            res[order[i]] += lr
                            n_b += 1
                            i += 1
                        if potential >= 1:
                            reached = True
                            break
                    if reached and n_b < cells:
                        res[order[n_b:]] -= lr * n_b / (cells - n_b)
                w[a] = weight(resource[a], w_min, w_max)
            free[:, p, q] = -np.inf
            if len(updated) == n_kernels:
                break
    return w, resource, fired


def fit_raw(raw, k, n_kernels, stride, w_min, w_max, saturation_quantile=0.03, bq=0.25):
    """The whole of ``KernelLearner.fit`` with default options on uint8 images, in
    order: preprocessing, the brightness threshold B (quantile of all preprocessed
    pixels), l = 3 / |G|, then one pass of ``fit``."""
    pre = np.stack([saturate(g / 255.0, saturation_quantile) for g in raw])
    b = float(np.quantile(pre, 1.0 - bq, method="inverted_cdf"))
    return fit(pre, k, n_kernels, stride, w_min, w_max, 3.0 / len(raw), b)
