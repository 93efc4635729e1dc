"""A benchmark's figures as JSON (`--json PATH`), in the one small schema every script writes.

    {"script", "command", "started", "load_average_start", "load_average_end",
     "figures": [{"name", "value", "unit", "baseline_name", "baseline_value", "ratio"}, ...]}

`started` is an ISO 8601 UTC time; the load averages are [1, 5, 15 min] (null where the OS has
none); a figure's `ratio` is value / baseline_value (null without a baseline). `make bench-all`
(`bench/run_all.py`) merges the scripts' files into docs/benchmarks.json, and
`scripts/benchmarks_doc.py` renders that into docs/benchmarks.md.

Typical use in a script:

    results = Results("bench_x")          # prints the load average at start
    results.add("thing/s", ours, "ops/s", "floor/s", floor)
    results.finish(args.json)             # prints it at the end, writes the JSON when asked
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _machine import load_average, load_figures

RUN_KEYS = ("script", "command", "started", "load_average_start", "load_average_end", "figures")
FIGURE_KEYS = ("name", "value", "unit", "baseline_name", "baseline_value", "ratio")


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", type=Path, metavar="PATH", help="also write the figures here (bench/_results.py)"
    )


def _number(value: float | None) -> float | None:
    """Six significant digits, and None for a figure that could not be measured (NaN, infinity)."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.6g}")


def command_line(argv: list[str]) -> str:
    """How the script was run, without its `--json PATH` (where a copy went is not how to reproduce it)."""
    words: list[str] = []
    skip = False
    for word in argv[1:]:
        if skip:
            skip = False
        elif word == "--json":
            skip = True
        elif not word.startswith("--json="):
            words.append(word)
    script = Path(argv[0])
    shown = f"bench/{script.name}" if script.parent.name == "bench" else str(script)
    return shlex.join(["python", shown, *words])


class Results:
    """The figures of one run of one script; prints the load average when made and when finished."""

    def __init__(self, script: str, heading: str = "") -> None:
        self.script = script
        self.command = command_line(sys.argv)
        self.started = datetime.now(UTC).isoformat(timespec="seconds")
        self.load_average_start = load_figures()
        self.figures: list[dict[str, Any]] = []
        print(f"{script}{f' {heading}' if heading else ''}: at start, {load_average()}", flush=True)

    def add(
        self,
        name: str,
        value: float | None,
        unit: str,
        baseline_name: str | None = None,
        baseline_value: float | None = None,
    ) -> None:
        value, baseline_value = _number(value), _number(baseline_value)
        ratio = value / baseline_value if value is not None and baseline_value else None
        self.figures.append(
            {
                "name": name,
                "value": value,
                "unit": unit,
                "baseline_name": baseline_name,
                "baseline_value": baseline_value,
                "ratio": _number(ratio),
            }
        )

    def finish(self, path: Path | None) -> dict[str, Any]:
        """Print the load average at the end; write the run's JSON to `path` when given."""
        print(f"{self.script}: at end, {load_average()}", flush=True)
        run = {
            "script": self.script,
            "command": self.command,
            "started": self.started,
            "load_average_start": self.load_average_start,
            "load_average_end": load_figures(),
            "figures": self.figures,
        }
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(run, indent=2, ensure_ascii=False) + "\n")
        return run


def problems(run: Any) -> list[str]:
    """What is wrong with one script's JSON against the schema above (empty: nothing)."""
    if not isinstance(run, dict):
        return ["a run is not an object"]
    found = [f"missing {key!r}" for key in RUN_KEYS if key not in run]
    script = run.get("script", "?")
    for key in ("load_average_start", "load_average_end"):
        value = run.get(key)
        if value is not None and not (isinstance(value, list) and len(value) == 3):
            found.append(f"{script}: {key} is not [1, 5, 15 min]")
    figures = run.get("figures", [])
    if not isinstance(figures, list):
        return [*found, f"{script}: figures is not a list"]
    for figure in figures:
        if not isinstance(figure, dict) or set(figure) != set(FIGURE_KEYS):
            found.append(f"{script}: figure {figure!r} does not have exactly {FIGURE_KEYS}")
            continue
        for key in ("value", "baseline_value", "ratio"):
            if figure[key] is not None and not isinstance(figure[key], int | float):
                found.append(f"{script}: {figure['name']}: {key} is not a number")
    return found
