"""``snnconv continual``: task streams end to end (docs/continual.md)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from .log import log

EPILOG = """\
scenarios: permuted (domain-incremental, task 0 the identity), rotated (domain-
  incremental, task i rotated by i*180/T degrees), split (class-incremental, tasks of
  --classes-per-task classes in a seeded order; all classes declared at the first call).
methods: colanet, csnn, cnn2 (naive fine-tuning), cnn2-joint (upper bound: retrained on
  every task so far), ulsnn. --set METHOD.PARAM=VALUE passes a parameter to a method's
  estimator, e.g. --set colanet.threshold_excess=0.6 --set cnn2.epochs=5.
presets: colanet starts from its scenario's settings (permuted: microcolumns=40; split:
  threshold_excess=0.7, reward=1.0; rotated: CoLaNET's defaults), csnn's classifier from
  hebbian=-0.1 in split streams, --set over them; --no-preset gives them the defaults.
  continual.json records what each method ran with.
output: OUT/continual.json (per method: accuracy_matrix, metrics, train time per task,
  provenance), OUT/continual.md, OUT/continual-METHOD.png. Each method's stream is saved
  in OUT/continual-runs as it ends; --resume reuses the finished ones.
"""


def add_continual_parser(sub: Any) -> None:
    from ..continual.methods import METHODS
    from ..continual.scenarios import SCENARIOS
    from ..datasets.registry import names

    p = sub.add_parser(
        "continual",
        help="continual learning: task streams (permuted, rotated, split) over the methods",
        description="Trains each method task after task, never returning to earlier "
        "tasks' images, and tests every task after each one: the accuracy matrix, "
        "average accuracy, forgetting and backward transfer.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--scenario", choices=SCENARIOS, default="permuted", help="default permuted")
    p.add_argument(
        "--dataset", default="mnist5k", help=f"one of {', '.join(names())} (default mnist5k)"
    )
    p.add_argument(
        "dataset_args",
        nargs="*",
        help="idx: IMAGES LABELS; objects: FILE.npz; synthetic-neovision2: number of clips",
    )
    p.add_argument(
        "--methods",
        default="colanet,cnn2",
        help=f"comma-separated, of {', '.join(METHODS)} (default colanet,cnn2)",
    )
    p.add_argument("--tasks", type=int, default=10, help="permuted/rotated: tasks (default 10)")
    p.add_argument(
        "--classes-per-task", type=int, default=2, help="split: classes per task (default 2)"
    )
    p.add_argument(
        "--class-order",
        choices=["seeded", "natural"],
        default="seeded",
        help="split: the classes in a seeded order or sorted (default seeded)",
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        help="share of images tested, stratified, where the dataset has no test split "
        "of its own (default 0.2: MNIST 5k -> 4000/1000)",
    )
    p.add_argument("--limit", type=int, help="use a seeded subset of this many images")
    p.add_argument("--seed", type=int, default=0, help="seed of the stream and every method")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="METHOD.PARAM=VALUE",
        help="a parameter of one method's estimator (repeatable)",
    )
    p.add_argument(
        "--incremental",
        action="store_true",
        help="colanet (raw pixels) uses the class-incremental CoLaNET settings in any "
        "scenario (snnconv.continual.INCREMENTAL: threshold_excess=0.7, reward=1.0, the "
        "split preset; --set wins); csnn has its own split preset (docs/continual.md)",
    )
    p.add_argument(
        "--no-preset",
        action="store_true",
        help="colanet and csnn without their scenario's presets: the defaults (and --set)",
    )
    p.add_argument("--threads", type=int, help="threads per method (default: all cores)")
    p.add_argument("--out", default="snnconv-continual", help="output folder")
    p.add_argument("--resume", action="store_true", help="reuse the methods finished in --out")
    p.add_argument("--no-figures", action="store_true", help="write no figures")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_continual)


def _continual(args: argparse.Namespace) -> int:
    import numpy as np

    from .._util.provenance import utc_now
    from .._util.validation import check_int
    from ..continual.methods import check_methods, parse_assignments
    from ..continual.report import table, write_figures, write_report
    from ..continual.runner import run_stream
    from ..continual.scenarios import MAX_TASKS, make_stream
    from ..datasets.registry import check_dataset, load_dataset
    from ..experiment.validate import check_out_dir, check_threads

    started = utc_now()
    t0 = time.perf_counter()
    methods = check_methods([m.strip() for m in args.methods.split(",") if m.strip()])
    params = parse_assignments(args.set, methods)
    if args.incremental:
        from ..continual.presets import INCREMENTAL

        if "colanet" in params:
            params["colanet"] = {**INCREMENTAL, **params["colanet"]}
    check_int("--tasks", args.tasks, 1, MAX_TASKS)
    check_int("--classes-per-task", args.classes_per_task, 1)
    if args.limit is not None:
        check_int("--limit", args.limit, 2)
    check_threads("--threads", args.threads)
    check_dataset(args.dataset, args.dataset_args, field="--dataset")
    out = check_out_dir(args.out)
    data = load_dataset(args.dataset, args.dataset_args, seed=args.seed)
    images, labels, test_mask = data.images, np.asarray(data.labels), data.test_mask
    if args.limit and args.limit < len(labels):
        keep = np.sort(np.random.default_rng(args.seed).permutation(len(labels))[: args.limit])
        images, labels = images[keep], labels[keep]
        test_mask = None if test_mask is None else test_mask[keep]
    stream = make_stream(
        args.scenario,
        np.ascontiguousarray(images),
        labels,
        n_tasks=args.tasks,
        classes_per_task=args.classes_per_task,
        class_order=args.class_order,
        test_mask=test_mask,
        test_fraction=args.test_fraction,
        seed=args.seed,
        dataset=data.name,
        class_names=data.class_names,
    )
    log.info(
        f"{stream.scenario} {data.name}: {len(stream)} tasks of "
        f"{stream.tasks[0].n_train} train / {stream.tasks[0].n_test} test images; "
        f"methods: {', '.join(methods)}"
    )
    results = run_stream(
        stream,
        methods,
        params,
        args.seed,
        out=Path(out),
        resume=args.resume,
        threads=args.threads,
        progress=not args.quiet,
        log=log,
        preset=not args.no_preset,
    )
    write_report(Path(out), stream, results, started)
    if not args.no_figures:
        try:
            written = write_figures(Path(out), stream, results)
            log.info(f"figures: {', '.join(str(p) for p in written)}")
        except ImportError as exc:
            log.warning(f"figures skipped: {exc}")
    print()
    print(table(results))
    print(f"\nresults: {Path(out) / 'continual.json'} ({time.perf_counter() - t0:.0f} s)")
    return 0
