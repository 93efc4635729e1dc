"""TagResource, UntagResource and ListTagsForResource on knowledge bases, on both targets.

A resource holds at most 50 tags (AWS's tagging limit), keys beginning with `aws:` are
AWS's own, and an ARN that names nothing in the caller's account and region is not found.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

ClientFactory = Any
ACCOUNT = "111122223333"


def new_kb(qc: Any, name: str = "support", **extra: Any) -> str:
    arn: str = qc.create_knowledge_base(name=name, knowledgeBaseType="CUSTOM", **extra)["knowledgeBase"][
        "knowledgeBaseArn"
    ]
    return arn


def tags_of(qc: Any, arn: str) -> dict[str, str]:
    tags: dict[str, str] = qc.list_tags_for_resource(resourceArn=arn)["tags"]
    return tags


def many(count: int, prefix: str = "k") -> dict[str, str]:
    return {f"{prefix}{i}": f"v{i}" for i in range(count)}


def test_tags_given_at_create_are_listed_and_shown(qc: Any) -> None:
    arn = new_kb(qc, tags={"team": "support", "cost-center": "42"})
    assert tags_of(qc, arn) == {"team": "support", "cost-center": "42"}
    assert qc.get_knowledge_base(knowledgeBaseId=arn)["knowledgeBase"]["tags"] == tags_of(qc, arn)


def test_a_knowledge_base_without_tags_lists_none(qc: Any) -> None:
    assert tags_of(qc, new_kb(qc)) == {}


def test_tag_resource_adds_to_the_existing_tags(qc: Any) -> None:
    arn = new_kb(qc, tags={"team": "support"})
    qc.tag_resource(resourceArn=arn, tags={"tier": "gold", "region": "emea"})
    assert tags_of(qc, arn) == {"team": "support", "tier": "gold", "region": "emea"}
    summary = qc.list_knowledge_bases()["knowledgeBaseSummaries"][0]
    assert summary["tags"] == tags_of(qc, arn)


def test_tag_resource_overwrites_a_value(qc: Any) -> None:
    arn = new_kb(qc, tags={"team": "support"})
    qc.tag_resource(resourceArn=arn, tags={"team": "sales"})
    assert tags_of(qc, arn) == {"team": "sales"}


def test_untag_removes_only_the_named_keys(qc: Any) -> None:
    arn = new_kb(qc, tags={"a": "1", "b": "2", "c": "3"})
    qc.untag_resource(resourceArn=arn, tagKeys=["a", "c", "not-there"])
    assert tags_of(qc, arn) == {"b": "2"}


def test_tags_are_per_resource(qc: Any) -> None:
    first, second = new_kb(qc, "one", tags={"a": "1"}), new_kb(qc, "two", tags={"a": "2"})
    qc.untag_resource(resourceArn=first, tagKeys=["a"])
    assert tags_of(qc, first) == {}
    assert tags_of(qc, second) == {"a": "2"}


def test_fifty_tags_fit_and_the_fifty_first_is_too_many(qc: Any) -> None:
    arn = new_kb(qc, tags=many(30))
    qc.tag_resource(resourceArn=arn, tags=many(20, prefix="x"))
    assert len(tags_of(qc, arn)) == 50
    with pytest.raises(qc.exceptions.TooManyTagsException) as err:
        qc.tag_resource(resourceArn=arn, tags={"one-more": "v"})
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err.value.response["resourceName"] == arn
    assert len(tags_of(qc, arn)) == 50


def test_overwriting_at_fifty_tags_is_not_too_many(qc: Any) -> None:
    arn = new_kb(qc, tags=many(50))
    qc.tag_resource(resourceArn=arn, tags={"k0": "changed", "k49": "changed"})
    tags = tags_of(qc, arn)
    assert len(tags) == 50
    assert tags["k0"] == tags["k49"] == "changed"


def test_a_tag_request_over_the_limit_changes_nothing(qc: Any) -> None:
    arn = new_kb(qc, tags=many(40))
    with pytest.raises(qc.exceptions.TooManyTagsException):
        qc.tag_resource(resourceArn=arn, tags={**many(11, prefix="x"), "k0": "changed"})
    assert tags_of(qc, arn) == many(40)


def test_creating_with_more_than_fifty_tags_creates_nothing(qc: Any) -> None:
    with pytest.raises(qc.exceptions.TooManyTagsException):
        new_kb(qc, tags=many(51))
    assert qc.list_knowledge_bases()["knowledgeBaseSummaries"] == []


def test_untagging_frees_room_under_the_limit(qc: Any) -> None:
    arn = new_kb(qc, tags=many(50))
    qc.untag_resource(resourceArn=arn, tagKeys=["k0"])
    qc.tag_resource(resourceArn=arn, tags={"new": "v"})
    assert len(tags_of(qc, arn)) == 50


def test_unknown_arn_is_not_found_naming_it(qc: Any) -> None:
    arn = f"arn:aws:wisdom:us-east-1:{ACCOUNT}:knowledge-base/{uuid.uuid4()}"
    for call in (
        lambda: qc.list_tags_for_resource(resourceArn=arn),
        lambda: qc.tag_resource(resourceArn=arn, tags={"a": "1"}),
        lambda: qc.untag_resource(resourceArn=arn, tagKeys=["a"]),
    ):
        with pytest.raises(qc.exceptions.ResourceNotFoundException) as err:
            call()
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert err.value.response["resourceName"] == arn


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda arn: arn.replace(ACCOUNT, "444455556666"),
        lambda arn: arn.replace("us-east-1", "eu-west-1"),
        lambda arn: arn.replace("arn:aws:", "arn:aws-cn:"),
        lambda arn: arn.replace("knowledge-base/", "assistant/"),
        lambda arn: arn.replace("knowledge-base/", "widget/"),
        lambda arn: f"{arn}/{uuid.uuid4()}",
    ],
    ids=["other-account", "other-region", "other-partition", "other-type", "unknown-type", "child-path"],
)
def test_an_arn_naming_something_else_is_not_found(make_client: ClientFactory, rewrite: Any) -> None:
    qc = make_client(account=ACCOUNT)
    arn = rewrite(new_kb(qc))
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.list_tags_for_resource(resourceArn=arn)
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.tag_resource(resourceArn=arn, tags={"a": "1"})


@pytest.mark.parametrize(
    "arn",
    [
        "not-an-arn",
        f"arn:aws:wisdom:us-east-1:{ACCOUNT}:knowledge-base/support",
        f"arn:aws:s3:us-east-1:{ACCOUNT}:knowledge-base/{uuid.uuid4()}",
        f"arn:aws:wisdom:us-east-1:1234:knowledge-base/{uuid.uuid4()}",
    ],
    ids=["not-an-arn", "name-not-uuid", "other-service", "short-account"],
)
def test_an_arn_outside_the_models_pattern_is_a_validation_error(qc: Any, arn: str) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match="resourceArn"):
        qc.list_tags_for_resource(resourceArn=arn)
    with pytest.raises(qc.exceptions.ValidationException, match="resourceArn"):
        qc.tag_resource(resourceArn=arn, tags={"a": "1"})


def test_aws_prefixed_keys_are_reserved(qc: Any) -> None:
    arn = new_kb(qc, tags={"team": "support"})
    with pytest.raises(qc.exceptions.ValidationException, match="aws:"):
        qc.tag_resource(resourceArn=arn, tags={"aws:cloudformation:stack-name": "x", "ok": "y"})
    assert tags_of(qc, arn) == {"team": "support"}
    with pytest.raises(qc.exceptions.ValidationException, match="aws:"):
        new_kb(qc, "other", tags={"aws:owner": "me"})
    assert len(qc.list_knowledge_bases()["knowledgeBaseSummaries"]) == 1


@pytest.mark.parametrize(
    ("tags", "member"),
    [({"k" * 129: "v"}, "tags"), ({"k": "v" * 257}, "tags.k"), ({"k": ""}, "tags.k"), ({"!!": "v"}, "tags")],
    ids=["long-key", "long-value", "empty-value", "key-pattern"],
)
def test_tag_keys_and_values_follow_the_model(qc_unvalidated: Any, tags: dict[str, str], member: str) -> None:
    arn = new_kb(qc_unvalidated)
    with pytest.raises(qc_unvalidated.exceptions.ValidationException, match=f"at '{member}'"):
        qc_unvalidated.tag_resource(resourceArn=arn, tags=tags)
    assert tags_of(qc_unvalidated, arn) == {}


def test_untag_with_more_than_fifty_keys_is_a_validation_error(qc_unvalidated: Any) -> None:
    arn = new_kb(qc_unvalidated)
    with pytest.raises(qc_unvalidated.exceptions.ValidationException, match="tagKeys"):
        qc_unvalidated.untag_resource(resourceArn=arn, tagKeys=list(many(51)))
