"""What else the machine was doing during a benchmark: its load average, printed beside the figures."""

from __future__ import annotations

import os


def load_average() -> str:
    """`load average 0.52 0.61 0.40 (1, 5, 15 min), 2 CPUs`: figures from a busy machine don't compare."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:  # not offered by this OS
        return "load average unknown"
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min), {os.cpu_count()} CPUs"
