"""Console benchmark: how long the web console's pages take at AWS's default quotas' scale.

A real `qconnect-local serve` (in-memory store, quotas raised) holds a QUICK_RESPONSES knowledge
base with 10,000 quick responses (one CSV import job) and a CUSTOM knowledge base with 5,000
plain-text contents (StartContentUpload + signed PUT + CreateContent from several threads, then
waited for until every one is ACTIVE). Then each console page is fetched with urllib, `--repeat`
times (20) in rounds that alternate the pages with the baseline: a plain GetKnowledgeBase over
HTTP through boto3, measured in the same rounds. Printed per page: p50 and p90 of the whole GET
as the client sees it, the p50 of the server's own render time (its `Server-Timing` header), and
p50 against the baseline's p50. Goal: every page <= 200 ms p50 at this scale.

A page that answers 404 is reported as missing (not written yet), any other non-200 as failing.
`--contents N` and `--quick-responses N` shrink the corpus (building 5,000 contents is most of
the run on 2 vCPUs); `--json PATH` writes the figures (bench/_results.py).

Run: `.venv/bin/python bench/bench_console.py [--contents N] [--quick-responses N] [--repeat N]`.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from _results import Results, add_json_argument
from bench_import import make_csv
from qconnect_local.testing.server import ServerProcess

ACCOUNT = "123456789012"
REGION = "us-east-1"
GOAL_P50_MS = 200.0
THREADS = 4  # content creation: the API calls overlap with the worker's ingestion


@dataclass
class Timing:
    seconds: list[float] = field(default_factory=list)
    render_ms: list[float] = field(default_factory=list)
    status: int = 200

    def p(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def fetch(url: str, timing: Timing) -> None:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            status, headers = response.status, response.headers
    except urllib.error.HTTPError as error:
        error.read()
        status, headers = error.code, error.headers
    timing.seconds.append(time.perf_counter() - started)
    timing.status = status
    found = re.search(r"render;dur=([\d.]+)", headers.get("Server-Timing", ""))
    if found:
        timing.render_ms.append(float(found.group(1)))


def import_quick_responses(qc: Any, kb_id: str, rows: int) -> str:
    up = qc.start_content_upload(knowledgeBaseId=kb_id, contentType="text/csv")
    put = urllib.request.Request(up["url"], data=make_csv(rows), method="PUT", headers=up["headersToInclude"])
    urllib.request.urlopen(put, timeout=300).close()
    job = qc.start_import_job(knowledgeBaseId=kb_id, importJobType="QUICK_RESPONSES", uploadId=up["uploadId"])
    job_id: str = job["importJob"]["importJobId"]
    while (status := qc.get_import_job(knowledgeBaseId=kb_id, importJobId=job_id)["importJob"]["status"]) == (
        "START_IN_PROGRESS"
    ):
        time.sleep(0.2)
    if status != "COMPLETE":
        raise RuntimeError(f"the quick-response import ended {status}")
    return job_id


WORDS = [
    "account",
    "billing",
    "device",
    "reset",
    "password",
    "refund",
    "shipping",
    "order",
    "warranty",
    "battery",
    "screen",
    "router",
    "network",
    "update",
    "install",
    "invoice",
    "delivery",
    "return",
    "exchange",
    "replacement",
    "support",
    "cable",
    "charger",
]


def content_text(index: int) -> bytes:
    words = " ".join(WORDS[(index * 7 + k * 3) % len(WORDS)] for k in range(60))
    return f"Article {index}. How to handle case {index}: {words}.".encode()


def create_contents(server: ServerProcess, kb_id: str, count: int) -> list[str]:
    def one(index: int) -> str:
        qc = clients[index % THREADS]
        up = qc.start_content_upload(knowledgeBaseId=kb_id, contentType="text/plain")
        put = urllib.request.Request(
            up["url"], data=content_text(index), method="PUT", headers=up["headersToInclude"]
        )
        urllib.request.urlopen(put, timeout=60).close()
        made = qc.create_content(knowledgeBaseId=kb_id, name=f"article-{index:05d}", uploadId=up["uploadId"])
        content_id: str = made["content"]["contentId"]
        return content_id

    clients = [server.client() for _ in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(count)))


def wait_active(qc: Any, kb_id: str, count: int) -> None:
    while True:
        statuses: dict[str, int] = {}
        for page in qc.get_paginator("list_contents").paginate(
            knowledgeBaseId=kb_id, PaginationConfig={"PageSize": 100}
        ):
            for summary in page["contentSummaries"]:
                statuses[summary["status"]] = statuses.get(summary["status"], 0) + 1
        if statuses.get("ACTIVE", 0) >= count:
            return
        failed = sum(n for status, n in statuses.items() if status.endswith("FAILED"))
        if failed:
            raise RuntimeError(f"{failed} contents failed to ingest: {statuses}")
        time.sleep(2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick-responses", type=int, default=10_000)
    parser.add_argument("--contents", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=20, help="GETs of each page (default 20)")
    add_json_argument(parser)
    args = parser.parse_args(argv)
    results = Results("bench_console")
    quotas = [
        "--quiet",
        "--quick-response-quota",
        str(args.quick_responses + 10),
        "--content-quota",
        str(args.contents + 10),
    ]
    with ServerProcess(*quotas) as server:
        qc = server.client(account=ACCOUNT, region=REGION)
        started = time.perf_counter()
        qr_kb = qc.create_knowledge_base(name="bench-quick-responses", knowledgeBaseType="QUICK_RESPONSES")[
            "knowledgeBase"
        ]["knowledgeBaseId"]
        job_id = import_quick_responses(qc, qr_kb, args.quick_responses)
        imported = time.perf_counter() - started
        print(f"imported {args.quick_responses:,} quick responses in {imported:.1f} s", flush=True)
        content_kb = qc.create_knowledge_base(name="bench-contents", knowledgeBaseType="CUSTOM")[
            "knowledgeBase"
        ]["knowledgeBaseId"]
        started = time.perf_counter()
        content_ids = create_contents(server, content_kb, args.contents)
        created = time.perf_counter() - started
        wait_active(qc, content_kb, args.contents)
        ingested = time.perf_counter() - started
        print(
            f"created {args.contents:,} contents in {created:.1f} s, all ACTIVE after {ingested:.1f} s",
            flush=True,
        )
        first_qr = qc.list_quick_responses(knowledgeBaseId=qr_kb, maxResults=1)["quickResponseSummaries"][0][
            "quickResponseId"
        ]
        base = f"{server.url}/_qconnect/console/{ACCOUNT}/{REGION}/"
        pages: dict[str, str] = {
            "overview": "",
            "knowledge base (quick responses)": f"knowledge-bases/{qr_kb}",
            "quick responses list": f"knowledge-bases/{qr_kb}/quick-responses",
            "quick-response search ?q=": f"knowledge-bases/{qr_kb}/quick-responses?q=canned+answer+4242",
            "a quick response": f"knowledge-bases/{qr_kb}/quick-responses/{first_qr}",
            "import job": f"knowledge-bases/{qr_kb}/import-jobs/{job_id}",
            "knowledge base (contents)": f"knowledge-bases/{content_kb}",
            "contents list": f"knowledge-bases/{content_kb}/contents",
            "a content": f"knowledge-bases/{content_kb}/contents/{content_ids[len(content_ids) // 2]}",
            "control": "control",
        }
        timings = {name: Timing() for name in pages}
        baseline = Timing()

        def get_kb() -> None:
            qc.get_knowledge_base(knowledgeBaseId=qr_kb)

        def timed(call: Callable[[], None]) -> None:
            started = time.perf_counter()
            call()
            baseline.seconds.append(time.perf_counter() - started)

        for path in pages.values():  # warm: first-use caches (templates, imports) are not per page
            fetch(base + path, Timing())
        get_kb()
        for _round in range(args.repeat):
            timed(get_kb)
            for name, path in pages.items():
                fetch(base + path, timings[name])

    base_p50 = baseline.p(0.5)
    print()
    print(f"{'page':40} {'p50 ms':>8} {'p90 ms':>8} {'render p50':>11} {'x GetKB':>8}  status")
    label = "GetKnowledgeBase via boto3 (baseline)"
    print(f"{label:40} {base_p50:8.1f} {baseline.p(0.9):8.1f} {'':>11} {1:8.1f}")
    over: list[str] = []
    missing: list[str] = []
    for name, timing in timings.items():
        p50, p90 = timing.p(0.5), timing.p(0.9)
        render = f"{statistics.median(timing.render_ms):.1f}" if timing.render_ms else "—"
        if timing.status == 404:
            state = "missing (404)"
            missing.append(name)
        elif timing.status != 200:
            state = f"failing ({timing.status})"
            missing.append(name)
        else:
            state = "ok" if p50 <= GOAL_P50_MS else f"over {GOAL_P50_MS:.0f} ms"
            if p50 > GOAL_P50_MS:
                over.append(name)
            results.add(f"console {name}: GET p50", p50, "ms", "GetKnowledgeBase via boto3, p50", base_p50)
        print(f"{name:40} {p50:8.1f} {p90:8.1f} {render:>11} {p50 / base_p50:8.1f}  {state}")
    print()
    scale = f"{args.quick_responses:,} quick responses, {args.contents:,} contents"
    print(f"goal: every page <= {GOAL_P50_MS:.0f} ms p50 with {scale}")
    print(f"over the goal: {', '.join(over) or 'none'}; missing or failing: {', '.join(missing) or 'none'}")
    results.finish(args.json)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
