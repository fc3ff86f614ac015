"""Checks of a whole configuration, before any work starts.

Every subcommand that takes a configuration (``run``, ``tune``, ``config``) calls
:func:`check_config`; those that write files call :func:`check_out_dir` first. The
estimators' own parameter checks run here on estimators built once from the
configuration, so a bad ``--set kernels.n_kernels=...`` is refused before the data
is loaded, not in a worker halfway through a run. Errors are
:class:`~snnconv.exceptions.ParameterError` (or ``TypeError`` for a value of the
wrong type) whose message starts with the field's name.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

from ..exceptions import ParameterError, ParameterTypeError, ResourceLimitError

#: At most this many folds (or repeats): task seeds are ``seed * 1000 + fold``.
MAX_FOLDS = 1000
#: Seeds go to scikit-learn's fold splitters, which take 32-bit seeds.
MAX_SEED = 2**32 - 1
#: Parallel tasks and threads per task: at most this many times the CPU count.
CPU_FACTOR = 4


def _int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    from .._util.validation import check_int

    return check_int(name, value, lo, hi)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def check_budget(name: str, nbytes: int, what: str) -> None:
    """Refuses, before any work starts, a size above the per-allocation budget (the one
    the estimators apply: the process's memory and address-space limits, or
    ``SNNCONV_MAX_ALLOC_BYTES``)."""
    from .._util.validation import alloc_budget

    budget = alloc_budget()
    if nbytes > budget:
        raise ResourceLimitError(
            f"{name}: {what} would need {_size(nbytes)}, above the per-allocation budget "
            f"of {_size(budget)} (SNNCONV_MAX_ALLOC_BYTES)"
        )


def check_kernels(name: str, n_kernels: Any, kernel_size: Any) -> None:
    """The kernel bank's size against the memory (its arrays are n_kernels × k² × 8 B,
    each several times over while learning)."""
    if isinstance(n_kernels, int) and isinstance(kernel_size, int):
        nbytes = 8 * n_kernels * kernel_size * kernel_size
        check_budget(name, nbytes, f"{n_kernels} kernels of {kernel_size}×{kernel_size}")


def check_threads(name: str, value: Any) -> None:
    """A thread count: None (all cores) or 1 to 4 × the number of CPUs."""
    if value is not None:
        _int(name, value, 1, CPU_FACTOR * (os.cpu_count() or 1))


def check_config(cfg: Any) -> None:
    """Checks every field of an :class:`~snnconv.experiment.ExperimentConfig`."""
    from ..datasets.registry import check_dataset
    from .methods import METHODS
    from .runner import task_seed

    run = cfg.run
    check_dataset(run.dataset, run.dataset_args, field="run.dataset")
    _int("run.limit", run.limit, 0)
    if run.protocol not in ("auto", "folds", "split"):
        raise ParameterError(f"run.protocol: must be auto, folds or split, got {run.protocol!r}")
    if run.protocol == "folds" or isinstance(run.folds, bool) or not isinstance(run.folds, int):
        _int("run.folds", run.folds, 2, MAX_FOLDS)
    elif not 1 <= run.folds <= MAX_FOLDS:
        # "auto" runs a dataset's own split `folds` times (1 is fine), stratified folds
        # otherwise (at least 2): say both, so 0 and 1 do not get different stories.
        raise ParameterError(
            f"run.folds: must be an integer in [2, {MAX_FOLDS}] for stratified folds, or in "
            f"[1, {MAX_FOLDS}] repeats of a dataset's own train/test split, got {run.folds!r}"
        )
    if run.limit and run.folds > run.limit:
        raise ParameterError(f"run.folds: {run.folds} folds need more than run.limit={run.limit}")
    _int("run.seed", run.seed, 0, MAX_SEED)
    _int("run.curve_sample", run.curve_sample, 0)
    if not run.methods:
        raise ParameterError(f"run.methods: name at least one of {', '.join(METHODS)}")
    for m in run.methods:
        if m not in METHODS:
            raise ParameterError(f"run.methods: unknown method {m!r}; known: {', '.join(METHODS)}")
    twice = sorted({m for m in run.methods if run.methods.count(m) > 1})
    if twice:
        raise ParameterError(f"run.methods: listed more than once: {', '.join(twice)}")
    if run.backend not in ("local", "dask", "serial"):
        raise ParameterError(f"run.backend: must be local, dask or serial, got {run.backend!r}")
    cores = os.cpu_count() or 1
    _int("run.n_jobs", run.n_jobs, 0, CPU_FACTOR * cores)
    _int("run.threads_per_task", run.threads_per_task, 0, CPU_FACTOR * cores)
    if not run.out:
        raise ParameterError("run.out: must name a folder")
    seed = task_seed(run.seed, run.folds - 1)
    threads = run.threads_per_task or 1
    check_estimators(cfg, seed, threads)


def _prefixed(table: str, check: Any) -> None:
    """Runs ``check`` and puts the config table in front of its error message."""
    try:
        check()
    except (ValueError, TypeError) as exc:
        if not _names_field(exc):
            raise
        raise type(exc)(f"{table}.{exc}") from None


def _names_field(exc: Exception) -> bool:
    head = str(exc).split(":", 1)[0]
    return bool(head) and head.isidentifier()


def check_estimators(cfg: Any, seed: int, threads: int) -> None:
    """Builds each estimator once from the configuration and runs its parameter
    checks (the same the estimator runs in ``fit``)."""
    from ..baselines.cnn import CNN1
    from ..baselines.ulsnn import ULSNN
    from ..colanet.digital import DigitalCoLaNET
    from ..colanet.spiking import CoLaNET
    from ..conv_snn import ConvSNN
    from ..kernel_learner import KernelLearner

    common = {"random_state": seed, "n_threads": threads}
    k = cfg.kernels
    _prefixed("kernels", lambda: KernelLearner(**dataclasses.asdict(k), **common)._check_params())
    check_kernels("kernels.n_kernels", k.n_kernels, k.kernel_size)
    _prefixed(
        "conv_snn",
        lambda: ConvSNN(
            None, stride=k.stride, **dataclasses.asdict(cfg.conv_snn), **common
        )._check_params(),
    )
    c = cfg.classifier
    kinds = {"spiking": CoLaNET, "digital": DigitalCoLaNET}
    if c.kind not in kinds:
        raise ParameterError(f"classifier.kind: must be spiking or digital, got {c.kind!r}")
    for cls in {kinds[c.kind], CoLaNET}:  # raw-pixel "colanet" uses the same params

        def colanet(cls: Any = cls) -> None:
            try:
                est = cls(**{**common, **c.params})
            except TypeError as exc:
                raise ParameterTypeError(f"params: {exc}") from None
            est._check_params()

        _prefixed("classifier", colanet)
    b = cfg.baselines
    _int("baselines.cnn_epochs", b.cnn_epochs, 0)
    try:
        CNN1(epochs=b.cnn_epochs or None, backend=b.cnn_backend, **common)._check_params()
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"baselines.cnn_{exc}") from None
    if b.cnn_backend == "torch" and {"cnn1", "cnn2"} & set(cfg.run.methods):
        from ..baselines.cnn import _torch_available

        if not _torch_available():  # refused now, not as a failed method at the end
            raise ParameterError(
                "baselines.cnn_backend: 'torch' needs PyTorch, which is not installed "
                "(pip install 'snnconv[baselines]'); use 'numpy' or 'auto'"
            )
    _int("baselines.ulsnn_time", b.ulsnn_time, 1)
    _int("baselines.ulsnn_epochs", b.ulsnn_epochs, 1)
    ULSNN(time=b.ulsnn_time, epochs=b.ulsnn_epochs, **common)._check_params()


def check_data(cfg: Any, data: Any) -> None:
    """Checks that need the loaded data (before any task starts)."""
    h, w = data.images.shape[1:3]
    k = cfg.kernels.kernel_size
    uses_kernels = {"csnn", "probe"} & set(cfg.run.methods)
    if uses_kernels and k > min(h, w):
        raise ParameterError(
            f"kernels.kernel_size: {k} is larger than the {h}×{w} images of {data.name}"
        )


def check_out_dir(path: str | os.PathLike[str], name: str = "--out") -> Path:
    """Makes sure ``path`` is (or can be made) a folder this process can write to, and
    creates it. Refuses a file, a path under a file and an unwritable place."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ParameterError(f"{name}: {p} is a file, not a folder")
    ancestor = p
    while not ancestor.exists() and ancestor.parent != ancestor:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise ParameterError(f"{name}: {p} is under {ancestor}, which is a file")
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".snnconv-write-check-", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ParameterError(
            f"{name}: cannot write to {p} ({exc.strerror or exc.__class__.__name__})"
        ) from None
    return p


def check_out_file(path: str | os.PathLike[str], name: str = "--out") -> Path:
    """Makes sure ``path`` can be written as a file: not a folder, in a folder this
    process can write to (created if missing)."""
    p = Path(path)
    if p.is_dir():
        raise ParameterError(f"{name}: {p} is a folder, not a file")
    check_out_dir(p.parent if str(p.parent) else ".", name)
    return p
