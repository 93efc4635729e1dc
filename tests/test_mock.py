"""mock_qconnect(): boto3 clients answered in-process, once per call, beside moto's mock_aws."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import qconnect_local
from qconnect_local.config import Settings
from qconnect_local.testing import mock as mock_module
from qconnect_local.testing.mock import mock_qconnect


def test_each_call_is_served_exactly_once(monkeypatch: pytest.MonkeyPatch) -> None:
    boto3.setup_default_session()  # a default session that predates the mock, as in most test suites
    served: list[str] = []
    real_route = mock_module.route

    def counting_route(runtime: Any, request: Any, scheme: str = "https") -> Any:
        served.append(request.method)
        return real_route(runtime, request, scheme)

    monkeypatch.setattr(mock_module, "route", counting_route)
    with mock_qconnect():
        boto3.client("qconnect", region_name="us-east-1").list_knowledge_bases()
    assert served == ["GET"]


def test_decorator_and_context_manager_share_nothing_between_uses() -> None:
    @qconnect_local.mock_qconnect()
    def create_one() -> int:
        qc = boto3.client("qconnect", region_name="us-east-1")
        qc.create_knowledge_base(name="kb", knowledgeBaseType="CUSTOM")
        return len(qc.list_knowledge_bases()["knowledgeBaseSummaries"])

    assert create_one() == 1
    assert create_one() == 1, "each use starts from an empty service"


def test_wisdom_and_qconnect_clients_see_the_same_service() -> None:
    with mock_qconnect():
        boto3.client("qconnect", region_name="us-east-1").create_knowledge_base(
            name="kb", knowledgeBaseType="CUSTOM"
        )
        listed = boto3.client("wisdom", region_name="us-east-1").list_knowledge_bases()
    assert [kb["name"] for kb in listed["knowledgeBaseSummaries"]] == ["kb"]


def test_settings_reach_the_in_process_service() -> None:
    with mock_qconnect(Settings(knowledge_base_quota=1)):
        qc = boto3.client("qconnect", region_name="us-east-1")
        qc.create_knowledge_base(name="one", knowledgeBaseType="CUSTOM")
        with pytest.raises(ClientError) as excinfo:
            qc.create_knowledge_base(name="two", knowledgeBaseType="CUSTOM")
    assert excinfo.value.response["Error"]["Code"] == "ServiceQuotaExceededException"


def test_coexists_with_moto_mock_aws() -> None:
    with mock_aws(), mock_qconnect():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="exports")
        qc = boto3.client("qconnect", region_name="us-east-1")
        kb = qc.create_knowledge_base(name="kb", knowledgeBaseType="CUSTOM")["knowledgeBase"]
        s3.put_object(Bucket="exports", Key="kb.txt", Body=kb["knowledgeBaseId"].encode())
        stored = s3.get_object(Bucket="exports", Key="kb.txt")["Body"].read().decode()
    assert stored == kb["knowledgeBaseId"]


def test_outside_the_mock_requests_go_to_the_network_again() -> None:
    with mock_qconnect():
        pass
    assert mock_module._active == []


def test_the_pytest_plugin_client_fixture(qconnect_client: Any, qconnect_mock: mock_qconnect) -> None:
    qconnect_client.create_knowledge_base(name="kb", knowledgeBaseType="CUSTOM")
    assert qconnect_mock.runtime.store.dialect == "sqlite"
    assert len(qconnect_client.list_knowledge_bases()["knowledgeBaseSummaries"]) == 1
