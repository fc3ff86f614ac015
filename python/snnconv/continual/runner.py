"""Runs methods over a stream: after each task, every task's test set is scored.

``colanet`` and ``csnn`` get their scenario's preset (:mod:`.presets`) under the parameters
given, unless ``preset=False``; the parameters recorded are those they ran with.

Each method's results are written to ``OUT/continual-runs/<method>.json`` as soon as
its stream ends (atomically), with the stream's and the method's fingerprint; with
``resume=True`` a method whose file matches is not run again, and a file that does not
match stops the run (a :class:`~snnconv.experiment.taskstore.ResumeError`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._util.progress import progress_bar
from ..experiment.report import write_atomic
from ..experiment.taskstore import ResumeError
from .methods import METHODS
from .metrics import summarise
from .presets import with_preset
from .scenarios import Stream

RUNS = "continual-runs"


@dataclass
class MethodStream:
    """What one method did over the stream."""

    method: str
    accuracy_matrix: np.ndarray
    train_time_s: list[float]
    test_time_s: list[float]
    #: accuracy on the union of the test sets of tasks 0..i, after task i
    seen_accuracy: list[float]
    params: dict[str, Any] = field(default_factory=dict)
    memory: str = ""

    def metrics(self) -> dict[str, float]:
        return {**summarise(self.accuracy_matrix), "final_accuracy": self.seen_accuracy[-1]}

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "params": self.params,
            "memory": self.memory,
            "accuracy_matrix": self.accuracy_matrix.tolist(),
            "metrics": self.metrics(),
            "seen_accuracy": self.seen_accuracy,
            "train_time_s": self.train_time_s,
            "test_time_s": self.test_time_s,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> MethodStream:
        return cls(
            d["method"],
            np.asarray(d["accuracy_matrix"], dtype=np.float64),
            list(d["train_time_s"]),
            list(d["test_time_s"]),
            list(d["seen_accuracy"]),
            dict(d.get("params", {})),
            str(d.get("memory", "")),
        )


def run_method(
    stream: Stream,
    name: str,
    params: dict[str, Any],
    seed: int,
    threads: int | None = None,
    progress: bool = False,
    preset: bool = True,
) -> MethodStream:
    """Trains method ``name`` task after task and scores every task after each one.

    With ``preset`` (default) ``colanet`` and ``csnn`` start from their scenario's
    preset (:func:`~snnconv.continual.presets.preset`), ``params`` over it."""
    if preset:
        params = with_preset(stream.scenario, name, params)
    method = METHODS[name](stream.classes, seed, threads, params)
    t = len(stream)
    r = np.zeros((t, t))
    n_test = np.array([task.n_test for task in stream.tasks], dtype=np.float64)
    train_times, test_times, seen = [], [], []
    labels_test = [task.test_labels() for task in stream.tasks]
    if method.caches_tests:  # the method keeps what it needs: images made when asked
        tests = [lambda task=task: task.test()[0] for task in stream.tasks]
    else:  # made once, held for every row
        tests = [_held(task.test()[0]) for task in stream.tasks]
    with progress_bar(progress, t, f"{name} over {t} tasks", unit="task") as bar:
        for i, task in enumerate(stream.tasks):
            images, labels = task.train()
            t0 = time.perf_counter()
            method.learn(images, labels)
            t1 = time.perf_counter()
            for j, (x, y) in enumerate(zip(tests, labels_test, strict=True)):
                r[i, j] = float(np.mean(method.predict_task(j, x) == y))
            test_times.append(time.perf_counter() - t1)
            train_times.append(t1 - t0)
            seen.append(float(np.dot(r[i, : i + 1], n_test[: i + 1]) / n_test[: i + 1].sum()))
            bar.update(1)
            bar.set_postfix(task=f"{i + 1}/{t}", acc=f"{100 * r[i, i]:.1f}%")
    return MethodStream(name, r, train_times, test_times, seen, params, method.memory)


def _held(images: np.ndarray) -> Callable[[], np.ndarray]:
    return lambda: images


def fingerprint(stream: Stream, name: str, params: dict[str, Any], seed: int) -> dict[str, Any]:
    """What must match for a method's saved results to be reused."""
    return json.loads(
        json.dumps(
            {"stream": stream.describe(), "method": name, "params": params, "seed": seed},
            default=str,
        )
    )


def run_stream(
    stream: Stream,
    methods: list[str],
    params: dict[str, dict[str, Any]],
    seed: int,
    out: Path | None = None,
    resume: bool = False,
    threads: int | None = None,
    progress: bool = False,
    log: Any = None,
    preset: bool = True,
) -> dict[str, MethodStream]:
    """Every method over the stream, in order; saved per method under ``out``.
    ``preset``: as in :func:`run_method`."""
    results: dict[str, MethodStream] = {}
    folder = None if out is None else Path(out) / RUNS
    if folder is not None and folder.is_dir() and not resume:
        stale = sorted(p.name for p in folder.glob("*.json"))
        if stale:
            raise ResumeError(
                f"--out: {folder} holds results of an earlier stream ({', '.join(stale)}); "
                "use --resume to continue it or another --out"
            )
    for name in methods:
        given = params.get(name, {})
        used = with_preset(stream.scenario, name, given) if preset else dict(given)
        fp = fingerprint(stream, name, used, seed)
        path = None if folder is None else folder / f"{name}.json"
        if resume and path is not None and path.is_file():
            saved = json.loads(path.read_text(encoding="utf-8"))
            if saved.get("fingerprint") != fp:
                raise ResumeError(
                    f"--resume: {path} was made by another stream or other parameters; "
                    "use another --out or the same options"
                )
            results[name] = MethodStream.from_json(saved["result"])
            if log is not None:
                log.info(f"{name}: reused from {path}")
            continue
        res = run_method(stream, name, used, seed, threads, progress, preset=False)
        results[name] = res
        if path is not None:
            write_atomic(path, json.dumps({"fingerprint": fp, "result": res.to_json()}, indent=1))
    return results
