"""`make bench-all`: every benchmark script, one after the other, merged into one results file.

Each script runs in its own process with `--json` (the schema of bench/_results.py); its output
is shown as it runs and kept in `bench/results/bench-all/<script>.log` (its stderr, such as the
in-process mock's request log, in `<script>.stderr`: the end of it is shown when a script fails).
The merged file (docs/benchmarks.json by default) holds the run's mode, times, machine and load
average, and every script's figures; `scripts/benchmarks_doc.py` renders it into
docs/benchmarks.md. A script that fails is recorded with its exit status and no figures, the
others still run, and this exits 1.

`--quick` (`BENCH_QUICK=1 make bench-all`) passes each script its quick/smoke sizes: a check that
everything runs end to end in about 5 minutes, not figures to publish. The full sizes below keep
a whole run around 20 minutes on 2 vCPUs (longer when other work shares them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _machine import load_average, load_figures
from _results import problems

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LOGS = BENCH / "results" / "bench-all"
PER_SCRIPT_TIMEOUT_S = 20 * 60

# script: (arguments of the full run, arguments of the quick run). Full runs use each script's
# own defaults except where noted; the quick ones are each script's smallest sizes that still
# exercise every part.
SCRIPTS: dict[str, tuple[str, str]] = {
    "bench_api": ("", "--quick"),
    "bench_protocol": ("", "--iterations 500 --rounds 2"),
    "bench_render": ("", "--runs 3 --iterations 100"),
    "bench_templates": ("", "--quick --calls 30"),
    "bench_guardrails": ("", "--repeat 20"),
    "bench_import": ("", "--quick"),
    "bench_search": ("", "--rows 3000 --repeat 10"),
    "bench_write_wait": ("", "--rows 5000 --baseline-seconds 1"),
    "bench_ingest": ("", "--documents 40 --contents 300 --queries 30"),
    "bench_conversation": ("", "--contents 60 --turns 4 --warmup 1"),
    # Three levels of parked long polls instead of five (each waits out its polls' 20 s).
    "bench_retrieval": (
        "--waiters 0,250,1000",
        "--contents 100 --queries 10 --wakeups 2 --waiters 0,20 --samples 30 --wait-seconds 5",
    ),
    "bench_console": ("", "--quick-responses 300 --contents 40 --repeat 3"),
    "bench_scale": ("", "--quick"),  # needs PostgreSQL on 127.0.0.1:5432
    "soak": ("--seconds 120", "--seconds 10"),  # the 600 s soak stays a separate run
}


def run_one(script: str, arguments: list[str]) -> dict[str, Any]:
    """Run one script with `--json`; its figures, plus how long it took and its exit status."""
    LOGS.mkdir(parents=True, exist_ok=True)
    out = LOGS / f"{script}.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, str(BENCH / f"{script}.py"), *arguments, "--json", str(out)]
    print(f"\n=== {script}: {' '.join(['python', f'bench/{script}.py', *arguments])}", flush=True)
    started = time.perf_counter()
    errors = LOGS / f"{script}.stderr"  # the in-process mock's request log goes there, among others
    with (LOGS / f"{script}.log").open("w") as log, errors.open("w") as stderr:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1
        )
        assert process.stdout is not None
        timer = threading.Timer(PER_SCRIPT_TIMEOUT_S, process.kill)  # a hung script is a failed one
        timer.start()
        try:
            for line in process.stdout:
                sys.stdout.write(line)
                log.write(line)
            returncode = process.wait()
        finally:
            timer.cancel()
    seconds = time.perf_counter() - started
    if returncode != 0:
        sys.stdout.writelines(f"  stderr: {line}" for line in errors.read_text().splitlines(True)[-20:])
    if returncode == 0 and out.exists():
        run: dict[str, Any] = json.loads(out.read_text())
    else:
        run = {
            "script": script,
            "command": " ".join(["python", f"bench/{script}.py", *arguments]),
            "started": None,
            "load_average_start": None,
            "load_average_end": load_figures(),
            "figures": [],
        }
    run["seconds"] = round(seconds, 1)
    run["returncode"] = returncode
    print(f"=== {script}: {'done' if returncode == 0 else f'FAILED (exit {returncode})'} in {seconds:.0f} s")
    return run


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="each script's quick/smoke sizes")
    parser.add_argument("--only", action="append", choices=sorted(SCRIPTS), help="run just these scripts")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.json")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    print(f"bench-all ({mode}): at start, {load_average()}", flush=True)
    started, began = datetime.now(UTC), time.perf_counter()
    load_start = load_figures()
    planned = [name for name in SCRIPTS if not args.only or name in args.only]
    runs: list[dict[str, Any]] = []

    def write() -> float:
        """The merged file so far: rewritten after every script, so a stopped run keeps its figures."""
        seconds = round(time.perf_counter() - began, 1)
        merged = {
            "generated_by": "make bench-all (bench/run_all.py)",
            "mode": mode,
            "started": started.isoformat(timespec="seconds"),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": seconds,
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "system": f"{platform.system()} {platform.machine()}",
            },
            "load_average_start": load_start,
            "load_average_end": load_figures(),
            "planned": planned,
            "runs": runs,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n")
        return seconds

    seconds = 0.0
    for name in planned:
        full, quick = SCRIPTS[name]
        runs.append(run_one(name, (quick if args.quick else full).split()))
        seconds = write()
    wrong = [problem for run in runs for problem in problems(run)]
    failed = [run["script"] for run in runs if run["returncode"] != 0]
    print(f"\nbench-all ({mode}): {len(runs)} scripts in {seconds / 60:.1f} min, wrote {args.out}")
    print(f"bench-all: at end, {load_average()}")
    for problem in wrong:
        print(f"  schema: {problem}")
    if failed:
        print(f"  FAILED: {', '.join(failed)} (logs in {LOGS.relative_to(ROOT)})")
    return 1 if failed or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
