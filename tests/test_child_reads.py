"""A Get below a knowledge base reads the child and its knowledge base in one query
(`resources.load_with_parent`); what a client sees is still what reading the knowledge base
first, then the child, gives: the same rows, and the same error when several things are wrong."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from conftest import Target

Get = Callable[[Any, str, str], Any]

GETS: dict[str, tuple[str, Get]] = {
    "quick response": (
        "QUICK_RESPONSES",
        lambda qc, kb, child: qc.get_quick_response(knowledgeBaseId=kb, quickResponseId=child),
    ),
    "content": ("CUSTOM", lambda qc, kb, child: qc.get_content(knowledgeBaseId=kb, contentId=child)),
    "content summary": (
        "CUSTOM",
        lambda qc, kb, child: qc.get_content_summary(knowledgeBaseId=kb, contentId=child),
    ),
    "import job": (
        "QUICK_RESPONSES",
        lambda qc, kb, child: qc.get_import_job(knowledgeBaseId=kb, importJobId=child),
    ),
}


def error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def new_kb(qc: Any, kb_type: str, name: str = "kb") -> dict[str, Any]:
    return qc.create_knowledge_base(name=name, knowledgeBaseType=kb_type)["knowledgeBase"]


@pytest.mark.parametrize("family", GETS)
def test_a_missing_knowledge_base_is_reported_before_a_missing_child(target: Target, family: str) -> None:
    qc = target.client()
    missing_kb = str(uuid.uuid4())
    code, message = error(lambda: GETS[family][1](qc, missing_kb, str(uuid.uuid4())))
    assert code == "ResourceNotFoundException"
    assert missing_kb in message and message.startswith("Knowledge base not found")


@pytest.mark.parametrize("family", GETS)
def test_a_knowledge_base_of_the_wrong_type_is_reported_before_a_missing_child(
    target: Target, family: str
) -> None:
    qc = target.client()
    kb_type, get = GETS[family]
    wrong = {"QUICK_RESPONSES": "CUSTOM", "CUSTOM": "QUICK_RESPONSES"}[kb_type]
    kb = new_kb(qc, wrong)
    code, message = error(lambda: get(qc, kb["knowledgeBaseId"], str(uuid.uuid4())))
    if family == "import job":  # import jobs live in any knowledge base: only the job is missing
        assert (code, message.split(":")[0]) == ("ResourceNotFoundException", "Import job not found")
    else:
        assert code == "ValidationException" and wrong in message


def test_the_knowledge_base_of_another_account_is_not_found_even_with_the_right_ids(target: Target) -> None:
    owner, other = target.client(account="111111111111"), target.client(account="222222222222")
    kb = new_kb(owner, "QUICK_RESPONSES")
    qr = owner.create_quick_response(
        knowledgeBaseId=kb["knowledgeBaseId"], name="hi", content={"content": "Hi"}
    )
    get = GETS["quick response"][1]
    qr_id = qr["quickResponse"]["quickResponseId"]
    assert get(owner, kb["knowledgeBaseId"], qr_id)["quickResponse"]["name"] == "hi"
    code, message = error(lambda: get(other, kb["knowledgeBaseId"], qr_id))
    assert code == "ResourceNotFoundException" and message.startswith("Knowledge base not found")


def test_a_child_arn_of_another_knowledge_base_is_not_found_and_a_missing_parent_still_comes_first(
    target: Target,
) -> None:
    qc = target.client()
    kb, other = new_kb(qc, "QUICK_RESPONSES"), new_kb(qc, "QUICK_RESPONSES", name="other")
    qr = qc.create_quick_response(
        knowledgeBaseId=kb["knowledgeBaseId"], name="hi", content={"content": "Hi"}
    )["quickResponse"]
    get = GETS["quick response"][1]
    code, message = error(lambda: get(qc, other["knowledgeBaseId"], qr["quickResponseArn"]))
    assert code == "ResourceNotFoundException" and message.startswith("Quick response not found")
    code, message = error(lambda: get(qc, str(uuid.uuid4()), qr["quickResponseArn"]))
    assert code == "ResourceNotFoundException" and message.startswith("Knowledge base not found")
    # Through its own knowledge base, by id or ARN on either side, it is the same quick response.
    for kb_ref in (kb["knowledgeBaseId"], kb["knowledgeBaseArn"]):
        for qr_ref in (qr["quickResponseId"], qr["quickResponseArn"]):
            assert (
                get(qc, kb_ref, qr_ref)["quickResponse"]
                == get(qc, kb["knowledgeBaseId"], qr["quickResponseId"])["quickResponse"]
            )
