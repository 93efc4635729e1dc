"""Import benchmark: end-to-end import throughput against a floor, and peak server RSS.

1. Throughput: a 100,000-row CSV through the whole pipeline of a real `qconnect-local serve`
   (signed PUT + StartImportJob + polling GetImportJob to COMPLETE, quota raised), against the
   floor measured in the same run on the same disk: Python's `csv` reader plus
   `sqlite3.executemany` of the same rows into a same-shaped table (our own `quick_responses`
   table and its indexes, without the search index). Goal: >= 50 % of the floor.
   Rounds alternate the two sides; medians are reported.
2. Memory: the server's peak RSS (VmHWM) while importing a 1,000,000-row file. Goal: <= 256 MB
   (the file is streamed, never held whole).

`--quick` shrinks both files for a smoke run.
"""

from __future__ import annotations

import argparse
import csv
import io
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from sqlalchemy import create_engine

from _results import Results, add_json_argument
from qconnect_local.store import schema
from qconnect_local.testing.server import ServerProcess

HEADER = ["Name", "Content", "Channels", "Language"]


def make_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for i in range(rows):
        writer.writerow([f"response {i}", f"Hello, this is canned answer number {i}.", "Chat", "en_US"])
    return out.getvalue().encode()


def floor_rows_per_second(body: bytes, folder: Path) -> float:
    """csv.reader + sqlite3.executemany of the same rows into a same-shaped table, one transaction.

    The table is qconnect-local's own `quick_responses` (same columns, same indexes), created
    without the search index; each row gets the values the worker stores (a uuid, the scope,
    timestamps, the JSON channel list), computed as cheaply as Python allows.
    """
    path = folder / f"floor-{time.monotonic_ns()}.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    schema.quick_responses.create(engine)
    engine.dispose()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    columns = (
        "id, account, region, knowledge_base_id, name, content_type, content, language, channels, "
        "is_active, status, created_at, modified_at"
    )
    sql = f"INSERT INTO quick_responses ({columns}) VALUES ({', '.join('?' * 13)})"
    start = time.perf_counter()
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(body), encoding="utf-8-sig", newline=""))
    next(reader)
    now = time.time_ns() // 1000
    db.execute("BEGIN IMMEDIATE")
    db.executemany(
        sql,
        (
            (
                str(uuid.uuid4()),
                "a",
                "r",
                "kb",
                name,
                "plain",
                content,
                language,
                f'["{channels}"]',
                1,
                "C",
                now,
                now,
            )
            for name, content, channels, language in reader
        ),
    )
    db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return (body.count(b"\n") - 1) / elapsed


def import_once(server: ServerProcess, body: bytes, name: str) -> float:
    """Seconds from the PUT to the job's COMPLETE, as a client polling every 20 ms sees it."""
    qc = server.client()
    kb = qc.create_knowledge_base(name=name, knowledgeBaseType="QUICK_RESPONSES")["knowledgeBase"][
        "knowledgeBaseId"
    ]
    up = qc.start_content_upload(knowledgeBaseId=kb, contentType="text/csv")
    start = time.perf_counter()
    request = urllib.request.Request(up["url"], data=body, method="PUT", headers=up["headersToInclude"])
    urllib.request.urlopen(request, timeout=300).close()
    job = qc.start_import_job(knowledgeBaseId=kb, importJobType="QUICK_RESPONSES", uploadId=up["uploadId"])
    job_id = job["importJob"]["importJobId"]
    while True:
        status = qc.get_import_job(knowledgeBaseId=kb, importJobId=job_id)["importJob"]["status"]
        if status != "START_IN_PROGRESS":
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    if status != "COMPLETE":
        raise RuntimeError(f"import ended {status}")
    return elapsed


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def server_for(rows: int, folder: Path, size: int) -> ServerProcess:
    return ServerProcess(
        "--quick-response-quota",
        str(rows * 2),
        "--max-upload-bytes",
        str(size + 1),
        data_dir=folder / f"data-{rows}",
    )


def throughput(folder: Path, rows: int, rounds: int, results: Results) -> None:
    body = make_csv(rows)
    ours: list[float] = []
    floor: list[float] = []
    with server_for(rows, folder, len(body)) as server:
        for index in range(rounds):
            floor.append(floor_rows_per_second(body, folder))
            ours.append(rows / import_once(server, body, f"kb{index}"))
            server.control("reset")
    ratio = statistics.median(ours) / statistics.median(floor)
    print(f"import throughput, {rows:,} rows, {rounds} alternating rounds (medians):")
    print(f"  floor (csv + sqlite3.executemany) {statistics.median(floor):>10,.0f} rows/s")
    print(f"  qconnect-local end to end         {statistics.median(ours):>10,.0f} rows/s")
    print(f"  ratio {ratio:.0%} (goal >= 50 %)  {'MET' if ratio >= 0.5 else 'NOT MET'}", flush=True)
    results.add(
        f"import {rows:,} rows end to end",
        statistics.median(ours),
        "rows/s",
        "floor: csv + sqlite3.executemany",
        statistics.median(floor),
    )


def memory(folder: Path, rows: int, results: Results) -> None:
    big = make_csv(rows)
    with server_for(rows, folder, len(big)) as server:
        assert server.process is not None
        idle = vm_hwm_mb(server.process.pid)
        seconds = import_once(server, big, "big")
        peak = vm_hwm_mb(server.process.pid)
    print(f"peak server RSS importing {rows:,} rows ({len(big) / 1e6:.0f} MB file, {seconds:.1f} s):")
    print(f"  idle {idle:.0f} MB, peak {peak:.0f} MB (goal <= 256 MB)  {'MET' if peak <= 256 else 'NOT MET'}")
    results.add(f"peak server RSS importing {rows:,} rows", peak, "MB", "idle server RSS", idle)
    results.add(f"import {rows:,} rows, PUT to COMPLETE", seconds, "s")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["throughput", "memory"], help="run one part only")
    add_json_argument(parser)
    args = parser.parse_args()
    results = Results("bench_import")
    rows = 10_000 if args.quick else 100_000
    big_rows = 100_000 if args.quick else 1_000_000
    rounds = 1 if args.quick else args.rounds

    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        folder = Path(tmp)
        if args.only != "memory":
            throughput(folder, rows, rounds, results)
        if args.only != "throughput":
            memory(folder, big_rows, results)
    results.finish(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
