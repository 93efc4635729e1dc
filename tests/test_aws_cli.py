"""The unmodified AWS CLI against a real server: a knowledge base's life and the quick-response import
flow, endpoint by flag or variable.

Each `aws` call costs about a second to start, so the calls are few and chained.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from importing import FINAL
from qconnect_local.testing.server import ServerProcess

AWS = Path(sys.executable).parent / "aws"
ACCOUNT = "111122223333"

pytestmark = pytest.mark.skipif(not AWS.exists(), reason="the AWS CLI (awscli) is not installed")


def aws(
    *args: str, endpoint: str | None = None, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `aws ... --region us-east-1 --output json` with throw-away credentials and no config."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_ACCESS_KEY_ID": ACCOUNT,
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_MAX_ATTEMPTS": "1",
        **(extra_env or {}),
    }
    command = [str(AWS), *args, "--region", "us-east-1", "--output", "json"]
    if endpoint is not None:
        command += ["--endpoint-url", endpoint]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def ok(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def service_error_exit_code() -> int:
    """What the installed CLI documents for "the service returned an error": 255 in v1, 254 in v2."""
    return 255 if version("awscli").startswith("1.") else 254


def test_knowledge_base_lifecycle_with_endpoint_url(live_server: ServerProcess) -> None:
    live_server.control("reset")
    url = live_server.url

    created = ok(
        aws(
            "qconnect",
            "create-knowledge-base",
            "--name",
            "cli-kb",
            "--knowledge-base-type",
            "CUSTOM",
            "--tags",
            "team=support",
            endpoint=url,
        )
    )["knowledgeBase"]
    kb_id, arn = created["knowledgeBaseId"], created["knowledgeBaseArn"]
    assert arn == f"arn:aws:wisdom:us-east-1:{ACCOUNT}:knowledge-base/{kb_id}"
    assert created["tags"] == {"team": "support"}

    fetched = ok(aws("qconnect", "get-knowledge-base", "--knowledge-base-id", arn, endpoint=url))
    assert fetched["knowledgeBase"]["name"] == "cli-kb"

    ok(aws("qconnect", "tag-resource", "--resource-arn", arn, "--tags", "tier=gold", endpoint=url))
    tags = ok(aws("qconnect", "list-tags-for-resource", "--resource-arn", arn, endpoint=url))["tags"]
    assert tags == {"team": "support", "tier": "gold"}
    ok(aws("qconnect", "untag-resource", "--resource-arn", arn, "--tag-keys", "team", endpoint=url))

    # The older `wisdom` command sees the same knowledge base, and the untag.
    wisdom = ok(aws("wisdom", "list-knowledge-bases", endpoint=url))["knowledgeBaseSummaries"]
    assert [(kb["knowledgeBaseId"], kb["tags"]) for kb in wisdom] == [(kb_id, {"tier": "gold"})]

    assert ok(aws("qconnect", "delete-knowledge-base", "--knowledge-base-id", kb_id, endpoint=url)) is None
    gone = aws("qconnect", "get-knowledge-base", "--knowledge-base-id", kb_id, endpoint=url)
    assert gone.returncode == service_error_exit_code()
    assert "ResourceNotFoundException" in gone.stderr
    assert gone.stdout == ""


def test_endpoint_from_the_service_specific_variable(live_server: ServerProcess) -> None:
    live_server.control("reset")
    env = {"AWS_ENDPOINT_URL_QCONNECT": live_server.url}
    created = ok(
        aws(
            "qconnect",
            "create-knowledge-base",
            "--name",
            "via-env",
            "--knowledge-base-type",
            "QUICK_RESPONSES",
            extra_env=env,
        )
    )["knowledgeBase"]
    listed = ok(aws("qconnect", "list-knowledge-bases", extra_env=env))["knowledgeBaseSummaries"]
    assert [(kb["knowledgeBaseId"], kb["knowledgeBaseType"]) for kb in listed] == [
        (created["knowledgeBaseId"], "QUICK_RESPONSES")
    ]
    bad = aws("qconnect", "get-knowledge-base", "--knowledge-base-id", "not-a-uuid", extra_env=env)
    assert bad.returncode == service_error_exit_code()
    assert "ValidationException" in bad.stderr


def put(url: str, headers: dict[str, str], body: bytes) -> int:
    """PUT `body` to a signed upload link with the headers the service asked for, as a user's script would."""
    request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as reply:
        status: int = reply.status
        return status


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as reply:
        body: bytes = reply.read()
        return body


