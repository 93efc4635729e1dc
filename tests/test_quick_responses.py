"""CreateQuickResponse, GetQuickResponse, UpdateQuickResponse, DeleteQuickResponse, ListQuickResponses.

Quick responses live in QUICK_RESPONSES knowledge bases, are named by id or ARN, have a name
and shortcut key unique within their knowledge base, and count against a per-knowledge-base
quota. Markdown ones also show a plain-text rendering.
"""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from qconnect_local.config import Settings
from qconnect_local.service.quick_response_contents import markdown_to_plain
from qconnect_local.testing.mock import mock_qconnect

PLAIN = "application/x.quickresponse;format=plain"
MARKDOWN = "application/x.quickresponse;format=markdown"
DEFAULT_ACCOUNT = "123456789012"  # Settings.default_account: the tests' access key is no account id


def new_kb(qc: Any, kb_type: str = "QUICK_RESPONSES", name: str = "responses") -> dict[str, Any]:
    kb: dict[str, Any] = qc.create_knowledge_base(name=name, knowledgeBaseType=kb_type)["knowledgeBase"]
    return kb


def create(
    qc: Any, kb_id: str, name: str = "Greeting", content: str = "Hello!", **extra: Any
) -> dict[str, Any]:
    qr: dict[str, Any] = qc.create_quick_response(
        knowledgeBaseId=kb_id, name=name, content={"content": content}, **extra
    )["quickResponse"]
    return qr


def get(qc: Any, kb_id: str, qr_id: str) -> dict[str, Any]:
    qr: dict[str, Any] = qc.get_quick_response(knowledgeBaseId=kb_id, quickResponseId=qr_id)["quickResponse"]
    return qr


def error_of(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


# --- create and get ---------------------------------------------------------------------------


def test_create_fills_the_defaults_and_get_returns_the_same(qc: Any) -> None:
    kb = new_kb(qc)
    qr = create(qc, kb["knowledgeBaseId"])

    assert qr["name"] == "Greeting"
    assert qr["contentType"] == PLAIN
    assert qr["isActive"] is True
    assert qr["status"] == "CREATED"
    assert qr["contents"] == {"plainText": {"content": "Hello!"}}
    assert qr["lastModifiedBy"] == f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"
    assert qr["lastModifiedRegion"] == "us-east-1"
    assert qr["createdTime"] == qr["lastModifiedTime"]
    assert qr["knowledgeBaseArn"] == kb["knowledgeBaseArn"]
    assert qr["quickResponseArn"] == (
        f"arn:aws:wisdom:us-east-1:{DEFAULT_ACCOUNT}:quick-response/{kb['knowledgeBaseId']}/{qr['quickResponseId']}"
    )
    assert qr["tags"] == {}
    assert get(qc, kb["knowledgeBaseId"], qr["quickResponseId"]) == qr


def test_get_accepts_ids_and_arns_for_both_the_knowledge_base_and_the_quick_response(qc: Any) -> None:
    kb = new_kb(qc)
    qr = create(qc, kb["knowledgeBaseId"])
    for kb_ref in (kb["knowledgeBaseId"], kb["knowledgeBaseArn"]):
        for qr_ref in (qr["quickResponseId"], qr["quickResponseArn"]):
            assert get(qc, kb_ref, qr_ref) == qr


def test_every_member_given_at_create_is_kept(qc: Any) -> None:
    kb = new_kb(qc)
    grouping = {
        "criteria": "RoutingProfileArn",
        "values": ["arn:aws:connect:us-east-1:1:instance/i/routing-profile/r"],
    }
    qr = create(
        qc,
        kb["knowledgeBaseId"],
        description="Opening line",
        shortcutKey="hi",
        language="en_US",
        channels=["Chat", "Email"],
        isActive=False,
        groupingConfiguration=grouping,
        tags={"team": "support"},
    )
    fetched = get(qc, kb["knowledgeBaseId"], qr["quickResponseId"])
    assert fetched["description"] == "Opening line"
    assert fetched["shortcutKey"] == "hi"
    assert fetched["language"] == "en_US"
    assert fetched["channels"] == ["Chat", "Email"]
    assert fetched["isActive"] is False
    assert fetched["groupingConfiguration"] == grouping
    assert fetched["tags"] == {"team": "support"}


def test_a_markdown_quick_response_shows_markdown_and_derived_plain_text(qc: Any) -> None:
    kb = new_kb(qc)
    markdown = "## Returns\nWe **refund** within [30 days](https://example.com/returns)."
    qr = create(qc, kb["knowledgeBaseId"], content=markdown, contentType=MARKDOWN)

    assert get(qc, kb["knowledgeBaseId"], qr["quickResponseId"])["contents"] == {
        "markdown": {"content": markdown},
        "plainText": {"content": "Returns\nWe refund within 30 days (https://example.com/returns)."},
    }


@pytest.mark.parametrize(
    ("markdown", "plain"),
    [
        ("# Title", "Title"),
        ("### Closing ###", "Closing"),
        ("#hashtag stays", "#hashtag stays"),
        ("**bold**, __strong__, *em*, _em_ and ~~gone~~", "bold, strong, em, em and gone"),
        ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),
        ("[the site](https://example.com)", "the site (https://example.com)"),
        ("[https://example.com](https://example.com)", "https://example.com"),
        ("![logo](https://example.com/logo.png) Acme", "logo Acme"),
        ("Mail <mailto:help@example.com>", "Mail mailto:help@example.com"),
        ("- one\n* two\n  + nested", "one\ntwo\n  nested"),
        ("1. first\n2. second", "1. first\n2. second"),
        ("> quoted\n>> twice", "quoted\ntwice"),
        ("above\n---\nbelow", "above\n\nbelow"),
        ("use `**not bold**` here", "use **not bold** here"),
        ("```\n# not a heading\n**kept**\n```", "# not a heading\n**kept**"),
        (r"\*literal\* and \# too", "*literal* and # too"),
        ("Hi {{$.Attributes.first_name}}, **welcome**", "Hi {{$.Attributes.first_name}}, welcome"),
    ],
)
def test_plain_text_derivation_from_markdown(markdown: str, plain: str) -> None:
    assert markdown_to_plain(markdown) == plain


