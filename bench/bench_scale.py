"""Scale-out benchmark on PostgreSQL: one replica against two, and import throughput against COPY.

1. GetImportJob req/s through one `serve --no-worker` replica, then through two (the same total
   connections split between them), both on one PostgreSQL database, loaded by bench_api's
   generator (wrk when on PATH, else the built-in one). Rounds alternate; medians. Goal: two
   replicas >= 1.6x one.
2. Import throughput: a CSV through a replica and a `qconnect-local worker` (signed PUT +
   StartImportJob + GetImportJob polled to COMPLETE) against the floor in the same run and the
   same database: `csv.reader` + psycopg `COPY … FROM STDIN` of the same rows into a table made
   `LIKE quick_responses INCLUDING ALL` (same columns and indexes, full-text ones included).
   Goal: >= 50 % of the floor.

`--quick` shortens both parts (a smoke run, not figures to publish).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg
from sqlalchemy.engine import make_url

from _results import Results, add_json_argument
from bench_api import ACCOUNT, REGION, LoadResult, run_builtin, run_wrk, wrk_available
from bench_import import import_once, make_csv
from qconnect_local.testing.postgres import temporary_database
from qconnect_local.testing.server import ServerProcess, WorkerProcess

Load = Callable[[str, int, float], LoadResult]
GOAL_REPLICA_RATIO = 1.6
GOAL_IMPORT_RATIO = 0.5


def load_spread(load: Load, urls: list[str], connections: int, seconds: float) -> LoadResult:
    """`connections` split evenly over `urls`, all loaded at once; req/s summed, worst p99 kept."""
    each = max(1, connections // len(urls))
    with ThreadPoolExecutor(len(urls)) as pool:
        results = list(pool.map(lambda url: load(url, each, seconds), urls))
    return LoadResult(
        rps=sum(r.rps for r in results),
        p50_ms=max(r.p50_ms for r in results),
        p99_ms=max(r.p99_ms for r in results),
        errors=sum(r.errors for r in results),
        requests=sum(r.requests for r in results),
    )


def replicas(
    database: str, load: Load, rounds: int, seconds: float, connections: int, results: Results
) -> float:
    servers = [ServerProcess("--no-worker", "--database-url", database) for _ in range(2)]
    for server in servers:
        server.start()
    try:
        qc = servers[0].client(account=ACCOUNT, region=REGION)
        kb = qc.create_knowledge_base(name="bench", knowledgeBaseType="QUICK_RESPONSES")["knowledgeBase"]
        kb_id = kb["knowledgeBaseId"]
        up = qc.start_content_upload(knowledgeBaseId=kb_id, contentType="text/csv")
        put = urllib.request.Request(
            up["url"], data=make_csv(10), method="PUT", headers=up["headersToInclude"]
        )
        urllib.request.urlopen(put, timeout=30).close()
        job = qc.start_import_job(
            knowledgeBaseId=kb_id, importJobType="QUICK_RESPONSES", uploadId=up["uploadId"]
        )
        path = f"/knowledgeBases/{kb_id}/importJobs/{job['importJob']['importJobId']}"
        urls = [server.url + path for server in servers]
        for url in urls:
            load(url, connections, 2.0)  # warm-up
        one: list[float] = []
        two: list[float] = []
        for index in range(rounds):
            sides = [("one replica", urls[:1], one), ("two replicas", urls, two)]
            for name, targets, figures in sides if index % 2 == 0 else reversed(sides):
                result = load_spread(load, targets, connections, seconds)
                figures.append(result.rps)
                print(
                    f"  round {index + 1} {name:12s} {result.rps:8.0f} req/s  p50 {result.p50_ms:6.2f} ms"
                    f"  p99 {result.p99_ms:6.2f} ms  errors {result.errors}",
                    flush=True,
                )
    finally:
        for server in servers:
            server.stop()
    ratio = statistics.median(two) / statistics.median(one)
    print(
        f"GetImportJob, {connections} connections, {rounds} alternating rounds of {seconds:.0f} s (medians):"
    )
    print(f"  one replica  {statistics.median(one):8.0f} req/s")
    print(f"  two replicas {statistics.median(two):8.0f} req/s")
    verdict = "MET" if ratio >= GOAL_REPLICA_RATIO else "NOT MET"
    print(f"  ratio {ratio:.2f}x (goal >= {GOAL_REPLICA_RATIO}x)  {verdict}")
    results.add(
        f"GetImportJob, two replicas, {connections} connections",
        statistics.median(two),
        "req/s",
        "one replica",
        statistics.median(one),
    )
    return ratio


COLUMNS = (
    "id, account, region, knowledge_base_id, name, content_type, content, language, channels, "
    "is_active, channel_list, status, created_at, modified_at"
)


def copy_floor(database: str, body: bytes) -> float:
    """Rows/s of csv.reader + COPY into a table shaped like quick_responses, one transaction."""
    url = make_url(database).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        table = f"floor_{uuid.uuid4().hex[:8]}"
        conn.execute(f"CREATE TABLE {table} (LIKE quick_responses INCLUDING ALL)")
        conn.commit()
        start = time.perf_counter()
        reader = csv.reader(io.TextIOWrapper(io.BytesIO(body), encoding="utf-8-sig", newline=""))
        next(reader)
        now = time.time_ns() // 1000  # UtcDateTime stores microseconds since the epoch
        with conn.cursor() as cur, cur.copy(f"COPY {table} ({COLUMNS}) FROM STDIN") as copy:
            for name, content, channels, language in reader:
                copy.write_row(
                    (str(uuid.uuid4()), "a", "r", "kb", name, "text/plain", content, language,
                     json.dumps([channels]), 1, channels, "CREATED", now, now)
                )  # fmt: skip
        conn.commit()
        elapsed = time.perf_counter() - start
        conn.execute(f"DROP TABLE {table}")
        conn.commit()
    return (body.count(b"\n") - 1) / elapsed


def imports(database: str, rows: int, rounds: int, results: Results) -> float:
    body = make_csv(rows)
    common = ("--database-url", database, "--quick-response-quota", str(rows * 2))
    server = ServerProcess("--no-worker", *common, "--max-upload-bytes", str(len(body) + 1)).start()
    worker = WorkerProcess(*common).start()
    ours: list[float] = []
    floor: list[float] = []
    try:
        for index in range(rounds):
            floor.append(copy_floor(database, body))
            ours.append(rows / import_once(server, body, f"kb{index}"))
            server.control("reset")
            print(
                f"  round {index + 1}: floor {floor[-1]:,.0f} rows/s, qconnect-local {ours[-1]:,.0f} rows/s"
            )
    finally:
        worker.stop()
        server.stop()
    ratio = statistics.median(ours) / statistics.median(floor)
    print(f"import throughput on PostgreSQL, {rows:,} rows, {rounds} alternating rounds (medians):")
    print(f"  floor (csv + COPY)                {statistics.median(floor):>10,.0f} rows/s")
    print(f"  qconnect-local (replica + worker) {statistics.median(ours):>10,.0f} rows/s")
    print(f"  ratio {ratio:.0%} (goal >= 50 %)  {'MET' if ratio >= GOAL_IMPORT_RATIO else 'NOT MET'}")
    results.add(
        f"import {rows:,} rows on PostgreSQL (replica + worker)",
        statistics.median(ours),
        "rows/s",
        "floor: csv + COPY",
        statistics.median(floor),
    )
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["replicas", "import"], help="run one part only")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--generator", choices=["auto", "wrk", "builtin"], default="auto")
    add_json_argument(parser)
    args = parser.parse_args()
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and wrk_available())
    load: Load = run_wrk if use_wrk else run_builtin
    results = Results(
        "bench_scale",
        f"({'quick' if args.quick else 'full'}), generator {'wrk -t2' if use_wrk else 'built-in'}",
    )
    with temporary_database("qconnect_bench") as database:
        if args.only != "import":
            replicas(database, load, rounds=1 if args.quick else 3, seconds=3 if args.quick else 10,
                     connections=args.connections, results=results)  # fmt: skip
        if args.only != "replicas":
            imports(database, rows=5_000 if args.quick else 50_000, rounds=1 if args.quick else 3,
                    results=results)  # fmt: skip
    results.finish(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
