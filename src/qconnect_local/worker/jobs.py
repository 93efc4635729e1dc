"""Running one claimed import job to its end: an import (CSV -> quick responses) or a delete.

An import is all-or-nothing and happens once, yet it holds the database's write lock only for
one batch at a time and for its publish, so other writes never wait for the whole import:

1. **Stage.** Rows are streamed from the blob. The good ones are stored in batches, each in a
   short transaction of its own, in the job's *staging area* (`store.quick_responses`): rows that
   no read finds (not Get, List, Search, nor the quota and name checks). Each batch transaction
   is fenced on the claim and renews its lease, so a worker that lost the job stores nothing more.
   Rows that fail are streamed to the failed-record report's blob as they fail.
2. **Publish.** What other writes changed meanwhile (names and shortcut keys taken, room used
   under the quota) is settled first, without the lock: the rows it turns down are looked up in
   the file, dropped from the staging area and added to the report, and the report is made
   durable. Then one transaction checks again, moves the staged rows into the knowledge base and
   moves the job to its final status, fenced on the claim (`claims.finish`). If a write came in
   between, that transaction lets go and the publish is tried again; the last try settles inside
   its own transaction, so the job always ends. The move costs the lock a few microseconds per
   row: milliseconds at the default quota (1,000 rows), seconds for 1,000,000.

A crash, a lost claim or a lost database connection leaves only staged rows: the next run of the
job throws them away first, and so does failing the job; staging areas of jobs that are gone (a
knowledge base deleted while the worker's process was down) are swept now and then. A lost
database connection releases the claim, so that the job runs again (`kinds.MAX_ATTEMPTS` claims
at most), instead of ending FAILED.

Every reason in a report is in the file author's terms: what the database, its driver or the
server's files said goes to the server's log, never to the report.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import logging
import sqlite3
import sys
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from typing import IO, Any

from sqlalchemy.exc import DBAPIError

from qconnect_local.runtime import Runtime
from qconnect_local.service import quick_responses
from qconnect_local.service.families import IMPORT_JOB, KNOWLEDGE_BASE, REPORT_BLOBS
from qconnect_local.service.import_jobs import (
    COMPLETE,
    DELETE_FAILED,
    DELETED,
    FAILED,
    START_IN_PROGRESS,
)
from qconnect_local.store import Connection, Store
from qconnect_local.store import quick_responses as qr_store
from qconnect_local.store.engine import StoreBusy, unmapped
from qconnect_local.store.errors import StoreConflict
from qconnect_local.worker import claims, csv_format
from qconnect_local.worker.claims import Claim, LostClaim, finish

log = logging.getLogger("qconnect_local.worker")

# Rows per staging transaction: from BATCH, doubled while a batch holds the write lock for less
# than half of BATCH_SECONDS (up to MAX_BATCH), halved when it holds it for more than twice that.
# Small transactions rewrite the same index pages at every commit (the ids are random), so a
# batch grows to what fits in ~0.1-0.2 s of lock (8,000 rows on 2 loaded cores): about what one
# transaction for all rows cost, and still short beside the 2 s a waiting write may take. At most
# 8,000: on a quiet machine 16,000 fit too, for no measurable gain per row (18-24 us per row
# staged at 4,000, 16,000 or 50,000 rows a batch), but a batch's rows are held in memory.
BATCH = 1000
MAX_BATCH = 8_000
BATCH_SECONDS = 0.25
# Rows read between two `time.sleep(0)`: reading is pure Python, and without a pause the import
# thread keeps the GIL for a whole switch interval (5 ms) each time a request thread returns from
# SQLite or the socket; pausing hands it over at once (write p50 during an import 16 -> 9 ms).
YIELD_ROWS = 100
PUBLISH_ATTEMPTS = 4  # the last settles what changed inside its own transaction
SWEEP_SECONDS = 600.0  # how often a store's abandoned staging areas are looked for

NO_ROWS = "The file holds no data rows: nothing was imported"
FORCED_FAILURE = "Failed on request of the control plane (/_qconnect/transitions failNext)"
UPLOAD_GONE = (
    "The uploaded file is no longer stored, so it could not be read to the end; nothing was "
    "imported. Upload the file again and start a new import job"
)
INTERRUPTED = (
    "The import was interrupted {attempts} times before it could finish (the server stopped, or "
    "lost its connection to its database, each time); nothing was imported. Start a new import "
    "job to try again"
)
STORAGE_FULL = (
    "The import stopped because the server ran out of storage space; nothing was imported. Start "
    "a new import job once space has been freed"
)
INTERNAL_ERROR = (
    "The import stopped on an internal error of the server; nothing was imported. Start a new "
    "import job to try again; if it fails the same way, the server's log has the details "
    "(look for import job {job_id})"
)


def report_key(job_id: str) -> str:
    return f"{REPORT_BLOBS}{job_id}/failed-records.csv"


def instance_id_of(external_source: dict[str, Any] | None) -> str | None:
    if not external_source:
        return None
    connect = (external_source.get("configuration") or {}).get("connectConfiguration") or {}
    instance: str | None = connect.get("instanceId")
    return instance


# --- what a failure means -----------------------------------------------------------------------


def connection_lost(error: BaseException) -> bool:
    """A failure of the database connection (or a lock wait), not of the job: worth running again.

    SQLAlchemy marks a connection it found dead (`connection_invalidated`); psycopg raises
    OperationalError for a server that went away, shut down, or chose this transaction as a
    deadlock's or serialization conflict's victim; SQLite's is a lock it waited for in vain.
    """
    if isinstance(error, StoreBusy):
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        if error.orig is None:
            return False
        error = error.orig
    psycopg = sys.modules.get("psycopg")  # never imported by a SQLite store, so never raised there
    if psycopg is not None and isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return True
    if isinstance(error, sqlite3.OperationalError):
        return getattr(error, "sqlite_errorcode", 0) & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
    return False


def failure_reason(claim: Claim, error: BaseException) -> str:
    """Why a job that raised ended FAILED, in the user's terms (the error itself is logged)."""
    from qconnect_local.worker import kinds  # kinds names this module's runners

    if isinstance(error, kinds.GaveUp):
        return INTERRUPTED.format(attempts=kinds.MAX_ATTEMPTS)
    if isinstance(error, _UploadGone):
        return UPLOAD_GONE
    if _storage_full(error):
        return STORAGE_FULL
    return INTERNAL_ERROR.format(job_id=claim.job.id)


