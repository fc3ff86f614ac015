"""Class-incremental CSNN on MNIST 5k, validated on training images only: Split MNIST
(5 tasks of 2 classes, natural order, one ``partial_fit`` per task, the front-end
learned on the first task) beside a joint fit, for several classifier settings.

Usage::

    python benchmarks/csnn_incremental.py "" "threshold_excess=0.4" ...
        [--two-sizes] [--seeds 0 1 2] [--test]

Each argument is one setting (CoLaNET parameters over the CSNN's classifier defaults,
comma-separated; "" = the defaults). ``--two-sizes`` learns kernels at 9 × 9 and
5 × 5 with a scale per kernel (``KernelLearner(scales=(5,))``,
``ConvSNN(scale_per_kernel=True)``).

Without ``--test`` the stream is built from the training images of the stream that
``snnconv continual --dataset mnist5k --scenario split`` makes with the same seed, split
again 80 / 20 per class: settings are chosen on these validation images, and the test
images are never read. ``--test`` runs the same on the stream's own train / test split
(once per setting that was chosen). ``--first-task-kernels`` gives the joint fit the
kernels the stream has (learned on the first task's images only), to tell the kernels'
share of the gap from the classifier's. Prints one line per setting: joint and
class-incremental accuracy, mean ± std over the seeds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from setting_text import parse_settings

import snnconv
from snnconv.continual import make_stream
from snnconv.csnn import CLASSIFIER_DEFAULTS
from snnconv.datasets.registry import load_dataset


def _model(
    params: dict, two_sizes: bool, seed: int, kernels: snnconv.KernelLearner | None = None
) -> snnconv.CSNNClassifier:
    common = {"random_state": seed, "n_threads": 1}
    return snnconv.CSNNClassifier(
        kernel_learner=kernels or snnconv.KernelLearner(scales=(5,) if two_sizes else (), **common),
        front_end=snnconv.ConvSNN(None, on_backlog="ignore", scale_per_kernel=two_sizes, **common),
        classifier=snnconv.CoLaNET(**{**CLASSIFIER_DEFAULTS, **params}, **common),
        **common,
    )


def _one(
    data, params: dict, two_sizes: bool, seed: int, test: bool, first_kernels: bool
) -> tuple[float, float]:
    images, labels = data.images, data.labels
    outer = make_stream(
        "split", images, labels, class_order="natural", test_mask=data.test_mask, seed=seed
    )
    if test:
        s = outer
    else:  # the outer stream's training images only, split again
        parts = [t.train() for t in outer.tasks]
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        s = make_stream("split", x, y, class_order="natural", seed=seed + 1000)
    flat = [(t.train(), t.test()) for t in s.tasks]
    x_tr = np.concatenate([a[0][0] for a in flat])
    y_tr = np.concatenate([a[0][1] for a in flat])
    x_te = np.concatenate([a[1][0] for a in flat])
    y_te = np.concatenate([a[1][1] for a in flat])
    kernels = None
    if first_kernels:  # the kernels the stream learns: the first task's images only
        kernels = snnconv.KernelLearner(
            scales=(5,) if two_sizes else (), random_state=seed, n_threads=1
        ).fit(flat[0][0][0])
    joint = _model(params, two_sizes, seed, kernels).fit(x_tr, y_tr).score(x_te, y_te)
    m = _model(params, two_sizes, seed)
    for (x, y), _ in flat:
        m.partial_fit(x, y, classes=s.classes)
    return joint, m.score(x_te, y_te)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("settings", nargs="*", default=[""])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--two-sizes", action="store_true")
    ap.add_argument("--test", action="store_true", help="the stream's test images")
    ap.add_argument(
        "--first-task-kernels",
        action="store_true",
        help="the joint fit uses the kernels learned on the first task's images, as the stream",
    )
    args = ap.parse_args()
    data = load_dataset("mnist5k")
    for text in args.settings:
        t0 = time.perf_counter()
        params = parse_settings(text)
        res = np.array(
            [
                _one(data, params, args.two_sizes, s, args.test, args.first_task_kernels)
                for s in args.seeds
            ]
        )
        m, sd = 100 * res.mean(0), 100 * res.std(0)
        print(
            f"{'two sizes' if args.two_sizes else 'one size'} {text or 'defaults':30s} "
            f"{'test' if args.test else 'validation'}: joint {m[0]:.1f} ± {sd[0]:.1f}  "
            f"class-incremental {m[1]:.1f} ± {sd[1]:.1f}  gap {m[0] - m[1]:.1f}  "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
