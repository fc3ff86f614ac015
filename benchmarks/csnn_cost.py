"""Training and inference cost of one CSNN on full Fashion-MNIST: one fit on the 60,000
training images and one score of the 10,000 test images, with the CPU time of each.

Usage::

    python benchmarks/csnn_cost.py [--threads 1] [--two-sizes] [--clf name=value ...]

``--two-sizes`` learns kernels at 9 × 9 and 5 × 5 (``KernelLearner(scales=(5,))``) with
one scale per kernel, as the CSNN's defaults do (with ``--clf drive_per_feature=1.4``,
exactly them); without it, one kernel size and one scale for the layer (the former
defaults); ``--clf`` overrides the CSNN's classifier parameters (e.g.
``drive_per_feature=1.4 n_copies=12``). To compare with another version of the package,
run the same command with ``PYTHONPATH`` pointing at its ``python`` folder, in the same
session: the limits of docs/results.md are ratios to the defaults measured so.
Prints one JSON record.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import snnconv
from snnconv.csnn import CLASSIFIER_DEFAULTS
from snnconv.datasets import load_fashion_mnist


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--two-sizes", action="store_true")
    ap.add_argument("--clf", nargs="*", default=[], help="classifier overrides, name=value")
    a = ap.parse_args()
    clf_params = {k: json.loads(v) for k, v in (x.split("=", 1) for x in a.clf)}
    xtr, ytr = load_fashion_mnist(split="train")
    xte, yte = load_fashion_mnist(split="test")
    xtr, xte = np.asarray(xtr), np.asarray(xte)
    common = {"random_state": 0, "n_threads": a.threads}
    model = snnconv.CSNNClassifier(
        kernel_learner=snnconv.KernelLearner(scales=(5,) if a.two_sizes else (), **common),
        front_end=snnconv.ConvSNN(on_backlog="ignore", scale_per_kernel=a.two_sizes, **common),
        classifier=snnconv.CoLaNET(**{**CLASSIFIER_DEFAULTS, **clf_params}, **common),
        **common,
    )
    w0, c0 = time.perf_counter(), time.process_time()
    model.fit(xtr, ytr)
    w1, c1 = time.perf_counter(), time.process_time()
    acc = model.score(xte, yte)
    w2, c2 = time.perf_counter(), time.process_time()
    rec = {
        "package": snnconv.__file__,
        "two_sizes": a.two_sizes,
        "classifier": clf_params,
        "threads": a.threads,
        "accuracy": acc,
        "kernels": int(model.kernel_learner_.kernels_.shape[0]),
        "fit_cpu_s": c1 - c0,
        "fit_wall_s": w1 - w0,
        "score_cpu_ms_per_image": 1000 * (c2 - c1) / len(xte),
        "score_wall_ms_per_image": 1000 * (w2 - w1) / len(xte),
        "stages_wall_s": model.timings_,
    }
    print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
