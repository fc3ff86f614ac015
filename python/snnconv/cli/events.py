"""``snnconv events …``: write a synthetic N-MNIST tree, summarise an event tree."""

from __future__ import annotations

import argparse
import time

import numpy as np

from .log import log


def _synth(args: argparse.Namespace) -> int:
    from .._util.progress import progress_bar
    from ..datasets.sources import load_mnist5k
    from ..events.synth import write_synthetic_nmnist
    from ..experiment.validate import check_out_dir

    check_out_dir(args.out)
    images, labels = load_mnist5k()
    t0 = time.perf_counter()
    with progress_bar(not args.quiet, args.n_train + args.n_test, "saccades", "sample") as bar:

        def tick(done: int, total: int) -> None:
            bar.update(1)

        root = write_synthetic_nmnist(
            args.out,
            images,
            labels,
            n_train=args.n_train,
            n_test=args.n_test,
            seed=args.seed,
            threshold=args.threshold,
            progress=tick,
        )
    log.info(
        f"wrote {args.n_train} + {args.n_test} samples under {root} in "
        f"{time.perf_counter() - t0:.1f} s (synthetic, from MNIST 5k)"
    )
    return 0


def _info(args: argparse.Namespace) -> int:
    from ..events.nmnist import load_nmnist

    for split in ("train", "test"):
        events, labels = load_nmnist(args.root, split)
        n = np.array([len(e) for e in events])
        dur = np.array([int(e["t"].max()) if len(e) else 0 for e in events])
        print(
            f"{split}: {len(events)} samples, {len(np.unique(labels))} labels, events per "
            f"sample {n.mean():.0f} (min {n.min()}, max {n.max()}), duration "
            f"{dur.mean() / 1000:.0f} ms, ON share {_on_share(events):.3f}"
        )
    return 0


def _on_share(events: list[np.ndarray]) -> float:
    total = sum(len(e) for e in events)
    return sum(int((e["p"] > 0).sum()) for e in events) / max(total, 1)


def add_events_parser(sub: argparse._SubParsersAction) -> None:
    from ..events.synth import SYNTH_THRESHOLD

    e = sub.add_parser("events", help="event-camera data: synthetic N-MNIST, tree summaries")
    esub = e.add_subparsers(dest="events_command", required=True)
    s = esub.add_parser(
        "synth",
        help="write a synthetic N-MNIST-layout tree (MNIST 5k digits, simulated saccades "
        "and DVS pixels)",
    )
    s.add_argument("--out", required=True, help="root folder (gets Train/ and Test/)")
    s.add_argument("--n-train", type=int, default=2000, help="training samples (default 2000)")
    s.add_argument("--n-test", type=int, default=500, help="test samples (default 500)")
    s.add_argument("--seed", type=int, default=0, help="seed of the draw and the saccades")
    s.add_argument(
        "--threshold",
        type=float,
        default=SYNTH_THRESHOLD,
        help=f"DVS contrast threshold in log intensity (default {SYNTH_THRESHOLD})",
    )
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_synth)
    i = esub.add_parser("info", help="summarise an N-MNIST-layout tree")
    i.add_argument("root", help="root folder with Train/ and Test/")
    i.set_defaults(func=_info)