def _storage_full(error: BaseException) -> bool:
    """A full disk, as the database (SQLite's SQLITE_FULL, PostgreSQL's disk_full) or the files
    (ENOSPC) tell it."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    if isinstance(error, OSError):
        return error.errno == errno.ENOSPC
    if isinstance(error, sqlite3.Error):
        return getattr(error, "sqlite_errorcode", 0) & 0xFF == 13  # SQLITE_FULL
    return getattr(error, "sqlstate", None) == "53100"  # psycopg: disk_full


class _UploadGone(Exception):
    """The uploaded file could not be read (deleted, or its storage lost it)."""


class _Upload:
    """The uploaded file as the reader reads it: a file that vanished mid-read is `_UploadGone`."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except FileNotFoundError as error:
            raise _UploadGone from error


def _open_upload(runtime: Runtime, key: str) -> IO[bytes]:
    try:
        return runtime.blobs.open(key)
    except FileNotFoundError as error:
        raise _UploadGone from error


# --- claims: fenced renewals and releases -------------------------------------------------------


def _release_for_retry(runtime: Runtime, claim: Claim) -> None:
    """End this claim (fenced, as any write of the job) so that a worker runs the job again now."""
    try:
        with runtime.store.write() as conn:
            claims.update_held(conn, claim, claimed_by=None, lease_until=None)
    except Exception:
        # The database is still away: the lease runs out instead, and the job is claimed then.
        log.warning("job %s: could not release its claim; it is retried once its lease ends", claim.job.id)


def _retrying(runtime: Runtime, claim: Claim, error: BaseException) -> None:
    log.warning(
        "job %s: the database connection was lost (%s: %s); the job will run again",
        claim.job.id,
        type(error).__name__,
        error,
    )
    _release_for_retry(runtime, claim)


# --- delete -------------------------------------------------------------------------------------


