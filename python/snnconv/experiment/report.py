"""Results: the table in the presentation's shape, results.json and results.md."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .methods import METHODS
from .runner import ExperimentResults


def summary_rows(results: ExperimentResults) -> list[dict[str, Any]]:
    """One row per method: mean and std of accuracy over folds, times, neurons."""
    rows = []
    for method in dict.fromkeys(t.method for t in results.tasks):
        runs = [t for t in results.tasks if t.method == method]
        acc = np.array([t.result.accuracy for t in runs])
        rows.append(
            {
                "method": method,
                "label": METHODS[method][0],
                "accuracy_mean": float(acc.mean()),
                "accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                "runs": len(runs),
                "train_time_s": float(np.mean([t.result.train_time for t in runs])),
                "infer_ms_per_image": 1e3
                * float(np.mean([t.result.infer_time_per_image for t in runs])),
                "neurons": int(runs[0].result.neurons),
            }
        )
    return rows


def table(results: ExperimentResults) -> str:
    """The results table as Markdown."""
    lines = [
        "| method | accuracy, % | std | train time, s | inference, ms/image | neurons |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in summary_rows(results):
        neurons = f"{r['neurons']:,}" if r["neurons"] else "–"
        lines.append(
            f"| {r['label']} | {100 * r['accuracy_mean']:.2f} | {100 * r['accuracy_std']:.2f} "
            f"| {r['train_time_s']:.1f} | {r['infer_ms_per_image']:.3f} | {neurons} |"
        )
    return "\n".join(lines)


def to_json(results: ExperimentResults) -> dict[str, Any]:
    from .. import __version__

    return {
        "snnconv_version": __version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "dataset": results.data_name,
        "n_images": results.n_images,
        "classes": results.class_names,
        "config": results.config.to_dict(),
        "skipped": results.skipped,
        "summary": summary_rows(results),
        "runs": [
            {
                "method": t.method,
                "fold": t.fold,
                "seed": t.seed,
                "accuracy": t.result.accuracy,
                "train_time_s": t.result.train_time,
                "infer_time_per_image_s": t.result.infer_time_per_image,
                "wall_time_s": t.wall_time,
                "neurons": t.result.neurons,
                "n_train": len(results.folds[t.fold][0]),
                "n_test": len(results.folds[t.fold][1]),
                "extra": t.result.extra,
            }
            for t in results.tasks
        ],
    }


def markdown(results: ExperimentResults) -> str:
    cfg = results.config.run
    grouped = "grouped " if cfg.dataset in ("objects", "synthetic-neovision2") else ""
    same_split = len(results.folds) > 1 and all(
        np.array_equal(results.folds[0][1], f[1]) for f in results.folds
    )
    scheme = (
        f"the dataset's own split ({len(results.folds[0][0])} train / "
        f"{len(results.folds[0][1])} test), {len(results.folds)} seeds"
        if same_split
        else f"{len(results.folds)} {grouped}stratified folds"
    )
    out = [
        f"# snnconv results: {results.data_name}",
        "",
        f"{results.n_images} images, {len(results.class_names)} classes, "
        f"{scheme} (seed {cfg.seed}).",
        "",
        table(results),
        "",
    ]
    if results.skipped:
        out.append("Skipped: " + "; ".join(f"{m} ({why})" for m, why in results.skipped.items()))
        out.append("")
    return "\n".join(out)


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_results(results: ExperimentResults, out: Path) -> None:
    write_atomic(out / "results.json", json.dumps(to_json(results), indent=2))
    write_atomic(out / "results.md", markdown(results))