def test_same_client_token_and_input_returns_the_same_quick_response(qc: Any) -> None:
    kb = new_kb(qc)
    first = create(qc, kb["knowledgeBaseId"], clientToken="once")
    again = create(qc, kb["knowledgeBaseId"], clientToken="once")

    assert again == first
    assert len(qc.list_quick_responses(knowledgeBaseId=kb["knowledgeBaseId"])["quickResponseSummaries"]) == 1


def test_same_client_token_with_different_input_is_a_conflict(qc: Any) -> None:
    kb = new_kb(qc)
    create(qc, kb["knowledgeBaseId"], clientToken="once")
    code, _ = error_of(lambda: create(qc, kb["knowledgeBaseId"], content="Other", clientToken="once"))
    assert code == "ConflictException"


@pytest.mark.parametrize("member", ["name", "shortcutKey"])
def test_name_and_shortcut_key_are_unique_within_a_knowledge_base(qc: Any, member: str) -> None:
    kb, other_kb = new_kb(qc), new_kb(qc, name="other")
    create(qc, kb["knowledgeBaseId"], name="Greeting", shortcutKey="hi")
    clash = (
        {"name": "Greeting", "shortcutKey": "bye"}
        if member == "name"
        else {"name": "Other", "shortcutKey": "hi"}
    )

    code, message = error_of(lambda: create(qc, kb["knowledgeBaseId"], **clash))
    assert code == "ConflictException"
    assert member in message
    assert create(qc, other_kb["knowledgeBaseId"], **clash)["status"] == "CREATED"


def test_names_differing_only_in_case_are_different(qc: Any) -> None:
    kb = new_kb(qc)
    create(qc, kb["knowledgeBaseId"], name="Greeting")
    assert create(qc, kb["knowledgeBaseId"], name="greeting")["name"] == "greeting"


def test_only_quick_responses_knowledge_bases_hold_quick_responses(qc: Any) -> None:
    kb = new_kb(qc, "CUSTOM")
    kb_id = kb["knowledgeBaseId"]
    calls = [
        lambda: create(qc, kb_id),
        lambda: get(qc, kb_id, str(uuid.uuid4())),
        lambda: qc.list_quick_responses(knowledgeBaseId=kb_id),
        lambda: qc.update_quick_response(knowledgeBaseId=kb_id, quickResponseId=str(uuid.uuid4()), name="x"),
        lambda: qc.delete_quick_response(knowledgeBaseId=kb_id, quickResponseId=str(uuid.uuid4())),
        lambda: qc.search_quick_responses(knowledgeBaseId=kb_id, searchExpression={}),
    ]
    for call in calls:
        code, message = error_of(call)
        assert code == "ValidationException"
        assert "CUSTOM" in message and "QUICK_RESPONSES" in message