def run_delete(runtime: Runtime, claim: Claim) -> None:
    job = claim.job
    now = runtime.clock.now()
    try:
        with runtime.store.write() as conn:
            if job.force_failure:
                finish(conn, claim, status=DELETE_FAILED, force_failure=0, modified_at=now)
                return
            finish(conn, claim, status=DELETED, modified_at=now)
    except Exception as error:
        if not connection_lost(error):
            raise
        _retrying(runtime, claim, error)
        return
    runtime.blobs.delete_prefix(REPORT_BLOBS + job.id)


def fail_after_error(runtime: Runtime, claim: Claim, error: BaseException) -> None:
    """A job whose run raised ends FAILED / DELETE_FAILED with a report, instead of retrying forever.

    The report says what happened in the user's terms; the error itself was logged by the worker.
    """
    report = _Report(runtime, claim.job.id)
    try:
        if claim.job.status == START_IN_PROGRESS:
            _Staging(runtime, claim).clear()
            report.file_error(failure_reason(claim, error))
            with runtime.store.write() as conn:
                finish(
                    conn,
                    claim,
                    status=FAILED,
                    report_blob_key=report.commit(),
                    modified_at=runtime.clock.now(),
                )
        else:
            with runtime.store.write() as conn:
                finish(conn, claim, status=DELETE_FAILED, modified_at=runtime.clock.now())
    except BaseException:
        report.abort()
        raise


# --- the failed-record report -------------------------------------------------------------------


class _Report:
    """The failed-record report, opened on the first failure only.

    The publish commits it (makes it durable: for a large report that takes a while) before it
    takes the write lock. Rows turned down after that reopen it: a copy to append to.
    """

    def __init__(self, runtime: Runtime, job_id: str) -> None:
        self.runtime = runtime
        self.key = report_key(job_id)
        self._writer: Any = None
        self._report: csv_format.FailedRecordReport | None = None
        self._header: tuple[str, ...] = ()
        self._committed = False
        self.count = 0

    def add(self, row: csv_format.ImportRow, header: tuple[str, ...]) -> None:
        if self._committed:
            self._reopen()
        if self._report is None:
            self._writer = self.runtime.blobs.writer(self.key)
            self._report = csv_format.FailedRecordReport(self._writer, header)
            self._header = header
        self._report.write(row)
        self.count += 1

    def add_all(self, rows: Sequence[tuple[csv_format.ImportRow, tuple[str, ...]]]) -> None:
        for row, header in rows:
            self.add(row, header)

    def file_error(self, message: str) -> None:
        """The whole report: one message about the file (nothing was staged, so nothing follows)."""
        self._writer = self.runtime.blobs.writer(self.key)
        text = io.StringIO()
        csv.writer(text).writerows(
            [[csv_format.REPORT_LINE_COLUMN, csv_format.REPORT_ERRORS_COLUMN], [1, message]]
        )
        self._writer.write(text.getvalue().encode())
        self.count += 1

    def _reopen(self) -> None:
        assert self._report is not None, "only a report of rows gets rows after its commit"
        writer = self.runtime.blobs.writer(self.key)
        try:
            for chunk in self.runtime.blobs.chunks(self.key):
                writer.write(chunk)
        except BaseException:
            writer.abort()
            raise
        self._writer = writer
        self._report = csv_format.FailedRecordReport(writer, self._header, continued=True)
        self._committed = False

    def commit(self) -> str | None:
        """Make the report durable under its key (once; again after more rows); its key, if any."""
        if self._writer is None:
            return None
        if not self._committed:
            self._writer.commit()
            self._committed = True
        return self.key

    def abort(self) -> None:
        if self._writer is not None and not self._committed:
            self._writer.abort()


def _name_taken(name: str) -> str:
    return f"A quick response named {name!r} already exists in this knowledge base"


def _shortcut_taken(shortcut: str | None) -> str:
    return f"The shortcut key {shortcut!r} is already used in this knowledge base"


def _quota_reached(quota: int) -> str:
    return f"The knowledge base has reached its quota of {quota} quick responses"


# --- the staging area ---------------------------------------------------------------------------


