"""An import never holds the write lock for long, yet stays all-or-nothing and runs once.

The import stages its rows in short transactions that no read can see, then publishes them in
one (worker/jobs.py). These tests stop the worker between two batches and look: other writes go
through at once, nothing staged is found by Get, List or Search, names taken and quota used
meanwhile are reported at publish, and a crash, a lost claim or a lost connection leaves only
staged rows, which the next run throws away. Reasons in reports never carry SQL, paths or driver
text. And a write that cannot get the SQLite lock is a retryable ConflictException, never a 500.
"""

from __future__ import annotations

import csv
import io
import itertools
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.exc import OperationalError

from conftest import Target
from importing import all_quick_responses, quick_response_kb, start_import, upload
from qconnect_local.config import Settings
from qconnect_local.service import quick_responses as qr_service
from qconnect_local.store import Store, engine
from qconnect_local.store import quick_responses as qr_store
from qconnect_local.store.engine import StoreBusy
from qconnect_local.store.schema import import_jobs, quick_responses
from qconnect_local.testing import postgres
from qconnect_local.testing.mock import mock_qconnect
from qconnect_local.worker import claims, csv_format, jobs, kinds
from qconnect_local.worker.runner import Worker

ACCOUNT, REGION = "123456789012", "us-east-1"
# What a report must never show: SQL, the driver's and Python's words, paths on the server.
LEAKS = (
    "INSERT",
    "SELECT",
    "quick_responses",
    "[SQL",
    "sqlite",
    "psycopg",
    "OperationalError",
    "Errno",
    "/srv/",
)


# --- set-up -------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    reason = postgres.unreachable_reason()
    if reason is not None:
        postgres.skip_or_fail(reason)
    url: str | None = request.getfixturevalue("postgres_database")
    return url


class Service:
    """The in-process service with no worker of its own: the test runs the worker's steps."""

    def __init__(self, mock: mock_qconnect) -> None:
        self.mock = mock
        self.runtime = mock.runtime
        self.store = mock.runtime.store
        self.target = Target("in-process", None, mock)
        self.qc = self.target.client()
        self.worker = Worker(self.runtime)

    def start(self, kb: str, body: str) -> str:
        up = upload(self.target, self.qc, kb, body.encode())
        job_id: str = start_import(self.qc, kb, up["uploadId"])["importJobId"]
        return job_id

    def job(self, kb: str, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = self.qc.get_import_job(knowledgeBaseId=kb, importJobId=job_id)["importJob"]
        return job

    def job_row(self, job_id: str) -> Any:
        with self.store.read() as conn:
            return conn.execute(select(import_jobs).where(import_jobs.c.id == job_id)).one()

    def staged(self, job_id: str) -> int:
        """Rows in the job's staging area, straight from the table."""
        with self.store.read() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(quick_responses)
                    .where(quick_responses.c.knowledge_base_id == job_id)
                ).scalar_one()
            )

    def report(self, job: dict[str, Any]) -> list[list[str]]:
        status, _headers, body = self.target.http("GET", job["failedRecordReport"])
        assert status == 200
        return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))

    def names(self, kb: str) -> list[str]:
        return [qr["name"] for qr in all_quick_responses(self.qc, kb)]


@contextmanager
def service(database_url: str | None = None, **settings: Any) -> Iterator[Service]:
    with mock_qconnect(Settings(database_url=database_url, run_worker=False, **settings)) as mock:
        mock.runtime.reset()
        yield Service(mock)


def rows(count: int, *, keys: bool = False) -> str:
    header = "Name,Content,Shortcut key\n" if keys else "Name,Content\n"
    return header + "".join(
        f"r{i},Answer number {i} about refunds" + (f",k{i}" if keys else "") + "\n" for i in range(count)
    )


class PausedImport:
    """Runs one job on a thread and stops it right after it staged its first batch."""

    def __init__(self, svc: Service, monkeypatch: pytest.MonkeyPatch) -> None:
        self.svc = svc
        self.staged = threading.Event()
        self.go = threading.Event()
        self.error: BaseException | None = None
        original = jobs._Staging.add
        calls = itertools.count()

        def add(staging: Any, items: list[dict[str, Any]]) -> None:
            original(staging, items)
            if next(calls) == 0:
                self.staged.set()
                assert self.go.wait(60), "the test never resumed the import"

        monkeypatch.setattr(jobs._Staging, "add", add)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            assert self.svc.worker.run_once()
        except BaseException as error:  # handed to the test
            self.error = error

    def __enter__(self) -> PausedImport:
        self.thread.start()
        assert self.staged.wait(60), "the import never staged a batch"
        return self

    def __exit__(self, *exc: object) -> None:
        self.go.set()
        self.thread.join(60)
        assert not self.thread.is_alive()
        if self.error is not None and exc[0] is None:
            raise self.error


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.monotonic()
    result = call()
    return result, time.monotonic() - start