def test_an_unknown_knowledge_base_is_not_found(qc: Any) -> None:
    code, _ = error_of(lambda: create(qc, str(uuid.uuid4())))
    assert code == "ResourceNotFoundException"


def test_an_unknown_quick_response_is_not_found(qc: Any) -> None:
    kb = new_kb(qc)
    missing = str(uuid.uuid4())
    for call in (
        lambda: get(qc, kb["knowledgeBaseId"], missing),
        lambda: qc.update_quick_response(
            knowledgeBaseId=kb["knowledgeBaseId"], quickResponseId=missing, name="x"
        ),
        lambda: qc.delete_quick_response(knowledgeBaseId=kb["knowledgeBaseId"], quickResponseId=missing),
    ):
        assert error_of(call)[0] == "ResourceNotFoundException"


def test_a_quick_response_is_not_found_through_another_knowledge_base(qc: Any) -> None:
    kb, other_kb = new_kb(qc), new_kb(qc, name="other")
    qr = create(qc, kb["knowledgeBaseId"])
    for ref in (qr["quickResponseId"], qr["quickResponseArn"]):
        assert (
            error_of(lambda ref=ref: get(qc, other_kb["knowledgeBaseId"], ref))[0]
            == "ResourceNotFoundException"
        )


@pytest.mark.parametrize(
    ("member", "value", "named"), [("channels", ["Chat", "Voice"], "Voice"), ("language", "en", "en")]
)
def test_an_unsupported_channel_or_language_is_a_validation_error(
    qc: Any, member: str, value: Any, named: str
) -> None:
    kb = new_kb(qc)
    qr = create(qc, kb["knowledgeBaseId"])
    for call in (
        lambda: create(qc, kb["knowledgeBaseId"], name="Other", **{member: value}),
        lambda: qc.update_quick_response(
            knowledgeBaseId=kb["knowledgeBaseId"], quickResponseId=qr["quickResponseId"], **{member: value}
        ),
    ):
        code, message = error_of(call)
        assert code == "ValidationException"
        assert f"'{named}'" in message


def test_model_constraints_are_checked_by_the_server(qc_unvalidated: Any) -> None:
    kb = new_kb(qc_unvalidated)
    code, message = error_of(
        lambda: create(qc_unvalidated, kb["knowledgeBaseId"], shortcutKey="x" * 11, contentType="text/html")
    )
    assert code == "ValidationException"
    assert message.startswith("2 validation errors detected")


# --- quota ------------------------------------------------------------------------------------


def test_the_quota_counts_quick_responses_per_knowledge_base() -> None:
    with mock_qconnect(Settings(quick_response_quota=3, run_worker=False)):
        qc = boto3.client("qconnect", region_name="us-east-1")
        kb, other_kb = new_kb(qc), new_kb(qc, name="other")
        made = [create(qc, kb["knowledgeBaseId"], name=f"qr{i}") for i in range(3)]

        code, message = error_of(lambda: create(qc, kb["knowledgeBaseId"], name="qr3"))
        assert code == "ServiceQuotaExceededException"
        assert "3" in message
        assert create(qc, other_kb["knowledgeBaseId"], name="qr3")["status"] == "CREATED"

        qc.delete_quick_response(
            knowledgeBaseId=kb["knowledgeBaseId"], quickResponseId=made[0]["quickResponseId"]
        )
        assert create(qc, kb["knowledgeBaseId"], name="qr3")["status"] == "CREATED"


# --- update -----------------------------------------------------------------------------------


def test_update_changes_only_the_given_members_and_moves_last_modified(qc: Any, target: Any) -> None:
    kb = new_kb(qc)
    qr = create(qc, kb["knowledgeBaseId"], description="Opening line", shortcutKey="hi", channels=["Chat"])
    target.control("clock", {"advanceSeconds": 90})

    updated = qc.update_quick_response(
        knowledgeBaseId=kb["knowledgeBaseId"],
        quickResponseId=qr["quickResponseId"],
        name="Welcome",
        isActive=False,
    )["quickResponse"]

    assert updated["name"] == "Welcome"
    assert updated["isActive"] is False
    assert {k: updated[k] for k in ("description", "shortcutKey", "channels", "contents", "createdTime")} == {
        k: qr[k] for k in ("description", "shortcutKey", "channels", "contents", "createdTime")
    }
    assert (updated["lastModifiedTime"] - qr["lastModifiedTime"]).total_seconds() >= 90
    assert get(qc, kb["knowledgeBaseId"], qr["quickResponseArn"]) == updated


