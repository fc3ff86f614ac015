"""The fuzz harness: strategies for hostile and for valid inputs, and the
classification of outcomes.

Every call runs in-process and ends in one of:

* an error snnconv reports on purpose: a ``snnconv.exceptions.SnnconvError`` (which
  includes ``ResourceLimitError``, a ``MemoryError``) — OK;
* a result — OK if every float it holds is finite and the test's own check of it
  passes (shapes, dtypes, ranges);
* ``RuntimeError("internal error ...")`` (a Rust panic caught by the binding), an
  exception of any other class (a plain ``ValueError``, ``TypeError``,
  ``OverflowError``, a numpy ``MemoryError``, ...), or a non-finite output — FAIL
  (the one other ``RuntimeError`` allowed is ``ConvSNN(on_backlog="raise")``'s);
* a hang — a watchdog kills the process with every thread's traceback when one call
  has used ``SNNCONV_FUZZ_TIMEOUT`` seconds of CPU time (all threads), or ten times
  as many seconds of wall-clock time (``SNNCONV_FUZZ_WALL_TIMEOUT``; a deadlock uses
  no CPU) (FAIL). CPU time, because on a loaded machine a call that is merely starved
  of CPU can stand still for minutes of wall-clock time;
* an abort or a segfault kills the process (FAIL, seen by the runner).

Hostile examples check that nothing but those outcomes occurs. Valid examples (the
``valid_*`` strategies) must also *succeed*: each such test asserts a minimum share
of results (``Tally.require``) and checks every result, so a change that made every
call raise would fail.

Profiles: the number of examples per test is ``SNNCONV_FUZZ_EXAMPLES`` (default 30,
derandomised, so the whole suite stays well under a minute in CI); the long campaign
sets it higher (docs/robustness.md).
"""

from __future__ import annotations

import faulthandler
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("SNNCONV_FUZZ_EXAMPLES", "30"))
#: Campaign mode: a failure is appended to this file (with its inputs) and counted
#: instead of stopping the test, so a long run keeps going.
RECORD = os.environ.get("SNNCONV_FUZZ_RECORD")
TIMEOUT = float(os.environ.get("SNNCONV_FUZZ_TIMEOUT", "120"))
WALL_TIMEOUT = float(os.environ.get("SNNCONV_FUZZ_WALL_TIMEOUT", str(10 * TIMEOUT)))
#: The allocation budget the fuzz tests run under (bytes): large enough for every
#: legitimate tiny case, small enough that "large but allowed" sizes stay cheap.
BUDGET = os.environ.get("SNNCONV_FUZZ_BUDGET", str(256 << 20))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 100,  # CI: the same examples on every run
    suppress_health_check=list(HealthCheck),
    database=None,
)


def _clean() -> tuple[type[BaseException], ...]:
    from snnconv.exceptions import SnnconvError

    return (SnnconvError,)


#: The allowed RuntimeError: ConvSNN's documented ``on_backlog="raise"``.
BACKLOG_MESSAGE = "backlog"


class Outcome:
    """Counts of outcomes per entry point, printed at the end of a long run."""

    counts: ClassVar[dict[str, dict[str, int]]] = {}

    total: ClassVar[int] = 0

    @classmethod
    def add(cls, entry: str, kind: str) -> None:
        d = cls.counts.setdefault(entry, {})
        d[kind] = d.get(kind, 0) + 1
        cls.total += 1
        if RECORD and cls.total % 200 == 0:  # campaign progress, kept if the run dies
            import json

            with open(f"{RECORD}.counts.json", "w", encoding="utf-8") as f:
                json.dump(cls.counts, f, indent=1, sort_keys=True)


def _finite(out: Any, where: str = "output") -> None:
    if isinstance(out, np.ndarray):
        if out.dtype.kind in "fc" and not np.isfinite(out).all():
            raise AssertionError(f"non-finite values in {where} {out.shape}")
    elif isinstance(out, dict):
        for k, v in out.items():
            _finite(v, f"{where}[{k!r}]")
    elif isinstance(out, (list, tuple)):
        for i, v in enumerate(out):
            _finite(v, f"{where}[{i}]")
    elif isinstance(out, float) and not math.isfinite(out):
        raise AssertionError(f"non-finite {where}: {out}")
    elif hasattr(out, "__dataclass_fields__"):
        for k in out.__dataclass_fields__:
            _finite(getattr(out, k), f"{where}.{k}")


def _fail(entry: str, msg: str, cause: BaseException | None = None) -> None:
    Outcome.add(entry, "FAIL")
    if RECORD:
        import traceback

        with open(RECORD, "a", encoding="utf-8") as f:
            f.write(f"=== {entry}: {msg}\n")
            if cause is not None:
                f.write("".join(traceback.format_exception(cause)))
            f.write("".join(traceback.format_stack(limit=8)))
        return
    raise AssertionError(f"{entry}: {msg}") from cause


