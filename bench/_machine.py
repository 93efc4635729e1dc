"""What else the machine was doing during a benchmark (its load average, printed beside the figures),
and the CPU time a server process has used (read from its own counters, so other load barely moves it)."""

from __future__ import annotations

import os
from pathlib import Path


def load_figures() -> list[float] | None:
    """The 1, 5 and 15-minute load averages, or None where the OS does not offer them."""
    try:
        return [round(figure, 2) for figure in os.getloadavg()]
    except OSError:
        return None


def load_average() -> str:
    """`load average 0.52 0.61 0.40 (1, 5, 15 min), 2 CPUs`: figures from a busy machine don't compare."""
    figures = load_figures()
    if figures is None:
        return "load average unknown"
    one, five, fifteen = figures
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min), {os.cpu_count()} CPUs"


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux `/proc/<pid>/stat` utime + stime), or None.

    Per-request CPU time barely moves when other work shares the machine, unlike req/s.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
