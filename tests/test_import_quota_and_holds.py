"""The quick-response quota during imports, and timed holds of the control plane."""

from __future__ import annotations

import csv
import io
from typing import Any

import boto3
import pytest

from conftest import Target
from importing import all_quick_responses, import_csv, quick_response_kb, start_import, upload, wait_for_job
from qconnect_local.config import Settings
from qconnect_local.testing.mock import mock_qconnect


def rows(names: range, prefix: str = "qr") -> str:
    return "Name,Content\n" + "".join(f"{prefix}{i},text {i}\n" for i in names)


def report_reasons(target: Target, job: dict[str, Any]) -> list[str]:
    status, _headers, body = target.http("GET", job["failedRecordReport"])
    assert status == 200
    return [row[-1] for row in list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[1:]]


@pytest.mark.parametrize(("count", "imported"), [(999, 999), (1000, 1000), (1001, 1000)])
def test_the_default_quota_of_1000_per_knowledge_base_at_the_boundary(count: int, imported: int) -> None:
    with mock_qconnect() as mock:
        target = Target("in-process", None, mock)
        qc = target.client()
        kb = quick_response_kb(qc)["knowledgeBaseId"]
        job = import_csv(target, qc, kb, rows(range(count)))

        assert job["status"] == "COMPLETE"
        assert len(all_quick_responses(qc, kb)) == imported
        if count > imported:
            quota_message = "The knowledge base has reached its quota of 1000 quick responses"
            assert report_reasons(target, job) == [quota_message]
        else:
            assert "failedRecordReport" not in job


def test_two_imports_together_never_exceed_the_quota() -> None:
    with mock_qconnect(Settings(quick_response_quota=5)) as mock:
        target = Target("in-process", None, mock)
        qc = target.client()
        kb = quick_response_kb(qc)["knowledgeBaseId"]
        target.control("transitions", {"hold": {"status": "START_IN_PROGRESS"}})
        first = start_import(qc, kb, upload(target, qc, kb, rows(range(4), "a").encode())["uploadId"])
        second = start_import(qc, kb, upload(target, qc, kb, rows(range(4), "b").encode())["uploadId"])
        target.control("transitions", {"release": True})
        jobs = [wait_for_job(qc, kb, job["importJobId"]) for job in (first, second)]

        assert len(all_quick_responses(qc, kb)) == 5
        assert sum(len(report_reasons(target, job)) for job in jobs if "failedRecordReport" in job) == 3


def test_a_knowledge_base_at_its_quota_fails_the_next_import_entirely() -> None:
    with mock_qconnect(Settings(quick_response_quota=2)) as mock:
        target = Target("in-process", None, mock)
        qc = target.client()
        kb = quick_response_kb(qc)["knowledgeBaseId"]
        assert import_csv(target, qc, kb, rows(range(2)))["status"] == "COMPLETE"
        job = import_csv(target, qc, kb, rows(range(2, 4)))
        assert job["status"] == "FAILED"
        assert len(report_reasons(target, job)) == 2


def test_a_timed_hold_ends_when_service_time_passes(target: Target, qc: Any) -> None:
    kb = quick_response_kb(qc)["knowledgeBaseId"]
    target.control("transitions", {"hold": {"status": "START_IN_PROGRESS", "seconds": 3600}})
    job = start_import(qc, kb, upload(target, qc, kb, rows(range(2)).encode())["uploadId"])
    assert qc.get_import_job(knowledgeBaseId=kb, importJobId=job["importJobId"])["importJob"]["status"] == (
        "START_IN_PROGRESS"
    )

    target.control("clock", {"advanceSeconds": 3601})

    assert wait_for_job(qc, kb, job["importJobId"])["status"] == "COMPLETE"


def test_the_control_plane_refuses_malformed_transitions(target: Target) -> None:
    url = f"{target.endpoint_url or 'http://local'}/_qconnect/transitions"
    status, _headers, body = target.http("POST", url, data=b'{"hold": {"status": "COMPLETE"}}')
    assert status == 400 and b"status must be one of" in body


def test_the_mock_follows_links_of_any_client_endpoint() -> None:
    with mock_qconnect() as mock:
        qc = boto3.client("qconnect", region_name="eu-west-1", endpoint_url="https://example.invalid")
        kb = quick_response_kb(qc)["knowledgeBaseId"]
        up = qc.start_content_upload(knowledgeBaseId=kb, contentType="text/csv")
        assert up["url"].startswith("https://example.invalid/_qconnect/blobs/uploads/")
        reply = mock.request("PUT", up["url"], headers=up["headersToInclude"], data=rows(range(1)).encode())
        assert reply.status == 200