#: Where the watchdog writes the tracebacks of a hang (pytest captures stderr, and
#: the process exits): SNNCONV_FUZZ_HANG_LOG, default snnconv_fuzz_hang.log in the
#: temporary directory.
HANG_LOG = os.environ.get(
    "SNNCONV_FUZZ_HANG_LOG", os.path.join(tempfile.gettempdir(), "snnconv_fuzz_hang.log")
)
_hang_file: Any = None


class _CpuWatchdog:
    """Ends the process, with every thread's traceback in the hang log, once the
    armed call has used ``TIMEOUT`` seconds of the process's CPU time. A daemon
    thread polls ``time.process_time()`` once a second; the core releases the GIL
    while it computes, so the thread runs during a long native call too (a call
    holding the GIL is caught by the wall-clock limit of ``faulthandler``)."""

    def __init__(self) -> None:
        self.start: float | None = None
        self.thread: threading.Thread | None = None

    def arm(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._watch, daemon=True, name="fuzz-cpu")
            self.thread.start()
        self.start = time.process_time()

    def disarm(self) -> None:
        self.start = None

    def _watch(self) -> None:
        while True:
            time.sleep(1.0)
            start = self.start
            if start is not None and time.process_time() - start > TIMEOUT:
                _hang_file.write(f"CPU time of one call above {TIMEOUT} s\n")
                faulthandler.dump_traceback(_hang_file, all_threads=True)
                _hang_file.flush()
                os._exit(1)


_cpu_watchdog = _CpuWatchdog()


class Tally:
    """Outcomes of one valid-input test, for its minimum share of successes."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.ok: dict[str, int] = {}

    def add(self, entry: str, ok: bool) -> None:
        self.calls[entry] = self.calls.get(entry, 0) + 1
        self.ok[entry] = self.ok.get(entry, 0) + int(ok)

    def require(self, entry: str, share: float) -> None:
        """At least ``share`` of the calls of ``entry`` returned a checked result."""
        n, ok = self.calls.get(entry, 0), self.ok.get(entry, 0)
        assert n > 0, f"{entry}: never called"
        assert ok >= share * n, f"{entry}: only {ok} of {n} valid calls succeeded"


def run(
    entry: str,
    call: Callable[[], Any],
    check: Callable[[Any], None] | None = None,
    tally: Tally | None = None,
) -> Any:
    """Runs ``call`` under the watchdog; returns its result, or None after a clean
    error. Fails on a caught panic, another exception, a non-finite output or a
    result ``check`` rejects (an AssertionError)."""
    global _hang_file
    if _hang_file is None:
        _hang_file = open(HANG_LOG, "a", encoding="utf-8")
    _hang_file.write(f"--- {entry}\n")
    _hang_file.flush()
    faulthandler.dump_traceback_later(WALL_TIMEOUT, exit=True, file=_hang_file)
    _cpu_watchdog.arm()
    try:
        out = call()
    except _clean() as e:
        Outcome.add(entry, type(e).__name__)
        if tally is not None:
            tally.add(entry, False)
        return None
    except RuntimeError as e:
        if "internal error" in str(e):  # a Rust panic caught by the binding
            _fail(entry, f"panic: {e}", e)
        elif BACKLOG_MESSAGE in str(e):  # ConvSNN on_backlog="raise"
            Outcome.add(entry, "RuntimeError")
        else:
            _fail(entry, f"RuntimeError: {e}", e)
        if tally is not None:
            tally.add(entry, False)
        return None
    except Exception as e:  # anything not reported on purpose
        _fail(entry, f"{type(e).__name__} (not an SnnconvError): {e}", e)
        if tally is not None:
            tally.add(entry, False)
        return None
    finally:
        _cpu_watchdog.disarm()
        faulthandler.cancel_dump_traceback_later()
    try:
        _finite(out, entry)
        if check is not None:
            check(out)
    except AssertionError as e:
        _fail(entry, str(e))
        if tally is not None:
            tally.add(entry, False)
        return None
    Outcome.add(entry, "ok")
    if tally is not None:
        tally.add(entry, True)
    return out


def fitted_attrs(est: Any) -> dict[str, Any]:
    """The fitted float attributes of an estimator (``name_``), for the finiteness check."""
    out = {}
    for k, v in vars(est).items():
        if k.endswith("_") and not k.startswith("_") and isinstance(v, (np.ndarray, float)):
            out[k] = v
    return out


# ---------------------------------------------------------------------- strategies
HUGE_INTS = st.sampled_from([2**31, 2**32 + 1, 2**40, 2**62, 2**63 - 1, 2**63, 2**64, 10**30])


def ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    """A valid integer parameter (faults are injected by ``inject``)."""
    return st.integers(lo, hi)


def reals(lo: float, hi: float) -> st.SearchStrategy[float]:
    """A valid float parameter (faults are injected by ``inject``)."""
    return st.floats(lo, hi)


ODD_FLOATS = st.sampled_from(
    [
        0.0,
        -0.0,
        1e-320,
        -1e-320,
        1e-300,
        1e150,
        -1e150,
        1e308,
        -1e308,
        float("inf"),
        float("-inf"),
        float("nan"),
    ]
)

#: What a hostile user puts in a parameter: huge, zero, negative, non-finite, extreme,
#: or of the wrong type.
HOSTILE = st.one_of(
    HUGE_INTS,
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 1, 2, -(2**63)]),
    ODD_FLOATS,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "3",
            "",
            None,
            True,
            False,
            [],
            (1,),
            {},
            np.int64(2),
            np.float32(0.5),
            np.uint64(2**64 - 1),
            complex(1, 1),
            object(),
        ]
    ),
)


def inject(draw: Any, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` (valid) with 0 to 3 of them replaced by hostile values: about half of
    the examples keep every parameter valid, so the data paths are reached too."""
    n = draw(st.sampled_from([0, 0, 0, 0, 1, 1, 2, 3]))
    if n:
        names = draw(st.lists(st.sampled_from(sorted(params)), min_size=n, max_size=n, unique=True))
        for name in names:
            params[name] = draw(HOSTILE)
    return params


