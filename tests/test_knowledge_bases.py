"""Knowledge bases as a boto3 user sees them: create, get, list, delete, template URI, quota.

Every test runs on both targets (in-process mock and a real server). Names are unique per
account and region, every type but EXTERNAL and MANAGED takes no sourceConfiguration, and a
knowledge base is ACTIVE as soon as it exists (decisions documented in the module).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from sqlalchemy import func, select

from qconnect_local.config import Settings
from qconnect_local.store.schema import tags as tag_table
from qconnect_local.testing.mock import mock_qconnect
from qconnect_local.testing.server import ServerProcess

ClientFactory = Any
ACCOUNT = "111122223333"
UUID = r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}"
APP_INTEGRATION_ARN = (
    "arn:aws:app-integrations:us-east-1:111122223333:data-integration/6a1c4e5b-1f2e-4d3c-9b8a-7f6e5d4c3b2a"
)
SOURCES: dict[str, dict[str, Any]] = {
    "EXTERNAL": {
        "appIntegrations": {
            "appIntegrationArn": APP_INTEGRATION_ARN,
            "objectFields": ["Id", "Title", "Body"],
        }
    },
    "MANAGED": {
        "managedSourceConfiguration": {
            "webCrawlerConfiguration": {"urlConfiguration": {"seedUrls": [{"url": "https://example.com/"}]}}
        }
    },
}
TYPES = ("EXTERNAL", "CUSTOM", "QUICK_RESPONSES", "MESSAGE_TEMPLATES", "MANAGED")


def create(qc: Any, name: str = "support", kb_type: str = "CUSTOM", **extra: Any) -> dict[str, Any]:
    """Create a knowledge base of `kb_type` with the source configuration that type needs."""
    if kb_type in SOURCES and "sourceConfiguration" not in extra:
        extra["sourceConfiguration"] = SOURCES[kb_type]
    kb: dict[str, Any] = qc.create_knowledge_base(name=name, knowledgeBaseType=kb_type, **extra)[
        "knowledgeBase"
    ]
    return kb


def listed_ids(qc: Any) -> list[str]:
    pages = qc.get_paginator("list_knowledge_bases").paginate()
    return [kb["knowledgeBaseId"] for page in pages for kb in page["knowledgeBaseSummaries"]]


def status_of(outcome: Any) -> int:
    """The HTTP status of a response dict or of a ClientError."""
    response = outcome if isinstance(outcome, dict) else outcome.response
    return int(response["ResponseMetadata"]["HTTPStatusCode"])


# --- CreateKnowledgeBase ---------------------------------------------------------------------


@pytest.mark.parametrize("kb_type", TYPES)
def test_every_type_can_be_created_and_read_back(qc: Any, kb_type: str) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    created = create(qc, f"kb {kb_type}", kb_type, description="Answers for agents")

    assert re.fullmatch(UUID, created["knowledgeBaseId"])
    assert created["name"] == f"kb {kb_type}"
    assert created["knowledgeBaseType"] == kb_type
    assert created["status"] == "ACTIVE"
    assert created["description"] == "Answers for agents"
    assert before <= created["lastModifiedTime"] <= datetime.now(UTC) + timedelta(seconds=5)
    if kb_type in SOURCES:
        assert created["sourceConfiguration"] == SOURCES[kb_type]
    else:
        assert "sourceConfiguration" not in created
    assert qc.get_knowledge_base(knowledgeBaseId=created["knowledgeBaseId"])["knowledgeBase"] == created


def test_arn_names_service_region_account_and_id(make_client: ClientFactory) -> None:
    qc = make_client(account=ACCOUNT, region="eu-west-1")
    created = create(qc)
    assert created["knowledgeBaseArn"] == (
        f"arn:aws:wisdom:eu-west-1:{ACCOUNT}:knowledge-base/{created['knowledgeBaseId']}"
    )


def test_configuration_members_are_kept(qc: Any) -> None:
    created = create(
        qc,
        renderingConfiguration={"templateUri": "https://example.com/{{id}}"},
        serverSideEncryptionConfiguration={
            "kmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        },
        tags={"team": "support"},
    )
    fetched = qc.get_knowledge_base(knowledgeBaseId=created["knowledgeBaseId"])["knowledgeBase"]
    assert fetched["renderingConfiguration"] == {"templateUri": "https://example.com/{{id}}"}
    assert fetched["serverSideEncryptionConfiguration"]["kmsKeyId"].endswith("1234567890ab")
    assert fetched["tags"] == {"team": "support"}


@pytest.mark.parametrize("kb_type", ["EXTERNAL", "MANAGED"])
def test_a_type_that_needs_a_source_is_refused_without_one(qc: Any, kb_type: str) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match="sourceConfiguration"):
        qc.create_knowledge_base(name="kb", knowledgeBaseType=kb_type)
    assert listed_ids(qc) == []


def test_external_with_a_managed_source_is_refused(qc: Any) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match="appIntegrations"):
        create(qc, kb_type="EXTERNAL", sourceConfiguration=SOURCES["MANAGED"])


@pytest.mark.parametrize("kb_type", ["CUSTOM", "QUICK_RESPONSES", "MESSAGE_TEMPLATES"])
def test_a_type_without_a_source_refuses_one(qc: Any, kb_type: str) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match="sourceConfiguration"):
        create(qc, kb_type=kb_type, sourceConfiguration=SOURCES["EXTERNAL"])
    assert listed_ids(qc) == []


def test_same_client_token_and_input_returns_the_same_knowledge_base(qc: Any) -> None:
    first = create(qc, clientToken="token-1", tags={"a": "1"})
    again = create(qc, clientToken="token-1", tags={"a": "1"})
    assert again == first
    assert listed_ids(qc) == [first["knowledgeBaseId"]]


def test_same_client_token_with_different_input_is_a_conflict(qc: Any) -> None:
    first = create(qc, clientToken="token-1")
    with pytest.raises(qc.exceptions.ConflictException) as err:
        create(qc, clientToken="token-1", description="something else")
    assert status_of(err.value) == 409
    assert listed_ids(qc) == [first["knowledgeBaseId"]]


def test_a_client_token_whose_knowledge_base_was_deleted_creates_a_new_one(qc: Any) -> None:
    first = create(qc, clientToken="token-1")
    qc.delete_knowledge_base(knowledgeBaseId=first["knowledgeBaseId"])
    second = create(qc, clientToken="token-1")
    assert second["knowledgeBaseId"] != first["knowledgeBaseId"]
    assert listed_ids(qc) == [second["knowledgeBaseId"]]


def test_duplicate_name_is_a_conflict(qc: Any) -> None:
    create(qc, "support")
    with pytest.raises(qc.exceptions.ConflictException, match="support"):
        create(qc, "support", kb_type="QUICK_RESPONSES")
    assert len(listed_ids(qc)) == 1


def test_a_deleted_knowledge_base_frees_its_name(qc: Any) -> None:
    first = create(qc, "support")
    qc.delete_knowledge_base(knowledgeBaseId=first["knowledgeBaseId"])
    assert create(qc, "support")["knowledgeBaseId"] != first["knowledgeBaseId"]


def test_the_eleventh_knowledge_base_exceeds_the_quota(make_client: ClientFactory) -> None:
    qc = make_client(account=ACCOUNT)
    for i in range(10):
        create(qc, f"kb-{i}")
    with pytest.raises(qc.exceptions.ServiceQuotaExceededException) as err:
        create(qc, "kb-10")
    assert status_of(err.value) == 402
    assert len(listed_ids(qc)) == 10
    # The quota is per account and region.
    create(make_client(account=ACCOUNT, region="eu-west-1"), "kb-10")
    create(make_client(account="444455556666"), "kb-10")


def test_deleting_at_the_quota_makes_room(qc: Any) -> None:
    ids = [create(qc, f"kb-{i}")["knowledgeBaseId"] for i in range(10)]
    qc.delete_knowledge_base(knowledgeBaseId=ids[0])
    create(qc, "kb-10")
    assert len(listed_ids(qc)) == 10


def test_a_retry_at_the_quota_still_returns_the_knowledge_base(qc: Any) -> None:
    for i in range(9):
        create(qc, f"kb-{i}")
    tenth = create(qc, "kb-9", clientToken="last-one")
    assert create(qc, "kb-9", clientToken="last-one") == tenth


def _plain_client(endpoint_url: str | None) -> Any:
    return boto3.client(
        "qconnect",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id=ACCOUNT,
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}),
    )


def test_quota_is_configurable_in_process() -> None:
    with mock_qconnect(Settings(knowledge_base_quota=2)):
        qc = _plain_client(None)
        create(qc, "one")
        create(qc, "two")
        with pytest.raises(qc.exceptions.ServiceQuotaExceededException):
            create(qc, "three")


def test_quota_is_configurable_on_the_server() -> None:
    with ServerProcess("--knowledge-base-quota", "2") as server:
        qc = _plain_client(server.url)
        create(qc, "one")
        create(qc, "two")
        with pytest.raises(qc.exceptions.ServiceQuotaExceededException):
            create(qc, "three")


# --- GetKnowledgeBase ------------------------------------------------------------------------


def test_get_by_id_and_by_arn_agree(qc: Any) -> None:
    created = create(qc, tags={"team": "support"})
    by_id = qc.get_knowledge_base(knowledgeBaseId=created["knowledgeBaseId"])["knowledgeBase"]
    by_arn = qc.get_knowledge_base(knowledgeBaseId=created["knowledgeBaseArn"])["knowledgeBase"]
    assert by_id == by_arn == created


def test_get_unknown_id_is_not_found_naming_the_resource(qc: Any) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(qc.exceptions.ResourceNotFoundException) as err:
        qc.get_knowledge_base(knowledgeBaseId=missing)
    assert status_of(err.value) == 404
    assert err.value.response["resourceName"] == missing


@pytest.mark.parametrize(
    ("partition", "account", "region", "resource"),
    [
        ("aws", "444455556666", "us-east-1", "knowledge-base"),
        ("aws", ACCOUNT, "eu-west-1", "knowledge-base"),
        ("aws-cn", ACCOUNT, "us-east-1", "knowledge-base"),
        ("aws", ACCOUNT, "us-east-1", "assistant"),
    ],
    ids=["other-account", "other-region", "other-partition", "other-type"],
)
def test_get_by_an_arn_outside_the_callers_scope_is_not_found(
    make_client: ClientFactory, partition: str, account: str, region: str, resource: str
) -> None:
    qc = make_client(account=ACCOUNT)
    kb_id = create(qc)["knowledgeBaseId"]
    arn = f"arn:{partition}:wisdom:{region}:{account}:{resource}/{kb_id}"
    with pytest.raises(qc.exceptions.ResourceNotFoundException) as err:
        qc.get_knowledge_base(knowledgeBaseId=arn)
    assert err.value.response["resourceName"] == arn


def test_get_by_an_arn_of_something_inside_a_knowledge_base_is_not_found(qc: Any) -> None:
    """`knowledge-base/<other>/<id>` names no knowledge base, even when `<id>` is one."""
    created = create(qc)
    kb_id = created["knowledgeBaseId"]
    for arn in (
        created["knowledgeBaseArn"].replace(kb_id, f"{uuid.uuid4()}/{kb_id}"),
        f"{created['knowledgeBaseArn']}/{uuid.uuid4()}",
    ):
        with pytest.raises(qc.exceptions.ResourceNotFoundException):
            qc.get_knowledge_base(knowledgeBaseId=arn)


@pytest.mark.parametrize("bad_id", ["support", "6A1C4E5B-1F2E-4D3C-9B8A-7F6E5D4C3B2A", "1234"])
def test_get_with_an_id_that_is_neither_uuid_nor_arn_is_a_validation_error(qc: Any, bad_id: str) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match="knowledgeBaseId"):
        qc.get_knowledge_base(knowledgeBaseId=bad_id)


# --- ListKnowledgeBases ----------------------------------------------------------------------


def collect(qc: Any, page_size: int) -> list[str]:
    """Follow nextToken by hand; every page but the last is full."""
    ids: list[str] = []
    kwargs: dict[str, Any] = {"maxResults": page_size}
    while True:
        page = qc.list_knowledge_bases(**kwargs)
        ids += [kb["knowledgeBaseId"] for kb in page["knowledgeBaseSummaries"]]
        if "nextToken" not in page:
            return ids
        assert len(page["knowledgeBaseSummaries"]) == page_size
        kwargs["nextToken"] = page["nextToken"]


def test_list_is_empty_without_knowledge_bases(qc: Any) -> None:
    page = qc.list_knowledge_bases()
    assert page["knowledgeBaseSummaries"] == []
    assert "nextToken" not in page


def test_every_page_size_lists_each_knowledge_base_exactly_once(qc: Any) -> None:
    ids = {create(qc, f"kb-{i}")["knowledgeBaseId"] for i in range(7)}
    for page_size in (1, 2, 3, 6, 7, 8, 100):
        collected = collect(qc, page_size)
        assert len(collected) == len(ids), page_size
        assert set(collected) == ids, page_size


def test_summaries_carry_the_knowledge_base_members(qc: Any) -> None:
    created = create(qc, kb_type="EXTERNAL", description="d", tags={"k": "v"})
    (summary,) = qc.list_knowledge_bases()["knowledgeBaseSummaries"]
    expected = ("knowledgeBaseId", "knowledgeBaseArn", "name", "knowledgeBaseType", "status")
    for member in (*expected, "description", "tags", "sourceConfiguration"):
        assert summary[member] == created[member]


def test_botocore_paginator_walks_all_pages(qc: Any) -> None:
    ids = {create(qc, f"kb-{i}")["knowledgeBaseId"] for i in range(5)}
    paginator = qc.get_paginator("list_knowledge_bases")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["knowledgeBaseSummaries"]) for p in pages] == [2, 2, 1]
    assert {kb["knowledgeBaseId"] for p in pages for kb in p["knowledgeBaseSummaries"]} == ids


def test_botocore_paginator_resumes_from_its_starting_token(qc: Any) -> None:
    ids = {create(qc, f"kb-{i}")["knowledgeBaseId"] for i in range(5)}
    paginator = qc.get_paginator("list_knowledge_bases")
    first = paginator.paginate(PaginationConfig={"PageSize": 2, "MaxItems": 3}).build_full_result()
    rest = paginator.paginate(
        PaginationConfig={"PageSize": 2, "StartingToken": first["NextToken"]}
    ).build_full_result()
    collected = [kb["knowledgeBaseId"] for kb in first["knowledgeBaseSummaries"]]
    collected += [kb["knowledgeBaseId"] for kb in rest["knowledgeBaseSummaries"]]
    assert len(collected) == 5
    assert set(collected) == ids


def test_knowledge_bases_added_or_deleted_between_pages_shift_nothing(qc: Any) -> None:
    ids = [create(qc, f"kb-{i}")["knowledgeBaseId"] for i in range(6)]
    page = qc.list_knowledge_bases(maxResults=2)
    seen = [kb["knowledgeBaseId"] for kb in page["knowledgeBaseSummaries"]]
    already_seen = seen[0]
    not_yet_seen = next(i for i in ids if i not in seen)
    qc.delete_knowledge_base(knowledgeBaseId=already_seen)
    qc.delete_knowledge_base(knowledgeBaseId=not_yet_seen)
    create(qc, "added-late")
    token = page["nextToken"]
    while token:
        page = qc.list_knowledge_bases(maxResults=2, nextToken=token)
        seen += [kb["knowledgeBaseId"] for kb in page["knowledgeBaseSummaries"]]
        token = page.get("nextToken")
    assert len(seen) == len(set(seen)), "an item was repeated"
    present_throughout = set(ids) - {already_seen, not_yet_seen}
    assert present_throughout <= set(seen), "an item was skipped"
    assert not_yet_seen not in seen


def _next_token(qc: Any) -> str:
    create(qc, "kb-a")
    create(qc, "kb-b")
    token: str = qc.list_knowledge_bases(maxResults=1)["nextToken"]
    return token


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: "garbage",
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t.split(".")[0],
        lambda t: t.split(".")[0] + ".é",
        lambda t: "é" + t,
        lambda t: t + "x",
    ],
    ids=["garbage", "tampered-signature", "unsigned", "non-ascii-signature", "non-ascii-body", "suffixed"],
)
def test_an_invalid_next_token_is_a_validation_error(qc: Any, mangle: Any) -> None:
    token = _next_token(qc)
    with pytest.raises(qc.exceptions.ValidationException, match="nextToken"):
        qc.list_knowledge_bases(nextToken=mangle(token))


@pytest.mark.parametrize(
    ("account", "region"), [("444455556666", "us-east-1"), (ACCOUNT, "eu-west-1")], ids=["account", "region"]
)
def test_a_next_token_is_refused_in_another_scope(
    make_client: ClientFactory, account: str, region: str
) -> None:
    token = _next_token(make_client(account=ACCOUNT))
    other = make_client(account=account, region=region)
    create(other, "kb-a")
    create(other, "kb-b")
    with pytest.raises(other.exceptions.ValidationException, match="nextToken"):
        other.list_knowledge_bases(nextToken=token)


def test_a_next_token_is_refused_by_another_list(qc: Any) -> None:
    """Tokens are bound to the operation that issued them, not only to account and region."""
    token = _next_token(qc)
    kb_id = create(qc, "answers", "QUICK_RESPONSES")["knowledgeBaseId"]
    with pytest.raises(qc.exceptions.ValidationException, match="nextToken"):
        qc.list_quick_responses(knowledgeBaseId=kb_id, nextToken=token)


@pytest.mark.parametrize("max_results", [0, 101, -1])
def test_max_results_outside_1_to_100_is_a_validation_error(qc_unvalidated: Any, max_results: int) -> None:
    with pytest.raises(qc_unvalidated.exceptions.ValidationException, match="maxResults"):
        qc_unvalidated.list_knowledge_bases(maxResults=max_results)


# --- DeleteKnowledgeBase ---------------------------------------------------------------------


def test_delete_removes_the_knowledge_base(qc: Any) -> None:
    kb_id = create(qc)["knowledgeBaseId"]
    keep = create(qc, "keep")["knowledgeBaseId"]
    response = qc.delete_knowledge_base(knowledgeBaseId=kb_id)
    assert status_of(response) == 204
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.get_knowledge_base(knowledgeBaseId=kb_id)
    assert listed_ids(qc) == [keep]


def test_delete_by_arn(qc: Any) -> None:
    created = create(qc)
    qc.delete_knowledge_base(knowledgeBaseId=created["knowledgeBaseArn"])
    assert listed_ids(qc) == []


def test_deleting_twice_is_not_found(qc: Any) -> None:
    kb_id = create(qc)["knowledgeBaseId"]
    qc.delete_knowledge_base(knowledgeBaseId=kb_id)
    with pytest.raises(qc.exceptions.ResourceNotFoundException) as err:
        qc.delete_knowledge_base(knowledgeBaseId=kb_id)
    assert err.value.response["resourceName"] == kb_id


def test_delete_takes_the_tags_with_it(qc: Any, target: Any) -> None:
    created = create(qc, tags={"team": "support"})
    qc.tag_resource(resourceArn=created["knowledgeBaseArn"], tags={"tier": "gold"})
    qc.delete_knowledge_base(knowledgeBaseId=created["knowledgeBaseId"])
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.list_tags_for_resource(resourceArn=created["knowledgeBaseArn"])
    if target.mock is not None:  # nothing is left behind in the store either
        with target.mock.runtime.store.read() as conn:
            assert conn.execute(select(func.count()).select_from(tag_table)).scalar_one() == 0


# --- Template URI ----------------------------------------------------------------------------


def test_template_uri_can_be_set_and_removed(qc: Any) -> None:
    kb_id = create(qc, kb_type="EXTERNAL")["knowledgeBaseId"]
    uri = "https://myorg.my.salesforce.com/{{Id}}"
    updated = qc.update_knowledge_base_template_uri(knowledgeBaseId=kb_id, templateUri=uri)["knowledgeBase"]
    assert updated["renderingConfiguration"] == {"templateUri": uri}
    assert updated["sourceConfiguration"] == SOURCES["EXTERNAL"]
    fetched = qc.get_knowledge_base(knowledgeBaseId=kb_id)["knowledgeBase"]
    assert fetched["renderingConfiguration"] == {"templateUri": uri}

    response = qc.remove_knowledge_base_template_uri(knowledgeBaseId=kb_id)
    assert status_of(response) == 204
    assert "renderingConfiguration" not in qc.get_knowledge_base(knowledgeBaseId=kb_id)["knowledgeBase"]


def test_updating_the_template_uri_replaces_it_and_moves_last_modified(qc: Any) -> None:
    created = create(qc, renderingConfiguration={"templateUri": "https://old.example/{{Id}}"})
    updated = qc.update_knowledge_base_template_uri(
        knowledgeBaseId=created["knowledgeBaseArn"], templateUri="https://new.example/{{Id}}"
    )["knowledgeBase"]
    assert updated["renderingConfiguration"] == {"templateUri": "https://new.example/{{Id}}"}
    assert updated["lastModifiedTime"] >= created["lastModifiedTime"]


def test_template_uri_of_an_unknown_knowledge_base_is_not_found(qc: Any) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.update_knowledge_base_template_uri(knowledgeBaseId=missing, templateUri="https://x/{{Id}}")
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.remove_knowledge_base_template_uri(knowledgeBaseId=missing)
