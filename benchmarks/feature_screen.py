"""Screening of richer CSNN front-ends: the CSNN's accuracy and a linear read-out of the
same pooled counts, one seeded split, one thread.

Usage::

    python benchmarks/feature_screen.py SET CONFIG [--seed S] [--out results.jsonl]

``SET``: ``mnist5k`` (a seeded 4,000 / 1,000 split of the MNIST 5k sample),
``fashion10k`` (10,000 training and 5,000 test images drawn, seeded, from Fashion-MNIST's
official training and test sets), ``fashion-val`` (10,000 and 5,000 other images, both
from the official training set: for choices that must not see test images) or
``fashion`` (the official 60,000 / 10,000 split).
``CONFIG``: one of :data:`CONFIGS` (changes to the CSNN's defaults), one
of :data:`SCALES` (each kernel size its own front-end with its own positions, counts side
by side), ``padded`` / ``padded_pk`` (the sizes of ``--sizes`` learned apart and centred in
zeros at the largest, one front-end with one scale / one scale per kernel: what
``KernelLearner(scales=...)`` builds), or ``layer2``:
a second convolutional layer learned by the same local rule (docs/algorithms.md §1.5) on
the first layer's pooled count maps (first layer pooled 1 × 1, its counts scaled to
[0, 1] by their largest training value), run as a second spiking front-end (3 × 3
kernels, stride 1, sum pooling 2 × 2), the classifier reading the first layer's counts
pooled 2 × 2 and the second layer's counts side by side. The second layer re-encodes
the first layer's counts with the accumulator code (a screen of the features, not of
a spike-exact link between the layers).

The read-out is scikit-learn's ``LogisticRegression(C=0.05)`` on standardised counts: an
upper bound of what a trained linear classifier takes from the same features (the
classifier the CSNN ships, CoLaNET, learns locally and online). Each line printed (and
appended to ``--out``) is one JSON record: accuracies, kept kernels, feature count, fit
time and inference time per image.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

import snnconv
from snnconv.csnn import CLASSIFIER_DEFAULTS
from snnconv.streaming import pooled_counts

#: Changes to one-size stages (the learner's and front-end's own defaults, the CSNN's
#: classifier defaults): learner / front-end / classifier parameters, so the screen's
#: rows stay those of docs/results.md. ``two_sizes`` is the recipe of "Richer features"
#: there: 9 × 9 and 5 × 5 kernels, one scale per kernel, 1.78 spikes per count (with
#: ``--clf drive_per_feature=1.4``, the CSNN's defaults).
CONFIGS: dict[str, dict[str, dict[str, Any]]] = {
    "default": {},
    "two_sizes": {
        "learner": {"scales": (5,)},
        "front": {"scale_per_kernel": True},
        "clf": {"drive_per_feature": 1.78},
    },
    "on_off": {"learner": {"channels": "on_off"}},
    "on_off_image": {"learner": {"channels": "on_off_image"}},
    "stride1_pool4": {"learner": {"stride": 1}, "front": {"pool": 4}},
    "pool1": {"front": {"pool": 1}},
    "k7": {"learner": {"kernel_size": 7}},
    "n56": {"learner": {"n_kernels": 56}},
    "keep_all": {"learner": {"keep_only_fired": False}},
    "epochs2": {"clf": {"epochs": 2}},
    "stride1_pool4_epochs2": {"learner": {"stride": 1}, "front": {"pool": 4}, "clf": {"epochs": 2}},
}

#: Several kernel scales, each learned with the §1 rule on the same images and run as its
#: own front-end; the classifier reads their pooled counts side by side.
#: Each scale: (kernel_size, stride, pool).
SCALES: dict[str, list[tuple[int, int, int]]] = {
    "scales_5_9": [(5, 2, 2), (9, 2, 2)],
    "scales_5_9_13": [(5, 2, 2), (9, 2, 2), (13, 2, 2)],
    "scales_5_9_s1p4": [(5, 1, 4), (9, 1, 4)],
}


def load(name: str, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    if name == "mnist5k":
        from snnconv.datasets import load_mnist5k

        x, y = load_mnist5k()
        o = rng.permutation(len(x))
        x, y = x[o], y[o]
        return x[:4000], y[:4000], x[4000:], y[4000:]
    from snnconv.datasets import load_fashion_mnist

    xtr, ytr = load_fashion_mnist(split="train")
    xte, yte = load_fashion_mnist(split="test")
    if name == "fashion":
        return np.asarray(xtr), ytr, np.asarray(xte), yte
    if name == "fashion10k":
        i = rng.choice(len(xtr), 10000, replace=False)
        j = rng.choice(len(xte), 5000, replace=False)
        return np.asarray(xtr[i]), ytr[i], np.asarray(xte[j]), yte[j]
    if name == "fashion-val":  # training images only: 10,000 to fit, 5,000 others to score
        o = rng.permutation(len(xtr))[:15000]
        i, j = o[:10000], o[10000:]
        return np.asarray(xtr[i]), ytr[i], np.asarray(xtr[j]), ytr[j]
    raise SystemExit(f"unknown set {name!r}")


def linear_readout(ftr: np.ndarray, ytr: np.ndarray, fte: np.ndarray, yte: np.ndarray) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    ftr = ftr.reshape(len(ftr), -1).astype(np.float64)
    fte = fte.reshape(len(fte), -1).astype(np.float64)
    sc = StandardScaler().fit(ftr)
    lr = LogisticRegression(C=0.05, max_iter=1000).fit(sc.transform(ftr), ytr)
    return float(lr.score(sc.transform(fte), yte))


def screen_config(cfg: dict[str, dict[str, Any]], data: tuple, seed: int) -> dict[str, Any]:
    xtr, ytr, xte, yte = data
    t0 = time.perf_counter()
    learner = {"random_state": seed, **cfg.get("learner", {})}
    front = {"on_backlog": "ignore", **cfg.get("front", {})}
    model = snnconv.CSNNClassifier(
        kernel_learner=snnconv.KernelLearner(**learner),
        front_end=snnconv.ConvSNN(None, **front),
        classifier=snnconv.CoLaNET(
            **{**CLASSIFIER_DEFAULTS, "random_state": seed, **cfg.get("clf", {})}
        ),
        random_state=seed,
    ).fit(xtr, ytr)
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    acc = model.score(xte, yte)
    pred_ms = 1000 * (time.perf_counter() - t1) / len(xte)
    ftr = pooled_counts(model.front_end_, xtr)[0]
    fte = pooled_counts(model.front_end_, xte)[0]
    return {
        "csnn": acc,
        "linear": linear_readout(ftr, ytr, fte, yte),
        "kept_kernels": int(model.kernel_learner_.kernels_.shape[0]),
        "features": int(ftr[0].size),
        "fit_s": fit_s,
        "pred_ms": pred_ms,
    }


def _pool(c: np.ndarray, p: int) -> np.ndarray:
    n, ch, h, w = c.shape
    c = c[:, :, : h // p * p, : w // p * p]
    return c.reshape(n, ch, h // p, p, w // p, p).sum(axis=(3, 5))


def screen_layer2(data: tuple, seed: int) -> dict[str, Any]:
    xtr, ytr, xte, yte = data
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    l1 = snnconv.KernelLearner(random_state=seed).fit(xtr)
    cal = np.sort(rng.choice(len(xtr), 100, replace=False))
    s1 = snnconv.ConvSNN(l1, pool=1, on_backlog="ignore").fit(xtr[cal])
    c1tr, c1te = s1.run(xtr).pooled.astype(np.float64), s1.run(xte).pooled.astype(np.float64)
    top = max(float(c1tr.max()), 1.0)
    mtr, mte = np.clip(c1tr / top, 0, 1), np.clip(c1te / top, 0, 1)
    l2 = snnconv.KernelLearner(
        kernel_size=3, stride=1, random_state=seed, saturation_quantile=None
    ).fit(mtr)
    s2 = snnconv.ConvSNN(l2, stride=1, pool=2, on_backlog="ignore", saturation_quantile=None)
    s2.fit(mtr[np.sort(rng.choice(len(xtr), 100, replace=False))])
    c2tr, c2te = s2.run(mtr).pooled, s2.run(mte).pooled
    ftr = np.concatenate([_pool(c1tr, 2).reshape(len(xtr), -1), c2tr.reshape(len(xtr), -1)], 1)
    fte = np.concatenate([_pool(c1te, 2).reshape(len(xte), -1), c2te.reshape(len(xte), -1)], 1)
    clf = snnconv.CoLaNET(**{**CLASSIFIER_DEFAULTS, "random_state": seed})
    clf.fit(ftr.astype(np.uint16), ytr)
    fit_s = time.perf_counter() - t0
    return {
        "csnn": float(clf.score(fte.astype(np.uint16), yte)),
        "linear": linear_readout(ftr, ytr, fte, yte),
        "kept_kernels": [int(l1.kernels_.shape[0]), int(l2.kernels_.shape[0])],
        "features": int(ftr.shape[1]),
        "fit_s": fit_s,
    }


def screen_scales(
    scales: list[tuple[int, int, int]], data: tuple, seed: int, clf: dict[str, Any]
) -> dict[str, Any]:
    xtr, ytr, xte, yte = data
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    ftr, fte, kept = [], [], []
    for k, stride, pool in scales:
        lr = snnconv.KernelLearner(kernel_size=k, stride=stride, random_state=seed).fit(xtr)
        cal = np.sort(rng.choice(len(xtr), 100, replace=False))
        snn = snnconv.ConvSNN(lr, stride=stride, pool=pool, on_backlog="ignore").fit(xtr[cal])
        ftr.append(snn.run(xtr).pooled.reshape(len(xtr), -1))
        fte.append(snn.run(xte).pooled.reshape(len(xte), -1))
        kept.append(int(lr.kernels_.shape[0]))
    a, b = np.concatenate(ftr, 1), np.concatenate(fte, 1)
    model = snnconv.CoLaNET(**{**CLASSIFIER_DEFAULTS, "random_state": seed, **clf}).fit(a, ytr)
    fit_s = time.perf_counter() - t0
    return {
        "csnn": float(model.score(b, yte)),
        "linear": linear_readout(a, ytr, b, yte),
        "kept_kernels": kept,
        "features": int(a.shape[1]),
        "fit_s": fit_s,
    }


def screen_padded(
    sizes: list[int], data: tuple, seed: int, clf: dict[str, Any], per_kernel: bool
) -> dict[str, Any]:
    """Kernels of several sizes learned apart (stride 2), the smaller ones centred in
    zeros at the largest size, run as one front-end (stride 2, pool 2)."""
    xtr, ytr, xte, yte = data
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    big = max(sizes)
    banks, kept = [], []
    for k in sizes:
        kr = snnconv.KernelLearner(kernel_size=k, random_state=seed).fit(xtr).kernels_
        o = (big - k) // 2
        pad = np.zeros((kr.shape[0], big, big), kr.dtype)
        pad[:, o : o + k, o : o + k] = kr
        banks.append(pad)
        kept.append(int(kr.shape[0]))
    cal = np.sort(rng.choice(len(xtr), 100, replace=False))
    snn = snnconv.ConvSNN(
        np.concatenate(banks), on_backlog="ignore", scale_per_kernel=per_kernel
    ).fit(xtr[cal])
    a = snn.run(xtr).pooled.reshape(len(xtr), -1)
    b = snn.run(xte).pooled.reshape(len(xte), -1)
    model = snnconv.CoLaNET(**{**CLASSIFIER_DEFAULTS, "random_state": seed, **clf}).fit(a, ytr)
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    acc = float(model.score(b, yte))
    return {
        "csnn": acc,
        "linear": linear_readout(a, ytr, b, yte),
        "kept_kernels": kept,
        "features": int(a.shape[1]),
        "fit_s": fit_s,
        "pred_clf_ms": 1000 * (time.perf_counter() - t1) / len(xte),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("set", choices=["mnist5k", "fashion10k", "fashion-val", "fashion"])
    ap.add_argument("config", choices=[*CONFIGS, *SCALES, "padded", "padded_pk", "layer2"])
    ap.add_argument("--sizes", type=int, nargs="*", default=[5, 9])
    ap.add_argument("--clf", nargs="*", default=[], help="classifier overrides, name=value")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    data = load(a.set, a.seed)
    clf = {k: json.loads(v) for k, v in (x.split("=", 1) for x in a.clf)}
    if a.config.startswith("padded"):
        res = screen_padded(a.sizes, data, a.seed, clf, a.config == "padded_pk")
        res["sizes"] = a.sizes
    elif a.config in SCALES:
        res = screen_scales(SCALES[a.config], data, a.seed, clf)
    elif a.config == "layer2":
        res = screen_layer2(data, a.seed)
    else:
        cfg = CONFIGS[a.config]
        res = screen_config({**cfg, "clf": {**cfg.get("clf", {}), **clf}}, data, a.seed)
    rec = {"set": a.set, "config": a.config, "clf": clf, "seed": a.seed, **res}
    print(json.dumps(rec), flush=True)
    if a.out:
        with open(a.out, "a") as f:
            f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
