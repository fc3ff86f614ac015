"""The ``snnconv`` command line."""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .log import configure, log


def _kernels(args: argparse.Namespace) -> int:
    from ..datasets.registry import check_dataset, load
    from ..experiment.probe import probe_accuracy, relu_pool_features
    from ..experiment.validate import check_kernels, check_out_dir, check_threads
    from ..kernel_learner import KernelLearner

    check_dataset(args.dataset, args.dataset_args, field="--dataset")
    KernelLearner(
        kernel_size=args.kernel_size,
        n_kernels=args.n_kernels,
        stride=args.stride,
        random_state=args.seed,
        n_threads=args.threads,
    )._check_params()
    check_kernels("n_kernels", args.n_kernels, args.kernel_size)
    check_threads("--threads", args.threads)
    check_out_dir(args.out)
    images, labels = load(args.dataset, *args.dataset_args)
    order = np.random.default_rng(args.seed).permutation(len(images))
    images, labels = images[order], labels[order]
    n_train = len(images) * 4 // 5
    train, test = images[:n_train], images[n_train:]
    log.info(
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
    log.info(
        f"learned {learner.kernels_.shape[0]} of {args.n_kernels} kernels (fired) in "
        f"{t_fit:.2f} s; B = {learner.brightness_threshold_:.4f}; saved {path}"
    )
    if not args.no_plot:
        from ..plots import kernel_grid

        kernel_grid(learner.kernels_, out / "kernels.png", title="learned kernels")
        log.info(f"kernel grid: {out / 'kernels.png'}")
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
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more messages (debug lines); the command's output is unchanged",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        dest="log_quiet",
        action="store_true",
        help="only warnings, errors and the command's own output "
        "(a subcommand's --quiet only hides progress bars)",
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
    from .continual import add_continual_parser
    from .events import add_events_parser
    from .neovision2 import add_neovision2_parser
    from .run import add_run_parsers
    from .theory import add_theory_parser

    add_run_parsers(sub)
    add_continual_parser(sub)
    add_neovision2_parser(sub)
    add_theory_parser(sub)
    add_events_parser(sub)
    return parser


def _one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Usage errors as one line on stderr (exit code 2), for every subcommand."""

    def error(message: str, parser: argparse.ArgumentParser = parser) -> Any:
        text = " ".join(message.split())
        parser.exit(2, f"{parser.prog}: error: {text} (see {parser.prog} --help)\n")

    parser.error = error  # type: ignore[method-assign]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _one_line_errors(sub)


def main(argv: list[str] | None = None) -> int:
    """Runs one subcommand. Exit codes: 0 done, 1 an unexpected error (traceback),
    2 an invalid value or unusable file (one line on stderr), 130 Ctrl-C, 143 SIGTERM."""
    from ..exceptions import SnnconvError
    from ..experiment.runner import Terminated

    parser = build_parser()
    _one_line_errors(parser)
    args = parser.parse_args(argv)
    configure(args.verbose, args.log_quiet)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except Terminated:
        log.error("terminated")
        return 143
    except (SnnconvError, ValueError, TypeError, ImportError, OSError, MemoryError) as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        log.error(f"snnconv {args.command}: error: {text}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
