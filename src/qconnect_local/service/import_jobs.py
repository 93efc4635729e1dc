"""StartImportJob, GetImportJob, ListImportJobs, DeleteImportJob, and the job's download links.

The API side only records intent: StartImportJob inserts a START_IN_PROGRESS job and wakes the
worker; DeleteImportJob moves a finished job to DELETE_IN_PROGRESS. The worker
(`qconnect_local.worker`) does the work and the final transitions. Links in GetImportJob are
signed afresh on every call and expire at `urlExpiry`.
"""

from __future__ import annotations

import uuid
from typing import Any

from qconnect_local.protocol.errors import conflict, not_found, validation_error
from qconnect_local.runtime import Runtime
from qconnect_local.service import knowledge_bases, links, resources, uploads
from qconnect_local.service.context import Call
from qconnect_local.service.families import IMPORT_JOB
from qconnect_local.service.registry import operation
from qconnect_local.store import Connection

START_IN_PROGRESS = "START_IN_PROGRESS"
COMPLETE = "COMPLETE"
FAILED = "FAILED"
DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
DELETE_FAILED = "DELETE_FAILED"
DELETED = "DELETED"


def _load(conn: Connection, call: Call, kb: Any, job_id: str) -> Any:
    row = IMPORT_JOB.repo.find(conn, call.account, call.region, job_id, kb.id)
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
    expiry = links.download_expiry(call.now())
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
        replayed = resources.replayed(conn, call, IMPORT_JOB, params, kb)
        if replayed is not None:
            return {"importJob": _describe(call, replayed)}
        if kb.type != "QUICK_RESPONSES":
            raise validation_error(
                f"Import jobs of type {params['importJobType']} need a QUICK_RESPONSES knowledge base; "
                f"{kb.id} is {kb.type}"
            )
        upload = uploads.uploaded(conn, call, kb, params["uploadId"])
        now = call.now()
        values = {
            "id": str(uuid.uuid4()),
            "knowledge_base_id": kb.id,
            "upload_id": upload.id,
            "job_type": params["importJobType"],
            "metadata": params.get("metadata"),
            "external_source": params.get("externalSourceConfiguration"),
            "upload_blob_key": upload.blob_key,
            "created_at": now,
            "modified_at": now,
            "attempts": 0,
            **resources.enter_job_status(call.runtime, IMPORT_JOB, START_IN_PROGRESS, now),
        }
        row = resources.insert(conn, call, IMPORT_JOB, params, values)
        resources.wake_worker_after_commit(conn, call)
        return {"importJob": _describe(call, row)}


@operation("GetImportJob")
def get_import_job(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        _kb, row, _tags = resources.load_with_parent(
            conn, call, IMPORT_JOB, params["importJobId"], params["knowledgeBaseId"]
        )
        return {"importJob": _describe(call, row)}


@operation("ListImportJobs")
def list_import_jobs(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        kb = knowledge_bases.load(conn, call, params["knowledgeBaseId"])
        rows, next_token = resources.page(conn, call, IMPORT_JOB, params, kb, descending=True)
    return {"importJobSummaries": [_summary(call, row) for row in rows], "nextToken": next_token}


@operation("DeleteImportJob")
def delete_import_job(call: Call, params: dict[str, Any]) -> None:
    with call.runtime.store.write() as conn:
        kb = knowledge_bases.load(conn, call, params["knowledgeBaseId"])
        row = _load(conn, call, kb, params["importJobId"])
        if row.status == START_IN_PROGRESS:
            raise conflict(
                f"Import job {row.id} is still {START_IN_PROGRESS}; delete it once it has finished"
            )
        if row.status in (DELETE_IN_PROGRESS, DELETED):
            raise not_found(f"Import job not found: {row.id} (already {row.status})", row.id)
        now = call.now()
        values = {
            "modified_at": now,
            **resources.enter_job_status(call.runtime, IMPORT_JOB, DELETE_IN_PROGRESS, now),
        }
        IMPORT_JOB.repo.update(conn, row.seq, values)
        resources.wake_worker_after_commit(conn, call)


@links.download_route("jobs")
def download(runtime: Runtime, parts: list[str], full_path: str, query: str) -> links.Download:
    """A job's file or failed-record report, after checking the link (LinkError otherwise)."""
    if len(parts) != 2 or parts[1] not in ("upload", "failed-records"):
        raise links.no_such_key()
    links.verify(runtime.store.secret, "GET", full_path, query, {}, {}, runtime.clock.now())
    job_id, which = parts
    with runtime.store.read() as conn:
        row = IMPORT_JOB.repo.find_any(conn, job_id)
    key = None
    if row is not None and row.status not in (DELETE_IN_PROGRESS, DELETED):
        key = row.upload_blob_key if which == "upload" else row.report_blob_key
    if key is None or not runtime.blobs.exists(key):
        raise links.no_such_key()
    return links.Download(str(key), "text/csv", f"{which}.csv")
