"""``continual.json`` (with provenance, as ``results.json`` has), ``continual.md`` and
the figures of a stream."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np

from ..experiment.report import write_atomic
from .runner import MethodStream
from .scenarios import Stream

_METRICS = (
    ("average_accuracy", "average acc."),
    ("final_accuracy", "final acc. (all seen)"),
    ("learning_accuracy", "learning acc."),
    ("backward_transfer", "BWT"),
    ("forgetting", "forgetting"),
)


def to_json(stream: Stream, results: dict[str, MethodStream], started_utc: str) -> dict[str, Any]:
    from .._util.provenance import provenance

    prov = provenance()
    return {
        "created_utc": prov["created_utc"],
        "started_utc": started_utc,
        "versions": prov["versions"],
        "git_commit": prov["git_commit"],
        "git_dirty": prov["git_dirty"],
        "snnconv_version": prov["versions"]["snnconv"],
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "stream": stream.describe(),
        "classes": stream.class_names,
        "methods": {name: r.to_json() for name, r in results.items()},
    }


def table(results: dict[str, MethodStream]) -> str:
    """One row per method: the metrics in %, and the training time of the stream."""
    head = "| method | " + " | ".join(label for _, label in _METRICS) + " | train s |"
    lines = [head, "|---|" + "---:|" * (len(_METRICS) + 1)]
    for name, r in results.items():
        m = r.metrics()
        vals = " | ".join(f"{100 * m[k]:.1f}" for k, _ in _METRICS)
        lines.append(f"| {name} | {vals} | {sum(r.train_time_s):.1f} |")
    return "\n".join(lines)


def matrix_table(r: MethodStream, stream: Stream) -> str:
    t = len(stream)
    lines = [
        "| after task | " + " | ".join(f"T{j}" for j in range(t)) + " | all seen |",
        "|---|" + "---:|" * (t + 1),
    ]
    for i in range(t):
        row = " | ".join(f"{100 * v:.1f}" for v in r.accuracy_matrix[i])
        lines.append(f"| {i} | {row} | {100 * r.seen_accuracy[i]:.1f} |")
    return "\n".join(lines)


def markdown(stream: Stream, results: dict[str, MethodStream]) -> str:
    d = stream.describe()
    tasks = ", ".join(f"T{i}: {t['name']}" for i, t in enumerate(d["tasks"]))
    out = [
        f"# snnconv continual: {stream.scenario} {stream.dataset}",
        "",
        f"{len(stream)} tasks ({d['kind']}-incremental): {tasks}.",
        "Accuracies in %; metrics as defined in docs/continual.md.",
        "",
        table(results),
        "",
    ]
    for name, r in results.items():
        out += [f"## {name}", "", f"kept of earlier tasks: {r.memory}", "", matrix_table(r, stream)]
        out.append("")
    return "\n".join(out)


def write_report(
    out: Path, stream: Stream, results: dict[str, MethodStream], started_utc: str
) -> None:
    write_atomic(
        out / "continual.json", json.dumps(to_json(stream, results, started_utc), indent=2)
    )
    write_atomic(out / "continual.md", markdown(stream, results))


def write_figures(out: Path, stream: Stream, results: dict[str, MethodStream]) -> list[Path]:
    """Per method: the accuracy matrix as a heat map beside each task's accuracy over
    the stream (one line per task, starting at the task's own training)."""
    from .._util.extras import require

    require("matplotlib", "figures")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    t = len(stream)
    for name, r in results.items():
        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.4))
        im = a.imshow(100 * r.accuracy_matrix, vmin=0, vmax=100, cmap="viridis")
        a.set_xlabel("tested on task")
        a.set_ylabel("after training task")
        a.set_xticks(range(t))
        a.set_yticks(range(t))
        if t <= 12:
            for i in range(t):
                for j in range(t):
                    v = 100 * r.accuracy_matrix[i, j]
                    a.text(
                        j,
                        i,
                        f"{v:.0f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if v < 60 else "black",
                    )
        fig.colorbar(im, ax=a, label="accuracy, %")
        a.set_title(f"{name}: accuracy matrix")
        for j in range(t):
            b.plot(range(j, t), 100 * r.accuracy_matrix[j:, j], marker="o", ms=3, label=f"T{j}")
        b.plot(range(t), 100 * np.asarray(r.seen_accuracy), "k--", lw=2, label="all seen")
        b.set_xlabel("after training task")
        b.set_ylabel("accuracy, %")
        b.set_ylim(0, 100)
        b.set_xticks(range(t))
        b.set_title(f"{name}: each task over the stream")
        b.legend(fontsize=7, ncol=2)
        fig.suptitle(f"{stream.scenario} {stream.dataset}")
        fig.tight_layout()
        path = out / f"continual-{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