def test_update_can_replace_the_content_and_its_type(qc: Any) -> None:
    kb = new_kb(qc)
    qr = create(qc, kb["knowledgeBaseId"])
    updated = qc.update_quick_response(
        knowledgeBaseId=kb["knowledgeBaseId"],
        quickResponseId=qr["quickResponseId"],
        content={"content": "*Hello* again"},
        contentType=MARKDOWN,
    )["quickResponse"]
    assert updated["contents"] == {
        "markdown": {"content": "*Hello* again"},
        "plainText": {"content": "Hello again"},
    }


@pytest.mark.parametrize(
    ("member", "flag"),
    [
        ("description", "removeDescription"),
        ("shortcutKey", "removeShortcutKey"),
        ("groupingConfiguration", "removeGroupingConfiguration"),
    ],
)
def test_remove_flags_clear_their_member(qc: Any, member: str, flag: str) -> None:
    kb = new_kb(qc)
    grouping = {
        "criteria": "RoutingProfileArn",
        "values": ["arn:aws:connect:us-east-1:1:instance/i/routing-profile/r"],
    }
    qr = create(qc, kb["knowledgeBaseId"], description="d", shortcutKey="k", groupingConfiguration=grouping)

    updated = qc.update_quick_response(
        knowledgeBaseId=kb["knowledgeBaseId"], quickResponseId=qr["quickResponseId"], **{flag: True}
    )["quickResponse"]

    assert member not in updated
    kept = {"description", "shortcutKey", "groupingConfiguration"} - {member}
    assert all(updated[m] == qr[m] for m in kept)


def test_a_member_and_its_remove_flag_together_are_a_validation_error(qc: Any) -> None:
    kb = new_kb(qc)
    qr = create(qc, kb["knowledgeBaseId"], description="d")
    code, message = error_of(
        lambda: qc.update_quick_response(
            knowledgeBaseId=kb["knowledgeBaseId"],
            quickResponseId=qr["quickResponseId"],
            description="new",
            removeDescription=True,
        )
    )
    assert code == "ValidationException"
    assert "removeDescription" in message


def test_update_keeps_names_and_shortcut_keys_unique(qc: Any) -> None:
    kb = new_kb(qc)
    create(qc, kb["knowledgeBaseId"], name="Greeting", shortcutKey="hi")
    other = create(qc, kb["knowledgeBaseId"], name="Farewell", shortcutKey="bye")
    ids = {"knowledgeBaseId": kb["knowledgeBaseId"], "quickResponseId": other["quickResponseId"]}

    assert error_of(lambda: qc.update_quick_response(**ids, name="Greeting"))[0] == "ConflictException"
    assert error_of(lambda: qc.update_quick_response(**ids, shortcutKey="hi"))[0] == "ConflictException"
    # Its own name and key are no clash.
    assert (
        qc.update_quick_response(**ids, name="Farewell", shortcutKey="bye")["quickResponse"]["name"]
        == "Farewell"
    )
    # A removed shortcut key is free for another quick response.
    qc.update_quick_response(**ids, removeShortcutKey=True)
    assert create(qc, kb["knowledgeBaseId"], name="Later", shortcutKey="bye")["shortcutKey"] == "bye"


# --- delete -----------------------------------------------------------------------------------


def test_delete_answers_204_and_the_quick_response_is_gone(qc: Any) -> None:
    kb = new_kb(qc)
    qr = create(qc, kb["knowledgeBaseId"])
    response = qc.delete_quick_response(
        knowledgeBaseId=kb["knowledgeBaseId"], quickResponseId=qr["quickResponseArn"]
    )

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert (
        error_of(lambda: get(qc, kb["knowledgeBaseId"], qr["quickResponseId"]))[0]
        == "ResourceNotFoundException"
    )
    again = lambda: qc.delete_quick_response(  # noqa: E731
        knowledgeBaseId=kb["knowledgeBaseId"], quickResponseId=qr["quickResponseId"]
    )
    assert error_of(again)[0] == "ResourceNotFoundException"
    assert create(qc, kb["knowledgeBaseId"], name=qr["name"])["name"] == qr["name"]


def test_deleting_the_knowledge_base_deletes_its_quick_responses_and_their_tags(qc: Any) -> None:
    kb = new_kb(qc)
    qr = create(qc, kb["knowledgeBaseId"], tags={"team": "support"})
    qc.delete_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"])

    code, _ = error_of(lambda: qc.list_tags_for_resource(resourceArn=qr["quickResponseArn"]))
    assert code == "ResourceNotFoundException"
    # A new knowledge base of the same name starts empty.
    fresh = new_kb(qc)
    assert qc.list_quick_responses(knowledgeBaseId=fresh["knowledgeBaseId"])["quickResponseSummaries"] == []


