"""Content jobs: ingest a file (extract its text, cut it into passages, index them) or delete content.

The file is read, extracted and chunked outside any transaction (it can take a while, and an
embedded store has one writer); the outcome is then committed in one short transaction with
the fenced completion, so content is never seen half-indexed, and a job that lost its claim
(the content was updated or deleted meanwhile) commits nothing and is run again if still due.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qconnect_local.engine.extract import Extracted, ExtractionError
from qconnect_local.engine.sandbox import sandbox
from qconnect_local.runtime import Runtime
from qconnect_local.service import knowledge_bases, resources
from qconnect_local.service.contents import (
    ACTIVE,
    CREATE_FAILED,
    DELETE_FAILED,
    UPDATE_FAILED,
    UPDATE_IN_PROGRESS,
)
from qconnect_local.service.context import Call
from qconnect_local.service.families import CONTENT, KNOWLEDGE_BASE
from qconnect_local.store import passages
from qconnect_local.worker.claims import Claim, finish

FORCED_FAILURE = "Failed on request of the control plane (/_qconnect/transitions failNext)"
MISSING_FILE = "The file to ingest no longer exists"


def worker_call(runtime: Runtime, row: Any, operation: str) -> Call:
    """The caller a job acts as: the account and region of the row it works on."""
    return Call(runtime, row.account, row.region, operation, "worker", "")


@dataclass(frozen=True, slots=True)
class _Outcome:
    extracted: Extracted | None = None
    cuts: list[passages.PassageRow] | None = None
    failure: str | None = None


def _ingest_file(runtime: Runtime, kb: Any, content_type: str, blob_key: str | None) -> _Outcome:
    if not blob_key or not runtime.blobs.exists(blob_key):
        return _Outcome(failure=MISSING_FILE)
    settings = runtime.settings
    with runtime.blobs.open(blob_key) as stream:
        data = stream.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        return _Outcome(failure=f"The file is larger than {settings.max_upload_bytes} bytes")
    chunking = knowledge_bases.chunking_configuration(kb.config)
    reader = sandbox(settings.read_timeout_seconds, settings.read_memory_mb * 2**20)
    try:
        extracted, pieces = reader.read(content_type, data, chunking)
    except ExtractionError as error:
        return _Outcome(failure=str(error))
    cuts = [
        passages.PassageRow(
            position=position,
            start=cut.start,
            end=cut.end,
            text=extracted.text[cut.start : cut.end],
            parent_start=cut.parent_start,
            parent_end=cut.parent_end,
        )
        for position, cut in enumerate(pieces)
    ]
    return _Outcome(extracted, cuts)


def run_ingest(runtime: Runtime, claim: Claim) -> None:
    """CREATE_IN_PROGRESS (the first file) or UPDATE_IN_PROGRESS (a new file over indexed text)."""
    row = claim.job
    updating = claim.status == UPDATE_IN_PROGRESS
    key = row.pending_blob_key if updating else row.blob_key
    content_type = row.pending_content_type if updating else row.content_type
    with runtime.store.read() as conn:
        kb = KNOWLEDGE_BASE.repo.find_any(conn, row.knowledge_base_id)
    if kb is None:  # deleted meanwhile: its cascade removed this content too
        return
    outcome = (
        _Outcome(failure=FORCED_FAILURE)
        if row.force_failure
        else _ingest_file(runtime, kb, content_type, key)
    )
    now = runtime.clock.now()
    with runtime.store.write() as conn:
        if outcome.failure is not None:
            finish(
                conn,
                claim,
                status=UPDATE_FAILED if updating else CREATE_FAILED,
                failure_reason=outcome.failure,
                force_failure=0,
                pending_blob_key=None,
                pending_content_type=None,
                modified_at=now,
            )
            if updating and key:  # the new file was not taken: the previous one stays
                resources.delete_blobs_after_commit(conn, runtime.blobs, [key])
            return
        assert outcome.extracted is not None and outcome.cuts is not None
        values: dict[str, Any] = {
            "status": ACTIVE,
            "failure_reason": None,
            "extracted_text": outcome.extracted.text,
            "blob_key": key,
            "content_type": content_type,
            "pending_blob_key": None,
            "pending_content_type": None,
            "modified_at": now,
        }
        if outcome.extracted.fields:
            values["source_fields"] = {"Id": row.id, **outcome.extracted.fields}
        if kb.type != "CUSTOM" and outcome.extracted.title:  # a source's document titles itself
            values["title"] = outcome.extracted.title[:255]
        finish(conn, claim, **values)
        passages.replace_passages(
            conn,
            account=row.account,
            region=row.region,
            knowledge_base_id=row.knowledge_base_id,
            content_id=row.id,
            passages=outcome.cuts,
        )
        knowledge_bases.touch_content(conn, kb, now)
        if updating and row.blob_key and row.blob_key != key:
            resources.delete_blobs_after_commit(conn, runtime.blobs, [row.blob_key])


def run_delete(runtime: Runtime, claim: Claim) -> None:
    """DELETE_IN_PROGRESS: the content, its association, passages, tags and files go."""
    row = claim.job
    now = runtime.clock.now()
    with runtime.store.write() as conn:
        if row.force_failure:
            finish(conn, claim, status=DELETE_FAILED, force_failure=0, modified_at=now)
            return
        finish(conn, claim, modified_at=now)
        resources.delete(conn, worker_call(runtime, row, "DeleteContent"), CONTENT, row)
        kb = KNOWLEDGE_BASE.repo.find_any(conn, row.knowledge_base_id)
        if kb is not None:
            knowledge_bases.touch_content(conn, kb, now)


def _failure_reason(claim: Claim, error: BaseException) -> str:
    """Why, in the user's terms: the error itself is in the server log only (it may name SQL,
    paths or a driver)."""
    from qconnect_local.worker import kinds  # kinds names this module's runners

    if isinstance(error, kinds.GaveUp):
        return f"Ingestion {error}"
    return f"Ingestion stopped on an internal error; the server log has the details (content {claim.job.id})"


def fail_after_error(runtime: Runtime, claim: Claim, error: BaseException) -> None:
    """A content job whose run raised ends *_FAILED with a reason in the user's terms."""
    failed = {"DELETE_IN_PROGRESS": DELETE_FAILED, UPDATE_IN_PROGRESS: UPDATE_FAILED}.get(
        claim.status, CREATE_FAILED
    )
    with runtime.store.write() as conn:
        finish(
            conn,
            claim,
            status=failed,
            failure_reason=_failure_reason(claim, error),
            pending_blob_key=None,
            pending_content_type=None,
            modified_at=runtime.clock.now(),
        )
