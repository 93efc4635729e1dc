"""Server-side validation, seen through a client that validates nothing itself.

botocore checks only `required`, `min` and unions before sending; everything else the model
states (max, pattern, enum, ranges) is answered by the service as one ValidationException
worded like AWS's: "N validation error(s) detected: Value '...' at '...' failed to satisfy
constraint: ...". A request that fails validation changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

ENUM = "[EXTERNAL, CUSTOM, QUICK_RESPONSES, MESSAGE_TEMPLATES, MANAGED]"
APP_INTEGRATION_ARN = (
    "arn:aws:app-integrations:us-east-1:111122223333:data-integration/6a1c4e5b-1f2e-4d3c-9b8a-7f6e5d4c3b2a"
)


def refusal(qc: Any, operation: str, **params: Any) -> str:
    """The message of the ValidationException `operation` answers (HTTP 400)."""
    with pytest.raises(qc.exceptions.ValidationException) as err:
        getattr(qc, operation)(**params)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    message: str = err.value.response["Error"]["Message"]
    return message


def nothing_created(qc: Any) -> bool:
    return qc.list_knowledge_bases()["knowledgeBaseSummaries"] == []


def test_over_long_name(qc_unvalidated: Any) -> None:
    name = "n" * 256
    message = refusal(qc_unvalidated, "create_knowledge_base", name=name, knowledgeBaseType="CUSTOM")
    assert message == (
        f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
        "Member must have length less than or equal to 255"
    )
    assert nothing_created(qc_unvalidated)


def test_name_of_exactly_255_characters_is_accepted(qc_unvalidated: Any) -> None:
    created = qc_unvalidated.create_knowledge_base(name="n" * 255, knowledgeBaseType="CUSTOM")
    assert created["knowledgeBase"]["name"] == "n" * 255


def test_bad_enum_value(qc_unvalidated: Any) -> None:
    message = refusal(qc_unvalidated, "create_knowledge_base", name="kb", knowledgeBaseType="WIKI")
    assert message == (
        "1 validation error detected: Value 'WIKI' at 'knowledgeBaseType' failed to satisfy constraint: "
        f"Member must satisfy enum value set: {ENUM}"
    )
    assert nothing_created(qc_unvalidated)


@pytest.mark.parametrize(
    ("value", "constraint"),
    [
        (0, "Member must have value greater than or equal to 1"),
        (101, "Member must have value less than or equal to 100"),
    ],
)
def test_max_results_out_of_range(qc_unvalidated: Any, value: int, constraint: str) -> None:
    message = refusal(qc_unvalidated, "list_knowledge_bases", maxResults=value)
    assert message == (
        f"1 validation error detected: Value '{value}' at 'maxResults' "
        f"failed to satisfy constraint: {constraint}"
    )


def test_max_results_at_the_bounds_is_accepted(qc_unvalidated: Any) -> None:
    for value in (1, 100):
        assert qc_unvalidated.list_knowledge_bases(maxResults=value)["knowledgeBaseSummaries"] == []


def test_pattern_violation(qc_unvalidated: Any) -> None:
    message = refusal(qc_unvalidated, "create_knowledge_base", name="!!!", knowledgeBaseType="CUSTOM")
    assert message.startswith(
        "1 validation error detected: Value '!!!' at 'name' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: "
    )
    assert nothing_created(qc_unvalidated)


def test_pattern_violation_in_a_path_label(qc_unvalidated: Any) -> None:
    message = refusal(qc_unvalidated, "get_knowledge_base", knowledgeBaseId="not-a-uuid")
    assert "Value 'not-a-uuid' at 'knowledgeBaseId' failed to satisfy constraint" in message


def test_several_violations_are_reported_together_with_their_count(qc_unvalidated: Any) -> None:
    name = "n" * 256
    message = refusal(
        qc_unvalidated, "create_knowledge_base", name=name, knowledgeBaseType="WIKI", description="d" * 256
    )
    assert message.startswith("3 validation errors detected: ")
    violations = message.removeprefix("3 validation errors detected: ").split("; ")
    assert len(violations) == 3
    assert any(f"Value '{name}' at 'name'" in v for v in violations)
    assert any("Value 'WIKI' at 'knowledgeBaseType'" in v for v in violations)
    assert any("at 'description'" in v for v in violations)


def test_two_violations_name_the_count_two(qc_unvalidated: Any) -> None:
    message = refusal(qc_unvalidated, "create_knowledge_base", name="n" * 256, knowledgeBaseType="WIKI")
    assert message.startswith("2 validation errors detected: Value ")


def test_violations_inside_nested_structures_name_their_path(qc_unvalidated: Any) -> None:
    message = refusal(
        qc_unvalidated,
        "create_knowledge_base",
        name="kb",
        knowledgeBaseType="EXTERNAL",
        sourceConfiguration={"appIntegrations": {"appIntegrationArn": "a" * 2049}},
    )
    assert "at 'sourceConfiguration.appIntegrations.appIntegrationArn'" in message
    assert "Member must have length less than or equal to 2048" in message


def test_a_union_with_two_members_set(qc_unvalidated: Any) -> None:
    message = refusal(
        qc_unvalidated,
        "create_knowledge_base",
        name="kb",
        knowledgeBaseType="EXTERNAL",
        sourceConfiguration={
            "appIntegrations": {"appIntegrationArn": APP_INTEGRATION_ARN},
            "managedSourceConfiguration": {
                "webCrawlerConfiguration": {"urlConfiguration": {"seedUrls": [{"url": "https://a.example/"}]}}
            },
        },
    )
    assert message == (
        "1 validation error detected: Value at 'sourceConfiguration' failed to satisfy constraint: "
        "Union must have exactly one member set, but 2 were set"
    )
    assert nothing_created(qc_unvalidated)


def test_a_missing_required_member(qc_unvalidated: Any) -> None:
    message = refusal(qc_unvalidated, "create_knowledge_base", name="kb")
    assert message == (
        "1 validation error detected: Value null at 'knowledgeBaseType' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_validation_comes_before_existence(qc_unvalidated: Any) -> None:
    """A malformed id is a ValidationException even though nothing by that id exists either."""
    refusal(qc_unvalidated, "delete_knowledge_base", knowledgeBaseId="support")
    with pytest.raises(qc_unvalidated.exceptions.ResourceNotFoundException):
        qc_unvalidated.delete_knowledge_base(knowledgeBaseId=str(uuid.uuid4()))


def test_a_value_of_the_wrong_json_type_is_a_serialization_error(qc_unvalidated: Any) -> None:
    with pytest.raises(qc_unvalidated.exceptions.ClientError) as err:
        qc_unvalidated.create_knowledge_base(name=42, knowledgeBaseType="CUSTOM")
    assert err.value.response["Error"]["Code"] == "SerializationException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert nothing_created(qc_unvalidated)
