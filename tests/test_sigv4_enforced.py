"""`serve --enforce-sigv4`: only requests signed with a known key and its secret get through.

Failures carry the codes and statuses of AWS's front door, so boto3 raises what it would
raise against AWS. (The signature algorithm itself is specified in test_auth.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from qconnect_local.testing.server import ServerProcess

KEY_ID, SECRET = "AKIDEXAMPLE", "secret"
ACCOUNT_KEY, ACCOUNT_SECRET = "111122223333", "account-secret"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    credentials = f"{KEY_ID}:{SECRET},{ACCOUNT_KEY}:{ACCOUNT_SECRET}"
    with ServerProcess("--enforce-sigv4", "--credentials", credentials) as process:
        yield process


def client(server: ServerProcess, key_id: str = KEY_ID, secret: str = SECRET, **config: Any) -> Any:
    return boto3.client(
        "qconnect",
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, **config),
    )


def rejection(qc: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as err:
        qc.list_knowledge_bases()
    return err.value.response["Error"]["Code"], err.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_correct_credentials_are_served(server: ServerProcess) -> None:
    server.control("reset")
    qc = client(server)
    kb = qc.create_knowledge_base(name="signed", knowledgeBaseType="CUSTOM", tags={"a": "1"})["knowledgeBase"]
    assert qc.get_knowledge_base(knowledgeBaseId=kb["knowledgeBaseArn"])["knowledgeBase"] == kb
    assert qc.list_tags_for_resource(resourceArn=kb["knowledgeBaseArn"])["tags"] == {"a": "1"}
    qc.delete_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"])


def test_a_twelve_digit_key_is_still_the_account(server: ServerProcess) -> None:
    server.control("reset")
    kb = client(server, ACCOUNT_KEY, ACCOUNT_SECRET).create_knowledge_base(
        name="mine", knowledgeBaseType="CUSTOM"
    )["knowledgeBase"]
    assert kb["knowledgeBaseArn"].split(":")[4] == ACCOUNT_KEY
    assert client(server).list_knowledge_bases()["knowledgeBaseSummaries"] == []


def test_wrong_secret_is_an_invalid_signature(server: ServerProcess) -> None:
    assert rejection(client(server, secret="not-the-secret")) == ("InvalidSignatureException", 403)


def test_another_keys_secret_is_an_invalid_signature(server: ServerProcess) -> None:
    assert rejection(client(server, secret=ACCOUNT_SECRET)) == ("InvalidSignatureException", 403)


def test_unknown_access_key_is_an_unrecognized_client(server: ServerProcess) -> None:
    assert rejection(client(server, key_id="AKIAUNKNOWN")) == ("UnrecognizedClientException", 403)


def test_an_unsigned_request_is_missing_its_token(server: ServerProcess) -> None:
    assert rejection(client(server, signature_version=UNSIGNED)) == (
        "MissingAuthenticationTokenException",
        403,
    )


def test_a_rejected_request_changes_nothing(server: ServerProcess) -> None:
    server.control("reset")
    with pytest.raises(ClientError):
        client(server, secret="wrong").create_knowledge_base(name="sneaky", knowledgeBaseType="CUSTOM")
    assert client(server).list_knowledge_bases()["knowledgeBaseSummaries"] == []
