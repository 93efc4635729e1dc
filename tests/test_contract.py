"""The contract every resource family keeps, run over every family and every target.

A family joins by adding a `Family` entry below: how to make a parent, create one, get it,
list a page, and delete it. The contract is what the shared resource layer promises: get by
id and by ARN, clientToken idempotency, keyset pages that stay exact while items come and go,
tags, isolation between accounts and regions, and deletion with the parent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from conftest import Target
from documents import upload_file
from polling import poll

GUIDE = {
    "amazonConnectGuideAssociation": {"flowId": "arn:aws:connect:us-east-1:123456789012:instance/i/flow/f"}
}

Parent = dict[str, str]


@dataclass(frozen=True)
class Family:
    name: str
    id_key: str  # the member naming the resource in its data and its operations
    arn_key: str
    make_parent: Callable[[Target, Any], Parent]
    create: Callable[[Target, Any, Parent, str, dict[str, Any]], dict[str, Any]]
    get: Callable[[Any, Parent, str], dict[str, Any]]
    list_page: Callable[[Any, Parent, dict[str, Any]], tuple[list[dict[str, Any]], str | None]]
    delete: Callable[[Any, Parent, str], None]
    many: bool = True  # a parent may hold several (content associations: one per content)
    top_level: bool = False
    deletable: bool = True  # sessions have no delete operation (they go with their assistant)
    listed_with_tags: bool = True  # SessionSummary carries no tags
    holds: int = 5  # how many the page test makes in one parent (at most the family's quota)
    delete_parent: Callable[[Any, Parent], None] = lambda qc, p: qc.delete_knowledge_base(
        knowledgeBaseId=p["knowledgeBaseId"]
    )

    def __str__(self) -> str:
        return self.name


def _no_parent(_target: Target, _qc: Any) -> Parent:
    return {}


def _quick_response_kb(_target: Target, qc: Any) -> Parent:
    kb = qc.create_knowledge_base(name="contract-qr", knowledgeBaseType="QUICK_RESPONSES")["knowledgeBase"]
    return {"knowledgeBaseId": kb["knowledgeBaseId"]}


def _custom_kb(_target: Target, qc: Any) -> Parent:
    kb = qc.create_knowledge_base(name="contract-docs", knowledgeBaseType="CUSTOM")["knowledgeBase"]
    return {"knowledgeBaseId": kb["knowledgeBaseId"]}


def _content(target: Target, qc: Any) -> Parent:
    parent = _custom_kb(target, qc)
    upload_id = upload_file(target, qc, parent["knowledgeBaseId"], b"text")
    content = qc.create_content(name="guided", uploadId=upload_id, **parent)["content"]
    return {**parent, "contentId": content["contentId"]}


def _message_template_kb(_target: Target, qc: Any) -> Parent:
    kb = qc.create_knowledge_base(name="contract-mt", knowledgeBaseType="MESSAGE_TEMPLATES")["knowledgeBase"]
    return {"knowledgeBaseId": kb["knowledgeBaseId"]}


def _assistant(_target: Target, qc: Any) -> Parent:
    assistant = qc.create_assistant(name="contract-assistant", type="AGENT")["assistant"]
    return {"assistantId": assistant["assistantId"]}


def _delete_assistant(qc: Any, parent: Parent) -> None:
    qc.delete_assistant(assistantId=parent["assistantId"])


def _associate_new_kb(qc: Any, parent: Parent, name: str, extra: dict[str, Any]) -> dict[str, Any]:
    """An association with the knowledge base named after it (one association per knowledge
    base), created the first time: a replay sends the same input."""
    kbs = {kb["name"]: kb for kb in qc.list_knowledge_bases()["knowledgeBaseSummaries"]}
    kb = (
        kbs.get(f"kb-{name}")
        or qc.create_knowledge_base(name=f"kb-{name}", knowledgeBaseType="CUSTOM")["knowledgeBase"]
    )
    return qc.create_assistant_association(
        associationType="KNOWLEDGE_BASE",
        association={"knowledgeBaseId": kb["knowledgeBaseId"]},
        **parent,
        **extra,
    )["assistantAssociation"]


def _gone(get: Callable[[], Any], qc: Any) -> None:
    """Wait until `get` answers ResourceNotFoundException (deletes that finish asynchronously)."""

    def found() -> bool:
        try:
            get()
        except qc.exceptions.ResourceNotFoundException:
            return False
        return True

    poll(found, lambda still_there: not still_there, what="the delete")


def _delete_content(qc: Any, parent: Parent, content_id: str) -> None:
    qc.delete_content(contentId=content_id, **parent)
    _gone(lambda: qc.get_content(contentId=content_id, **parent), qc)


def _page(result: dict[str, Any], key: str) -> tuple[list[dict[str, Any]], str | None]:
    return result[key], result.get("nextToken")


ANSWER_PROMPT = "prompt: |\n  Answer {{$.query}} from {{$.contentExcerpt}}\n"


def _create_ai_prompt(qc: Any, parent: Parent, name: str, extra: dict[str, Any]) -> dict[str, Any]:
    return qc.create_ai_prompt(
        name=name,
        type="ANSWER_GENERATION",
        templateType="TEXT",
        apiFormat="TEXT_COMPLETIONS",
        modelId="us.amazon.nova-pro-v1:0",
        visibilityStatus="PUBLISHED",
        templateConfiguration={"textFullAIPromptEditTemplateConfiguration": {"text": ANSWER_PROMPT}},
        **parent,
        **extra,
    )["aiPrompt"]


FAMILIES = [
    Family(
        "knowledge-base",
        "knowledgeBaseId",
        "knowledgeBaseArn",
        _no_parent,
        lambda _t, qc, _p, name, extra: qc.create_knowledge_base(
            name=name, knowledgeBaseType="CUSTOM", **extra
        )["knowledgeBase"],
        lambda qc, _p, ident: qc.get_knowledge_base(knowledgeBaseId=ident)["knowledgeBase"],
        lambda qc, _p, page: _page(qc.list_knowledge_bases(**page), "knowledgeBaseSummaries"),
        lambda qc, _p, ident: qc.delete_knowledge_base(knowledgeBaseId=ident),
        top_level=True,
    ),
    Family(
        "quick-response",
        "quickResponseId",
        "quickResponseArn",
        _quick_response_kb,
        lambda _t, qc, p, name, extra: qc.create_quick_response(
            name=name, content={"content": name}, **p, **extra
        )["quickResponse"],
        lambda qc, p, ident: qc.get_quick_response(quickResponseId=ident, **p)["quickResponse"],
        lambda qc, p, page: _page(qc.list_quick_responses(**p, **page), "quickResponseSummaries"),
        lambda qc, p, ident: qc.delete_quick_response(quickResponseId=ident, **p),
    ),
    Family(
        "content",
        "contentId",
        "contentArn",
        _custom_kb,
        lambda t, qc, p, name, extra: qc.create_content(
            name=name, uploadId=upload_file(t, qc, p["knowledgeBaseId"], name.encode()), **p, **extra
        )["content"],
        lambda qc, p, ident: qc.get_content(contentId=ident, **p)["content"],
        lambda qc, p, page: _page(qc.list_contents(**p, **page), "contentSummaries"),
        lambda qc, p, ident: _delete_content(qc, p, ident),
    ),
    Family(
        "content-association",
        "contentAssociationId",
        "contentAssociationArn",
        _content,
        lambda _t, qc, p, _name, extra: qc.create_content_association(
            associationType="AMAZON_CONNECT_GUIDE", association=GUIDE, **p, **extra
        )["contentAssociation"],
        lambda qc, p, ident: qc.get_content_association(contentAssociationId=ident, **p)[
            "contentAssociation"
        ],
        lambda qc, p, page: _page(qc.list_content_associations(**p, **page), "contentAssociationSummaries"),
        lambda qc, p, ident: qc.delete_content_association(contentAssociationId=ident, **p),
        many=False,
    ),
    Family(
        "message-template",
        "messageTemplateId",
        "messageTemplateArn",
        _message_template_kb,
        lambda _t, qc, p, name, extra: qc.create_message_template(
            name=name,
            channelSubtype="SMS",
            content={"sms": {"body": {"plainText": {"content": name}}}},
            **p,
            **extra,
        )["messageTemplate"],
        lambda qc, p, ident: qc.get_message_template(messageTemplateId=ident, **p)["messageTemplate"],
        lambda qc, p, page: _page(qc.list_message_templates(**p, **page), "messageTemplateSummaries"),
        lambda qc, p, ident: qc.delete_message_template(messageTemplateId=ident, **p),
    ),
    Family(
        "assistant",
        "assistantId",
        "assistantArn",
        _no_parent,
        lambda _t, qc, _p, name, extra: qc.create_assistant(name=name, type="AGENT", **extra)["assistant"],
        lambda qc, _p, ident: qc.get_assistant(assistantId=ident)["assistant"],
        lambda qc, _p, page: _page(qc.list_assistants(**page), "assistantSummaries"),
        lambda qc, _p, ident: qc.delete_assistant(assistantId=ident),
        top_level=True,
    ),
    Family(
        "assistant-association",
        "assistantAssociationId",
        "assistantAssociationArn",
        _assistant,
        lambda _t, qc, p, name, extra: _associate_new_kb(qc, p, name, extra),
        lambda qc, p, ident: qc.get_assistant_association(assistantAssociationId=ident, **p)[
            "assistantAssociation"
        ],
        lambda qc, p, page: _page(
            qc.list_assistant_associations(**p, **page), "assistantAssociationSummaries"
        ),
        lambda qc, p, ident: qc.delete_assistant_association(assistantAssociationId=ident, **p),
        delete_parent=_delete_assistant,
    ),
    Family(
        "ai-prompt",
        "aiPromptId",
        "aiPromptArn",
        _assistant,
        lambda _t, qc, p, name, extra: _create_ai_prompt(qc, p, name, extra),
        lambda qc, p, ident: qc.get_ai_prompt(aiPromptId=ident, **p)["aiPrompt"],
        lambda qc, p, page: _page(qc.list_ai_prompts(origin="CUSTOMER", **p, **page), "aiPromptSummaries"),
        lambda qc, p, ident: qc.delete_ai_prompt(aiPromptId=ident, **p),
        delete_parent=_delete_assistant,
    ),
    Family(
        "ai-agent",
        "aiAgentId",
        "aiAgentArn",
        _assistant,
        lambda _t, qc, p, name, extra: qc.create_ai_agent(
            name=name,
            type="MANUAL_SEARCH",
            visibilityStatus="PUBLISHED",
            configuration={"manualSearchAIAgentConfiguration": {}},
            **p,
            **extra,
        )["aiAgent"],
        lambda qc, p, ident: qc.get_ai_agent(aiAgentId=ident, **p)["aiAgent"],
        lambda qc, p, page: _page(qc.list_ai_agents(origin="CUSTOMER", **p, **page), "aiAgentSummaries"),
        lambda qc, p, ident: qc.delete_ai_agent(aiAgentId=ident, **p),
        delete_parent=_delete_assistant,
    ),
    Family(
        "ai-guardrail",
        "aiGuardrailId",
        "aiGuardrailArn",
        _assistant,
        lambda _t, qc, p, name, extra: qc.create_ai_guardrail(
            name=name,
            blockedInputMessaging="No.",
            blockedOutputsMessaging="No.",
            visibilityStatus="SAVED",
            **p,
            **extra,
        )["aiGuardrail"],
        lambda qc, p, ident: qc.get_ai_guardrail(aiGuardrailId=ident, **p)["aiGuardrail"],
        lambda qc, p, page: _page(qc.list_ai_guardrails(**p, **page), "aiGuardrailSummaries"),
        lambda qc, p, ident: qc.delete_ai_guardrail(aiGuardrailId=ident, **p),
        delete_parent=_delete_assistant,
        holds=3,  # the quota of custom guardrails
    ),
    Family(
        "session",
        "sessionId",
        "sessionArn",
        _assistant,
        lambda _t, qc, p, name, extra: qc.create_session(name=name, **p, **extra)["session"],
        lambda qc, p, ident: qc.get_session(sessionId=ident, **p)["session"],
        lambda qc, p, page: _page(
            qc.search_sessions(searchExpression={"filters": []}, **p, **page), "sessionSummaries"
        ),
        lambda qc, p, ident: None,
        deletable=False,
        listed_with_tags=False,
        delete_parent=_delete_assistant,
    ),
]


@pytest.fixture(params=FAMILIES, ids=str)
def family(request: pytest.FixtureRequest) -> Family:
    fam: Family = request.param
    return fam


def test_a_created_resource_is_found_by_its_id_and_by_its_arn(
    target: Target, qc: Any, family: Family
) -> None:
    parent = family.make_parent(target, qc)
    made = family.create(target, qc, parent, "one", {})
    by_id = family.get(qc, parent, made[family.id_key])
    by_arn = family.get(qc, parent, made[family.arn_key])
    assert by_id[family.id_key] == by_arn[family.id_key] == made[family.id_key]
    assert by_id[family.arn_key] == made[family.arn_key]
    assert made[family.arn_key].startswith("arn:aws:wisdom:us-east-1:")
    assert made[family.arn_key].endswith(made[family.id_key])


def test_an_unknown_id_or_a_foreign_arn_is_not_found(target: Target, qc: Any, family: Family) -> None:
    parent = family.make_parent(target, qc)
    made = family.create(target, qc, parent, "one", {})
    missing = "00000000-0000-4000-8000-000000000000"
    foreign_region = made[family.arn_key].replace(":us-east-1:", ":eu-west-1:")
    foreign_account = made[family.arn_key].replace(":123456789012:", ":210987654321:")
    for ident in (missing, foreign_region, foreign_account):
        with pytest.raises(qc.exceptions.ResourceNotFoundException):
            family.get(qc, parent, ident)


def test_a_client_token_replays_the_first_create(target: Target, qc: Any, family: Family) -> None:
    parent = family.make_parent(target, qc)
    first = family.create(target, qc, parent, "same", {"clientToken": "token-1"})
    if family.name != "content":  # a content needs a new upload each time, so its input differs
        again = family.create(target, qc, parent, "same", {"clientToken": "token-1"})
        assert again[family.id_key] == first[family.id_key]
    with pytest.raises(qc.exceptions.ConflictException):
        family.create(target, qc, parent, "different", {"clientToken": "token-1", "tags": {"k": "v"}})


# A parent holds one content association at most: there is nothing to page through. Pages are
# checked with a delete in the middle: a family without one is checked below.
@pytest.mark.parametrize("family", [f for f in FAMILIES if f.many and f.deletable], ids=str)
def test_pages_stay_exact_while_resources_come_and_go(target: Target, qc: Any, family: Family) -> None:
    parent = family.make_parent(target, qc)
    made = [family.create(target, qc, parent, f"item-{i}", {})[family.id_key] for i in range(family.holds)]
    first, token = family.list_page(qc, parent, {"maxResults": 2})
    assert token is not None
    seen = [item[family.id_key] for item in first]
    family.delete(qc, parent, made[-1])  # not served yet: must not appear
    added = family.create(target, qc, parent, "item-late", {})[family.id_key]  # after the token: must appear
    while token is not None:
        page, token = family.list_page(qc, parent, {"maxResults": 2, "nextToken": token})
        seen += [item[family.id_key] for item in page]
    expected = [*made[:-1], added]
    if family.top_level:
        seen = [ident for ident in seen if ident in set(made) | {added}]
    assert seen == expected


def test_tags_are_added_listed_and_removed(target: Target, qc: Any, family: Family) -> None:
    parent = family.make_parent(target, qc)
    made = family.create(target, qc, parent, "tagged", {"tags": {"team": "care"}})
    arn = made[family.arn_key]
    qc.tag_resource(resourceArn=arn, tags={"stage": "beta"})
    assert qc.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "care", "stage": "beta"}
    assert family.get(qc, parent, made[family.id_key])["tags"] == {"team": "care", "stage": "beta"}
    qc.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert qc.list_tags_for_resource(resourceArn=arn)["tags"] == {"stage": "beta"}
    if not family.listed_with_tags:
        return
    listed, _token = family.list_page(qc, parent, {})
    assert [item.get("tags") for item in listed if item[family.id_key] == made[family.id_key]] == [
        {"stage": "beta"}
    ]


def test_other_accounts_and_regions_see_nothing(target: Target, qc: Any, family: Family) -> None:
    parent = family.make_parent(target, qc)
    made = family.create(target, qc, parent, "mine", {})
    for other in (target.client(account="210987654321"), target.client(region="eu-west-1")):
        with pytest.raises(other.exceptions.ResourceNotFoundException):
            family.get(other, parent, made[family.id_key])
        with pytest.raises(other.exceptions.ResourceNotFoundException):
            other.list_tags_for_resource(resourceArn=made[family.arn_key])


@pytest.mark.parametrize("family", [f for f in FAMILIES if f.deletable], ids=str)
def test_deleting_removes_the_resource_and_its_tags(target: Target, qc: Any, family: Family) -> None:
    parent = family.make_parent(target, qc)
    made = family.create(target, qc, parent, "doomed", {"tags": {"a": "b"}})
    family.delete(qc, parent, made[family.id_key])
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        family.get(qc, parent, made[family.id_key])
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.list_tags_for_resource(resourceArn=made[family.arn_key])


@pytest.mark.parametrize("family", [f for f in FAMILIES if not f.top_level], ids=str)
def test_deleting_the_parent_deletes_what_it_holds(target: Target, qc: Any, family: Family) -> None:
    parent = family.make_parent(target, qc)
    made = family.create(target, qc, parent, "held", {"tags": {"a": "b"}})
    family.delete_parent(qc, parent)
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        family.get(qc, parent, made[family.id_key])
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.list_tags_for_resource(resourceArn=made[family.arn_key])


@pytest.mark.parametrize("family", [f for f in FAMILIES if not f.deletable], ids=str)
def test_pages_of_a_family_without_deletes_stay_exact_as_more_are_added(
    target: Target, qc: Any, family: Family
) -> None:
    parent = family.make_parent(target, qc)
    made = [family.create(target, qc, parent, f"item-{i}", {})[family.id_key] for i in range(5)]
    first, token = family.list_page(qc, parent, {"maxResults": 2})
    seen = [item[family.id_key] for item in first]
    added = family.create(target, qc, parent, "item-late", {})[family.id_key]
    while token is not None:
        page, token = family.list_page(qc, parent, {"maxResults": 2, "nextToken": token})
        seen += [item[family.id_key] for item in page]
    assert seen == [*made, added]
