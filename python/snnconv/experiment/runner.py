"""Repeated runs as independent tasks, on local processes or a Dask cluster.

Each (method, fold) task gets an explicit seed and a thread budget, and its result
depends on nothing else, so the aggregated results are identical whichever backend
ran them (timings aside).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._util.blocks import MappedFile
from ..exceptions import ParameterError
from .config import ExperimentConfig
from .data import ExperimentData
from .methods import METHODS, MethodResult, Split, unavailable_reason, unsupported_reason


@dataclass
class TaskResult:
    method: str
    fold: int
    seed: int
    result: MethodResult
    wall_time: float


@dataclass
class FailedTask:
    """A (method, fold) task that raised or whose worker died; ``error`` says how."""

    method: str
    fold: int
    seed: int
    error: str


@dataclass
class ExperimentResults:
    config: ExperimentConfig
    data_name: str
    n_images: int
    class_names: list[str]
    folds: list[tuple[np.ndarray, np.ndarray]]
    tasks: list[TaskResult] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: list[FailedTask] = field(default_factory=list)
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
        raise ParameterError(f"run.protocol: must be auto, folds or split, got {protocol!r}")
    if protocol == "split" or (protocol == "auto" and data.test_mask is not None):
        if data.test_mask is None:
            raise ParameterError(f"run.protocol: dataset {data.name!r} has no own test split")
        if n_folds < 1:
            raise ParameterError(f"run.folds: must be >= 1, got {n_folds}")
        train, test = np.flatnonzero(~data.test_mask), np.flatnonzero(data.test_mask)
        return [(train, test) for _ in range(n_folds)]
    ms = require("sklearn.model_selection", "stratified folds")
    if n_folds < 2:
        raise ParameterError(
            f"run.folds: must be an integer in [2, 1000] for stratified folds (dataset "
            f"{data.name!r} has no own train/test split to repeat), got {n_folds}"
        )
    if data.groups is not None:
        n_groups = len(np.unique(data.groups))
        if n_groups < n_folds:
            raise ParameterError(
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
    events: Any = None,
) -> TaskResult:
    """One (method, fold) run; a top-level function so process and Dask workers can
    import it. BLAS is limited to the task's thread budget as well.

    Images mapped from a file (the ``idx`` dataset) are not loaded: each part of the
    split is a view or a temporary map (``_util.blocks.take``). ``events`` (an
    :class:`~snnconv.events.stream.EventSet` aligned with ``images``, or its
    :meth:`~snnconv.events.stream.EventSet.portable` form) gives the split its event
    streams, for the methods that take them (the CSNN); every other method gets the
    images, and ``extra["input"]`` records which one a method got. The peak resident
    memory of the process during the task goes to ``extra["peak_rss_mb"]``
    (``_util.memory``)."""
    from .._util.blocks import take
    from .._util.memory import peak_rss_bytes, reset_peak

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - comes with scikit-learn
        threadpool_limits = None
    reset_peak()
    if isinstance(images, MappedFile):
        images = images.open()
    seed = task_seed(cfg.run.seed, fold)
    split = Split(take(images, train), labels[train], take(images, test), labels[test])
    if events is not None:
        events = events.open()
        split.train_events, split.test_events = events.streams(train), events.streams(test)
        split.sensor_size = events.sensor_size
    runner = METHODS[method][1]
    t0 = time.perf_counter()
    if threadpool_limits is not None:
        with threadpool_limits(limits=threads):
            result = runner(cfg, split, seed, threads)
    else:
        result = runner(cfg, split, seed, threads)
    wall = time.perf_counter() - t0
    if events is not None:
        result.extra.setdefault("input", "image")
    peak = peak_rss_bytes()
    if peak is not None:
        result.extra["peak_rss_mb"] = round(peak / 2**20, 1)
    return TaskResult(method, fold, seed, result, wall)


def run_experiment(
    cfg: ExperimentConfig, data: ExperimentData, store: Any = None, done: Any = None
) -> ExperimentResults:
    """Runs every available method on every fold with the configured backend.

    ``store`` (a :class:`~snnconv.experiment.taskstore.TaskStore`) receives each task
    as it finishes; tasks in ``done`` (``{(method, fold): TaskResult}``, from a
    resumed run) are not run again. A task that raises, or whose worker process dies,
    is recorded in ``results.failed`` and the other tasks go on.
    """
    folds = make_folds(data, cfg.run.folds, cfg.run.seed, cfg.run.protocol)
    results = ExperimentResults(cfg, data.name, len(data), data.class_names, folds)
    methods = []
    for m in cfg.run.methods:
        reason = unavailable_reason(m) or unsupported_reason(m, *data.images.shape[1:3])
        if reason is None:
            methods.append(m)
        else:
            results.skipped[m] = reason
    n_jobs, threads = _budget(cfg)
    done = dict(done or {})
    finished = [done[(m, f)] for m in methods for f in range(len(folds)) if (m, f) in done]
    jobs = [(m, f) for m in methods for f in range(len(folds)) if (m, f) not in done]

    def collect(outcome: TaskResult | FailedTask) -> None:
        if isinstance(outcome, FailedTask):
            results.failed.append(outcome)
            return
        if store is not None:
            store.save(outcome)
        finished.append(outcome)

    backend = cfg.run.backend
    with _progress_bar(cfg.run.progress, len(jobs)) as bar:
        if backend == "serial" or (backend == "local" and n_jobs == 1) or not jobs:
            for m, f in jobs:
                collect(
                    attempt_task(
                        cfg, m, f, data.images, data.labels, *folds[f], threads, data.events
                    )
                )
                bar.update(1)
        elif backend == "local":
            _run_local(cfg, data, folds, jobs, n_jobs, threads, collect, bar)
        elif backend == "dask":
            for outcome in _run_dask(cfg, data, folds, jobs, threads):
                collect(outcome)
                bar.update(1)
        else:
            raise ParameterError(f"run.backend: must be local, dask or serial, got {backend!r}")
    order = {m: i for i, m in enumerate(methods)}
    results.tasks = sorted(finished, key=lambda t: (order[t.method], t.fold))
    results.failed.sort(key=lambda t: (order[t.method], t.fold))
    return results


def attempt_task(
    cfg: ExperimentConfig,
    method: str,
    fold: int,
    images: np.ndarray,
    labels: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    threads: int,
    events: Any = None,
) -> TaskResult | FailedTask:
    """:func:`run_task`, with an exception turned into a :class:`FailedTask`."""
    try:
        return run_task(cfg, method, fold, images, labels, train, test, threads, events)
    except Exception as exc:
        return FailedTask(method, fold, task_seed(cfg.run.seed, fold), _one_line(exc))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "(no message)"
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(exc).__name__}: {text}"


# ------------------------------------------------------------ local processes
# Workers are child processes of the run (spawned, not forked, and not through a
# fork server): they get the data once, ignore Ctrl-C (the run stops them), and die
# with the run even when it is killed with SIGKILL (PR_SET_PDEATHSIG on Linux, and a
# thread watching the parent process everywhere).
_WORKER_DATA: tuple[np.ndarray, np.ndarray, Any] | None = None


class Terminated(BaseException):
    """SIGTERM arrived while tasks were running (the workers have been stopped)."""


def _worker_init(parent: int, images: Any, labels: np.ndarray, events: Any = None) -> None:
    global _WORKER_DATA
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # blocked by the run while it started us
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent(parent)
    if isinstance(images, MappedFile):  # the run's memory map, opened again here
        images = images.open()
    if events is not None:  # event streams, their memory map opened again here
        events = events.open()
    _WORKER_DATA = (images, labels, events)


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread for the block (POSIX; elsewhere a no-op). Processes
    started inside inherit the blocked mask across exec, so a Ctrl-C cannot interrupt a
    worker while it is still importing; the run itself still gets it (through another
    thread, or when the block ends)."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def die_with_parent(parent: int) -> None:
    """Ends this process as soon as process ``parent`` is gone."""
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no usable libc
            pass
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="snnconv-parent-watch", daemon=True).start()


def _worker_task(
    cfg: ExperimentConfig, method: str, fold: int, train: Any, test: Any, threads: int
) -> TaskResult | FailedTask:
    assert _WORKER_DATA is not None
    images, labels, events = _WORKER_DATA
    return attempt_task(cfg, method, fold, images, labels, train, test, threads, events)


def _run_local(
    cfg: ExperimentConfig,
    data: ExperimentData,
    folds: list[Any],
    jobs: list[tuple[str, int]],
    n_jobs: int,
    threads: int,
    collect: Any,
    bar: Any,
    task: Any = None,
) -> None:
    """Runs ``jobs`` in a pool of ``n_jobs`` processes (``task``: the function the
    workers run, :func:`_worker_task` by default). A worker that dies (an abort
    in native code, the OOM killer) breaks the pool: the tasks that were running are
    then retried one at a time in a pool of their own, and a task that kills its
    worker again is reported failed; the others go on."""

    def pool_round(
        jobs: list[tuple[str, int]], n_jobs: int
    ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """One pool over ``jobs``. Returns (tasks running when the pool broke, tasks not
        started then); both empty when every task finished."""
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        pool = ProcessPoolExecutor(
            max_workers=min(n_jobs, len(jobs)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            # A memory-mapped image set (or event set) travels as its file's name, not
            # as a copy; event streams in memory travel once per worker, in one array.
            initargs=(
                os.getpid(),
                MappedFile.of(data.images) or data.images,
                data.labels,
                None if data.events is None else data.events.portable(),
            ),
        )
        clean = False
        try:
            futures, unsent = {}, []
            # Workers are started by these submits, with SIGINT blocked until their
            # initializer ignores it: a Ctrl-C while a worker is still importing must not
            # print its traceback.
            with _sigint_blocked():
                for m, f in jobs:
                    try:
                        job = pool.submit(task or _worker_task, cfg, m, f, *folds[f], threads)
                        futures[job] = (m, f)
                    except BrokenProcessPool:  # a worker died already
                        unsent.append((m, f))
            waiting, ever_running, broken = set(futures), set(), []
            while waiting:
                ready, waiting = wait(waiting, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in ready:
                    try:
                        outcome = fut.result()
                    except BrokenProcessPool:
                        broken.append(fut)
                        continue
                    collect(outcome)
                    bar.update(1)
                ever_running |= {f for f in waiting if f.running()}
            clean = not broken and not unsent
            if clean:
                return [], []
            suspects = [futures[f] for f in broken if f in ever_running]
            suspects = suspects or [futures[f] for f in broken] or unsent[:1]
            rest = [futures[f] for f in broken if futures[f] not in suspects]
            return suspects, rest + [j for j in unsent if j not in suspects]
        finally:
            _shutdown(pool, kill=not clean)

    pending, isolate = list(jobs), []
    with _sigterm_raises():
        while pending:
            suspects, pending = pool_round(pending, n_jobs)
            isolate += suspects
        for job in isolate:
            again, _ = pool_round([job], 1)
            for m, f in again:
                collect(
                    FailedTask(
                        m,
                        f,
                        task_seed(cfg.run.seed, f),
                        "worker process died (killed by a signal or out of memory)",
                    )
                )
                bar.update(1)


def _shutdown(pool: Any, kill: bool) -> None:
    if kill:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            try:
                proc.kill()
            except Exception:
                pass
    pool.shutdown(wait=True, cancel_futures=True)


class _sigterm_raises:
    """While active (main thread only), SIGTERM raises :class:`Terminated`, so the
    pools are shut down (their workers killed) on the way out."""

    def __enter__(self) -> _sigterm_raises:
        import signal
        import threading

        self.previous = None
        if threading.current_thread() is threading.main_thread():

            def handler(signum: int, frame: Any) -> None:
                raise Terminated("terminated (SIGTERM)")

            self.previous = signal.signal(signal.SIGTERM, handler)
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def _run_dask(
    cfg: ExperimentConfig,
    data: ExperimentData,
    folds: list[Any],
    jobs: list[tuple[str, int]],
    threads: int,
) -> Any:
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
        # Workers of a local cluster share the file of a memory-mapped image set.
        local = None if cfg.run.scheduler else MappedFile.of(data.images)
        images, labels = client.scatter([local or data.images, data.labels], broadcast=True)
        events = None
        if data.events is not None:
            portable = data.events if cfg.run.scheduler else data.events.portable()
            events = client.scatter(portable, broadcast=True)
        futures = [
            client.submit(
                attempt_task, cfg, m, f, images, labels, *folds[f], threads, events, pure=False
            )
            for m, f in jobs
        ]
        with _sigterm_raises():
            for fut in distributed.as_completed(futures):
                yield fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _progress_bar(enabled: bool, total: int) -> Any:
    from .._util.progress import progress_bar

    return progress_bar(enabled, total, "runs", unit="run")
