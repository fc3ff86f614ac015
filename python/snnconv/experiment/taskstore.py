"""Finished (method, fold) tasks on disk, so a long run survives being killed.

``snnconv run`` writes each task to ``OUT/tasks/<method>-<fold>.json`` (numbers)
and ``<method>-<fold>.npz`` (predictions and figure arrays) as soon as it finishes,
each file atomically (a temporary file renamed over the target; the JSON, written
last, commits the task). ``OUT/tasks/run.json`` holds the fingerprint of what
determines a task's result: the configuration (without the fields that only say
where and how fast to run), the data and the folds. ``--resume`` reuses the tasks
whose fingerprint matches and refuses to mix runs of another configuration.

No pickle: arrays are read with ``allow_pickle=False`` and the structure of the
figure arrays is described in the JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .._util.persistence import publish_mode
from ..exceptions import SnnconvError

FORMAT = 1
#: Run fields that do not change any task's result: where and how fast it runs, and
#: which methods are asked for (each task stands alone).
RUNTIME_FIELDS = (
    "out",
    "progress",
    "figures",
    "methods",
    "backend",
    "scheduler",
    "n_jobs",
    "threads_per_task",
)
_TASK_FILE = re.compile(r"^(?P<method>[A-Za-z0-9_]+)-(?P<fold>\d+)\.(json|npz)$")
_TMP_PREFIX = ".snnconv-tmp-"


class ResumeError(SnnconvError, ValueError):
    """The output folder holds tasks that cannot be mixed with this run (another
    configuration, or an interrupted run and no ``--resume``)."""


def fingerprint(cfg: Any, data: Any, folds: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """What a task's result depends on, in a JSON-comparable form."""
    config = cfg.to_dict()
    config["run"] = {k: v for k, v in config["run"].items() if k not in RUNTIME_FIELDS}
    h = hashlib.sha256()
    events = getattr(data, "events", None)
    arrays = [data.images, data.labels]
    if events is not None:  # what the CSNN gets
        arrays += [events.events, events.offsets, np.asarray(events.sensor_size)]
    for a in arrays:
        _hash_array(h, a)
    data_sha = h.hexdigest()
    h = hashlib.sha256()
    for train, test in folds:
        h.update(
            np.asarray(train, np.int64).tobytes() + b"|" + np.asarray(test, np.int64).tobytes()
        )
    return {"config": config, "data_sha256": data_sha, "folds_sha256": h.hexdigest()}


def _hash_array(h: Any, a: np.ndarray) -> None:
    """Adds ``a``'s dtype, shape and bytes to the hash ``h`` without copying it, a
    block at a time; the pages of a memory-mapped array are released as it goes
    (``_util.blocks.Reader``), so hashing a mapped data set does not leave it resident
    in the run's memory."""
    from .._util.blocks import RELEASE_BYTES, Reader

    a = np.ascontiguousarray(a)
    h.update(f"{a.dtype.str}{a.shape}".encode())
    raw = a.reshape(-1).view(np.uint8)
    reader = Reader(a)
    for s in range(0, raw.size, RELEASE_BYTES):
        part = raw[s : s + RELEASE_BYTES]
        h.update(part.data)
        reader.read(1, True, part.size)
    reader.release()


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: d}


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    fa, fb = _flat(a), _flat(b)
    keys = sorted(k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k))
    return [k.removeprefix("config.") for k in keys]


def _write_atomic(path: Path, data: bytes) -> None:
    """Writes ``data`` to a temporary file beside ``path``, flushed to disk, and renames
    it into place (with the mode of a plainly created file)."""
    fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        publish_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- artifacts