# --- list -------------------------------------------------------------------------------------


def test_list_is_oldest_first_in_pages_of_summaries(qc: Any) -> None:
    kb = new_kb(qc)
    made = [create(qc, kb["knowledgeBaseId"], name=f"qr{i}", tags={"n": str(i)}) for i in range(5)]

    pages = qc.get_paginator("list_quick_responses").paginate(
        knowledgeBaseId=kb["knowledgeBaseId"], PaginationConfig={"PageSize": 2}
    )
    listed = [s for page in pages for s in page["quickResponseSummaries"]]

    assert [s["quickResponseId"] for s in listed] == [qr["quickResponseId"] for qr in made]
    first = listed[0]
    assert "contents" not in first
    assert first["tags"] == {"n": "0"}
    assert {k: first[k] for k in ("name", "contentType", "status", "isActive", "quickResponseArn")} == {
        k: made[0][k] for k in ("name", "contentType", "status", "isActive", "quickResponseArn")
    }


def test_list_shows_only_the_knowledge_bases_own_quick_responses(qc: Any) -> None:
    kb, other_kb = new_kb(qc), new_kb(qc, name="other")
    create(qc, kb["knowledgeBaseId"], name="mine")
    create(qc, other_kb["knowledgeBaseId"], name="theirs")
    summaries = qc.list_quick_responses(knowledgeBaseId=kb["knowledgeBaseArn"])["quickResponseSummaries"]
    assert [s["name"] for s in summaries] == ["mine"]


# --- tags -------------------------------------------------------------------------------------


def test_a_quick_response_can_be_tagged_and_untagged(qc: Any) -> None:
    kb = new_kb(qc)
    qr = create(qc, kb["knowledgeBaseId"], tags={"team": "support"})
    arn = qr["quickResponseArn"]

    qc.tag_resource(resourceArn=arn, tags={"tier": "gold"})
    assert qc.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "support", "tier": "gold"}
    assert get(qc, kb["knowledgeBaseId"], qr["quickResponseId"])["tags"] == {
        "team": "support",
        "tier": "gold",
    }

    qc.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert qc.list_tags_for_resource(resourceArn=arn)["tags"] == {"tier": "gold"}


def test_tagging_a_deleted_quick_response_is_not_found(qc: Any) -> None:
    kb = new_kb(qc)
    qr = create(qc, kb["knowledgeBaseId"])
    qc.delete_quick_response(knowledgeBaseId=kb["knowledgeBaseId"], quickResponseId=qr["quickResponseId"])
    code, _ = error_of(lambda: qc.tag_resource(resourceArn=qr["quickResponseArn"], tags={"a": "b"}))
    assert code == "ResourceNotFoundException"


def test_the_older_wisdom_client_sees_the_same_quick_responses(qc: Any, make_client: Any) -> None:
    wisdom = make_client("wisdom")
    kb = new_kb(qc)
    made = wisdom.create_quick_response(
        knowledgeBaseId=kb["knowledgeBaseId"], name="Greeting", content={"content": "Hello!"}
    )["quickResponse"]
    assert get(qc, kb["knowledgeBaseId"], made["quickResponseId"])["name"] == "Greeting"


def test_deleting_a_knowledge_base_leaves_no_tag_rows_of_its_quick_responses() -> None:
    from sqlalchemy import select

    from qconnect_local.store.schema import tags as tag_table
    from qconnect_local.testing.mock import mock_qconnect

    with mock_qconnect() as mock:
        qc = boto3.client("qconnect", region_name="us-east-1")
        kb = new_kb(qc)
        for i in range(3):
            create(qc, kb["knowledgeBaseId"], name=f"qr{i}", tags={"team": "support", "n": str(i)})
        other = qc.create_knowledge_base(name="other", knowledgeBaseType="QUICK_RESPONSES")["knowledgeBase"]
        create(qc, other["knowledgeBaseId"], name="kept", tags={"team": "other"})

        qc.delete_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"])

        with mock.runtime.store.read() as conn:
            arns = conn.execute(select(tag_table.c.resource_arn).distinct()).scalars().all()
            assert [arn.rsplit("/", 2)[1] for arn in arns] == [other["knowledgeBaseId"]]
