"""Running one claimed import job to its end: an import (CSV -> quick responses) or a delete.

An import happens in ONE transaction: every good row is inserted and the job moves to its final
status together, so a job is never seen half-imported; a crash rolls the whole thing back and
the job is claimed again. Rows are streamed from the blob and inserted in batches; the
failed-record report is streamed to its blob as rows fail.
"""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

from qconnect_local.runtime import Runtime
from qconnect_local.service import quick_responses
from qconnect_local.service.families import REPORT_BLOBS
from qconnect_local.service.import_jobs import (
    COMPLETE,
    DELETE_FAILED,
    DELETED,
    FAILED,
    START_IN_PROGRESS,
)
from qconnect_local.worker import csv_format
from qconnect_local.worker.claims import Claim, finish

log = logging.getLogger("qconnect_local.worker")

BATCH = 1000
NO_ROWS = "The file holds no data rows: nothing was imported"
FORCED_FAILURE = "Failed on request of the control plane (/_qconnect/transitions failNext)"


def report_key(job_id: str) -> str:
    return f"{REPORT_BLOBS}{job_id}/failed-records.csv"


def instance_id_of(external_source: dict[str, Any] | None) -> str | None:
    if not external_source:
        return None
    connect = (external_source.get("configuration") or {}).get("connectConfiguration") or {}
    instance: str | None = connect.get("instanceId")
    return instance


def run_delete(runtime: Runtime, claim: Claim) -> None:
    job = claim.job
    now = runtime.clock.now()
    with runtime.store.write() as conn:
        if job.force_failure:
            finish(conn, claim, status=DELETE_FAILED, force_failure=0, modified_at=now)
            return
        finish(conn, claim, status=DELETED, modified_at=now)
    runtime.blobs.delete_prefix(REPORT_BLOBS + job.id)


def fail_after_error(runtime: Runtime, claim: Claim, error: BaseException) -> None:
    """A job whose run raised ends FAILED / DELETE_FAILED with a report, instead of retrying forever."""
    report = _Report(runtime, claim.job.id)
    try:
        with runtime.store.write() as conn:
            if claim.job.status == START_IN_PROGRESS:
                report.file_error(
                    f"The import stopped on an internal error ({type(error).__name__}): {error}"
                )
                finish(
                    conn,
                    claim,
                    status=FAILED,
                    report_blob_key=report.commit(),
                    modified_at=runtime.clock.now(),
                )
            else:
                finish(conn, claim, status=DELETE_FAILED, modified_at=runtime.clock.now())
    except BaseException:
        report.abort()
        raise


class _Report:
    """The failed-record report, opened on the first failure only."""

    def __init__(self, runtime: Runtime, job_id: str) -> None:
        self.runtime = runtime
        self.key = report_key(job_id)
        self._writer: Any = None
        self._report: csv_format.FailedRecordReport | None = None
        self.count = 0

    def add(self, row: csv_format.ImportRow, header: tuple[str, ...]) -> None:
        if self._report is None:
            self._writer = self.runtime.blobs.writer(self.key)
            self._report = csv_format.FailedRecordReport(self._writer, header)
        self._report.write(row)
        self.count += 1

    def file_error(self, message: str) -> None:
        self._writer = self.runtime.blobs.writer(self.key)
        text = io.StringIO()
        csv.writer(text).writerows(
            [[csv_format.REPORT_LINE_COLUMN, csv_format.REPORT_ERRORS_COLUMN], [1, message]]
        )
        self._writer.write(text.getvalue().encode())
        self.count += 1

    def commit(self) -> str | None:
        if self._report is not None:
            self._report.close()
        if self._writer is None:
            return None
        self._writer.commit()
        return self.key

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()


def run_import(runtime: Runtime, claim: Claim) -> None:
    job = claim.job
    report = _Report(runtime, job.id)
    try:
        with runtime.store.write() as conn:
            imported = 0
            if job.force_failure:
                report.file_error(FORCED_FAILURE)
            else:
                imported = _import_rows(runtime, conn, job, report)
                if not imported and not report.count:
                    report.file_error(NO_ROWS)
            status = COMPLETE if imported else FAILED
            finish(
                conn,
                claim,
                modified_at=runtime.clock.now(),
                status=status,
                report_blob_key=report.commit(),
                imported_count=imported,
                failed_count=report.count,
                force_failure=0,
            )
    except BaseException:
        report.abort()
        raise


def _import_rows(runtime: Runtime, conn: Any, job: Any, report: _Report) -> int:
    quick_responses.lock_for_writes(conn, job.knowledge_base_id)
    quota = runtime.settings.quick_response_quota
    names, shortcuts = quick_responses.existing_names_and_shortcuts(conn, job.knowledge_base_id)
    room = quota - quick_responses.count(conn, job.account, job.region, job.knowledge_base_id)
    imported = 0
    batch: list[dict[str, Any]] = []
    now = runtime.clock.now()

    def flush() -> None:
        if batch:
            quick_responses.insert_many(
                conn,
                account=job.account,
                region=job.region,
                kb_id=job.knowledge_base_id,
                items=batch,
                import_job_id=job.id,
                now=now,
                modified_by=quick_responses.modified_by(job.account),
            )
            batch.clear()

    try:
        with (
            runtime.blobs.open(job.upload_blob_key) as stream,
            csv_format.read_quick_response_rows(
                stream,
                region=job.region,
                account=job.account,
                instance_id=instance_id_of(job.external_source),
            ) as rows,
        ):
            for row in rows:
                problems = _knowledge_base_problems(row, names, shortcuts, room - imported, quota)
                if problems:
                    row = row.with_errors(*problems)
                if not row.ok:
                    report.add(row, rows.header)
                    continue
                # Within the file the reader already refuses repeats: `names`/`shortcuts` only
                # need what the knowledge base held before, so they stay small.
                batch.append(row.params)
                imported += 1
                if len(batch) >= BATCH:
                    flush()
            flush()
    except csv_format.ImportFileError as error:
        report.file_error(str(error))
        return 0
    return imported


def _knowledge_base_problems(
    row: csv_format.ImportRow, names: set[str], shortcuts: set[str], room: int, quota: int
) -> list[str]:
    """What only the knowledge base can tell: names/shortcut keys taken, and the quota."""
    if not row.ok:
        return []
    problems = []
    if row.params["name"] in names:
        problems.append(
            f"A quick response named {row.params['name']!r} already exists in this knowledge base"
        )
    shortcut = row.params.get("shortcutKey")
    if shortcut and shortcut in shortcuts:
        problems.append(f"The shortcut key {shortcut!r} is already used in this knowledge base")
    if not problems and room <= 0:
        problems.append(f"The knowledge base has reached its quota of {quota} quick responses")
    return problems
