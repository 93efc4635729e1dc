"""Write-wait benchmark: how long CreateQuickResponse waits while a large import runs (SQLite).

Against a real `qconnect-local serve --data-dir` (SQLite, the default store), two client threads
write the whole time: one in the knowledge base being imported into, one in another knowledge
base. Each does CreateQuickResponse, then DeleteQuickResponse of what it created (so neither
knowledge base fills up), every `--interval` seconds. Measured per call, client side:

- baseline: the same calls for `--baseline-seconds` with no import running;
- during the import: every call that started while the job was START_IN_PROGRESS, for a file of
  `--rows` rows (Name, Content, Channels, Language) at the default quota of 1,000 quick
  responses per knowledge base, or `--quota`.

Printed: p50 / p99 / max of each, the calls answered with an error (by code), and the import's
own duration (StartImportJob to its final status, polled every 100 ms) and status. Goal: no 5xx
and no ConflictException (a write refused for the lock), and max wait during the import <= 2 s
at the default quota. (A 402 ServiceQuotaExceededException in the imported-into knowledge base,
once the import has filled it, is the service's answer, not a failure.)
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from _results import Results, add_json_argument
from qconnect_local.testing.server import ServerProcess


def make_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Name", "Content", "Channels", "Language"])
    for i in range(rows):
        writer.writerow([f"response {i}", f"Hello, this is canned answer number {i}.", "Chat", "en_US"])
    return out.getvalue().encode()


class Writer(threading.Thread):
    """Create then delete quick responses in one knowledge base until stopped, timing each call."""

    _names = itertools.count()

    def __init__(self, server: ServerProcess, kb: str, interval: float) -> None:
        super().__init__(daemon=True)
        self.qc = server.client()
        self.kb = kb
        self.interval = interval
        self.stop = threading.Event()
        # (start time, seconds, error code or None) per call
        self.creates: list[tuple[float, float, str | None]] = []
        self.deletes: list[tuple[float, float, str | None]] = []

    def _timed(self, into: list[tuple[float, float, str | None]], call: Any, **params: Any) -> Any:
        start = time.monotonic()
        try:
            answer = call(**params)
            code = None
        except ClientError as error:
            answer = None
            code = f"{error.response['ResponseMetadata']['HTTPStatusCode']} {error.response['Error']['Code']}"
        into.append((start, time.monotonic() - start, code))
        return answer

    def run(self) -> None:
        while not self.stop.is_set():
            name = f"concurrent {next(self._names)}"
            created = self._timed(
                self.creates,
                self.qc.create_quick_response,
                knowledgeBaseId=self.kb,
                name=name,
                content={"content": "Written while an import runs"},
            )
            if created is not None:
                self._timed(
                    self.deletes,
                    self.qc.delete_quick_response,
                    knowledgeBaseId=self.kb,
                    quickResponseId=created["quickResponse"]["quickResponseId"],
                )
            self.stop.wait(self.interval)


def summary(calls: list[tuple[float, float, str | None]]) -> str:
    if not calls:
        return "no calls"
    seconds = sorted(s for _start, s, _code in calls)
    p99 = seconds[min(len(seconds) - 1, int(len(seconds) * 0.99))]
    failed = Counter(code for _start, _s, code in calls if code is not None)
    failures = ", ".join(f"{n} x {code}" for code, n in failed.items()) or "none failed"
    return (
        f"{len(seconds):>5} calls  p50 {statistics.median(seconds) * 1000:>7.1f} ms  "
        f"p99 {p99 * 1000:>7.1f} ms  max {seconds[-1] * 1000:>7.1f} ms  ({failures})"
    )


def run_writers(server: ServerProcess, kbs: list[str], interval: float) -> list[Writer]:
    writers = [Writer(server, kb, interval) for kb in kbs]
    for writer in writers:
        writer.start()
    return writers


def stop_writers(writers: list[Writer]) -> None:
    for writer in writers:
        writer.stop.set()
    for writer in writers:
        writer.join()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the imported file")
    parser.add_argument("--quota", type=int, default=None, help="quick responses per knowledge base")
    parser.add_argument("--interval", type=float, default=0.02, help="pause between a writer's calls")
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    add_json_argument(parser)
    args = parser.parse_args()
    results = Results("bench_write_wait")

    body = make_csv(args.rows)
    flags = ["--max-upload-bytes", str(len(body) + 1)]
    if args.quota is not None:
        flags += ["--quick-response-quota", str(args.quota)]
    quota = args.quota or 1000
    with (
        tempfile.TemporaryDirectory(prefix="bench-write-wait-") as tmp,
        ServerProcess(*flags, data_dir=Path(tmp) / "data") as server,
    ):
        qc = server.client()
        target, other = (
            qc.create_knowledge_base(name=name, knowledgeBaseType="QUICK_RESPONSES")["knowledgeBase"][
                "knowledgeBaseId"
            ]
            for name in ("imported-into", "other")
        )

        writers = run_writers(server, [target, other], args.interval)
        time.sleep(args.baseline_seconds)
        stop_writers(writers)
        baseline = [c for w in writers for c in w.creates]
        baseline_deletes = [c for w in writers for c in w.deletes]

        up = qc.start_content_upload(knowledgeBaseId=target, contentType="text/csv")
        request = urllib.request.Request(up["url"], data=body, method="PUT", headers=up["headersToInclude"])
        urllib.request.urlopen(request, timeout=600).close()

        writers = run_writers(server, [target, other], args.interval)
        time.sleep(1.0)  # the writers are warm before the import starts
        started = time.monotonic()
        job = qc.start_import_job(
            knowledgeBaseId=target, importJobType="QUICK_RESPONSES", uploadId=up["uploadId"]
        )
        job_id = job["importJob"]["importJobId"]
        while True:
            status = qc.get_import_job(knowledgeBaseId=target, importJobId=job_id)["importJob"]["status"]
            if status != "START_IN_PROGRESS":
                break
            time.sleep(0.1)
        ended = time.monotonic()
        stop_writers(writers)

        def during(calls: list[tuple[float, float, str | None]]) -> list[tuple[float, float, str | None]]:
            return [c for c in calls if started <= c[0] <= ended]

        same_kb, other_kb = (during(w.creates) for w in writers)
        deletes = during([c for w in writers for c in w.deletes])
        imported = len(
            [
                item
                for page in qc.get_paginator("list_quick_responses").paginate(knowledgeBaseId=target)
                for item in page["quickResponseSummaries"]
                if not item["name"].startswith("concurrent ")
            ]
        )

    print(f"write wait during an import of {args.rows:,} rows ({len(body) / 1e6:.0f} MB), quota {quota:,}:")
    print(f"  import: {ended - started:.1f} s, ended {status}, {imported:,} quick responses imported")
    print(f"  CreateQuickResponse, no import (baseline)      {summary(baseline)}")
    print(f"  CreateQuickResponse during it, same KB         {summary(same_kb)}")
    print(f"  CreateQuickResponse during it, another KB      {summary(other_kb)}")
    print(f"  CreateQuickResponse during it, both            {summary(same_kb + other_kb)}")
    print(f"  DeleteQuickResponse, no import (baseline)      {summary(baseline_deletes)}")
    print(f"  DeleteQuickResponse during it, both            {summary(deletes)}")
    worst = max((s for _start, s, _code in same_kb + other_kb + deletes), default=0.0)
    # A full knowledge base (402, once the import has filled it) is the service's answer; a 5xx
    # or a ConflictException (a write that could not get the lock) is a failure.
    failures = sum(1 for c in same_kb + other_kb + deletes if c[2] is not None and not c[2].startswith("402"))
    met = worst <= 2.0 and not failures
    print(
        f"  goal: no 5xx or 409, max <= 2 s: {'MET' if met else 'NOT MET'} "
        f"(max {worst:.2f} s, {failures} failed)"
    )
    both = same_kb + other_kb
    for label, pick in (("p50", statistics.median), ("p99", _p99), ("max", max)):
        results.add(
            f"CreateQuickResponse {label} during a {args.rows:,}-row import",
            _ms(both, pick),
            "ms",
            f"no import {label}",
            _ms(baseline, pick),
        )
    results.add("DeleteQuickResponse p99 during the import", _ms(deletes, _p99), "ms",
                "no import p99", _ms(baseline_deletes, _p99))  # fmt: skip
    results.add("writes failed during the import (5xx, 409)", failures, "count")
    results.add(f"import {args.rows:,} rows, StartImportJob to {status}", ended - started, "s")
    results.finish(args.json)
    return 0


def _p99(seconds: list[float]) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _ms(calls: list[tuple[float, float, str | None]], pick: Any) -> float | None:
    """`pick` (median, p99, max) of the calls' seconds, in milliseconds; None without calls."""
    seconds = [s for _start, s, _code in calls]
    return pick(seconds) * 1000 if seconds else None


if __name__ == "__main__":
    sys.exit(main())
