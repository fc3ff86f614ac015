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
                "accuracy_std": float(fold_std(acc)),
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
    rows = {r["method"]: r for r in summary_rows(results)}
    failed: dict[str, list[Any]] = {}
    for f in results.failed:
        failed.setdefault(f.method, []).append(f)
    for method in dict.fromkeys([*results.config.run.methods, *rows, *failed]):
        r = rows.get(method)
        if r is None and method in failed:
            # Every fold failed: the row says so, with the first error.
            f = failed[method][0]
            error = f.error.replace("|", "\\|")
            lines.append(f"| {METHODS[method][0]} | failed: {error} | – | – | – | – |")
            continue
        if r is None:
            continue
        neurons = f"{r['neurons']:,}" if r["neurons"] else "–"
        lines.append(
            f"| {r['label']} | {100 * r['accuracy_mean']:.2f} | {100 * r['accuracy_std']:.2f} "
            f"| {r['train_time_s']:.1f} | {r['infer_ms_per_image']:.3f} | {neurons} |"
        )
    for f in results.failed:
        if f.method in rows:
            lines.append(
                f"\n{f.method}: fold {f.fold} failed, its row averages the other folds ({f.error})"
            )
    return "\n".join(lines)


def fold_std(values: Any, axis: int = -1) -> Any:
    """Standard deviation over folds (sample std, ddof = 1; 0 for a single fold), the
    spread every table and figure of a run reports."""
    a = np.asarray(values, dtype=float)
    if a.shape[axis] < 2:
        return np.zeros(np.delete(a.shape, axis)) if a.ndim > 1 else 0.0
    return a.std(axis=axis, ddof=1)


def learning_curves(results: ExperimentResults) -> list[dict[str, Any]]:
    """The learning-curve data of every method that recorded one: per fold, test
    accuracy after each chunk of training images; plus mean and std over folds (what
    the learning-curve figure draws). ``training_images`` is the mean over folds of
    the training images seen at each point (folds differ by a few images)."""
    out = []
    for method in dict.fromkeys(t.method for t in results.tasks):
        runs = [t for t in results.tasks if t.method == method]
        runs = [t for t in runs if "learning_curve" in t.result.artifacts]
        if not runs:
            continue
        sizes = np.array([t.result.artifacts["learning_curve"][0] for t in runs], dtype=float)
        accs = np.array([t.result.artifacts["learning_curve"][1] for t in runs], dtype=float)
        out.append(
            {
                "method": method,
                "label": METHODS[method][0] if method in METHODS else method,
                "folds": [t.fold for t in runs],
                "training_images": np.rint(sizes.mean(axis=0)).astype(int).tolist(),
                "training_images_per_fold": sizes.astype(int).tolist(),
                "accuracy_per_fold": accs.tolist(),
                "accuracy_mean": accs.mean(axis=0).tolist(),
                "accuracy_std": np.asarray(fold_std(accs, axis=0)).tolist(),
            }
        )
    return out


def to_json(results: ExperimentResults) -> dict[str, Any]:
    from .._util.provenance import provenance

    prov = provenance()
    return {
        "created_utc": prov["created_utc"],
        "started_utc": results.started_utc,
        "versions": prov["versions"],
        "git_commit": prov["git_commit"],
        "git_commit_source": prov["git_commit_source"],
        "git_dirty": prov["git_dirty"],
        "command": prov["command"],
        "os": prov["os"],
        "cpu": prov["cpu"],
        "snnconv_version": prov["versions"]["snnconv"],
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "dataset": results.data_name,
        "n_images": results.n_images,
        "classes": results.class_names,
        "config": results.config.to_dict(),
        "skipped": results.skipped,
        **({"failed": [vars(f) for f in results.failed]} if results.failed else {}),
        "summary": summary_rows(results),
        "learning_curves": learning_curves(results),
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
    from .._util.provenance import git_commit, versions

    v = versions()
    libs = ", ".join(f"{k} {val}" for k, val in v.items() if k != "snnconv" and val is not None)
    commit = git_commit()
    out.append(
        f"Started {results.started_utc}; snnconv {v['snnconv']}"
        + (f" (commit {commit[:12]})" if commit else "")
        + f"; {libs}. Accuracy std is over folds (ddof = 1)."
    )
    out.append("")
    return "\n".join(out)


def write_atomic(path: Path, text: str) -> None:
    """Writes ``text`` to a temporary file beside ``path`` and renames it into place,
    with the mode of a plainly created file (0644 under umask 022)."""
    from .._util.persistence import publish_mode

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        publish_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_results(results: ExperimentResults, out: Path) -> None:
    write_atomic(out / "results.json", json.dumps(to_json(results), indent=2))
    write_atomic(out / "results.md", markdown(results))
