"""Several processes on one PostgreSQL database: `serve --no-worker` replicas and `worker`s.

Every job ends exactly once whichever replica took it and whichever worker ran it, the quota
of a knowledge base holds across processes, and a worker killed mid-import loses nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from conftest import Target
from importing import FINAL, all_quick_responses, quick_response_kb, start_import, upload, wait_for_job
from qconnect_local.config import Settings
from qconnect_local.store.schema import import_jobs, quick_responses
from qconnect_local.testing import postgres
from qconnect_local.testing.mock import mock_qconnect
from qconnect_local.testing.server import ServerProcess, WorkerProcess
from qconnect_local.worker import claims
from qconnect_local.worker.runner import Worker

pytestmark = pytest.mark.slow

QUOTA = 500
KNOWLEDGE_BASES = 5
FILES_PER_KB = 4
SHARED_ROWS = 40  # the same names in every file of a knowledge base
OWN_ROWS = 160  # names found in one file only


@pytest.fixture
def database() -> Iterator[str]:
    with postgres.required_database("qconnect_scale") as url:
        yield url


def start_all(processes: list[Any]) -> None:
    """Start every process at once, as a deployment does (the first migrates, the rest wait)."""
    with ThreadPoolExecutor(len(processes)) as pool:
        list(pool.map(lambda process: process.start(), processes))


def stop_all(processes: list[Any]) -> None:
    for process in processes:
        process.stop()


def kb_file(kb: int, file: int) -> bytes:
    shared = [f"kb{kb} shared {i},Shared answer {i}\n" for i in range(SHARED_ROWS)]
    own = [f"kb{kb} file{file} row {i},Answer {i} of file {file}\n" for i in range(OWN_ROWS)]
    return ("Name,Content\n" + "".join(shared + own)).encode()


def test_concurrent_imports_through_two_replicas_and_two_workers_end_once_within_the_quota(
    database: str,
) -> None:
    common = ("--database-url", database, "--quick-response-quota", str(QUOTA))
    replicas = [ServerProcess("--no-worker", *common) for _ in range(2)]
    workers = [WorkerProcess(*common) for _ in range(2)]
    start_all([*replicas, *workers])
    try:
        clients = [replica.client() for replica in replicas]
        targets = [Target("server", replica.url, None) for replica in replicas]
        kbs = [quick_response_kb(clients[k % 2], f"kb{k}")["knowledgeBaseId"] for k in range(KNOWLEDGE_BASES)]

        def one_import(index: int) -> tuple[str, str]:
            kb, file = index % KNOWLEDGE_BASES, index // KNOWLEDGE_BASES
            side = index % 2  # alternate the replicas: upload and start on one, watch on the other
            qc = replicas[side].client()
            up = upload(targets[side], qc, kbs[kb], kb_file(kb, file))
            job = start_import(qc, kbs[kb], up["uploadId"])
            wait_for_job(replicas[1 - side].client(), kbs[kb], job["importJobId"], timeout=40)
            return kbs[kb], job["importJobId"]

        with ThreadPoolExecutor(20) as pool:
            jobs = list(pool.map(one_import, range(KNOWLEDGE_BASES * FILES_PER_KB)))

        views = [
            {
                job_id: clients[side].get_import_job(knowledgeBaseId=kb, importJobId=job_id)["importJob"]
                for kb, job_id in jobs
            }
            for side in (0, 1)
        ]
        for job_id, seen in views[0].items():
            other = views[1][job_id]
            assert seen["status"] in FINAL
            assert (seen["status"], seen["lastModifiedTime"]) == (other["status"], other["lastModifiedTime"])
        # Per knowledge base: 680 distinct names for a quota of 500, so three imports fill it
        # (200 + 160 + 140 rows) and the fourth, finding every row taken or over quota, fails.
        for kb in kbs:
            statuses = sorted(views[0][job_id]["status"] for kb_id, job_id in jobs if kb_id == kb)
            assert statuses == ["COMPLETE", "COMPLETE", "COMPLETE", "FAILED"]

            listed = [
                sorted((qr["quickResponseId"], qr["name"]) for qr in all_quick_responses(qc, kb))
                for qc in clients
            ]
            assert listed[0] == listed[1]
            names = [name for _id, name in listed[0]]
            assert len(names) == QUOTA
            assert len(set(names)) == len(names)
            for qr_id, name in listed[0][::50]:
                for qc in clients:
                    got = qc.get_quick_response(knowledgeBaseId=kb, quickResponseId=qr_id)["quickResponse"]
                    assert got["name"] == name
        assert [worker.stop() for worker in workers] == [0, 0], "SIGTERM ends a worker cleanly"
    finally:
        stop_all([*workers, *replicas])


def query(database: str, statement: Any) -> Any:
    """One row read straight from the shared database (what no API call shows: claims)."""
    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            return conn.execute(statement).one()
    finally:
        engine.dispose()


def claimed_by(database: str, job_id: str) -> str | None:
    row = query(database, select(import_jobs.c.claimed_by).where(import_jobs.c.id == job_id))
    holder: str | None = row[0]
    return holder


def test_a_worker_killed_mid_import_leaves_the_job_to_the_other_worker_which_imports_it_once(
    database: str,
) -> None:
    rows = 20_000
    bad = 10  # rows without content: refused, in the report, not imported
    body = "Name,Content\n" + "".join(f"response {i},Content number {i}\n" for i in range(rows))
    body += "".join(f"empty {i},\n" for i in range(bad))
    common = ("--database-url", database, "--quick-response-quota", str(rows * 2))
    replica = ServerProcess("--no-worker", *common)
    workers = [WorkerProcess(*common, "--job-lease-seconds", "3") for _ in range(2)]
    start_all([replica, *workers])
    try:
        qc = replica.client()
        kb = quick_response_kb(qc)["knowledgeBaseId"]
        up = upload(Target("server", replica.url, None), qc, kb, body.encode())
        job_id = start_import(qc, kb, up["uploadId"])["importJobId"]

        deadline = time.monotonic() + 10
        while (holder := claimed_by(database, job_id)) is None:
            assert time.monotonic() < deadline, "no worker claimed the job"
            time.sleep(0.05)
        time.sleep(0.5)  # inserting rows
        assert qc.get_import_job(knowledgeBaseId=kb, importJobId=job_id)["importJob"]["status"] == (
            "START_IN_PROGRESS"
        ), "the import must still be running when its worker is killed"
        victim = next(w for w in workers if holder.startswith(f"{w.pid}-"))
        victim.kill()

        finished = wait_for_job(qc, kb, job_id, timeout=40)
        assert finished["status"] == "COMPLETE"
        assert claimed_by(database, job_id) is None
        # Counted in the database: listing 20,000 quick responses page by page takes seconds.
        total, distinct = query(
            database,
            select(func.count(), func.count(quick_responses.c.name.distinct())).where(
                quick_responses.c.knowledge_base_id == kb
            ),
        )
        assert (total, distinct) == (rows, rows)
    finally:
        stop_all([*workers, replica])


def test_a_running_job_keeps_its_claim_past_the_lease_only_while_its_worker_renews_it(database: str) -> None:
    settings = Settings(database_url=database, run_worker=False, job_lease_seconds=1)
    with mock_qconnect(settings) as mock:
        target = Target("in-process-postgres", None, mock)
        qc = target.client()
        kb = quick_response_kb(qc)["knowledgeBaseId"]
        up = upload(target, qc, kb, b"Name,Content\nhello,Hello there\n")
        start_import(qc, kb, up["uploadId"])
        runtime = mock.runtime
        first, second = Worker(runtime), Worker(runtime)

        def claim_for(worker: Worker) -> claims.Claim | None:
            return claims.claim_next(runtime.store, worker.worker_id, runtime.clock.now(), worker.lease)

        claim = claim_for(first)
        assert claim is not None
        with first.keep_claimed(claim):
            time.sleep(2.0)  # twice the lease: renewed meanwhile
            assert claim_for(second) is None
        time.sleep(1.2)  # no longer renewed: the lease runs out

        taken = claim_for(second)
        assert taken is not None and taken.job.id == claim.job.id
