"""The peak resident memory of this process, per task.

Linux keeps a high-water mark of each process's resident set (``VmHWM`` in
``/proc/self/status``) that a process may reset to its current size (writing ``5``
to ``/proc/self/clear_refs``), so a worker that runs several tasks one after the
other can measure each one. Elsewhere (or where ``/proc`` is not writable) the
process's lifetime peak from ``resource.getrusage`` is the fallback, which then
covers every earlier task of the same process too.
"""

from __future__ import annotations

import sys


def reset_peak() -> bool:
    """Resets the high-water mark to the current resident size; False if impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int | None:
    """Peak resident memory in bytes since the last :func:`reset_peak` (Linux) or
    since the process started; None where neither can be read."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024
