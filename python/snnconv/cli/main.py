"""The ``snnconv`` command line."""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def _kernels(args: argparse.Namespace) -> int:
    from ..datasets.registry import load
    from ..experiment.probe import probe_accuracy, relu_pool_features
    from ..kernel_learner import KernelLearner

    images, labels = load(args.dataset, *args.dataset_args)
    order = np.random.default_rng(args.seed).permutation(len(images))
    images, labels = images[order], labels[order]
    n_train = len(images) * 4 // 5
    train, test = images[:n_train], images[n_train:]
    print(
        f"dataset {args.dataset}: {len(images)} images {images.shape[1]}x{images.shape[2]}, "
        f"kernels learned on {n_train}, probe tested on {len(test)}"
    )

    learner = KernelLearner(
        kernel_size=args.kernel_size,
        n_kernels=args.n_kernels,
        stride=args.stride,
        random_state=args.seed,
        n_threads=args.threads,
        progress=not args.quiet,
    )
    t0 = time.perf_counter()
    learner.fit(train)
    t_fit = time.perf_counter() - t0
    out = Path(args.out)
    path = learner.save(out / "kernels.npz")
    print(
        f"learned {learner.kernels_.shape[0]} of {args.n_kernels} kernels (fired) in "
        f"{t_fit:.2f} s; B = {learner.brightness_threshold_:.4f}; saved {path}"
    )
    if not args.no_plot:
        from ..plots import kernel_grid

        kernel_grid(learner.kernels_, out / "kernels.png", title="learned kernels")
        print(f"kernel grid: {out / 'kernels.png'}")
    if not args.no_probe:
        acc = probe_accuracy(
            relu_pool_features(learner.transform(train)),
            labels[:n_train],
            relu_pool_features(learner.transform(test)),
            labels[n_train:],
        )
        print(
            f"feature probe (ReLU conv, 2x2 sum pooling, logistic regression): "
            f"accuracy {100 * acc:.2f} %"
        )
    return 0


def _learner_defaults() -> dict[str, Any]:
    from ..kernel_learner import KernelLearner

    return {n: p.default for n, p in inspect.signature(KernelLearner).parameters.items()}


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from ..datasets.registry import names

    parser = argparse.ArgumentParser(
        prog="snnconv",
        description="Convolutional spiking neural networks with strictly local learning: "
        "run the main experiment, tune it, learn kernels, prepare NEOVISION2 objects, check "
        "the training-dynamics theory. `snnconv COMMAND --help` describes each command.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"snnconv {__version__}",
        help="print the version (snnconv X.Y.Z) and exit",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    k = sub.add_parser("kernels", help="learn kernels on a dataset, save them, plot and probe them")
    k.add_argument(
        "--dataset",
        default="mnist5k",
        help=f"dataset name, one of {', '.join(names())} (default: mnist5k)",
    )
    k.add_argument(
        "dataset_args",
        nargs="*",
        help="idx: IMAGES LABELS; objects: FILE.npz; synthetic-neovision2: number of clips",
    )
    k.add_argument("--out", default="snnconv-out", help="output folder (default: snnconv-out)")
    # The learner's options take their defaults from its signature.
    learner = _learner_defaults()
    for name in ("kernel_size", "n_kernels", "stride"):
        k.add_argument(
            "--" + name.replace("_", "-"),
            type=int,
            default=learner[name],
            help=f"KernelLearner {name} (default: {learner[name]})",
        )
    k.add_argument(
        "--seed",
        type=int,
        default=learner["random_state"],
        help="seed of the image shuffle and the learner "
        f"(KernelLearner random_state; default: {learner['random_state']})",
    )
    k.add_argument(
        "--threads",
        type=int,
        default=learner["n_threads"],
        help=f"worker threads (KernelLearner n_threads; default: {learner['n_threads']}, "
        "i.e. all cores when None)",
    )
    k.add_argument("--no-plot", action="store_true", help="skip the kernel-grid figure")
    k.add_argument("--no-probe", action="store_true", help="skip the feature probe")
    k.add_argument("--quiet", action="store_true", help="no progress bar")
    k.set_defaults(func=_kernels)
    from .neovision2 import add_neovision2_parser
    from .run import add_run_parsers
    from .theory import add_theory_parser

    add_run_parsers(sub)
    add_neovision2_parser(sub)
    add_theory_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, ImportError, FileNotFoundError) as exc:
        print(f"snnconv {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