def test_quick_response_import_flow(live_server: ServerProcess) -> None:
    """The import flow with about ten `aws` calls; GetImportJob finds the server by variable."""
    live_server.control("reset")
    url = live_server.url
    by_variable = {"AWS_ENDPOINT_URL_QCONNECT": url}
    csv_text = b"Name,Content,Language\nhello,Hello,en_US\nrefund,Refunds take 14 days,en_US\nbad,x,xx_XX\n"

    kb = ok(
        aws(
            "qconnect",
            "create-knowledge-base",
            "--name",
            "cli-import",
            "--knowledge-base-type",
            "QUICK_RESPONSES",
            endpoint=url,
        )
    )["knowledgeBase"]
    kb_id = kb["knowledgeBaseId"]
    up = ok(
        aws(
            "qconnect",
            "start-content-upload",
            "--knowledge-base-id",
            kb_id,
            "--content-type",
            "text/csv",
            endpoint=url,
        )
    )
    assert put(up["url"], up["headersToInclude"], csv_text) == 200

    def start_import() -> dict[str, Any]:
        started: dict[str, Any] = ok(
            aws(
                "qconnect",
                "start-import-job",
                "--knowledge-base-id",
                kb_id,
                "--import-job-type",
                "QUICK_RESPONSES",
                "--upload-id",
                up["uploadId"],
                endpoint=url,
            )
        )["importJob"]
        return started

    first = start_import()
    assert (first["status"], first["uploadId"]) == ("START_IN_PROGRESS", up["uploadId"])
    deadline = time.monotonic() + 30
    while True:
        job = ok(
            aws(
                "qconnect",
                "get-import-job",
                "--knowledge-base-id",
                kb_id,
                "--import-job-id",
                first["importJobId"],
                extra_env=by_variable,
            )
        )["importJob"]
        if job["status"] in FINAL:
            break
        assert time.monotonic() < deadline, f"job still {job['status']}"
    assert job["status"] == "COMPLETE"
    assert get(job["url"]) == csv_text
    assert b"\r\n4,bad,x,xx_XX," in get(job["failedRecordReport"])

    quick_responses = ok(aws("qconnect", "list-quick-responses", "--knowledge-base-id", kb_id, endpoint=url))
    assert sorted(qr["name"] for qr in quick_responses["quickResponseSummaries"]) == ["hello", "refund"]
    expression = '{"queries": [{"name": "content", "values": ["refunds"], "operator": "CONTAINS"}]}'
    found = ok(
        aws(
            "qconnect",
            "search-quick-responses",
            "--knowledge-base-id",
            kb_id,
            "--search-expression",
            expression,
            endpoint=url,
        )
    )["results"]
    assert [(qr["name"], qr["contents"]["plainText"]["content"]) for qr in found] == [
        ("refund", "Refunds take 14 days")
    ]

    # The same file again: a second job, so that a page size of 1 makes the CLI follow nextToken.
    second = start_import()
    listed = ok(
        aws("qconnect", "list-import-jobs", "--knowledge-base-id", kb_id, "--page-size", "1", endpoint=url)
    )
    assert [job["importJobId"] for job in listed["importJobSummaries"]] == [
        second["importJobId"],
        first["importJobId"],
    ]

    delete = ("delete-import-job", "--knowledge-base-id", kb_id, "--import-job-id", first["importJobId"])
    assert ok(aws("qconnect", *delete, endpoint=url)) is None
    # The older `wisdom` command sees the deletion: deleting again is not found.
    again = aws("wisdom", *delete, endpoint=url)
    assert again.returncode == service_error_exit_code()
    assert "ResourceNotFoundException" in again.stderr
