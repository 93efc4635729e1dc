"""The quick-response import pipeline, end to end, as a boto3 user drives it.

StartContentUpload -> signed PUT -> StartImportJob -> GetImportJob (poll) -> links -> quick responses.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from importing import all_quick_responses, import_csv, quick_response_kb, start_import, upload, wait_for_job

GOOD = "Name,Content,Shortcut key,Channels\nhello,Hello there,hi,Chat\nbye,Goodbye,bye,Chat;Email\n"
MIXED = "Name,Content,Language\nhello,Hello there,en_US\nbad language,Text,xx_XX\n,no name,\n"
HOPELESS = "Name,Content\n<*Required field>,<*Required field>\n,\u00a0\n"


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def report_rows(target: Any, job: dict[str, Any]) -> list[list[str]]:
    status, _headers, body = target.http("GET", job["failedRecordReport"])
    assert status == 200
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_a_good_file_completes_and_creates_every_quick_response(target: Any, qc: Any) -> None:
    kb = quick_response_kb(qc)
    job = import_csv(target, qc, kb["knowledgeBaseId"], GOOD)

    assert job["status"] == "COMPLETE"
    assert "failedRecordReport" not in job
    names = sorted(qr["name"] for qr in all_quick_responses(qc, kb["knowledgeBaseId"]))
    assert names == ["bye", "hello"]


def test_get_import_job_returns_every_member(target: Any, qc: Any) -> None:
    kb = quick_response_kb(qc)
    up = upload(target, qc, kb["knowledgeBaseId"], GOOD.encode())
    source = {"source": "AMAZON_CONNECT", "configuration": {"connectConfiguration": {"instanceId": "inst-1"}}}
    started = start_import(
        qc,
        kb["knowledgeBaseId"],
        up["uploadId"],
        metadata={"team": "billing"},
        externalSourceConfiguration=source,
    )
    assert started["status"] == "START_IN_PROGRESS"

    job = wait_for_job(qc, kb["knowledgeBaseArn"], started["importJobId"])

    assert job["importJobId"] == started["importJobId"]
    assert job["knowledgeBaseId"] == kb["knowledgeBaseId"]
    assert job["knowledgeBaseArn"] == kb["knowledgeBaseArn"]
    assert job["uploadId"] == up["uploadId"]
    assert job["importJobType"] == "QUICK_RESPONSES"
    assert job["metadata"] == {"team": "billing"}
    assert job["externalSourceConfiguration"] == source
    assert job["createdTime"] <= job["lastModifiedTime"]
    assert job["urlExpiry"] > datetime.now(UTC)
    status, _headers, body = target.http("GET", job["url"])
    assert (status, body) == (200, GOOD.encode())


def test_a_mixed_file_completes_with_a_report_of_the_failed_rows(target: Any, qc: Any) -> None:
    kb = quick_response_kb(qc)
    job = import_csv(target, qc, kb["knowledgeBaseId"], MIXED)

    assert job["status"] == "COMPLETE"
    rows = report_rows(target, job)
    assert rows[0][0] == "Line" and rows[0][-1] == "Errors"
    failed_lines = [row[0] for row in rows[1:]]
    assert failed_lines == ["3", "4"]
    assert "language" in rows[1][-1]
    assert [qr["name"] for qr in all_quick_responses(qc, kb["knowledgeBaseId"])] == ["hello"]


@pytest.mark.parametrize(
    "text",
    [HOPELESS, "", "Name,Content\n", "Name,Content,Colour\nx,y,red\n", "Content\nonly content\n"],
    ids=["every-row-rejected", "empty-file", "header-only", "unknown-column", "missing-name-column"],
)
def test_a_file_that_imports_nothing_fails_with_a_report(target: Any, qc: Any, text: str) -> None:
    kb = quick_response_kb(qc)
    job = import_csv(target, qc, kb["knowledgeBaseId"], text)

    assert job["status"] == "FAILED"
    assert all_quick_responses(qc, kb["knowledgeBaseId"]) == []
    assert len(report_rows(target, job)) >= 2, "a FAILED job always explains itself in its report"


def test_a_bad_header_names_the_accepted_columns(target: Any, qc: Any) -> None:
    kb = quick_response_kb(qc)
    job = import_csv(target, qc, kb["knowledgeBaseId"], "Name,Content,Colour\nx,y,red\n")
    message = report_rows(target, job)[1][-1]
    assert "Colour" in message and "Shortcut key" in message


def test_names_and_shortcut_keys_must_be_unique_in_the_knowledge_base(target: Any, qc: Any) -> None:
    kb = quick_response_kb(qc)
    import_csv(target, qc, kb["knowledgeBaseId"], GOOD)
    again = "Name,Content,Shortcut key\nhello,Same name,new1\nfresh,Same key,hi\nunique,Fine,ok\n"
    job = import_csv(target, qc, kb["knowledgeBaseId"], again)

    assert job["status"] == "COMPLETE"
    reasons = {row[0]: row[-1] for row in report_rows(target, job)[1:]}
    assert set(reasons) == {"2", "3"}
    assert "hello" in reasons["2"] and "hi" in reasons["3"]
    assert len(all_quick_responses(qc, kb["knowledgeBaseId"])) == 3


def test_bom_crlf_quoted_newlines_and_non_ascii(target: Any, qc: Any) -> None:
    kb = quick_response_kb(qc)
    text = (
        '\ufeffName,Content\r\n"Grüße, Kunde","Zeile eins\r\nZeile zwei ""zitiert"""\r\n日本語,こんにちは\r\n'
    )
    job = import_csv(target, qc, kb["knowledgeBaseId"], text)

    assert job["status"] == "COMPLETE"
    by_name = {qr["name"]: qr for qr in all_quick_responses(qc, kb["knowledgeBaseId"])}
    assert set(by_name) == {"Grüße, Kunde", "日本語"}
    content = qc.get_quick_response(
        knowledgeBaseId=kb["knowledgeBaseId"], quickResponseId=by_name["Grüße, Kunde"]["quickResponseId"]
    )["quickResponse"]["contents"]["plainText"]["content"]
    assert content == 'Zeile eins\r\nZeile zwei "zitiert"'


