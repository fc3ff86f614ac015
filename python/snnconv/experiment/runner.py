"""Repeated runs as independent tasks, on local processes or a Dask cluster.

Each (method, fold) task gets an explicit seed and a thread budget, and its result
depends on nothing else, so the aggregated results are identical whichever backend
ran them (timings aside).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import ExperimentConfig
from .data import ExperimentData
from .methods import METHODS, MethodResult, Split, unavailable_reason


@dataclass
class TaskResult:
    method: str
    fold: int
    seed: int
    result: MethodResult
    wall_time: float


@dataclass
class ExperimentResults:
    config: ExperimentConfig
    data_name: str
    n_images: int
    class_names: list[str]
    folds: list[tuple[np.ndarray, np.ndarray]]
    tasks: list[TaskResult] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    #: When the experiment started, UTC (ISO 8601).
    started_utc: str = field(default_factory=lambda: _utc_now())


def _utc_now() -> str:
    from .._util.provenance import utc_now

    return utc_now()


def make_folds(
    data: ExperimentData, n_folds: int, seed: int, protocol: str = "auto"
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds, grouped by clip when the data has groups (video objects); or,
    with the "split" protocol, the dataset's own split repeated ``n_folds`` times (the
    runs then differ by their seeds only)."""
    from .._util.extras import require

    if protocol not in ("auto", "folds", "split"):
        raise ValueError(f"run.protocol: must be auto, folds or split, got {protocol!r}")
    if protocol == "split" or (protocol == "auto" and data.test_mask is not None):
        if data.test_mask is None:
            raise ValueError(f"run.protocol: dataset {data.name!r} has no own test split")
        if n_folds < 1:
            raise ValueError(f"run.folds: must be >= 1, got {n_folds}")
        train, test = np.flatnonzero(~data.test_mask), np.flatnonzero(data.test_mask)
        return [(train, test) for _ in range(n_folds)]
    ms = require("sklearn.model_selection", "stratified folds")
    if n_folds < 2:
        raise ValueError(f"run.folds: must be >= 2, got {n_folds}")
    if data.groups is not None:
        n_groups = len(np.unique(data.groups))
        if n_groups < n_folds:
            raise ValueError(
                f"run.folds: {n_folds} folds need at least as many clips, the data has {n_groups}"
            )
        splitter = ms.StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        parts = splitter.split(data.images, data.labels, data.groups)
    else:
        splitter = ms.StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        parts = splitter.split(data.images, data.labels)
    return [(np.asarray(tr), np.asarray(te)) for tr, te in parts]


def task_seed(seed: int, fold: int) -> int:
    """The seed of fold ``fold`` (the same for every method, so methods see the same
    randomness budget per fold)."""
    return int(seed) * 1000 + int(fold)


def _budget(cfg: ExperimentConfig) -> tuple[int, int]:
    cores = os.cpu_count() or 1
    n_jobs = cfg.run.n_jobs or cores
    threads = cfg.run.threads_per_task or max(1, cores // n_jobs)
    return n_jobs, threads


def run_task(
    cfg: ExperimentConfig,
    method: str,
    fold: int,
    images: np.ndarray,
    labels: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    threads: int,
) -> TaskResult:
    """One (method, fold) run; a top-level function so process and Dask workers can
    import it. BLAS is limited to the task's thread budget as well."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - comes with scikit-learn
        threadpool_limits = None
    seed = task_seed(cfg.run.seed, fold)
    split = Split(images[train], labels[train], images[test], labels[test])
    runner = METHODS[method][1]
    t0 = time.perf_counter()
    if threadpool_limits is not None:
        with threadpool_limits(limits=threads):
            result = runner(cfg, split, seed, threads)
    else:
        result = runner(cfg, split, seed, threads)
    return TaskResult(method, fold, seed, result, time.perf_counter() - t0)


def run_experiment(cfg: ExperimentConfig, data: ExperimentData) -> ExperimentResults:
    """Runs every available method on every fold with the configured backend."""
    folds = make_folds(data, cfg.run.folds, cfg.run.seed, cfg.run.protocol)
    results = ExperimentResults(cfg, data.name, len(data), data.class_names, folds)
    methods = []
    for m in cfg.run.methods:
        reason = unavailable_reason(m)
        if reason is None:
            methods.append(m)
        else:
            results.skipped[m] = reason
    n_jobs, threads = _budget(cfg)
    jobs = [(m, f) for m in methods for f in range(len(folds))]
    backend = cfg.run.backend
    if backend == "serial" or (backend == "local" and n_jobs == 1):
        done = [
            run_task(cfg, m, f, data.images, data.labels, *folds[f], threads)
            for m, f in _progress(jobs, cfg.run.progress)
        ]
    elif backend == "local":
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")
        gen = parallel(
            delayed(run_task)(cfg, m, f, data.images, data.labels, *folds[f], threads)
            for m, f in jobs
        )
        done = list(_progress(gen, cfg.run.progress, total=len(jobs)))
    elif backend == "dask":
        done = _run_dask(cfg, data, folds, jobs, threads)
    else:
        raise ValueError(f"run.backend: must be local, dask or serial, got {backend!r}")
    results.tasks = sorted(done, key=lambda t: (methods.index(t.method), t.fold))
    return results


def _run_dask(
    cfg: ExperimentConfig,
    data: ExperimentData,
    folds: list[Any],
    jobs: list[tuple[str, int]],
    threads: int,
) -> list[TaskResult]:
    from .._util.extras import require

    distributed = require("distributed", "the dask backend")
    if cfg.run.scheduler:
        client = distributed.Client(cfg.run.scheduler)
        cluster = None
    else:
        cluster = distributed.LocalCluster(
            n_workers=cfg.run.n_jobs or 2, threads_per_worker=threads, processes=True
        )
        client = distributed.Client(cluster)
    try:
        images, labels = client.scatter([data.images, data.labels], broadcast=True)
        futures = [
            client.submit(run_task, cfg, m, f, images, labels, *folds[f], threads, pure=False)
            for m, f in jobs
        ]
        return list(
            _progress(
                (fut.result() for fut in distributed.as_completed(futures)),
                cfg.run.progress,
                total=len(jobs),
            )
        )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _progress(items: Any, enabled: bool, total: int | None = None) -> Any:
    from .._util.progress import progress_bar

    items = list(items) if total is None else items
    total = len(items) if total is None else total
    with progress_bar(enabled, total, "runs", unit="run") as bar:
        for item in items:
            yield item
            bar.update(1)
