"""The hand-written stubs ``_core.pyi`` match the compiled module."""

import subprocess
import sys

from snnconv._stubcheck import differences


def test_stub_matches_compiled_core():
    assert differences() == []


def test_stubcheck_runs_as_a_module():
    r = subprocess.run(
        [sys.executable, "-m", "snnconv._stubcheck"], capture_output=True, text=True, check=False
    )
    assert r.returncode == 0, r.stdout + r.stderr