def test_list_import_jobs_is_newest_first_and_paginated(target: Any, qc: Any) -> None:
    kb = quick_response_kb(qc)
    ids = [
        import_csv(target, qc, kb["knowledgeBaseId"], f"Name,Content\nn{i},c\n")["importJobId"]
        for i in range(3)
    ]

    pages = qc.get_paginator("list_import_jobs").paginate(
        knowledgeBaseId=kb["knowledgeBaseId"], PaginationConfig={"PageSize": 2}
    )
    listed = [job for page in pages for job in page["importJobSummaries"]]

    assert [job["importJobId"] for job in listed] == ids[::-1]
    assert all("url" not in job and job["status"] == "COMPLETE" for job in listed)


def test_start_import_job_errors(target: Any, qc: Any) -> None:
    kb = quick_response_kb(qc)
    other = quick_response_kb(qc, "other")
    custom = qc.create_knowledge_base(name="docs", knowledgeBaseType="CUSTOM")["knowledgeBase"]
    up = upload(target, qc, kb["knowledgeBaseId"], GOOD.encode())
    never_put = qc.start_content_upload(knowledgeBaseId=kb["knowledgeBaseId"], contentType="text/csv")

    with pytest.raises(ClientError) as missing_kb:
        start_import(qc, "00000000-0000-0000-0000-000000000000", up["uploadId"])
    assert error_code(missing_kb) == "ResourceNotFoundException"
    assert missing_kb.value.response["resourceName"] == "00000000-0000-0000-0000-000000000000"

    cases = {
        "QUICK_RESPONSES": (custom["knowledgeBaseId"], up["uploadId"]),
        "does not exist": (kb["knowledgeBaseId"], "no-such-upload"),
        "another knowledge base": (other["knowledgeBaseId"], up["uploadId"]),
        "no file yet": (kb["knowledgeBaseId"], never_put["uploadId"]),
    }
    for phrase, (kb_id, upload_id) in cases.items():
        with pytest.raises(ClientError) as excinfo:
            start_import(qc, kb_id, upload_id)
        assert error_code(excinfo) == "ValidationException"
        assert phrase in excinfo.value.response["Error"]["Message"]


