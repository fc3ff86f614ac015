"""``snnconv run`` and ``snnconv config``: the end-to-end experiment from the shell."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from .log import log

RUN_EPILOG = """\
checks: every value (options, --set, --config, dataset arguments, --out) is checked
  before any work starts, including the estimators' own parameter checks; an invalid
  one ends the command with exit code 2 and one line on stderr.
saved as it goes: each finished (method, fold) task is written to OUT/tasks at once
  (atomically); after a crash or kill, `snnconv run --resume` with the same options
  runs only what is missing and gives the same table. Without --resume, a run refuses
  (exit 2) to overwrite the tasks of an interrupted run in the same --out.
workers: the local backend's worker processes end with the run - on Ctrl-C (exit
  130), SIGTERM (exit 143), an error, or even SIGKILL of the run. A method that fails
  (an error, or a worker that dies) gets a row saying so; the other rows are kept.
details: docs/robustness.md
"""


def add_run_parsers(sub: Any) -> None:
    r = sub.add_parser(
        "run",
        help="the main job: learn kernels, train and evaluate the CSNN and baselines over folds",
        description="Every configuration field can be given in a TOML file (--config) and "
        "overridden with --set table.field=value; see `snnconv config --print-defaults`.",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("--config", help="TOML configuration file")
    r.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="TABLE.FIELD=VALUE",
        help="override one field (repeatable), e.g. --set kernels.stride=1",
    )
    r.add_argument(
        "--dataset",
        help="mnist5k | fashion-mnist | digits | idx | objects | "
        "synthetic-neovision2 | nmnist (shortcut for --set run.dataset=...)",
    )
    r.add_argument(
        "--data-dir",
        help="the dataset's folder (nmnist: ROOT with Train/ and Test/; the CSNN gets "
        "the event streams, the other methods event-count images); "
        "same as giving it as the dataset argument",
    )
    r.add_argument(
        "dataset_args",
        nargs="*",
        help="idx: IMAGES LABELS; objects: FILE.npz; synthetic-neovision2: number of clips; "
        "nmnist: ROOT [both|on|off] (the polarities kept)",
    )
    r.add_argument(
        "--methods", help="comma-separated, e.g. csnn,cnn2,ulsnn100 (shortcut for run.methods)"
    )
    r.add_argument("--folds", type=int, help="number of stratified folds (run.folds)")
    r.add_argument("--limit", type=int, help="use at most this many images")
    r.add_argument("--seed", type=int, help="seed of the folds and every estimator (run.seed)")
    r.add_argument(
        "--backend",
        choices=["local", "dask", "serial"],
        help="where the fold tasks run: local processes, a Dask cluster or in this process",
    )
    r.add_argument("--scheduler", help="Dask scheduler address (implies --backend dask)")
    r.add_argument("--jobs", type=int, help="parallel tasks")
    r.add_argument("--out", help="output folder (default snnconv-out)")
    r.add_argument("--no-figures", action="store_true", help="write no figures, tables only")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    r.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out: skip the tasks it already finished (OUT/tasks), "
        "refuse if they were run with another configuration",
    )
    r.set_defaults(func=_run)

    t = sub.add_parser(
        "tune",
        help="search CSNN hyperparameters with Optuna (extra 'tune'); writes the best config",
        description="Trials are scored by inner stratified folds on a seeded subset of the "
        "data (--limit), in parallel threads (--jobs). The current configuration is always "
        "trial 0, the baseline to beat. Output: best.toml (use it with snnconv run "
        "--config), trials.json, tune.md.",
    )
    t.add_argument("--config", help="TOML configuration to start from")
    t.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="TABLE.FIELD=VALUE",
        help="override one field of the starting configuration (repeatable)",
    )
    t.add_argument("--dataset", help="dataset (as for run)")
    t.add_argument("dataset_args", nargs="*", help="the dataset's arguments (as for run)")
    t.add_argument("--limit", type=int, default=2500, help="images used (default 2500)")
    t.add_argument("--trials", type=int, default=30, help="Optuna trials (default 30)")
    t.add_argument("--jobs", type=int, default=1, help="parallel trials (default 1)")
    t.add_argument(
        "--inner-folds", type=int, default=2, help="stratified folds scoring a trial (default 2)"
    )
    t.add_argument("--timeout", type=float, help="stop after this many seconds")
    t.add_argument("--seed", type=int, default=0, help="seed of the subset and the sampler")
    t.add_argument("--out", default="snnconv-tune", help="output folder (default snnconv-tune)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_tune)

    c = sub.add_parser("config", help="show the experiment configuration")
    c.add_argument(
        "--print-defaults", action="store_true", help="print every field with its default, as TOML"
    )
    c.add_argument("--config", help="print this file merged over the defaults")
    c.set_defaults(func=_config)


def config_from_args(args: argparse.Namespace):
    from ..experiment.config import ExperimentConfig

    cfg = ExperimentConfig.from_toml(args.config) if args.config else ExperimentConfig()
    for assignment in args.set:
        cfg.override(assignment)
    shortcuts = {
        "dataset": args.dataset,
        "methods": args.methods,
        "folds": args.folds,
        "limit": args.limit,
        "seed": args.seed,
        "backend": args.backend,
        "scheduler": args.scheduler,
        "n_jobs": args.jobs,
        "out": args.out,
    }
    for name, value in shortcuts.items():
        if value is not None:
            cfg.set(f"run.{name}", value)
    if args.dataset_args:
        cfg.run.dataset_args = list(args.dataset_args)
    if getattr(args, "data_dir", None):
        cfg.run.dataset_args = [args.data_dir, *(args.dataset_args or [])]
    if args.scheduler:
        cfg.run.backend = "dask"
    if args.no_figures:
        cfg.run.figures = False
    if args.quiet:
        cfg.run.progress = False
    cfg.apply_dataset_presets()
    return cfg


def _run(args: argparse.Namespace) -> int:
    from ..experiment.data import load_experiment_data
    from ..experiment.report import table, write_results
    from ..experiment.runner import make_folds, run_experiment
    from ..experiment.taskstore import TaskStore, fingerprint
    from ..experiment.validate import check_data, check_out_dir

    cfg = config_from_args(args).validate()
    out = check_out_dir(cfg.run.out)
    t0 = time.perf_counter()
    data = load_experiment_data(cfg.run)
    check_data(cfg, data)
    folds = make_folds(data, cfg.run.folds, cfg.run.seed, cfg.run.protocol)
    store, done = TaskStore.open(out, fingerprint(cfg, data, folds), resume=args.resume)
    log.info(
        f"dataset {data.name}: {len(data)} images {data.images.shape[1]}x"
        f"{data.images.shape[2]}, {len(data.class_names)} classes; "
        f"{cfg.run.folds} folds; methods: {', '.join(cfg.run.methods)}; "
        f"backend {cfg.run.backend}"
    )
    reused = {k: v for k, v in done.items() if k[0] in cfg.run.methods}
    if args.resume:
        log.info(f"resuming: {len(reused)} finished tasks reused from {store.folder}")
    results = run_experiment(cfg, data, store=store, done=reused)
    for t in results.tasks:
        log.debug(
            f"{t.method} fold {t.fold} (seed {t.seed}): accuracy {t.result.accuracy:.4f}, "
            f"training {t.result.train_time:.2f} s, {t.wall_time:.2f} s in all"
        )
    for method, reason in results.skipped.items():
        log.warning(f"skipped {method}: {reason}")
    for f in results.failed:
        log.warning(f"failed {f.method} fold {f.fold}: {f.error}")
    write_results(results, out)
    store.finish()
    if cfg.run.figures:
        from ..experiment.figures import write_figures

        try:
            written = write_figures(results, data, out)
            log.info(f"figures: {', '.join(str(p) for p in written)}")
        except ImportError as exc:
            log.warning(f"figures skipped: {exc}")
    print()
    print(table(results))
    print(
        f"\nresults: {out / 'results.md'}, {out / 'results.json'} "
        f"({time.perf_counter() - t0:.0f} s)"
    )
    return 0


def _tune(args: argparse.Namespace) -> int:
    import json

    from ..experiment.config import ExperimentConfig
    from ..experiment.data import load_experiment_data
    from ..experiment.report import write_atomic
    from ..experiment.tune import tune
    from ..experiment.validate import check_out_dir

    cfg = ExperimentConfig.from_toml(args.config) if args.config else ExperimentConfig()
    for assignment in args.set:
        cfg.override(assignment)
    if args.dataset:
        cfg.run.dataset = args.dataset
    if args.dataset_args:
        cfg.run.dataset_args = list(args.dataset_args)
    cfg.run.limit = args.limit
    cfg.run.seed = args.seed
    _check_tune_args(args)
    cfg.validate()
    check_out_dir(args.out)
    data = load_experiment_data(cfg.run)
    print(
        f"tuning on {len(data)} images of {data.name}: {args.trials} trials, "
        f"{args.jobs} in parallel, {args.inner_folds} inner folds"
    )
    result = tune(
        cfg,
        data,
        n_trials=args.trials,
        n_jobs=args.jobs,
        inner_folds=args.inner_folds,
        timeout=args.timeout,
        seed=args.seed,
        progress=not args.quiet,
    )
    out = Path(args.out)
    best = result.config
    best.run.limit = 0
    write_atomic(out / "best.toml", best.to_toml())
    write_atomic(out / "trials.json", json.dumps(result.trials, indent=2))
    done = [t for t in result.trials if t["value"] is not None]
    lines = [
        "| trial | accuracy, % | " + " | ".join(result.best_params) + " |",
        "|---:|---:|" + "---:|" * len(result.best_params),
    ]
    for t in sorted(done, key=lambda t: -t["value"])[:15]:
        vals = " | ".join(f"{t['params'].get(k, float('nan')):.4g}" for k in result.best_params)
        lines.append(f"| {t['number']} | {100 * t['value']:.2f} | {vals} |")
    baseline = next((t["value"] for t in result.trials if t["number"] == 0), None)
    summary = (
        f"best {100 * result.best_value:.2f} % (trial 0, the starting configuration: "
        f"{100 * baseline:.2f} %)"
        if baseline is not None
        else ""
    )
    write_atomic(out / "tune.md", "# snnconv tune\n\n" + summary + "\n\n" + "\n".join(lines))
    print("\n".join(lines))
    print(f"\n{summary}\nbest configuration: {out / 'best.toml'}")
    return 0


def _check_tune_args(args: argparse.Namespace) -> None:
    import math
    import os

    from .._util.validation import check_int
    from ..exceptions import ParameterError
    from ..experiment.validate import CPU_FACTOR, MAX_FOLDS

    check_int("--limit", args.limit, 1)
    check_int("--trials", args.trials, 1)
    check_int("--jobs", args.jobs, 1, CPU_FACTOR * (os.cpu_count() or 1))
    check_int("--inner-folds", args.inner_folds, 2, MAX_FOLDS)
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        raise ParameterError(
            f"--timeout: must be a finite number of seconds > 0, got {args.timeout}"
        )


def _config(args: argparse.Namespace) -> int:
    from ..experiment.config import ExperimentConfig

    cfg = ExperimentConfig.from_toml(args.config) if args.config else ExperimentConfig()
    cfg.validate()
    print(cfg.to_toml())
    return 0