def _encode(value: Any, arrays: list[np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"array": len(arrays) - 1}
    if isinstance(value, dict):
        return {"dict": [[str(k), _encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {kind: [_encode(v, arrays) for v in value]}
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    raise TypeError(f"cannot store a task artifact of type {type(value).__name__}")


def _decode(node: Any, arrays: Any) -> Any:
    if "array" in node:
        return arrays[f"a{int(node['array'])}"]
    if "dict" in node:
        return {k: _decode(v, arrays) for k, v in node["dict"]}
    if "tuple" in node:
        return tuple(_decode(v, arrays) for v in node["tuple"])
    if "list" in node:
        return [_decode(v, arrays) for v in node["list"]]
    return node["value"]


class TaskStore:
    """The ``tasks`` folder of one run's output folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.fingerprint: dict[str, Any] = {}
        self.key = ""

    # ------------------------------------------------------------ opening
    @classmethod
    def open(
        cls, out: str | os.PathLike[str], fp: dict[str, Any], resume: bool
    ) -> tuple[TaskStore, dict[tuple[str, int], Any]]:
        """Opens ``out/tasks`` for a run with fingerprint ``fp``; returns the store and,
        with ``resume``, the tasks already done. Raises :class:`ResumeError` when the
        folder holds another configuration's tasks, or an interrupted run's tasks and
        ``resume`` is False."""
        store = cls(Path(out) / "tasks")
        store.fingerprint = fp
        store.key = hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()
        folder = store.folder
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(_TMP_PREFIX + "*"):
            stale.unlink(missing_ok=True)
        state = store._state()
        finished = store._task_files()
        done: dict[tuple[str, int], Any] = {}
        if state is not None and finished:
            if resume:
                if state.get("key") != store.key:
                    diff = _differences(state.get("fingerprint", {}), fp)
                    raise ResumeError(
                        f"--resume: {folder} holds tasks of another run (differs in: "
                        f"{', '.join(diff[:8]) or 'format'}); resume with the same "
                        "configuration, or use another --out"
                    )
                done = store._load_all(finished)
            elif state.get("state") != "finished":
                n_tasks = sum(p.suffix == ".json" for p in finished)  # one record per task
                raise ResumeError(
                    f"--out: {folder} holds {n_tasks} finished tasks of an interrupted "
                    "run; continue it with --resume, or delete that folder to start over"
                )
            else:
                for path in finished:  # a finished run's tasks are in its results.json
                    path.unlink(missing_ok=True)
        elif finished:
            raise ResumeError(
                f"--out: {folder} has task files but no run.json; delete that folder to start over"
            )
        store._write_state("running")
        return store, done

    def _state(self) -> dict[str, Any] | None:
        path = self.folder / "run.json"
        if not path.exists():
            return None
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ResumeError(
                f"{path}: unreadable ({exc}); delete the folder to start over"
            ) from None
        if not isinstance(state, dict):
            raise ResumeError(f"{path}: not a run state; delete the folder to start over")
        return state

    def _write_state(self, state: str) -> None:
        record = {
            "format": FORMAT,
            "state": state,
            "key": self.key,
            "fingerprint": self.fingerprint,
        }
        _write_atomic(self.folder / "run.json", json.dumps(record, indent=1).encode())

    def finish(self) -> None:
        """Marks the run finished (its results are written)."""
        self._write_state("finished")

    def _task_files(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if _TASK_FILE.match(p.name))

    # ------------------------------------------------------------ tasks
    def save(self, task: Any) -> None:
        """Writes one finished task (arrays first, then the JSON that commits it)."""
        stem = f"{task.method}-{task.fold}"
        arrays: list[np.ndarray] = [np.asarray(task.result.predictions)]
        artifacts = _encode(task.result.artifacts, arrays)
        buf = _npz_bytes({f"a{i}": a for i, a in enumerate(arrays)})
        _write_atomic(self.folder / f"{stem}.npz", buf)
        record = {
            "format": FORMAT,
            "key": self.key,
            "method": task.method,
            "fold": task.fold,
            "seed": task.seed,
            "wall_time": task.wall_time,
            "accuracy": task.result.accuracy,
            "train_time": task.result.train_time,
            "infer_time_per_image": task.result.infer_time_per_image,
            "neurons": task.result.neurons,
            "extra": task.result.extra,
            "artifacts": artifacts,
            "npz_sha256": hashlib.sha256(buf).hexdigest(),
        }
        _write_atomic(self.folder / f"{stem}.json", json.dumps(record).encode())

    def _load_all(self, files: list[Path]) -> dict[tuple[str, int], Any]:
        done = {}
        for path in files:
            if path.suffix != ".json":
                continue
            task = self._load(path)
            if task is not None:
                done[(task.method, task.fold)] = task
        return done

    def _load(self, path: Path) -> Any:
        """One stored task, or None when it is incomplete (it is then run again)."""
        from .methods import MethodResult
        from .runner import TaskResult

        try:
            record = json.loads(path.read_text())
            npz = path.with_suffix(".npz").read_bytes()
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("key") != self.key:
            if isinstance(record, dict) and record.get("format") == FORMAT:
                raise ResumeError(
                    f"--resume: {path} belongs to another run; resume with the same "
                    "configuration, or use another --out"
                )
            return None
        if hashlib.sha256(npz).hexdigest() != record.get("npz_sha256"):
            return None
        import io

        try:
            with np.load(io.BytesIO(npz), allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            result = MethodResult(
                accuracy=float(record["accuracy"]),
                predictions=arrays["a0"],
                train_time=float(record["train_time"]),
                infer_time_per_image=float(record["infer_time_per_image"]),
                neurons=int(record["neurons"]),
                extra=dict(record["extra"]),
                artifacts=_decode(record["artifacts"], arrays),
            )
            return TaskResult(
                str(record["method"]),
                int(record["fold"]),
                int(record["seed"]),
                result,
                float(record["wall_time"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()
