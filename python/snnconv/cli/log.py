"""The command line's messages go through :mod:`logging` (logger ``snnconv``): status
lines at INFO on stdout, warnings and errors on stderr. ``-v`` adds DEBUG lines,
``-q``/``--quiet`` keeps only warnings and errors. A command's actual output (a results
table, a TOML file) is printed, not logged, so ``--quiet`` never hides it."""

from __future__ import annotations

import logging
import sys

log = logging.getLogger("snnconv")


class _Below(logging.Filter):
    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < self.level


def configure(verbose: int = 0, quiet: bool = False) -> None:
    """Sends ``snnconv`` log records to the current stdout/stderr at the chosen level
    (called once per command, so redirected streams are honoured)."""
    for handler in list(log.handlers):
        log.removeHandler(handler)
    out = logging.StreamHandler(sys.stdout)
    out.addFilter(_Below(logging.WARNING))
    err = logging.StreamHandler(sys.stderr)
    err.setLevel(logging.WARNING)
    for handler in (out, err):
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
    log.propagate = False
