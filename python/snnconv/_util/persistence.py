"""Model files: one ``.npz`` holding arrays plus a JSON metadata record.

No pickle anywhere: arrays load with ``allow_pickle=False`` and the metadata is
JSON stored as bytes. Files are written to a temporary name in the target folder
and renamed, so a crash never leaves a half-written model behind; they get the
ordinary mode of a new file (0644 under the usual umask 022), not the private 0600
of a temporary file.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

_META_KEY = "__metadata__"


def current_umask() -> int:
    """The process umask (read without changing it where the OS allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # the portable way: set and restore at once
    os.umask(mask)
    return mask


def publish_mode(path: str | os.PathLike[str], directory: bool = False) -> None:
    """Gives a file made by ``tempfile`` (0600; folders 0700) the mode a plainly
    created one would have: 0666 (0777 for folders) minus the umask. Call it before
    the atomic rename, so the file never appears under its final name as private."""
    os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


def save_npz(
    path: str | os.PathLike[str],
    kind: str,
    version: int,
    meta: dict[str, Any],
    arrays: dict[str, np.ndarray],
) -> Path:
    """Atomically write ``arrays`` and ``meta`` (tagged with ``kind``/``version``)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    record = {"format": kind, "format_version": version, **meta}
    blob = np.frombuffer(json.dumps(record, sort_keys=True).encode(), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **{_META_KEY: blob}, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        publish_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_npz(
    path: str | os.PathLike[str], kind: str, max_version: int
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a file written by :func:`save_npz`; every defect is a ValueError."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: not a readable snnconv model file ({exc})") from exc
    if _META_KEY not in arrays:
        raise ValueError(f"{path}: no snnconv metadata record; not an snnconv model file")
    try:
        meta = json.loads(arrays.pop(_META_KEY).tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: corrupt metadata record ({exc})") from exc
    if meta.get("format") != kind:
        raise ValueError(f"{path}: holds a {meta.get('format')!r}, expected {kind!r}")
    version = meta.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= max_version:
        raise ValueError(
            f"{path}: format_version {version!r} is not supported "
            f"(this snnconv reads 1..{max_version})"
        )
    return meta, arrays