def test_start_import_job_is_idempotent_on_client_token(target: Any, qc: Any) -> None:
    kb = quick_response_kb(qc)
    up = upload(target, qc, kb["knowledgeBaseId"], GOOD.encode())
    first = start_import(qc, kb["knowledgeBaseId"], up["uploadId"], clientToken="token-1")
    again = start_import(qc, kb["knowledgeBaseId"], up["uploadId"], clientToken="token-1")
    assert again["importJobId"] == first["importJobId"]
    with pytest.raises(ClientError) as excinfo:
        start_import(qc, kb["knowledgeBaseId"], up["uploadId"], clientToken="token-1", metadata={"x": "y"})
    assert error_code(excinfo) == "ConflictException"


def test_get_import_job_of_another_knowledge_base_or_account_is_not_found(target: Any, qc: Any) -> None:
    kb = quick_response_kb(qc)
    other = quick_response_kb(qc, "other")
    job = import_csv(target, qc, kb["knowledgeBaseId"], GOOD)

    with pytest.raises(ClientError) as wrong_kb:
        qc.get_import_job(knowledgeBaseId=other["knowledgeBaseId"], importJobId=job["importJobId"])
    assert error_code(wrong_kb) == "ResourceNotFoundException"
    stranger = target.client(account="111122223333")
    with pytest.raises(ClientError) as wrong_account:
        stranger.get_import_job(knowledgeBaseId=kb["knowledgeBaseId"], importJobId=job["importJobId"])
    assert error_code(wrong_account) == "ResourceNotFoundException"


def test_start_content_upload_rules(target: Any, qc: Any) -> None:
    kb = quick_response_kb(qc)
    custom = qc.create_knowledge_base(name="docs", knowledgeBaseType="CUSTOM")["knowledgeBase"]
    before = datetime.now(UTC)

    up = qc.start_content_upload(
        knowledgeBaseId=kb["knowledgeBaseArn"], contentType="text/csv", presignedUrlTimeToLive=10
    )

    assert up["headersToInclude"] == {"content-type": "text/csv", "x-amz-server-side-encryption": "AES256"}
    assert before + timedelta(minutes=10) - timedelta(seconds=2) <= up["urlExpiry"]
    assert up["urlExpiry"] <= datetime.now(UTC) + timedelta(minutes=10)
    assert qc.start_content_upload(knowledgeBaseId=custom["knowledgeBaseId"], contentType="application/pdf")[
        "url"
    ]
    with pytest.raises(ClientError) as wrong_type:
        qc.start_content_upload(knowledgeBaseId=kb["knowledgeBaseId"], contentType="text/plain")
    assert error_code(wrong_type) == "ValidationException"
    with pytest.raises(ClientError) as bad_ttl:
        target.client(validate=False).start_content_upload(
            knowledgeBaseId=kb["knowledgeBaseId"], contentType="text/csv", presignedUrlTimeToLive=61
        )
    assert error_code(bad_ttl) == "ValidationException"


def test_the_upload_link_behaves_like_an_s3_presigned_put(target: Any, qc: Any) -> None:
    kb = quick_response_kb(qc)
    up = qc.start_content_upload(knowledgeBaseId=kb["knowledgeBaseId"], contentType="text/csv")
    headers = up["headersToInclude"]

    status, _h, body = target.http(
        "PUT", up["url"], headers={**headers, "content-type": "text/plain"}, data=b"x"
    )
    assert (status, b"<Code>SignatureDoesNotMatch</Code>" in body) == (403, True)
    status, _h, body = target.http("PUT", up["url"], headers={"content-type": "text/csv"}, data=b"x")
    assert (status, b"<Code>SignatureDoesNotMatch</Code>" in body) == (403, True)
    status, _h, body = target.http(
        "PUT", up["url"].replace("signature=", "signature=0"), headers=headers, data=b"x"
    )
    assert (status, b"<Code>SignatureDoesNotMatch</Code>" in body) == (403, True)

    status, reply_headers, _body = target.http("PUT", up["url"], headers=headers, data=b"Name,Content\n")
    assert status == 200 and reply_headers["etag"].startswith('"')

    target.control("clock", {"advanceSeconds": 16 * 60})
    status, _h, body = target.http("PUT", up["url"], headers=headers, data=b"Name,Content\n")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body and b"Request has expired" in body