class _Staging:
    """The job's staging area, written in short transactions fenced on the claim.

    Its id is the job's own id: unique, never a knowledge base's, and the same on every run of
    the job, so a run finds what an earlier one left.
    """

    def __init__(self, runtime: Runtime, claim: Claim) -> None:
        self.runtime = runtime
        self.store = runtime.store
        self.claim = claim
        self.job = claim.job
        self.id: str = claim.job.id
        self.lease = timedelta(seconds=runtime.settings.job_lease_seconds)
        self.now = runtime.clock.now()
        self._renewed = time.monotonic()
        self.batch_size = BATCH

    def hold(self, conn: Connection) -> None:
        """Renew the lease while this claim holds the job, or raise LostClaim. Every transaction
        of the import runs it before its own writes: on PostgreSQL the update also locks the
        job's row until the transaction ends, so no other worker can claim the job meanwhile (the
        claim query skips locked rows) and none can clear the staging area under it."""
        until = self.runtime.clock.now() + self.lease
        if not claims.update_held(conn, self.claim, lease_until=until):
            raise LostClaim(self.job.id)
        self._renewed = time.monotonic()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction of the import: the file unmapped (`unmapped`), the claim held."""
        with self.store.write() as conn, unmapped(conn):
            self.hold(conn)
            yield conn

    def keep_alive(self) -> None:
        """Renew the lease every third of it while the import reads rows it does not store (the
        rows past the quota): SQLite has no heartbeat, and the lease must not run out."""
        if time.monotonic() - self._renewed >= self.lease.total_seconds() / 3:
            with self.transaction():
                pass

    def clear(self) -> None:
        """Throw away what an earlier run of the job staged, a slice per transaction."""
        while True:
            with self.transaction() as conn:
                if not qr_store.discard_some(conn, self.id):
                    return

    def add(self, items: list[dict[str, Any]]) -> None:
        """Stage one batch of rows (CreateQuickResponse members), in a transaction of its own;
        the time it held the lock sets the size of the next batch."""
        with self.store.write() as conn, unmapped(conn):
            started = time.monotonic()
            self.hold(conn)
            quick_responses.insert_many(
                conn,
                account=self.job.account,
                region=self.job.region,
                kb_id=self.id,
                items=items,
                import_job_id=self.job.id,
                now=self.now,
                modified_by=quick_responses.modified_by(self.job.account),
            )
        held = time.monotonic() - started
        if held < BATCH_SECONDS / 2:
            self.batch_size = min(self.batch_size * 2, MAX_BATCH)
        elif held > BATCH_SECONDS * 2:
            self.batch_size = max(self.batch_size // 2, BATCH)


def discard_abandoned(store: Store, staging_id: str) -> bool:
    """Delete a staging area whose job will never publish it: the job is gone or has left
    START_IN_PROGRESS (a status no job returns to). True if it was abandoned.

    A job still START_IN_PROGRESS is left alone: the worker holding it (or the next one to claim
    it, which clears the area first) owns its staging area.
    """
    with store.read() as conn:
        if KNOWLEDGE_BASE.repo.find_any(conn, staging_id) is not None:
            return False
        job = IMPORT_JOB.repo.find_any(conn, staging_id)
    if job is not None and job.status == START_IN_PROGRESS:
        return False
    while True:
        with store.write() as conn:
            if not qr_store.discard_some(conn, staging_id):
                return True


_swept: weakref.WeakKeyDictionary[Store, float] = weakref.WeakKeyDictionary()


def _sweep(store: Store) -> None:
    """Now and then (once per `SWEEP_SECONDS` per store), delete abandoned staging areas.

    The staging areas of a job that ended, or was deleted, while its worker was running are
    deleted by that worker; only a worker that died (a crash, SIGKILL) before its job was failed
    or deleted leaves one behind, invisible and harmless but taking room.
    """
    last = _swept.get(store)
    if last is not None and time.monotonic() - last < SWEEP_SECONDS:
        return
    _swept[store] = time.monotonic()
    try:
        with store.read() as conn:
            parents = qr_store.parent_ids(conn)
        for parent in parents:
            if discard_abandoned(store, parent):
                log.info("deleted the staged rows of abandoned import job %s", parent)
    except Exception:
        log.exception("sweeping abandoned staging areas failed; trying again later")
        _swept.pop(store, None)


# --- import -------------------------------------------------------------------------------------


def run_import(runtime: Runtime, claim: Claim) -> None:
    job = claim.job
    report = _Report(runtime, job.id)
    staging = _Staging(runtime, claim)
    try:
        if job.force_failure:
            staging.clear()
            report.file_error(FORCED_FAILURE)
            header: tuple[str, ...] = ()
        else:
            _sweep(runtime.store)
            header = _stage(runtime, staging, report)
        _publish(runtime, staging, report, header)
    except LostClaim:
        report.abort()
        # Deleted (its knowledge base with it), or another worker has it: that one clears the
        # staging area when it starts; a job that is gone leaves nobody to, so it is done here.
        try:
            discard_abandoned(runtime.store, staging.id)
        except Exception:
            log.exception("job %s: deleting its staged rows failed; the next sweep will", job.id)
        raise
    except Exception as error:
        report.abort()
        if isinstance(error, _UploadGone):
            raise
        if not connection_lost(error):
            raise
        _retrying(runtime, claim, error)
    except BaseException:
        report.abort()
        raise


def _stage(runtime: Runtime, staging: _Staging, report: _Report) -> tuple[str, ...]:
    """Read the file, report its bad rows, stage the good ones; the file's header row.

    What the knowledge base holds is read once, at the start: rows whose name or shortcut key it
    has, or that exceed its room, are reported now; what other writes change meanwhile is the
    publish's to check.
    """
    job = staging.job
    staging.clear()
    with runtime.store.read() as conn:
        names, shortcuts = quick_responses.existing_names_and_shortcuts(conn, job.knowledge_base_id)
        held = quick_responses.count(conn, job.account, job.region, job.knowledge_base_id)
    quota = runtime.settings.quick_response_quota
    room = quota - held
    staged = 0
    batch: list[dict[str, Any]] = []
    try:
        with (
            _open_upload(runtime, job.upload_blob_key) as stream,
            csv_format.read_quick_response_rows(
                _Upload(stream),
                region=job.region,
                account=job.account,
                instance_id=instance_id_of(job.external_source),
            ) as rows,
        ):
            for read, row in enumerate(rows, start=1):
                if read % YIELD_ROWS == 0:
                    time.sleep(0)
                    if read % BATCH == 0:
                        staging.keep_alive()
                if names or shortcuts or staged >= room or not row.ok:
                    problems = _knowledge_base_problems(row, names, shortcuts, room - staged, quota)
                    if problems:
                        row = row.with_errors(*problems)
                    if not row.ok:
                        report.add(row, rows.header)
                        continue
                # Within the file the reader already refuses repeats: `names`/`shortcuts` only
                # need what the knowledge base held before, so they stay small.
                batch.append(row.params)
                staged += 1
                if len(batch) >= staging.batch_size:
                    staging.add(batch)
                    batch.clear()
            if batch:
                staging.add(batch)
            return rows.header
    except csv_format.ImportFileError as error:
        report.file_error(str(error))
        return ()


class _Changed(Exception):
    """Other writes changed the knowledge base during the import: rows to turn down first."""

    def __init__(self, turned_down: dict[str, list[str]]) -> None:
        super().__init__(f"{len(turned_down)} staged rows to turn down")
        self.turned_down = turned_down


def _publish(runtime: Runtime, staging: _Staging, report: _Report, header: tuple[str, ...]) -> None:
    """Move the staged rows into the knowledge base and end the job, in one short transaction.

    What other writes changed since the rows were staged is settled first, without the lock, and
    the report is made durable; the transaction checks again (a write may have come in between:
    then it is settled and the publish tried again) and only moves rows and the job's status.
    """
    job = staging.job
    for attempt in range(1, PUBLISH_ATTEMPTS + 1):
        settle_here = attempt == PUBLISH_ATTEMPTS
        with runtime.store.read() as conn, unmapped(conn, reading=True):
            turned_down = _turned_down(runtime, conn, staging)
            staged = qr_store.staged_count(conn, staging.id)
        if turned_down and not settle_here:
            _settle(runtime, staging, report, header, turned_down)
            continue
        if not staged and not report.count:
            report.file_error(NO_ROWS)
        report_blob_key = report.commit()
        try:
            with runtime.store.write() as conn, unmapped(conn):
                # The knowledge base first, then the job: the order every writer takes them in.
                quick_responses.lock_for_writes(conn, job.knowledge_base_id)
                staging.hold(conn)
                turned_down = _turned_down(runtime, conn, staging)
                if turned_down:
                    if not settle_here:
                        raise _Changed(turned_down)
                    rows = _look_up(runtime, staging, turned_down, header)
                    qr_store.discard_names(conn, staging.id, turned_down)
                    report.add_all(rows)
                    report_blob_key = report.commit()
                imported = qr_store.publish(conn, staging.id, job.knowledge_base_id)
                finish(
                    conn,
                    staging.claim,
                    modified_at=runtime.clock.now(),
                    status=COMPLETE if imported else FAILED,
                    report_blob_key=report_blob_key,
                    imported_count=imported,
                    failed_count=report.count,
                    force_failure=0,
                )
            return
        except _Changed as changed:
            _settle(runtime, staging, report, header, changed.turned_down)
        except StoreBusy:
            raise
        except StoreConflict:
            # PostgreSQL: another write took a name between the check and the move (an update,
            # which does not lock the knowledge base). The next attempt sees it and turns it down.
            if settle_here:
                raise
    raise AssertionError("unreachable: the last attempt settles or raises")


def _settle(
    runtime: Runtime,
    staging: _Staging,
    report: _Report,
    header: tuple[str, ...],
    turned_down: Mapping[str, Sequence[str]],
) -> None:
    """Turn down staged rows: looked up in the file without the lock, dropped from the staging
    area in a short transaction fenced on the claim, then reported."""
    rows = _look_up(runtime, staging, turned_down, header)
    with staging.transaction() as conn:
        qr_store.discard_names(conn, staging.id, turned_down)
    report.add_all(rows)


def _turned_down(runtime: Runtime, conn: Connection, staging: _Staging) -> dict[str, list[str]]:
    """Staged rows that can no longer be published, by name, with why: a name or shortcut key a
    quick response of the knowledge base now has, or no room left under the quota for them."""
    job = staging.job
    quota = runtime.settings.quick_response_quota
    turned_down: dict[str, list[str]] = {}
    taken = qr_store.staged_taken(conn, staging.id, job.knowledge_base_id)
    for _seq, name, shortcut, name_taken, shortcut_taken in taken:
        reasons = turned_down.setdefault(name, [])
        if name_taken:
            reasons.append(_name_taken(name))
        if shortcut_taken:
            reasons.append(_shortcut_taken(shortcut))
    held = quick_responses.count(conn, job.account, job.region, job.knowledge_base_id)
    staged = qr_store.staged_count(conn, staging.id)
    over = staged - len(taken) - (quota - held)
    for name in qr_store.staged_last(conn, staging.id, over, skip=[t[0] for t in taken]):
        turned_down[name] = [_quota_reached(quota)]
    return turned_down


def _look_up(
    runtime: Runtime, staging: _Staging, turned_down: Mapping[str, Sequence[str]], header: tuple[str, ...]
) -> list[tuple[csv_format.ImportRow, tuple[str, ...]]]:
    """The turned-down rows as the report lists them: their lines and cells as in the file (read
    again for them), their reasons; in the order of the file."""
    with _open_upload(runtime, staging.job.upload_blob_key) as stream:
        file_header, found = csv_format.find_rows_by_name(_Upload(stream), turned_down)
    missing = csv_format.ImportRow(0, (), {}, ())  # not in the file any more: cannot happen
    rows = [found.get(name, missing).with_errors(*reasons) for name, reasons in turned_down.items()]
    return [(row, header or file_header) for row in sorted(rows, key=lambda row: row.line)]


def _knowledge_base_problems(
    row: csv_format.ImportRow, names: set[str], shortcuts: set[str], room: int, quota: int
) -> list[str]:
    """What only the knowledge base can tell: names/shortcut keys taken, and the quota."""
    if not row.ok:
        return []
    problems = []
    if row.params["name"] in names:
        problems.append(_name_taken(row.params["name"]))
    shortcut = row.params.get("shortcutKey")
    if shortcut and shortcut in shortcuts:
        problems.append(_shortcut_taken(shortcut))
    if not problems and room <= 0:
        problems.append(_quota_reached(quota))
    return problems
