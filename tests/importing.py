"""Helpers for import-pipeline tests: upload a CSV through the signed link, wait for the job."""

from __future__ import annotations

from typing import Any

from polling import poll

FINAL = {"COMPLETE", "FAILED", "DELETED", "DELETE_FAILED"}


def quick_response_kb(qc: Any, name: str = "support") -> dict[str, Any]:
    kb: dict[str, Any] = qc.create_knowledge_base(name=name, knowledgeBaseType="QUICK_RESPONSES")[
        "knowledgeBase"
    ]
    return kb


def upload(target: Any, qc: Any, kb_id: str, body: bytes, **extra: Any) -> dict[str, Any]:
    """StartContentUpload, then PUT `body` with every header the service asked for."""
    up: dict[str, Any] = qc.start_content_upload(knowledgeBaseId=kb_id, contentType="text/csv", **extra)
    status, _headers, payload = target.http("PUT", up["url"], headers=up["headersToInclude"], data=body)
    assert status == 200, payload
    return up


def start_import(qc: Any, kb_id: str, upload_id: str, **extra: Any) -> dict[str, Any]:
    job: dict[str, Any] = qc.start_import_job(
        knowledgeBaseId=kb_id, importJobType="QUICK_RESPONSES", uploadId=upload_id, **extra
    )["importJob"]
    return job


def wait_for_job(qc: Any, kb_id: str, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll GetImportJob like a client does until the job reaches a final status."""
    job: dict[str, Any] = poll(
        lambda: qc.get_import_job(knowledgeBaseId=kb_id, importJobId=job_id)["importJob"],
        lambda job: job["status"] in FINAL,
        timeout=timeout,
        what=f"import job {job_id}",
    )
    return job


def import_csv(target: Any, qc: Any, kb_id: str, text: str | bytes, **extra: Any) -> dict[str, Any]:
    body = text.encode() if isinstance(text, str) else text
    up = upload(target, qc, kb_id, body)
    job = start_import(qc, kb_id, up["uploadId"], **extra)
    return wait_for_job(qc, kb_id, job["importJobId"])


def all_quick_responses(qc: Any, kb_id: str) -> list[dict[str, Any]]:
    paginator = qc.get_paginator("list_quick_responses")
    return [
        item for page in paginator.paginate(knowledgeBaseId=kb_id) for item in page["quickResponseSummaries"]
    ]