def error_code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


# --- staged rows are invisible, other writes go on ----------------------------------------------


def test_staged_rows_are_found_by_no_read_and_other_writes_do_not_wait(
    database_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with service(database_url, quick_response_quota=10_000) as svc:
        kb = quick_response_kb(svc.qc)["knowledgeBaseId"]
        job_id = svc.start(kb, rows(2500, keys=True))
        with PausedImport(svc, monkeypatch):
            assert svc.staged(job_id) == jobs.BATCH
            with svc.store.read() as conn:
                staged_id = conn.execute(
                    select(quick_responses.c.id).where(quick_responses.c.knowledge_base_id == job_id).limit(1)
                ).scalar_one()

            # Writes in the same knowledge base are served now, not after the import: a name
            # the file has (staged already, and not yet), a shortcut key of a staged row.
            for name, extra in (("r5", {}), ("r1500", {}), ("mine", {"shortcutKey": "k7"})):
                _, seconds = timed(
                    lambda name=name, extra=extra: svc.qc.create_quick_response(
                        knowledgeBaseId=kb, name=name, content={"content": "written meanwhile"}, **extra
                    )
                )
                assert seconds < 2

            assert sorted(svc.names(kb)) == ["mine", "r1500", "r5"]
            found = svc.qc.search_quick_responses(
                knowledgeBaseId=kb,
                searchExpression={
                    "queries": [{"name": "content", "values": ["refunds"], "operator": "CONTAINS"}]
                },
            )["results"]
            assert found == []
            by_name = svc.qc.search_quick_responses(
                knowledgeBaseId=kb,
                searchExpression={
                    "queries": [{"name": "name", "values": ["r1"], "operator": "CONTAINS_AND_PREFIX"}]
                },
            )["results"]
            assert [r["name"] for r in by_name] == ["r1500"]
            assert error_code(
                lambda: svc.qc.get_quick_response(knowledgeBaseId=kb, quickResponseId=staged_id)
            ) == ("ResourceNotFoundException")
            # The staging area's id is the job's: no knowledge base answers to it.
            assert error_code(lambda: svc.qc.list_quick_responses(knowledgeBaseId=job_id)) == (
                "ResourceNotFoundException"
            )
            assert svc.job(kb, job_id)["status"] == "START_IN_PROGRESS"

        job = svc.job(kb, job_id)
        assert job["status"] == "COMPLETE"
        assert svc.staged(job_id) == 0
        names = svc.names(kb)
        assert len(names) == len(set(names)) == 2500  # 2,497 imported and the 3 written meanwhile
        report = svc.report(job)
        assert report[0] == ["Line", "Name", "Content", "Shortcut key", "Errors"]
        assert [(line, name, errors) for line, name, _content, _key, errors in report[1:]] == [
            ("7", "r5", "A quick response named 'r5' already exists in this knowledge base"),
            ("9", "r7", "The shortcut key 'k7' is already used in this knowledge base"),
            ("1502", "r1500", "A quick response named 'r1500' already exists in this knowledge base"),
        ]
        found = svc.qc.search_quick_responses(
            knowledgeBaseId=kb,
            searchExpression={"queries": [{"name": "name", "values": ["r2499"], "operator": "CONTAINS"}]},
        )["results"]
        assert [r["name"] for r in found] == ["r2499"]


def test_the_quota_is_exact_at_publish_when_other_writes_used_room_meanwhile(
    database_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with service(database_url, quick_response_quota=5) as svc:
        kb = quick_response_kb(svc.qc)["knowledgeBaseId"]
        job_id = svc.start(kb, rows(5))
        with PausedImport(svc, monkeypatch):
            for name in ("early bird", "second bird"):
                svc.qc.create_quick_response(knowledgeBaseId=kb, name=name, content={"content": "x"})

        job = svc.job(kb, job_id)
        assert job["status"] == "COMPLETE"
        assert sorted(svc.names(kb)) == ["early bird", "r0", "r1", "r2", "second bird"]
        quota = "The knowledge base has reached its quota of 5 quick responses"
        assert [(row[0], row[1], row[-1]) for row in svc.report(job)[1:]] == [
            ("5", "r3", quota),
            ("6", "r4", quota),
        ]


def test_an_import_whose_every_row_was_taken_meanwhile_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    with service(quick_response_quota=2) as svc:
        kb = quick_response_kb(svc.qc)["knowledgeBaseId"]
        job_id = svc.start(kb, rows(2))
        with PausedImport(svc, monkeypatch):
            for name in ("a", "b"):
                svc.qc.create_quick_response(knowledgeBaseId=kb, name=name, content={"content": "x"})
        job = svc.job(kb, job_id)
        assert job["status"] == "FAILED"
        assert len(svc.report(job)) == 3
        assert sorted(svc.names(kb)) == ["a", "b"]
        assert svc.staged(job_id) == 0


def test_changes_made_during_every_publish_attempt_are_still_settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each time the publish finds a change, another write slips in before the next try; the
    last try settles inside its own transaction, so the job ends and stays exact."""
    with service(quick_response_quota=100) as svc:
        kb = quick_response_kb(svc.qc)["knowledgeBaseId"]
        job_id = svc.start(kb, rows(10))
        original = jobs._look_up
        taken = itertools.count()

        def look_up(*args: Any) -> Any:
            found = original(*args)
            n = next(taken)
            if n < jobs.PUBLISH_ATTEMPTS - 1:  # a write between two attempts
                svc.qc.create_quick_response(knowledgeBaseId=kb, name=f"r{n + 1}", content={"content": "x"})
            return found

        monkeypatch.setattr(jobs, "_look_up", look_up)
        with PausedImport(svc, monkeypatch):
            svc.qc.create_quick_response(knowledgeBaseId=kb, name="r0", content={"content": "x"})

        job = svc.job(kb, job_id)
        assert job["status"] == "COMPLETE"
        assert [row[1] for row in svc.report(job)[1:]] == ["r0", "r1", "r2", "r3"]
        assert sorted(svc.names(kb)) == sorted(f"r{i}" for i in range(10))
        assert svc.staged(job_id) == 0


def test_a_write_between_the_check_and_the_publish_is_caught_by_the_publish(
    database_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report is committed, then a quick response takes a staged name, then the publish's
    transaction runs: it sees the name taken, lets go of the lock, turns the row down (adding it
    to the committed report) and publishes on its next try."""
    with service(database_url, quick_response_quota=100) as svc:
        kb = quick_response_kb(svc.qc)["knowledgeBaseId"]
        job_id = svc.start(kb, "Name,Content\n" + "".join(f"r{i},x\n" for i in range(6)) + "r0,again\n")
        original = jobs._Report.commit
        commits = itertools.count()

        def commit(report: Any) -> str | None:
            key = original(report)
            if next(commits) == 0:
                svc.qc.create_quick_response(knowledgeBaseId=kb, name="r4", content={"content": "x"})
            return key

        monkeypatch.setattr(jobs._Report, "commit", commit)
        assert svc.worker.run_once()

        job = svc.job(kb, job_id)
        assert job["status"] == "COMPLETE"
        report = svc.report(job)
        assert [row[:2] for row in report] == [["Line", "Name"], ["8", "r0"], ["6", "r4"]]
        assert "already exists" in report[2][-1]
        assert sorted(svc.names(kb)) == [f"r{i}" for i in range(6)]
        assert svc.staged(job_id) == 0


# --- exactly once: crashes, lost claims, deleted knowledge bases --------------------------------


def test_a_crash_after_staging_leaves_only_staged_rows_and_the_rerun_imports_once(
    database_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with service(database_url, quick_response_quota=10_000) as svc:
        kb = quick_response_kb(svc.qc)["knowledgeBaseId"]
        job_id = svc.start(kb, rows(2500))

        def crash(*args: Any) -> None:
            raise KeyboardInterrupt("the process dies here")

        with monkeypatch.context() as patched:
            patched.setattr(jobs, "_publish", crash)
            with pytest.raises(KeyboardInterrupt):
                svc.worker.run_once()

        assert svc.staged(job_id) == 2500
        assert svc.names(kb) == []
        assert svc.job(kb, job_id)["status"] == "START_IN_PROGRESS"

        claims.release_all(svc.store)  # what the next start of the server does
        assert svc.worker.run_once()

        assert svc.job(kb, job_id)["status"] == "COMPLETE"
        names = svc.names(kb)
        assert len(names) == len(set(names)) == 2500
        assert svc.staged(job_id) == 0


def test_a_worker_that_lost_its_claim_mid_import_publishes_nothing(
    database_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with service(database_url, quick_response_quota=10_000) as svc:
        kb = quick_response_kb(svc.qc)["knowledgeBaseId"]
        job_id = svc.start(kb, rows(2500))
        # The lease ran out and another worker took the job.
        with PausedImport(svc, monkeypatch), svc.store.write() as conn:
            conn.execute(update(import_jobs).where(import_jobs.c.id == job_id).values(claimed_by="thief#1"))

        assert svc.names(kb) == []
        assert svc.job(kb, job_id)["status"] == "START_IN_PROGRESS"
        assert svc.staged(job_id) == jobs.BATCH  # the new holder's to clear

        claims.release_all(svc.store)
        monkeypatch.undo()
        assert svc.worker.run_once()
        assert svc.job(kb, job_id)["status"] == "COMPLETE"
        assert len(set(svc.names(kb))) == 2500
        assert svc.staged(job_id) == 0


def test_deleting_the_knowledge_base_mid_import_leaves_no_row_behind(
    database_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with service(database_url, quick_response_quota=10_000) as svc:
        kb = quick_response_kb(svc.qc)["knowledgeBaseId"]
        job_id = svc.start(kb, rows(2500))
        with PausedImport(svc, monkeypatch):
            svc.qc.delete_knowledge_base(knowledgeBaseId=kb)
        assert svc.staged(job_id) == 0
        with svc.store.read() as conn:
            assert conn.execute(select(func.count()).select_from(quick_responses)).scalar_one() == 0


def test_staging_areas_of_jobs_that_are_gone_are_swept(database_url: str | None) -> None:
    with service(database_url) as svc:
        gone = str(uuid.uuid4())  # a job deleted with its knowledge base while its worker was down
        with svc.store.write() as conn:
            qr_service.insert_many(
                conn,
                account=ACCOUNT,
                region=REGION,
                kb_id=gone,
                items=[{"name": f"left {i}", "content": {"content": "x"}} for i in range(3)],
                import_job_id=gone,
                now=datetime.now(UTC),
                modified_by="x",
            )
        kb = quick_response_kb(svc.qc)["knowledgeBaseId"]
        svc.start(kb, rows(3))
        assert svc.worker.run_once()
        assert svc.staged(gone) == 0
        assert sorted(svc.names(kb)) == ["r0", "r1", "r2"]
        with svc.store.read() as conn:
            assert qr_store.parent_ids(conn) == [kb]


# --- a lost database connection retries the job -------------------------------------------------


def lost_connection() -> OperationalError:
    return OperationalError(
        "INSERT INTO quick_responses (id, name) VALUES (?, ?)",
        ("id-1", "r0"),
        sqlite3.OperationalError("server closed the connection unexpectedly"),
        connection_invalidated=True,
    )


def test_a_connection_lost_mid_import_releases_the_job_for_a_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    with service(quick_response_quota=10_000) as svc:
        kb = quick_response_kb(svc.qc)["knowledgeBaseId"]
        job_id = svc.start(kb, rows(2500))
        original = qr_service.insert_many
        calls = itertools.count()

        def flaky(*args: Any, **kwargs: Any) -> int:
            if next(calls) == 1:  # the second batch: one is staged already
                raise lost_connection()
            return original(*args, **kwargs)

        monkeypatch.setattr(qr_service, "insert_many", flaky)
        assert svc.worker.run_once()
        row = svc.job_row(job_id)
        assert (row.status, row.claimed_by, row.attempts) == ("START_IN_PROGRESS", None, 1)

        assert svc.worker.run_once()
        row = svc.job_row(job_id)
        assert (row.status, row.attempts, row.failed_count) == ("COMPLETE", 2, 0)
        assert len(set(svc.names(kb))) == 2500
        assert svc.staged(job_id) == 0


def test_a_connection_lost_on_every_attempt_ends_the_job_failed_after_the_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with service() as svc:
        kb = quick_response_kb(svc.qc)["knowledgeBaseId"]
        job_id = svc.start(kb, rows(3))

        def broken(*args: Any, **kwargs: Any) -> int:
            raise lost_connection()

        monkeypatch.setattr(qr_service, "insert_many", broken)
        for _ in range(kinds.MAX_ATTEMPTS):
            assert svc.worker.run_once()
            assert svc.job_row(job_id).status == "START_IN_PROGRESS"
        assert svc.worker.run_once()
        job = svc.job(kb, job_id)
        assert job["status"] == "FAILED"
        (reason,) = [row[-1] for row in svc.report(job)[1:]]
        assert reason == jobs.INTERRUPTED.format(attempts=kinds.MAX_ATTEMPTS)
        assert not any(leak in reason for leak in LEAKS)


def test_a_postgresql_backend_terminated_mid_import_retries_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    reason = postgres.unreachable_reason()
    if reason is not None:
        postgres.skip_or_fail(reason)
    with (
        postgres.temporary_database("qconnect_isolation") as url,
        service(url, quick_response_quota=10_000) as svc,
    ):
        kb = quick_response_kb(svc.qc)["knowledgeBaseId"]
        job_id = svc.start(kb, rows(2500))
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        original = qr_store.insert
        calls = itertools.count()

        def terminated(conn: Any, batch: list[dict[str, Any]]) -> None:
            if next(calls) == 1:  # the worker's own connection, in the middle of its transaction
                pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
                with admin.connect() as other:
                    other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            original(conn, batch)

        monkeypatch.setattr(qr_store, "insert", terminated)
        try:
            assert svc.worker.run_once()
            row = svc.job_row(job_id)
            assert (row.status, row.claimed_by) == ("START_IN_PROGRESS", None)
            assert svc.worker.run_once()
        finally:
            admin.dispose()
        row = svc.job_row(job_id)
        assert (row.status, row.attempts) == ("COMPLETE", 2)
        assert len(set(svc.names(kb))) == 2500
        assert svc.staged(job_id) == 0


# --- reasons in the user's terms ----------------------------------------------------------------


def test_an_internal_error_is_reported_without_sql_paths_or_driver_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with service() as svc:
        kb = quick_response_kb(svc.qc)["knowledgeBaseId"]
        job_id = svc.start(kb, rows(3))

        def broken(*args: Any, **kwargs: Any) -> int:
            raise OperationalError(
                "INSERT INTO quick_responses (id, name, content) VALUES (?, ?, ?)",
                ("1d0c", "r0", "secret content"),
                sqlite3.OperationalError("disk I/O error in /srv/qconnect/qconnect.sqlite3"),
            )

        monkeypatch.setattr(qr_service, "insert_many", broken)
        assert svc.worker.run_once()
        job = svc.job(kb, job_id)
        assert job["status"] == "FAILED"
        report = svc.report(job)
        assert report == [["Line", "Errors"], ["1", jobs.INTERNAL_ERROR.format(job_id=job_id)]]
        text = str(report)
        assert not any(leak in text for leak in (*LEAKS, "secret content", "disk I/O"))
        assert svc.staged(job_id) == 0


def test_a_full_disk_is_reported_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    with service() as svc:
        kb = quick_response_kb(svc.qc)["knowledgeBaseId"]
        job_id = svc.start(kb, rows(3))
        full = sqlite3.OperationalError("database or disk is full")
        full.sqlite_errorcode = 13  # type: ignore[attr-defined]

        def broken(*args: Any, **kwargs: Any) -> int:
            raise OperationalError("INSERT INTO quick_responses (id) VALUES (?)", ("1d0c",), full)

        monkeypatch.setattr(qr_service, "insert_many", broken)
        assert svc.worker.run_once()
        job = svc.job(kb, job_id)
        assert job["status"] == "FAILED"
        assert [row[-1] for row in svc.report(job)[1:]] == [jobs.STORAGE_FULL]


def test_an_upload_that_vanished_is_reported_without_its_path(tmp_path: Path) -> None:
    with service(blob_url=f"file://{tmp_path}/blobs") as svc:
        kb = quick_response_kb(svc.qc)["knowledgeBaseId"]
        job_id = svc.start(kb, rows(3))
        svc.runtime.blobs.delete(svc.job_row(job_id).upload_blob_key)
        assert svc.worker.run_once()
        job = svc.job(kb, job_id)
        assert job["status"] == "FAILED"
        (reason,) = [row[-1] for row in svc.report(job)[1:]]
        assert reason == jobs.UPLOAD_GONE
        assert str(tmp_path) not in reason and "Errno" not in reason


def test_the_csv_modules_complaints_are_told_in_the_files_terms() -> None:
    messages = {
        "line contains NUL": "NUL character",
        "new-line character seen in unquoted field - do you need to open the file in universal-newline "
        "mode?": "line break inside a field",
        "field larger than field limit (131072)": "longer than",
        "something else": "not valid CSV",
    }
    for message, meaning in messages.items():
        told = csv_format.csv_problem(csv.Error(message))
        assert meaning in told
        assert "universal-newline" not in told and "field limit" not in told


def test_the_connection_loss_test_tells_lost_connections_from_other_errors() -> None:
    assert jobs.connection_lost(lost_connection())
    assert jobs.connection_lost(StoreBusy("locked"))
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode = 5  # type: ignore[attr-defined]
    assert jobs.connection_lost(OperationalError("COMMIT", (), busy))
    assert not jobs.connection_lost(
        OperationalError("SELECT 1", (), sqlite3.OperationalError("no such table"))
    )
    assert not jobs.connection_lost(ValueError("bad"))


# --- SQLite: a write that cannot get the lock ---------------------------------------------------


def test_a_write_that_waits_too_long_for_the_lock_is_a_conflict_not_a_500(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine, "WRITE_WAIT_SECONDS", 0.3)
    with service() as svc:
        kb = quick_response_kb(svc.qc)["knowledgeBaseId"]
        holding, done = threading.Event(), threading.Event()

        def hold() -> None:
            with svc.store.write():
                holding.set()
                done.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert holding.wait(10)
            with pytest.raises(ClientError) as caught:
                svc.qc.create_quick_response(knowledgeBaseId=kb, name="late", content={"content": "x"})
        finally:
            done.set()
            holder.join()
        error = caught.value.response
        assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (
            409,
            "ConflictException",
        )
        assert "retry" in error["Error"]["Message"]
        svc.qc.create_quick_response(knowledgeBaseId=kb, name="late", content={"content": "x"})  # retried


def test_a_lock_held_by_another_process_past_the_wait_is_store_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "WRITE_WAIT_SECONDS", 1)
    store = Store.in_dir(tmp_path)
    other = sqlite3.connect(tmp_path / "qconnect.sqlite3", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        start = time.monotonic()
        with pytest.raises(StoreBusy), store.write() as conn:
            conn.exec_driver_sql("SELECT 1")
        assert 0.8 < time.monotonic() - start < 5
        other.execute("ROLLBACK")
        with store.write() as conn:  # and the store is fine afterwards
            conn.exec_driver_sql("SELECT 1")
    finally:
        other.close()
        store.close()


def test_writers_of_one_process_take_the_lock_in_arrival_order(tmp_path: Path) -> None:
    """A writer that commits and at once writes again (an import's batches) queues behind the
    writers that were already waiting, instead of winning the lock again."""
    store = Store.in_dir(tmp_path)
    order: list[str] = []
    first_in, waiter_queued = threading.Event(), threading.Event()

    def waiter() -> None:
        waiter_queued.set()
        with store.write():
            order.append("waiter")

    try:
        thread = threading.Thread(target=waiter)
        with store.write():
            order.append("batch 1")
            first_in.set()
            thread.start()
            assert waiter_queued.wait(10)
            time.sleep(0.2)  # the waiter is in the queue
        with store.write():
            order.append("batch 2")
        thread.join(10)
        assert order == ["batch 1", "waiter", "batch 2"]
    finally:
        store.close()


def test_the_documented_failure_messages_are_the_workers() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "import-format.md").read_text("utf-8")
    for message in (
        jobs.NO_ROWS,
        jobs.UPLOAD_GONE,
        jobs.INTERRUPTED.format(attempts=kinds.MAX_ATTEMPTS),
        jobs.INTERNAL_ERROR.format(job_id="<importJobId>"),
        jobs.STORAGE_FULL,
        jobs.FORCED_FAILURE,
    ):
        assert f"`{message}`" in doc
