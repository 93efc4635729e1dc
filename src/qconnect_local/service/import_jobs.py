"""StartImportJob, GetImportJob, ListImportJobs, DeleteImportJob, and the job's download links.

The API side only records intent: StartImportJob inserts a START_IN_PROGRESS job and wakes the
worker; DeleteImportJob moves a finished job to DELETE_IN_PROGRESS. The worker
(`qconnect_local.worker`) does the work and the final transitions. Links in GetImportJob are
signed afresh on every call and expire at `urlExpiry`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from qconnect_local.protocol.errors import conflict, not_found, validation_error
from qconnect_local.runtime import Runtime
from qconnect_local.service import idempotency, knowledge_bases, links, uploads
from qconnect_local.service.context import Call
from qconnect_local.service.pagination import fetch_page
from qconnect_local.service.registry import operation
from qconnect_local.store.prepared import Prepared
from qconnect_local.store.schema import import_jobs as job_table

START_IN_PROGRESS = "START_IN_PROGRESS"
COMPLETE = "COMPLETE"
FAILED = "FAILED"
DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
DELETE_FAILED = "DELETE_FAILED"
DELETED = "DELETED"

LINK_TTL = timedelta(minutes=15)
REPORT_PATH = "reports/"

_BY_ID = Prepared(
    select(job_table).where(
        job_table.c.id == bindparam("id"), job_table.c.knowledge_base_id == bindparam("kb_id")
    )
)


def _load(conn: Connection, call: Call, kb_id: str, job_id: str) -> Any:
    row = _BY_ID.first(conn, id=job_id, kb_id=kb_id)
    if row is None:
        raise not_found(f"Import job not found: {job_id}", job_id)
    return row


def _link_paths(job_id: str) -> tuple[str, str]:
    return f"jobs/{job_id}/upload", f"jobs/{job_id}/failed-records"


def _summary(call: Call, row: Any) -> dict[str, Any]:
    return {
        "importJobId": row.id,
        "knowledgeBaseId": row.knowledge_base_id,
        "uploadId": row.upload_id,
        "knowledgeBaseArn": knowledge_bases.kb_arn(call, row.knowledge_base_id),
        "importJobType": row.job_type,
        "status": row.status,
        "createdTime": row.created_at,
        "lastModifiedTime": row.modified_at,
        "metadata": row.metadata,
        "externalSourceConfiguration": row.external_source,
    }


def _describe(call: Call, row: Any) -> dict[str, Any]:
    expiry = links.link_expiry(call.now() + LINK_TTL)
    upload_path, report_path = _link_paths(row.id)
    secret = call.runtime.store.secret
    data = _summary(call, row)
    data["url"] = links.sign(secret, call.base_url, "GET", upload_path, expiry)
    data["urlExpiry"] = expiry
    if row.report_blob_key:
        data["failedRecordReport"] = links.sign(secret, call.base_url, "GET", report_path, expiry)
    return data


@operation("StartImportJob")
def start_import_job(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        kb = knowledge_bases.load(conn, call, params["knowledgeBaseId"])
        replayed = idempotency.replayed_resource(conn, call, params)
        if replayed is not None:
            return {"importJob": _describe(call, _load(conn, call, kb.id, replayed))}
        if kb.type != "QUICK_RESPONSES":
            raise validation_error(
                f"Import jobs of type {params['importJobType']} need a QUICK_RESPONSES knowledge base; "
                f"{kb.id} is {kb.type}"
            )
        upload = uploads.find(conn, params["uploadId"])
        if upload is None or (upload.account, upload.region) != (call.account, call.region):
            raise validation_error(f"Upload {params['uploadId']} does not exist")
        if upload.knowledge_base_id != kb.id:
            raise validation_error(f"Upload {params['uploadId']} belongs to another knowledge base")
        if upload.blob_key is None:
            raise validation_error(
                f"Upload {params['uploadId']} has no file yet: PUT the file to its url first"
            )
        job_id, now = str(uuid.uuid4()), call.now()
        controls = call.runtime.transitions.for_new_job("import", now)
        conn.execute(
            job_table.insert().values(
                id=job_id,
                account=call.account,
                region=call.region,
                knowledge_base_id=kb.id,
                upload_id=upload.id,
                job_type=params["importJobType"],
                status=START_IN_PROGRESS,
                metadata=params.get("metadata"),
                external_source=params.get("externalSourceConfiguration"),
                upload_blob_key=upload.blob_key,
                created_at=now,
                modified_at=now,
                attempts=0,
                **controls,
            )
        )
        idempotency.remember(conn, call, params, job_id)
        row = _load(conn, call, kb.id, job_id)
    call.runtime.wake_worker()
    return {"importJob": _describe(call, row)}


@operation("GetImportJob")
def get_import_job(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        kb = knowledge_bases.load(conn, call, params["knowledgeBaseId"])
        return {"importJob": _describe(call, _load(conn, call, kb.id, params["importJobId"]))}


@operation("ListImportJobs")
def list_import_jobs(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        kb = knowledge_bases.load(conn, call, params["knowledgeBaseId"])
        query = select(job_table).where(job_table.c.knowledge_base_id == kb.id)
        rows, next_token = fetch_page(
            call, conn, query, job_table.c.seq, params, parent=kb.id, descending=True
        )
    return {"importJobSummaries": [_summary(call, row) for row in rows], "nextToken": next_token}


@operation("DeleteImportJob")
def delete_import_job(call: Call, params: dict[str, Any]) -> None:
    with call.runtime.store.write() as conn:
        kb = knowledge_bases.load(conn, call, params["knowledgeBaseId"])
        row = _load(conn, call, kb.id, params["importJobId"])
        if row.status == START_IN_PROGRESS:
            raise conflict(
                f"Import job {row.id} is still {START_IN_PROGRESS}; delete it once it has finished"
            )
        if row.status in (DELETE_IN_PROGRESS, DELETED):
            raise not_found(f"Import job not found: {row.id} (already {row.status})", row.id)
        now = call.now()
        conn.execute(
            update(job_table)
            .where(job_table.c.seq == row.seq)
            .values(
                status=DELETE_IN_PROGRESS,
                modified_at=now,
                claimed_by=None,
                lease_until=None,
                **call.runtime.transitions.for_new_job("delete", now),
            )
        )
    call.runtime.wake_worker()


def release_held_jobs(runtime: Runtime, kinds: list[str]) -> int:
    """Let held jobs of the given kinds ("import", "delete") proceed now."""
    statuses = [START_IN_PROGRESS if kind == "import" else DELETE_IN_PROGRESS for kind in kinds]
    with runtime.store.write() as conn:
        released: int = conn.execute(
            update(job_table)
            .where(job_table.c.status.in_(statuses), job_table.c.hold_until.is_not(None))
            .values(hold_until=None)
        ).rowcount
    return released


def download(runtime: Runtime, job_id: str, which: str, full_path: str, query: str) -> str:
    """The blob key a signed GET link names, after checking the link (LinkError otherwise)."""
    links.verify(runtime.store.secret, "GET", full_path, query, {}, {}, runtime.clock.now())
    with runtime.store.read() as conn:
        row = conn.execute(select(job_table).where(job_table.c.id == job_id)).first()
    key = None
    if row is not None and row.status not in (DELETE_IN_PROGRESS, DELETED):
        key = row.upload_blob_key if which == "upload" else row.report_blob_key
    if key is None or not runtime.blobs.exists(key):
        raise links.LinkError(404, "NoSuchKey", "The specified key does not exist.")
    return str(key)


def _delete_for_knowledge_base(conn: Connection, call: Call, kb_id: str) -> None:
    ids = conn.execute(select(job_table.c.id).where(job_table.c.knowledge_base_id == kb_id)).scalars().all()
    conn.execute(delete(job_table).where(job_table.c.knowledge_base_id == kb_id))
    for job_id in ids:
        call.runtime.blobs.delete_prefix(REPORT_PATH + job_id)


knowledge_bases.ON_DELETE.append(_delete_for_knowledge_base)
