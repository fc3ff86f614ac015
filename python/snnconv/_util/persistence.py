"""Model files: one ``.npz`` holding arrays plus a JSON metadata record.

Guarantees (user-facing summary in docs/robustness.md):

- **No pickle**: arrays load with ``allow_pickle=False``; the metadata is JSON stored
  as bytes and parsed with size and nesting limits.
- **Verified**: from format version 2 on, the metadata records each array's dtype,
  shape and SHA-256; load recomputes them and refuses any difference. Files of
  version 1 (no checksums) still load, with every range check but without the
  checksum comparison. Every defect is a :class:`~snnconv.exceptions.ModelFileError`
  naming the file and the field.
- **Never destroys what is not its own**: a save replaces only a model file of the
  same kind (its metadata's ``format``); anything else at the target (a plain file,
  a model of another kind, a directory) is a ``FileExistsError`` and is left
  untouched, unless ``overwrite=True`` (a directory is never replaced by a file).
- **Atomic**: the file is written complete (and fsynced) under a temporary name
  ``.<name>.<pid>.snnconv-tmp-<random>`` in the target folder, then renamed over the
  target in one ``os.replace`` (with the ordinary mode of a new file, 0666 minus the
  umask, not the private 0600 of a temporary file); every failure path (KeyboardInterrupt included)
  removes the temporary file, and temporaries left by a killed process (whose pid no
  longer runs) are removed by the next save to the same target.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import stat
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import ModelFileError, ModelFileNotFoundError, ParameterTypeError

_META_KEY = "__metadata__"

#: The first format version whose files carry checksums (every kind).
CHECKSUM_VERSION = 2
#: Largest metadata record read (bytes) and deepest JSON nesting accepted.
MAX_META_BYTES = 16 << 20
MAX_META_DEPTH = 32
#: Largest ``n_threads`` a model file may carry (the core caps it further).
MAX_THREADS = 4096
_TMP_TAG = "snnconv-tmp"


def _step(name: str) -> None:
    """A named point of a save (tests make it raise to simulate a crash there)."""


# ---------------------------------------------------------------- temporaries
def tmp_prefix(target: Path) -> str:
    """Prefix of this process's temporaries for ``target`` (in its parent folder)."""
    return f".{target.name}.{os.getpid()}.{_TMP_TAG}-"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0
    return True


def remove_path(p: Path) -> None:
    """Deletes a file, symlink or folder; missing is fine."""
    try:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    except OSError:
        pass


def clean_stale(folder: Path, name: str) -> None:
    """Removes temporaries ``.<name>.<pid>.snnconv-tmp-*`` / ``...-old-*`` in ``folder``
    whose process no longer runs (left behind by a killed save)."""
    pattern = re.compile(rf"^\.{re.escape(name)}\.(\d+)\.{_TMP_TAG}-")
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        m = pattern.match(entry.name)
        if m and not _pid_alive(int(m.group(1))):
            remove_path(entry)


#: Temporaries of snnconv versions before format version 2 (no process id in the name):
#: ``.<name>.<8 random>.tmp`` files and ``.<name>.<8 random>`` / ``.<name>.old`` folders of
#: a CSNNClassifier save. Removed once older than LEGACY_AGE seconds, folders only if
#: they hold nothing but what such a save writes.
LEGACY_AGE = 600
_LEGACY_STAGE = re.compile(
    r"^(csnn\.json|kernel_learner\.npz|front_end\.npz|classifier\.npz"
    r"|\.(kernel_learner|front_end|classifier)\.npz\.[a-z0-9_]{8}\.tmp)$"
)


def clean_legacy(folder: Path, name: str) -> None:
    """Removes temporaries that killed saves of older snnconv versions left for
    ``name`` in ``folder`` (see LEGACY_AGE)."""
    tmp_file = re.compile(rf"^\.{re.escape(name)}\.[a-z0-9_]{{8}}\.tmp$")
    tmp_dir = re.compile(rf"^\.{re.escape(name)}\.([a-z0-9_]{{8}}|old)$")
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    now = time.time()
    for entry in entries:
        try:
            st = entry.lstat()
        except OSError:
            continue
        if now - st.st_mtime < LEGACY_AGE:
            continue
        if tmp_file.match(entry.name) and stat.S_ISREG(st.st_mode):
            entry.unlink(missing_ok=True)
        elif tmp_dir.match(entry.name) and stat.S_ISDIR(st.st_mode):
            try:
                inside = list(entry.iterdir())
            except OSError:
                continue
            if all(_LEGACY_STAGE.match(p.name) and p.is_file() for p in inside):
                shutil.rmtree(entry, ignore_errors=True)


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


def fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def temp_file(target: Path) -> Iterator[tuple[int, Path]]:
    """A fresh temporary file next to ``target`` (mode per umask), removed unless it
    was renamed away."""
    fd, tmp = tempfile.mkstemp(prefix=tmp_prefix(target), dir=target.parent)
    path = Path(tmp)
    try:
        publish_mode(path)
        yield fd, path
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------- JSON
def parse_json(raw: bytes, where: str) -> dict[str, Any]:
    """A JSON object from ``raw``; size, encoding, nesting and number defects are
    ModelFileErrors naming ``where``."""
    if len(raw) > MAX_META_BYTES:
        raise ModelFileError(f"{where}: metadata record of {len(raw)} bytes is too large")
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise ModelFileError(f"{where}: corrupt metadata record ({exc})") from exc
    if not isinstance(meta, dict):
        raise ModelFileError(f"{where}: metadata record must be a JSON object")
    _check_depth(meta, where)
    return meta


def _check_depth(value: Any, where: str) -> None:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if d > MAX_META_DEPTH:
            raise ModelFileError(f"{where}: metadata nested deeper than {MAX_META_DEPTH}")
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)


def sha256_array(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- targets
def model_kind(path: Path) -> str | None:
    """The ``format`` recorded in an npz model file, or None for anything else."""
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            return None
        with data:
            if _META_KEY not in data.files:
                return None
            meta = parse_json(data[_META_KEY].tobytes(), str(path))
    except Exception:  # anything unreadable is "not a model"
        return None
    kind = meta.get("format")
    return kind if isinstance(kind, str) else None


def refuse(path: Path, what: str) -> FileExistsError:
    return FileExistsError(
        f"{path}: {what}; a save replaces only a model of the same kind written by "
        f"snnconv (pass overwrite=True to replace it)"
    )


def check_replaceable_file(path: Path, kind: str, overwrite: bool) -> None:
    """Raises FileExistsError unless ``path`` may be replaced by a ``kind`` file."""
    if not os.path.lexists(path):
        return
    if path.is_dir():
        raise FileExistsError(f"{path}: is a directory; a model file is never saved over one")
    if overwrite:
        return
    found = model_kind(path)
    if found != kind:
        what = "is not an snnconv model file" if found is None else f"holds a {found!r}"
        raise refuse(path, f"exists and {what}, not a {kind!r}")


# ---------------------------------------------------------------- npz files
def npz_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def save_npz(
    path: str | os.PathLike[str],
    kind: str,
    version: int,
    meta: dict[str, Any],
    arrays: dict[str, np.ndarray],
    overwrite: bool = False,
) -> Path:
    """Atomically write ``arrays`` and ``meta`` (tagged with ``kind``/``version`` and
    the arrays' dtypes, shapes and SHA-256) to ``path`` (``.npz`` appended if missing)."""
    path = npz_path(path)
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    for k, a in arrays.items():
        if a.dtype.hasobject:
            raise ParameterTypeError(f"{k}: object arrays cannot be saved without pickle")
    record = {
        "format": kind,
        "format_version": version,
        **meta,
        "arrays": {
            k: {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": sha256_array(a)}
            for k, a in arrays.items()
        },
    }
    text = json.dumps(record, sort_keys=True, allow_nan=True)
    blob = np.frombuffer(text.encode(), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    check_replaceable_file(path, kind, overwrite)
    clean_stale(path.parent, path.name)
    clean_legacy(path.parent, path.name)
    with temp_file(path) as (fd, tmp):
        with os.fdopen(os.dup(fd), "wb") as fh:
            np.savez(fh, **{_META_KEY: blob}, **arrays)
            _step("npz-written")
            fh.flush()
            os.fsync(fh.fileno())
        _step("npz-before-rename")
        os.replace(tmp, path)
    fsync_dir(path.parent)
    return path


def load_npz(
    path: str | os.PathLike[str], kind: str, max_version: int
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a file written by :func:`save_npz`; every defect is a ModelFileError.
    Checks the format, the version and (version >= 2) every array's dtype, shape and
    SHA-256 against the metadata; float arrays must be finite."""
    path = Path(path)
    # A path given by the user may be a symlink to a model file (followed, as any
    # open does); one that leads nowhere, or to a folder, is not a model file.
    if not path.exists():
        what = "a dangling symlink" if path.is_symlink() else "no such file"
        raise ModelFileNotFoundError(f"{path}: {what}; expected a {kind} model file")
    if not path.is_file():
        raise ModelFileError(f"{path}: not a regular file; expected a {kind} model file")
    try:
        _check_declared_sizes(path)
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ModelFileError(f"{path}: a single .npy array, not an snnconv model file")
        with data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError as exc:  # removed meanwhile
        raise ModelFileNotFoundError(f"{path}: {exc}") from exc
    except PermissionError:
        raise
    except ModelFileError:
        raise
    except (
        zipfile.BadZipFile,
        EOFError,
        OSError,
        ValueError,
        KeyError,
        RuntimeError,
        TypeError,
        MemoryError,
        NotImplementedError,
    ) as exc:
        raise ModelFileError(f"{path}: not a readable snnconv model file ({exc})") from exc
    if _META_KEY not in arrays:
        raise ModelFileError(f"{path}: no snnconv metadata record; not an snnconv model file")
    meta = parse_json(arrays.pop(_META_KEY).tobytes(), str(path))
    if meta.get("format") != kind:
        raise ModelFileError(f"{path}: format: holds a {meta.get('format')!r}, expected {kind!r}")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= max_version:
        raise ModelFileError(
            f"{path}: format_version {version!r} is not supported "
            f"(this snnconv reads 1..{max_version})"
        )
    if version >= CHECKSUM_VERSION:
        _verify_arrays(path, meta.get("arrays"), arrays)
    elif "arrays" in meta:
        # Only files of version >= 2 carry the record: a lowered version would skip
        # the checksum comparison.
        raise ModelFileError(
            f"{path}: format_version {version} files carry no checksum record, this one "
            "does (the version was changed)"
        )
    for k, a in arrays.items():
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            raise ModelFileError(f"{path}: {k}: holds NaN or infinity")
    return meta, arrays


def _check_declared_sizes(path: Path) -> None:
    """Every array's header must not claim more bytes than its zip member holds, so a
    forged header cannot make the load allocate memory the file does not back."""
    if not zipfile.is_zipfile(path):
        return  # np.load reports what it is
    fmt = np.lib.format
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            with zf.open(info) as fh:
                version = fmt.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = fmt.read_array_header_1_0(fh)
                elif version == (2, 0):
                    shape, _, dtype = fmt.read_array_header_2_0(fh)
                else:
                    raise ModelFileError(f"{path}: {info.filename}: unsupported .npy version")
                count = math.prod(int(s) for s in shape)
                if count * dtype.itemsize > info.file_size:
                    raise ModelFileError(
                        f"{path}: {info.filename}: header declares shape {shape} "
                        f"({count * dtype.itemsize} bytes), the member holds {info.file_size}"
                    )


def _verify_arrays(path: Path, record: Any, arrays: dict[str, np.ndarray]) -> None:
    if not isinstance(record, dict):
        raise ModelFileError(f"{path}: arrays: missing or malformed checksum record")
    if set(record) != set(arrays):
        raise ModelFileError(
            f"{path}: arrays: file holds {sorted(arrays)}, metadata lists {sorted(record)}"
        )
    for k, a in arrays.items():
        r = record[k]
        if not isinstance(r, dict):
            raise ModelFileError(f"{path}: arrays.{k}: malformed checksum record")
        if r.get("dtype") != a.dtype.str:
            raise ModelFileError(
                f"{path}: {k}: dtype {a.dtype.str} differs from the recorded {r.get('dtype')!r}"
            )
        if r.get("shape") != list(a.shape):
            raise ModelFileError(
                f"{path}: {k}: shape {list(a.shape)} differs from the recorded {r.get('shape')!r}"
            )
        if r.get("sha256") != sha256_array(a):
            raise ModelFileError(f"{path}: {k}: SHA-256 checksum mismatch (file altered)")


# ---------------------------------------------------------------- reading fields
@contextlib.contextmanager
def reading(path: Any, what: str) -> Iterator[None]:
    """Turns any defect met while rebuilding a model from its file into a
    ModelFileError naming the file (messages of the checks name the field)."""
    try:
        yield
    except ModelFileError as exc:
        msg = str(exc)
        if msg.startswith(str(path)):
            raise
        raise ModelFileError(f"{path}: {msg}") from exc
    except KeyError as exc:
        raise ModelFileError(f"{path}: incomplete or corrupt {what} file: no field {exc}") from exc
    except (
        TypeError,
        ValueError,
        AttributeError,
        OverflowError,
        RecursionError,
        IndexError,
        RuntimeError,
        ZeroDivisionError,
        MemoryError,
    ) as exc:
        raise ModelFileError(f"{path}: incomplete or corrupt {what} file: {exc}") from exc


def field_int(meta: dict[str, Any], key: str, lo: int = 0, hi: int = 2**62) -> int:
    v = meta[key]
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ModelFileError(f"{key}: must be an integer in [{lo}, {hi}], got {v!r}")
    return v


def field_float(
    meta: dict[str, Any],
    key: str,
    ok: Callable[[float], bool] = lambda v: True,
    rng: str = "finite",
    allow_none: bool = False,
) -> float | None:
    v = meta[key]
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ModelFileError(f"{key}: must be a number, got {type(v).__name__}")
    try:
        f = float(v)
    except OverflowError:
        raise ModelFileError(f"{key}: must be {rng}, got an integer too large") from None
    if not math.isfinite(f) or not ok(f):
        raise ModelFileError(f"{key}: must be {rng}, got {v!r}")
    return f


def field_image_shape(meta: dict[str, Any], key: str = "image_shape_") -> tuple[int, int]:
    """[height, width] of the training images, each in 1..65536."""
    shape = meta[key]
    if not isinstance(shape, list) or len(shape) != 2:
        raise ModelFileError(f"{key}: must be [height, width], got {shape!r}")
    h, w = (field_int({key: v}, key, 1, 1 << 16) for v in shape)
    return h, w


def with_added_params(
    meta: dict[str, Any], since: int, added: dict[str, Any], key: str = "params"
) -> dict[str, Any]:
    """``meta`` with the parameters ``added`` (name → default) filled in when a file of
    a format version before ``since`` was written without them: such a file predates
    the parameters, and their defaults give the behaviour it was made with. A file of
    version ``since`` or later must hold them (a deleted key is refused by
    :func:`field_params`). In-memory states (pickles) carry no version and are current."""
    params = meta.get(key)
    if "format_version" not in meta or not isinstance(params, dict):
        return meta
    version = meta["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version >= since:
        return meta
    return {**meta, key: {**added, **params}}


def field_params(
    meta: dict[str, Any], key: str = "params", like: Any = None, exclude: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The saved hyperparameters: a flat JSON object of plain values; ints must fit
    64 bits, floats must not be NaN, ``n_threads`` must be None or in 1..MAX_THREADS.

    With ``like`` (the estimator class), the names must be exactly its constructor's
    parameters (less ``exclude``): a deleted key would silently take the default, an
    added one is not a parameter. A parameter whose default is a bool must be a bool."""
    params = meta[key]
    if not isinstance(params, dict):
        raise ModelFileError(f"{key}: must be a JSON object, got {type(params).__name__}")
    for name, v in params.items():
        _check_plain(f"{key}.{name}", v)
    if like is not None:
        import inspect

        sig = {
            k: p.default
            for k, p in inspect.signature(like.__init__).parameters.items()
            if k != "self" and p.kind is p.POSITIONAL_OR_KEYWORD and k not in exclude
        }
        _exact_keys(key, params, set(sig))
        for name, default in sig.items():
            if isinstance(default, bool) and not isinstance(params[name], bool):
                raise ModelFileError(f"{key}.{name}: must be true or false, got {params[name]!r}")
    n = params.get("n_threads")
    if n is not None and (
        isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_THREADS
    ):
        raise ModelFileError(f"{key}.n_threads: must be None or in [1, {MAX_THREADS}], got {n!r}")
    return dict(params)


def _check_plain(name: str, v: Any) -> None:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return
    if isinstance(v, int):
        if not -(2**63) <= v < 2**63:
            raise ModelFileError(f"{name}: integer {v} does not fit 64 bits")
        return
    if isinstance(v, float):
        if math.isnan(v):
            raise ModelFileError(f"{name}: is NaN")
        return
    if isinstance(v, list):
        for x in v:
            if isinstance(x, (list, dict)):
                raise ModelFileError(f"{name}: must be a flat list")
            _check_plain(name, x)
        return
    raise ModelFileError(f"{name}: unexpected value of type {type(v).__name__}")


# ---------------------------------------------------------------- schemas
#: Metadata keys every model file has (written by save_npz itself).
_FRAME_KEYS = frozenset({"format", "format_version", "arrays"})
_VERSION_TEXT = re.compile(r"^[0-9][0-9A-Za-z.+!_-]{0,63}$")


def _exact_keys(
    where: str, found: Any, expected: set[str], optional: frozenset[str] | set[str] = frozenset()
) -> None:
    keys = set(found)
    missing = sorted(expected - keys)
    if missing:
        raise ModelFileError(f"{where}: missing {', '.join(missing)}")
    extra = sorted(keys - expected - optional)
    if extra:
        raise ModelFileError(f"{where}: unexpected {', '.join(map(str, extra))}")


#: An array's accepted dtype in a schema: a numpy dtype name, or LABELS (class labels:
#: integers, floats, bools or strings, never objects).
LABELS = "labels"


def check_schema(
    meta: dict[str, Any],
    arrays: dict[str, np.ndarray],
    keys: set[str],
    array_dtypes: dict[str, str],
    optional_keys: frozenset[str] | set[str] = frozenset(),
    optional_arrays: frozenset[str] | set[str] = frozenset(),
    versioned: bool = True,
) -> None:
    """The file holds exactly the metadata ``keys`` (plus any of ``optional_keys``, and
    ``snnconv_version`` if ``versioned``) and exactly the arrays of ``array_dtypes``
    (those in ``optional_arrays`` may be absent), each of its dtype. (``format``,
    ``format_version`` and the checksum record are checked by :func:`load_npz`; the
    in-memory state of a pickle has none of them.)"""
    keys = keys | ({"snnconv_version"} if versioned else set())
    _exact_keys("metadata", meta, keys, optional_keys | _FRAME_KEYS)
    present = set(array_dtypes) - set(optional_arrays)
    _exact_keys("arrays", arrays, present, set(optional_arrays))
    for name, a in arrays.items():
        want = array_dtypes[name]
        if want == LABELS:
            ok = a.dtype.kind in "biufU"
        else:
            ok = a.dtype == np.dtype(want)
        if not ok:
            raise ModelFileError(f"{name}: dtype {a.dtype}, expected {want}")
    v = meta.get("snnconv_version")
    if "snnconv_version" in meta and not (isinstance(v, str) and _VERSION_TEXT.match(v)):
        raise ModelFileError(f"snnconv_version: must be a version string, got {v!r}")


def check_finite_range(name: str, a: np.ndarray, lo: float, hi: float) -> None:
    """Every value of ``a`` lies in [lo, hi]."""
    if a.size and not (float(a.min()) >= lo and float(a.max()) <= hi):
        raise ModelFileError(f"{name}: values must lie in [{lo}, {hi}]")


def check_classes(a: np.ndarray) -> np.ndarray:
    """Saved ``classes_``: a non-empty 1-D array of distinct labels in increasing
    order, as ``np.unique`` gives them (so a changed label cannot pass)."""
    if a.ndim != 1 or a.size < 1:
        raise ModelFileError(f"classes: must be a non-empty 1-D array, got shape {a.shape}")
    if a.size > 1 and not bool(np.all(a[1:] > a[:-1])):
        raise ModelFileError("classes: must be distinct and in increasing order")
    return a
