"""The ``snnconv`` command line: one module per subcommand group."""

from __future__ import annotations

from .main import main

__all__ = ["main"]
