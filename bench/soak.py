"""Soak: mixed traffic at a fixed rate from several clients for 10 minutes (a script, not a test).

Each client owns a QUICK_RESPONSES knowledge base and, on a fixed schedule, imports a small CSV
(StartContentUpload, signed PUT, StartImportJob, polling GetImportJob), reads (GetImportJob,
ListImportJobs, GetKnowledgeBase, ListQuickResponses, SearchQuickResponses) and deletes (old
import jobs, quick responses). The server is a real `qconnect-local serve --data-dir`. Prints
errors, p50/p99 per operation, and the server's RSS over time; goal: zero errors and RSS growth
under 10 % after warm-up (the first sixth of the run).

Run: `.venv/bin/python bench/soak.py [--seconds 600] [--clients 4] [--rate 10]`
(`rate`: operations per second per client).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from _results import Results, add_json_argument
from qconnect_local.testing.server import ServerProcess

Latencies = dict[str, list[float]]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Client:
    def __init__(self, server: ServerProcess, index: int, rate: float) -> None:
        self.qc = server.client(account=f"{100000000000 + index}")
        self.index = index
        self.interval = 1.0 / rate
        self.latencies: Latencies = defaultdict(list)
        self.errors: list[str] = []
        self.jobs: list[str] = []
        self.serial = itertools.count()
        self.kb = self.timed(
            "CreateKnowledgeBase",
            lambda: self.qc.create_knowledge_base(name=f"soak{index}", knowledgeBaseType="QUICK_RESPONSES"),
        )["knowledgeBase"]["knowledgeBaseId"]

    def timed(self, name: str, call: Any) -> Any:
        started = time.perf_counter()
        try:
            return call()
        except (ClientError, BotoCoreError, OSError) as error:
            self.errors.append(f"{name}: {error}")
            return None
        finally:
            self.latencies[name].append((time.perf_counter() - started) * 1000)

    def import_some(self) -> None:
        batch = next(self.serial)
        # One row per import and one quick response deleted per cycle: the data stays the same
        # size, so RSS growth measures the server, not a growing store.
        body = f"Name,Content\nc{self.index} b{batch},Soak answer {batch}\n"
        up = self.timed(
            "StartContentUpload",
            lambda: self.qc.start_content_upload(knowledgeBaseId=self.kb, contentType="text/csv"),
        )
        if up is None:
            return
        request = urllib.request.Request(
            up["url"], data=body.encode(), method="PUT", headers=up["headersToInclude"]
        )
        self.timed("PUT upload", lambda: urllib.request.urlopen(request, timeout=30).close())
        job = self.timed(
            "StartImportJob",
            lambda: self.qc.start_import_job(
                knowledgeBaseId=self.kb, importJobType="QUICK_RESPONSES", uploadId=up["uploadId"]
            ),
        )
        if job is not None:
            self.jobs.append(job["importJob"]["importJobId"])

    def step(self, tick: int) -> None:
        qc, kb = self.qc, self.kb
        kind = tick % 10
        if kind == 0:
            self.import_some()
        elif kind in (1, 2) and self.jobs:
            status = self.timed(
                "GetImportJob", lambda: qc.get_import_job(knowledgeBaseId=kb, importJobId=self.jobs[-1])
            )
            if status and status["importJob"]["status"] == "FAILED":
                self.errors.append(f"import {self.jobs[-1]} FAILED")
        elif kind == 3:
            self.timed("ListImportJobs", lambda: qc.list_import_jobs(knowledgeBaseId=kb, maxResults=10))
        elif kind == 4:
            self.timed("GetKnowledgeBase", lambda: qc.get_knowledge_base(knowledgeBaseId=kb))
        elif kind == 5:
            self.timed(
                "ListQuickResponses", lambda: qc.list_quick_responses(knowledgeBaseId=kb, maxResults=25)
            )
        elif kind in (6, 7):
            self.timed(
                "SearchQuickResponses",
                lambda: qc.search_quick_responses(
                    knowledgeBaseId=kb,
                    searchExpression={
                        "queries": [{"name": "content", "values": ["soak answer"], "operator": "CONTAINS"}]
                    },
                    maxResults=10,
                ),
            )
        elif kind == 8 and len(self.jobs) > 3:
            old = self.jobs.pop(0)
            self.timed("DeleteImportJob", lambda: qc.delete_import_job(knowledgeBaseId=kb, importJobId=old))
        elif kind == 9:
            page = self.timed(
                "ListQuickResponses", lambda: qc.list_quick_responses(knowledgeBaseId=kb, maxResults=5)
            )
            if page and len(page["quickResponseSummaries"]) == 5:
                victim = page["quickResponseSummaries"][0]["quickResponseId"]
                self.timed(
                    "DeleteQuickResponse",
                    lambda: qc.delete_quick_response(knowledgeBaseId=kb, quickResponseId=victim),
                )

    def run(self, until: float) -> None:
        for tick in itertools.count():
            start = time.monotonic()
            if start >= until:
                return
            self.step(tick)
            time.sleep(max(0.0, self.interval - (time.monotonic() - start)))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rate", type=float, default=10.0)
    add_json_argument(parser)
    args = parser.parse_args()
    results = Results("soak")
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp, ServerProcess(data_dir=Path(tmp)) as server:
        assert server.process is not None
        pid = server.process.pid
        clients = [Client(server, i, args.rate) for i in range(args.clients)]
        until = time.monotonic() + args.seconds
        threads = [threading.Thread(target=c.run, args=(until,)) for c in clients]
        for thread in threads:
            thread.start()
        samples: list[tuple[float, float]] = []
        began = time.monotonic()
        while any(t.is_alive() for t in threads):
            samples.append((time.monotonic() - began, rss_mb(pid)))
            time.sleep(min(10.0, args.seconds / 30))
        for thread in threads:
            thread.join()

    latencies: Latencies = defaultdict(list)
    errors: list[str] = []
    for client in clients:
        errors += client.errors
        for name, values in client.latencies.items():
            latencies[name] += values
    total = sum(len(v) for v in latencies.values())
    print(
        f"soak: {args.seconds:.0f} s, {args.clients} clients x {args.rate:g} ops/s, {total} requests, "
        f"{len(errors)} errors"
    )
    for error in errors[:10]:
        print("  error:", error)
    print(f"{'operation':24} {'count':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for name in sorted(latencies):
        values = latencies[name]
        print(
            f"{name:24} {len(values):>7} {statistics.median(values):>8.1f} {percentile(values, 0.99):>8.1f}"
        )
    warm = next((rss for t, rss in samples if t >= args.seconds / 6), samples[0][1])
    final = samples[-1][1]
    print(
        "server RSS (MB) over time:",
        ", ".join(f"{t:.0f}s {rss:.0f}" for t, rss in samples[:: max(1, len(samples) // 12)]),
    )
    growth = (final - warm) / warm
    print(f"RSS after warm-up {warm:.0f} MB, at the end {final:.0f} MB: growth {growth:+.1%} (goal < 10 %)")
    results.add(f"requests in {args.seconds:.0f} s", total, "count")
    results.add("errors", len(errors), "count")
    for name in sorted(latencies):
        results.add(f"{name} p50", statistics.median(latencies[name]), "ms")
        results.add(f"{name} p99", percentile(latencies[name], 0.99), "ms")
    results.add("server RSS at the end", final, "MB", "after warm-up", warm)
    results.finish(args.json)
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
