"""Fuzz tests (tests/fuzz): the allocation budget is lowered while they run, so the
"large but allowed" sizes they draw stay cheap; the outcome counts are printed at the
end of the session."""

from __future__ import annotations

import os

import pytest
from fuzzing import BUDGET, EXAMPLES, Outcome


@pytest.fixture(autouse=True)
def _fuzz_budget():
    old = os.environ.get("SNNCONV_MAX_ALLOC_BYTES")
    os.environ["SNNCONV_MAX_ALLOC_BYTES"] = BUDGET
    try:
        yield
    finally:
        if old is None:
            del os.environ["SNNCONV_MAX_ALLOC_BYTES"]
        else:
            os.environ["SNNCONV_MAX_ALLOC_BYTES"] = old


def pytest_terminal_summary(terminalreporter):  # pragma: no cover - reporting only
    if Outcome.counts and (EXAMPLES > 100 or os.environ.get("SNNCONV_FUZZ_REPORT")):
        terminalreporter.section(f"fuzz outcomes ({EXAMPLES} examples per test)")
        for entry, d in sorted(Outcome.counts.items()):
            parts = ", ".join(f"{k}={v}" for k, v in sorted(d.items()))
            terminalreporter.write_line(f"{entry}: {sum(d.values())} calls: {parts}")
