"""Class-incremental ablation of CoLaNET on MNIST 5k: for each setting, the final
accuracy of Split MNIST (5 tasks of 2 classes, natural order, one ``partial_fit`` per
task, all classes declared at the first call) beside a joint fit on the same 4,000
training images, both tested on the same 1,000.

Usage::

    python benchmarks/continual_ablation.py "" "threshold_excess=0.7,reward=1.0" ...
        [--seeds 0 1 2] [--dataset fashion-mnist]

Each argument is one setting (CoLaNET parameters, comma-separated; "" = defaults).
Prints one line per setting: joint and class-incremental accuracy, mean ± std over
the seeds (each seed its own stratified split and CoLaNET seed), and the wall time.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from setting_text import parse_settings

from snnconv import CoLaNET
from snnconv.continual import make_stream
from snnconv.datasets.registry import load_dataset


def _one(data, params: dict, seed: int, limit: int | None) -> tuple[float, float]:
    images, labels, mask = data.images, data.labels, data.test_mask
    if limit:
        keep = np.sort(np.random.default_rng(seed).permutation(len(labels))[:limit])
        images, labels, mask = images[keep], labels[keep], None if mask is None else mask[keep]
    s = make_stream("split", images, labels, class_order="natural", test_mask=mask, seed=seed)
    flat = [(t.train(), t.test()) for t in s.tasks]
    x_tr = np.concatenate([a[0][0] for a in flat]).reshape(-1, images[0].size)
    y_tr = np.concatenate([a[0][1] for a in flat])
    x_te = np.concatenate([a[1][0] for a in flat]).reshape(-1, images[0].size)
    y_te = np.concatenate([a[1][1] for a in flat])
    joint = CoLaNET(random_state=seed, **params).fit(x_tr, y_tr).score(x_te, y_te)
    m = CoLaNET(random_state=seed, **params)
    for (x, y), _ in flat:
        m.partial_fit(x.reshape(len(x), -1), y, classes=s.classes)
    return joint, m.score(x_te, y_te)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("settings", nargs="*", default=[""])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--dataset", default="mnist5k")
    ap.add_argument("--limit", type=int, help="a seeded subset of this many images")
    args = ap.parse_args()
    data = load_dataset(args.dataset)
    for text in args.settings:
        t0 = time.perf_counter()
        res = np.array([_one(data, parse_settings(text), s, args.limit) for s in args.seeds]) * 100
        m, sd = res.mean(0), res.std(0)
        print(
            f"{text or 'defaults':45s} joint {m[0]:.1f} ± {sd[0]:.1f}  "
            f"class-incremental {m[1]:.1f} ± {sd[1]:.1f}  ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
