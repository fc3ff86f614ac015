"""Estimator settings given on a benchmark's command line: ``"name=value,name=value"``,
each value a Python literal ("" = no change)."""

from __future__ import annotations

import ast
from typing import Any


def parse_settings(text: str) -> dict[str, Any]:
    """``"threshold_excess=0.7,reward=1.0"`` → ``{"threshold_excess": 0.7, "reward": 1.0}``."""
    out = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        k, _, v = item.partition("=")
        out[k.strip()] = ast.literal_eval(v.strip())
    return out