def test_job_links_expire_and_refuse_tampering(target: Any, qc: Any) -> None:
    kb = quick_response_kb(qc)
    job = import_csv(target, qc, kb["knowledgeBaseId"], MIXED)
    other = import_csv(target, qc, kb["knowledgeBaseId"], "Name,Content\nz,z\n")

    foreign = job["url"].split("?")[0] + "?" + other["url"].split("?")[1]
    status, _h, body = target.http("GET", foreign)
    assert status == 403 and b"SignatureDoesNotMatch" in body

    target.control("clock", {"advanceSeconds": 16 * 60})
    for link in (job["url"], job["failedRecordReport"]):
        status, _h, body = target.http("GET", link)
        assert status == 403 and b"Request has expired" in body
    fresh = qc.get_import_job(knowledgeBaseId=kb["knowledgeBaseId"], importJobId=job["importJobId"])[
        "importJob"
    ]
    assert target.http("GET", fresh["url"])[0] == 200


def test_every_status_is_reachable(target: Any, qc: Any) -> None:
    kb = quick_response_kb(qc)
    kb_id = kb["knowledgeBaseId"]

    target.control("transitions", {"hold": {"status": "START_IN_PROGRESS"}})
    up = upload(target, qc, kb_id, GOOD.encode())
    held = start_import(qc, kb_id, up["uploadId"])
    assert qc.get_import_job(knowledgeBaseId=kb_id, importJobId=held["importJobId"])["importJob"][
        "status"
    ] == ("START_IN_PROGRESS")
    with pytest.raises(ClientError) as in_progress:
        qc.delete_import_job(knowledgeBaseId=kb_id, importJobId=held["importJobId"])
    assert error_code(in_progress) == "ConflictException"
    target.control("transitions", {"release": True})
    assert wait_for_job(qc, kb_id, held["importJobId"])["status"] == "COMPLETE"

    target.control("transitions", {"failNext": {"status": "START_IN_PROGRESS"}})
    failed = import_csv(target, qc, kb_id, "Name,Content\nother,text\n")
    assert failed["status"] == "FAILED"

    target.control("transitions", {"hold": {"status": "DELETE_IN_PROGRESS"}})
    qc.delete_import_job(knowledgeBaseId=kb_id, importJobId=held["importJobId"])
    deleting = qc.get_import_job(knowledgeBaseId=kb_id, importJobId=held["importJobId"])["importJob"]
    assert deleting["status"] == "DELETE_IN_PROGRESS"
    target.control("transitions", {"release": "DELETE_IN_PROGRESS"})
    deleted = wait_for_job(qc, kb_id, held["importJobId"])
    assert deleted["status"] == "DELETED"
    status, _h, body = target.http("GET", deleted["url"])
    assert status == 404 and b"NoSuchKey" in body

    target.control("transitions", {"failNext": {"status": "DELETE_IN_PROGRESS"}})
    qc.delete_import_job(knowledgeBaseId=kb_id, importJobId=failed["importJobId"])
    assert wait_for_job(qc, kb_id, failed["importJobId"])["status"] == "DELETE_FAILED"


def test_delete_import_job_keeps_its_quick_responses(target: Any, qc: Any) -> None:
    kb = quick_response_kb(qc)
    job = import_csv(target, qc, kb["knowledgeBaseId"], GOOD)
    qc.delete_import_job(knowledgeBaseId=kb["knowledgeBaseId"], importJobId=job["importJobId"])
    assert wait_for_job(qc, kb["knowledgeBaseId"], job["importJobId"])["status"] == "DELETED"

    with pytest.raises(ClientError) as again:
        qc.delete_import_job(knowledgeBaseId=kb["knowledgeBaseId"], importJobId=job["importJobId"])
    assert error_code(again) == "ResourceNotFoundException"
    assert len(all_quick_responses(qc, kb["knowledgeBaseId"])) == 2


def test_delete_knowledge_base_removes_jobs_uploads_and_quick_responses(target: Any, qc: Any) -> None:
    kb = quick_response_kb(qc)
    job = import_csv(target, qc, kb["knowledgeBaseId"], MIXED)
    qc.delete_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"])

    for link in (job["url"], job["failedRecordReport"]):
        assert target.http("GET", link)[0] == 404
    recreated = quick_response_kb(qc)
    assert all_quick_responses(qc, recreated["knowledgeBaseId"]) == []
