"""Domain-incremental ablation of CoLaNET: Permuted MNIST-5k on a validation split.

The training images of the stream ``snnconv continual --scenario permuted`` makes
(4,000 of MNIST 5k for a seed) are split again, stratified and seeded, into 3,200
to learn from and 800 to validate on; the test images are never touched. For each
setting and seed CoLaNET learns the ``--tasks`` permuted tasks one after the other
(one ``partial_fit`` each, task 0 the identity) and is scored on each task's
validation images right after learning it, on task 0 after every task, and on every
task at the end.

Usage::

    python benchmarks/continual_permuted.py "" "microcolumns=40" ... [--seeds 0 1 2]
        [--tasks 10] [--dataset mnist5k] [--test] [--trace]

Each argument is one setting (CoLaNET parameters, comma-separated; "" = defaults).
Prints one line per setting, mean ± std over the seeds: the lowest and the mean
accuracy right after learning, task 0 right after learning and at the end, its loss,
the average accuracy at the end. ``--test`` scores the stream's real test split
instead of the validation split (only for a setting already chosen).

``--trace`` prints, per task, what happened to the microcolumns of task 0 — the
neurons rewarded while task 0 was learned: the mean number of microcolumns in use
per column, how many task-0 neurons were forced (recruited for the new task) or
rewarded during it, and how much of their prototype is left (cosine between each
task-0 neuron's positive weights now and right after task 0, averaged).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

# the same "k=v,k=v" parser as the ablation script (run from benchmarks/, its folder)
from continual_ablation import _params

from snnconv import CoLaNET
from snnconv.continual import make_stream
from snnconv.continual.scenarios import train_test_indices
from snnconv.datasets.registry import load_dataset


def validation_stream(data, seed: int, n_tasks: int, test: bool = False):
    """The permuted stream on the training images only, 20 % of them (stratified,
    seeded) standing in for the test images; with ``test`` the stream itself."""
    images, labels, mask = data.images, np.asarray(data.labels), data.test_mask
    if test:
        return make_stream("permuted", images, labels, n_tasks=n_tasks, test_mask=mask, seed=seed)
    train, _ = train_test_indices(labels, mask, 0.2, seed)
    x, y = images[train], labels[train]
    _, val = train_test_indices(y, None, 0.2, seed + 1000)
    held = np.zeros(y.size, bool)
    held[val] = True
    return make_stream("permuted", x, y, n_tasks=n_tasks, test_mask=held, seed=seed)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    num = (a * b).sum(-1)
    den = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def one(data, params: dict, seed: int, n_tasks: int, test: bool, trace: bool) -> np.ndarray:
    s = validation_stream(data, seed, n_tasks, test)
    flat = []
    for t in s.tasks:
        (x, y), (xt, yt) = t.train(), t.test()
        flat.append(((x.reshape(len(x), -1), y), (xt.reshape(len(xt), -1), yt)))
    m = CoLaNET(random_state=seed, n_threads=1, **params)
    diag, t0 = [], []
    before = None
    for i, ((x, y), (xt, yt)) in enumerate(flat):
        c0 = None if before is None else {k: v.copy() for k, v in m.firing_counts_.items()}
        m.partial_fit(x, y, classes=s.classes)
        diag.append(m.score(xt, yt))
        t0.append(m.score(*flat[0][1]))
        if trace:
            fc = m.firing_counts_
            if i == 0:
                before = fc["rewarded"] > 0
                w0 = np.maximum(m.weights_, 0)
                print(
                    f"    task 0: microcolumns in use per column {m.usage_.mean():.1f}; "
                    f"task-0 neurons {before.sum(axis=2).mean():.1f} per column; "
                    f"acc {100 * diag[-1]:.1f}",
                    flush=True,
                )
            else:
                forced = (fc["forced"] - c0["forced"] > 0) & before
                rewarded = (fc["rewarded"] - c0["rewarded"] > 0) & before
                cos = _cos(np.maximum(m.weights_, 0), w0)[before]
                print(
                    f"    task {i}: in use {m.usage_.mean():.1f}; of the task-0 neurons "
                    f"{100 * forced.sum() / before.sum():.0f} % forced, "
                    f"{100 * rewarded.sum() / before.sum():.0f} % rewarded in this task; "
                    f"cosine to their task-0 prototype {cos.mean():.2f} "
                    f"(< 0.5: {100 * (cos < 0.5).mean():.0f} %); "
                    f"acc {100 * diag[-1]:.1f}, task 0 {100 * t0[-1]:.1f}",
                    flush=True,
                )
    final = [m.score(xt, yt) for _, (xt, yt) in flat]
    d = np.array(diag)
    return 100 * np.array([d.min(), d.mean(), d[0], final[0], d[0] - final[0], np.mean(final)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("settings", nargs="*", default=[""])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--tasks", type=int, default=10)
    ap.add_argument("--dataset", default="mnist5k")
    ap.add_argument("--test", action="store_true", help="score the test split (not validation)")
    ap.add_argument("--trace", action="store_true", help="what happens to task 0's neurons")
    args = ap.parse_args()
    data = load_dataset(args.dataset)
    for text in args.settings:
        t0 = time.perf_counter()
        res = np.array(
            [one(data, _params(text), s, args.tasks, args.test, args.trace) for s in args.seeds]
        )
        m, sd = res.mean(0), res.std(0)
        f = [f"{a:.1f} ± {b:.1f}" for a, b in zip(m, sd, strict=True)]
        print(
            f"{text or 'defaults':40s} after learning: min {f[0]}, mean {f[1]}; "
            f"task 0 {f[2]} -> {f[3]}, lost {f[4]}; average at the end {f[5]}  "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
