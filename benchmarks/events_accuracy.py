"""Accuracy of the CSNN on an N-MNIST-layout event tree (docs/events.md).

Usage::

    python benchmarks/events_accuracy.py ROOT --phase validation
    python benchmarks/events_accuracy.py ROOT --phase test --seeds 0 1 2 \\
        --config event_input=events epochs=5

``--phase validation`` fits each configuration of the grid below on 1,500 training
samples of ROOT/Train and scores it on the other 500 (a seeded split, seed 0): the
choices. ``--phase test`` fits one configuration (``--config``) on all of ROOT/Train
once per seed and scores it once on ROOT/Test. Every run is single-threaded; one JSON
line per run is printed (and appended to ``--out`` when given).

Configuration keys: ``event_input`` ("events" or "image", the CSNN's option),
``epochs`` (CoLaNET's passes over the training set), ``bin_width_us`` (None: the
CSNN's default, the longest training stream over the front-end's active steps) and
``sensor_polarities`` (2: polarities as channels; 1: summed into one channel).
"""

from __future__ import annotations

import argparse
import ast
import json
import time

import numpy as np

from snnconv import CoLaNET, CSNNClassifier
from snnconv.csnn import CLASSIFIER_DEFAULTS
from snnconv.events import NMNIST_SENSOR, load_nmnist

#: The validation grid: the single-channel count image (the previous path) and the
#: polarity channels with events as input spikes, at one, five and eight CoLaNET
#: passes, plus the events with the polarities summed into one input channel.
GRID = [
    {"event_input": "image", "epochs": 1},
    {"event_input": "image", "epochs": 5},
    {"event_input": "events", "epochs": 1},
    {"event_input": "events", "epochs": 5},
    {"event_input": "events", "epochs": 5, "sensor_polarities": 1},
    {"event_input": "events", "epochs": 8},
]


def build(config: dict, seed: int) -> CSNNClassifier:
    sensor = (*NMNIST_SENSOR[:2], int(config.get("sensor_polarities", 2)))
    clf = CoLaNET(
        **CLASSIFIER_DEFAULTS, epochs=int(config.get("epochs", 1)), random_state=seed, n_threads=1
    )
    return CSNNClassifier(
        classifier=clf,
        random_state=seed,
        n_threads=1,
        sensor_size=sensor,
        event_input=config.get("event_input", "events"),
        bin_width_us=config.get("bin_width_us"),
    )


def run(config: dict, seed: int, train, y_train, test, y_test, phase: str) -> dict:
    t0 = time.perf_counter()
    clf = build(config, seed).fit(train, y_train)
    acc = float(clf.score(test, y_test))
    return {
        "phase": phase,
        "config": config,
        "seed": seed,
        "accuracy": acc,
        "n_train": len(y_train),
        "n_test": len(y_test),
        "kernels": list(clf.kernel_learner_.kernels_.shape),
        "bin_width_us_": getattr(clf, "bin_width_us_", None),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--phase", choices=["validation", "test"], required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--config", nargs="*", default=[], help="key=value")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    train, y_train = load_nmnist(args.root, "train")
    if args.phase == "validation":
        order = np.random.default_rng(0).permutation(len(y_train))
        fit_i, val_i = np.sort(order[:1500]), np.sort(order[1500:2000])
        splits = (
            [train[i] for i in fit_i],
            y_train[fit_i],
            [train[i] for i in val_i],
            y_train[val_i],
        )
        configs = GRID
    else:
        test, y_test = load_nmnist(args.root, "test")
        splits = (train, y_train, test, y_test)
        cfg = {}
        for kv in args.config:
            k, v = kv.split("=", 1)
            try:
                cfg[k] = ast.literal_eval(v)
            except (ValueError, SyntaxError):
                cfg[k] = v
        configs = [cfg]
    for config in configs:
        for seed in args.seeds:
            row = run(config, seed, *splits, args.phase)
            line = json.dumps(row)
            print(line, flush=True)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.write(line + "\n")


if __name__ == "__main__":
    main()
