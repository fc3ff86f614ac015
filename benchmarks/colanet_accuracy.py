"""Accuracy of CoLaNET / DigitalCoLaNET on the MNIST 5k sample (raw pixels), k folds.

Usage::

    python benchmarks/colanet_accuracy.py spiking [--folds 5] [--split] [param=value ...]
    python benchmarks/colanet_accuracy.py digital tau_v=None stochastic=0 n_copies=1
    python benchmarks/colanet_accuracy.py spiking --features kernels

``--features kernels`` learns a KernelLearner (default settings) on each training fold
and feeds CoLaNET the sum-pooled (2×2) ReLU maps of ``snnconv.experiment.probe`` — the rate picture
of the spiking front-end, standing in for it until the front-end is merged.

``--split`` uses the single seeded 4,000 / 1,000 split of the tests instead of
stratified folds. ``--dataset fashion-mnist`` reads Debian's ``dataset-fashion-mnist``
(``/usr/share/datasets/fashion-mnist``) and uses its official 60,000 / 10,000 split.
Prints mean ± std accuracy, abstention rate (no copy answered), microcolumns recruited
per column, neuron count and wall time.
"""

from __future__ import annotations

import argparse
import ast
import time

import numpy as np

from snnconv import CoLaNET, DigitalCoLaNET
from snnconv.datasets import load_mnist5k


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["spiking", "digital"])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--split", action="store_true")
    ap.add_argument("--features", choices=["pixels", "kernels"], default="pixels")
    ap.add_argument("--dataset", choices=["mnist5k", "fashion-mnist"], default="mnist5k")
    ap.add_argument("params", nargs="*", help="hyperparameters as name=value")
    args = ap.parse_intermixed_args()
    kw = {}
    for item in args.params:
        k, _, v = item.partition("=")
        kw[k] = ast.literal_eval(v)
    cls = CoLaNET if args.model == "spiking" else DigitalCoLaNET
    if args.dataset == "fashion-mnist":
        images, labels, n_train = _fashion()
        X = images.reshape(labels.size, -1)
        splits = [(np.arange(n_train), np.arange(n_train, labels.size))]
    else:
        images, labels = load_mnist5k()
        X = images.reshape(labels.size, -1)
    if args.dataset == "fashion-mnist":
        pass
    elif args.split:
        order = np.random.default_rng(0).permutation(labels.size)
        splits = [(order[:4000], order[4000:])]
    else:
        from sklearn.model_selection import StratifiedKFold

        skf = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=0)
        splits = list(skf.split(X, labels))
    accs, abst, usage, times = [], [], [], []
    for tr, te in splits:
        t0 = time.perf_counter()
        if args.features == "kernels":
            from snnconv import KernelLearner
            from snnconv.experiment.probe import relu_pool_features

            kl = KernelLearner(random_state=0).fit(images[tr])
            feats = relu_pool_features(kl.transform(images), 2)
            m = cls(**kw)
        else:
            feats = X
            m = cls(**{"input_max": 255, **kw})
        m.fit(feats[tr], labels[tr])
        v = m.decision_function(feats[te])
        times.append(time.perf_counter() - t0)
        pred = m.classes_[np.argmax(v, axis=1)]
        pred[v.max(axis=1) <= 0] = m.fallback_class_
        accs.append(np.mean(pred == labels[te]))
        abst.append(np.mean(v.max(axis=1) <= 0))
        usage.append(m.usage_.mean())
    c = m.classes_.size
    neurons = m.n_copies * c * (m.microcolumns + 2)
    print(
        f"{args.model} {args.features} {kw}: "
        f"accuracy {100 * np.mean(accs):.2f} ± {100 * np.std(accs):.2f} % "
        f"over {len(splits)} split(s); no answer {100 * np.mean(abst):.1f} %; "
        f"microcolumns used per column {np.mean(usage):.1f} of {m.microcolumns}; "
        f"{neurons} neurons; {np.mean(times):.1f} s per fit+predict"
    )


def _fashion(root: str = "/usr/share/datasets/fashion-mnist") -> tuple:
    """Train + test images and labels of the IDX files, concatenated; and n_train."""
    import gzip
    from pathlib import Path

    def idx(name: str, offset: int) -> np.ndarray:
        with gzip.open(Path(root) / name, "rb") as fh:
            return np.frombuffer(fh.read(), np.uint8, offset=offset)

    tr = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    te = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    ytr = idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    yte = idx("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64)
    return np.concatenate([tr, te]), np.concatenate([ytr, yte]), tr.shape[0]


if __name__ == "__main__":
    main()