N_THREADS = st.one_of(st.none(), st.none(), st.integers(1, 2))

DTYPES = st.sampled_from(
    [np.uint8] * 4 + [np.float64] * 3 + [np.float32, np.int64, np.uint16, bool, np.int8]
)


@st.composite
def image_stacks(draw: Any, min_side: int = 1, max_side: int = 14, ndim: int = 3) -> Any:
    """Image stacks: mostly (N, H, W) of small sizes in a plausible range, sometimes
    odd dtypes, NaN/inf, out-of-range values, empty or zero-sized huge dimensions,
    wrong dimensionality, lists or junk."""
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return draw(st.sampled_from([None, "images", 3, [], [[1, 2]], object()]))
    if kind == 1:  # zero-sized with a huge dimension: no memory, absurd shape
        shape = draw(
            st.sampled_from([(2**40, 0, 5), (0, 2**28, 2**28), (3, 0, 2**40), (2**45, 0, 0)])
        )
        shape = shape[:ndim] if ndim < 3 else shape
        return np.empty(shape, dtype=draw(DTYPES))
    if kind == 2:  # wrong number of dimensions
        d = draw(st.sampled_from([1, 2, 4]))
        return np.zeros((3,) * d, dtype=np.uint8)
    n = draw(st.integers(0 if kind == 3 else 1, 6))
    h = draw(st.integers(min_side, max_side))
    w = draw(st.integers(min_side, max_side))
    shape = (n, h, w) if ndim == 3 else (h, w)
    dtype = draw(DTYPES)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if np.dtype(dtype).kind == "f":
        a = rng.random(shape).astype(dtype)
        if kind == 4:
            a.flat[draw(st.integers(0, max(a.size - 1, 0)))] = (
                draw(st.sampled_from([np.nan, np.inf, -np.inf, -1.0, 2.0, 255.0])) if a.size else 0
            )
        if kind == 5:
            a *= 255
    elif np.dtype(dtype).kind == "b":
        a = rng.random(shape) > 0.5
    else:
        info = np.iinfo(dtype)
        a = rng.integers(max(info.min, -300), min(info.max, 300), size=shape, endpoint=True).astype(
            dtype
        )
    if kind == 6 and a.ndim >= 2:
        a = a[..., ::2]  # not contiguous
    if kind == 7:
        a = a.tolist()
    return a


def digit_like(n: int = 8, side: int = 12, seed: int = 0) -> np.ndarray:
    """Small uint8 images with bright strokes, so the learners have something to learn."""
    rng = np.random.default_rng(seed)
    a = (rng.random((n, side, side)) ** 4 * 255).astype(np.uint8)
    a[:, side // 3 : side // 3 + 2, 2:-2] = 230
    return a


# ------------------------------------------------------------------ valid inputs
#: The share of valid-input calls that must return a checked result (CI and long
#: profiles alike). Valid inputs may still be refused where the package says so
#: (a kernel-learning run in which no kernel fires, ...), hence not 100 %.
MIN_SHARE = 0.9


@st.composite
def valid_images(
    draw: Any, min_side: int = 6, max_side: int = 14, n_min: int = 1, n_max: int = 6
) -> Any:
    """(N, H, W) uint8 or float64-in-[0, 1] images with bright strokes."""
    n = draw(st.integers(n_min, n_max))
    side = draw(st.integers(min_side, max_side))
    a = digit_like(n, side, draw(st.integers(0, 2**16)))
    if draw(st.booleans()):
        return a.astype(np.float64) / 255.0
    return a
