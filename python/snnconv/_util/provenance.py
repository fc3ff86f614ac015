"""Where a result came from: time, package versions and the source commit."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import platform
import subprocess
from pathlib import Path
from typing import Any


def utc_now() -> str:
    """The current time in UTC, ISO 8601 to the second (``2026-01-31T12:00:00Z``)."""
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


def package_version(distribution: str) -> str | None:
    """The installed version of ``distribution`` (without importing it), or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    """Versions of snnconv, Python and the libraries results depend on (None: absent)."""
    import numpy as np

    from .. import __version__

    return {
        "snnconv": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": package_version("scikit-learn"),
        "torch": package_version("torch"),
    }


def source_root() -> Path | None:
    """The snnconv source checkout this package runs from, or None (an installed wheel).

    A checkout is the nearest folder above the package holding both ``.git`` and a
    ``pyproject.toml`` naming the project ``snnconv``, so an unrelated repository that
    happens to contain the installation is not mistaken for it.
    """
    here = Path(__file__).resolve().parent
    for folder in here.parents:
        project = folder / "pyproject.toml"
        if (folder / ".git").exists() and project.is_file():
            try:
                text = project.read_text(encoding="utf-8", errors="replace")
            except OSError:
                return None
            return folder if 'name = "snnconv"' in text else None
    return None


def git_commit() -> str | None:
    """The commit (40 hex digits) of the source checkout snnconv runs from, or None.

    None when snnconv is installed from a wheel, when git is unavailable, or when the
    checkout cannot be read. Uncommitted changes are reported by :func:`git_dirty`.
    """
    root = source_root()
    if root is None:
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out if len(out) == 40 and all(c in "0123456789abcdef" for c in out) else None


def git_dirty() -> bool | None:
    """Whether tracked files of the source checkout differ from its commit (None when
    there is no checkout or git cannot tell)."""
    root = source_root()
    if root is None:
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.strip())


def build_commit() -> tuple[str | None, bool | None]:
    """The commit the compiled core was built from (recorded at build time, so an
    installed wheel knows it too) and whether that checkout had uncommitted changes;
    (None, None) when it was built outside a git checkout."""
    from .. import _core

    text = str(getattr(_core, "__git_commit__", "") or "")
    commit, _, flag = text.partition("+")
    if len(commit) != 40:
        return None, None
    return commit, flag == "dirty"


def cpu_model() -> str | None:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else the platform's word)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine() -> dict[str, Any]:
    """The command line, operating system and CPU a result was produced with."""
    import os
    import sys

    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count()
    return {
        "command": list(sys.argv),
        "os": platform.platform(),
        "cpu": cpu_model(),
        "cores": cores,
    }


def provenance() -> dict[str, Any]:
    """Everything above in one record. The commit is the checkout's when snnconv runs
    from one, else the one the core was built from (``git_commit_source`` says which)."""
    commit, source, dirty = git_commit(), "checkout", None
    if commit is None:
        commit, dirty = build_commit()
        source = "build" if commit is not None else None
    elif commit is not None:
        dirty = git_dirty()
    return {
        "created_utc": utc_now(),
        "versions": versions(),
        "git_commit": commit,
        "git_commit_source": source,
        "git_dirty": dirty,
        **machine(),
    }
