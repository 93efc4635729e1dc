"""Sessions: one per contact, with its tag filter, its custom data and a name to search by."""

from __future__ import annotations

from typing import Any

import pytest

TAG_FILTER = {
    "orConditions": [{"tagCondition": {"key": "tier", "value": "gold"}}, {"tagCondition": {"key": "vip"}}]
}


@pytest.fixture
def assistant_id(qc: Any) -> str:
    result: str = qc.create_assistant(name="support", type="AGENT")["assistant"]["assistantId"]
    return result


def test_a_session_is_created_by_the_customer_and_read_back(qc: Any, assistant_id: str) -> None:
    made = qc.create_session(
        assistantId=assistant_id, name="contact-1", description="chat", tagFilter=TAG_FILTER, tags={"k": "v"}
    )["session"]
    assert made["origin"] == "CUSTOMER"
    assert made["tagFilter"] == TAG_FILTER
    assert made["sessionArn"].endswith(f":session/{assistant_id}/{made['sessionId']}")
    assert qc.get_session(assistantId=assistant_id, sessionId=made["sessionId"])["session"] == made
    assert qc.get_session(assistantId=assistant_id, sessionId=made["sessionArn"])["session"] == made


def test_a_session_of_another_assistant_is_not_found(qc: Any, assistant_id: str) -> None:
    session_id = qc.create_session(assistantId=assistant_id, name="c")["session"]["sessionId"]
    other = qc.create_assistant(name="other", type="AGENT")["assistant"]["assistantId"]
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.get_session(assistantId=other, sessionId=session_id)


def test_a_malformed_tag_filter_is_refused(qc_unvalidated: Any, assistant_id: str) -> None:
    with pytest.raises(qc_unvalidated.exceptions.ValidationException):
        qc_unvalidated.create_session(
            assistantId=assistant_id, name="c", tagFilter={"tagCondition": {"key": "a"}, "andConditions": []}
        )


def test_update_session_replaces_the_members_it_is_given(qc: Any, assistant_id: str) -> None:
    made = qc.create_session(assistantId=assistant_id, name="c", description="before", tagFilter=TAG_FILTER)[
        "session"
    ]
    narrower = {"tagCondition": {"key": "tier", "value": "silver"}}
    updated = qc.update_session(assistantId=assistant_id, sessionId=made["sessionId"], tagFilter=narrower)[
        "session"
    ]
    assert updated["tagFilter"] == narrower
    assert updated["description"] == "before"
    updated = qc.update_session(assistantId=assistant_id, sessionId=made["sessionId"], description="after")[
        "session"
    ]
    assert updated["description"] == "after"
    assert updated["tagFilter"] == narrower


def test_orchestrator_configuration_can_be_set_and_removed(qc: Any, assistant_id: str) -> None:
    orchestrators = [{"orchestratorUseCase": "Connect.SelfService"}]
    made = qc.create_session(assistantId=assistant_id, name="c", orchestratorConfigurationList=orchestrators)
    session_id = made["session"]["sessionId"]
    assert made["session"]["orchestratorConfigurationList"] == orchestrators
    updated = qc.update_session(
        assistantId=assistant_id, sessionId=session_id, removeOrchestratorConfigurationList=True
    )["session"]
    assert "orchestratorConfigurationList" not in updated


def test_session_data_is_upserted_by_key(qc: Any, assistant_id: str) -> None:
    session_id = qc.create_session(assistantId=assistant_id, name="c")["session"]["sessionId"]
    first = qc.update_session_data(
        assistantId=assistant_id,
        sessionId=session_id,
        data=[
            {"key": "productId", "value": {"stringValue": "ABC-123"}},
            {"key": "tier", "value": {"stringValue": "gold"}},
        ],
    )
    assert first["namespace"] == "Custom"
    assert first["sessionId"] == session_id
    second = qc.update_session_data(
        assistantId=assistant_id,
        sessionId=session_id,
        namespace="Custom",
        data=[{"key": "tier", "value": {"stringValue": "platinum"}}],
    )
    assert second["data"] == [
        {"key": "productId", "value": {"stringValue": "ABC-123"}},
        {"key": "tier", "value": {"stringValue": "platinum"}},
    ]


def test_session_data_holds_a_bounded_number_of_keys(qc: Any, assistant_id: str) -> None:
    session_id = qc.create_session(assistantId=assistant_id, name="c")["session"]["sessionId"]
    for batch in range(2):
        data = [{"key": f"k{batch}-{n}", "value": {"stringValue": "v"}} for n in range(50)]
        qc.update_session_data(assistantId=assistant_id, sessionId=session_id, data=data)
    with pytest.raises(qc.exceptions.ValidationException, match="at most 100 keys"):
        qc.update_session_data(
            assistantId=assistant_id,
            sessionId=session_id,
            data=[{"key": "one-more", "value": {"stringValue": "v"}}],
        )


def test_search_sessions_finds_sessions_by_name(qc: Any, assistant_id: str) -> None:
    wanted = [
        qc.create_session(assistantId=assistant_id, name="contact-7")["session"]["sessionId"]
        for _ in range(3)
    ]
    qc.create_session(assistantId=assistant_id, name="contact-8")
    search = {"filters": [{"field": "NAME", "operator": "EQUALS", "value": "contact-7"}]}
    first = qc.search_sessions(assistantId=assistant_id, searchExpression=search, maxResults=2)
    rest = qc.search_sessions(assistantId=assistant_id, searchExpression=search, nextToken=first["nextToken"])
    found = [s["sessionId"] for s in first["sessionSummaries"] + rest["sessionSummaries"]]
    assert found == wanted
    assert "nextToken" not in rest
    summary = first["sessionSummaries"][0]
    assert summary["assistantId"] == assistant_id
    assert summary["assistantArn"].endswith(f":assistant/{assistant_id}")
    none = {"filters": [{"field": "NAME", "operator": "EQUALS", "value": "nobody"}]}
    assert qc.search_sessions(assistantId=assistant_id, searchExpression=none)["sessionSummaries"] == []


def test_a_search_token_is_bound_to_its_assistant(qc: Any, assistant_id: str) -> None:
    for _ in range(3):
        qc.create_session(assistantId=assistant_id, name="same")
    search = {"filters": [{"field": "NAME", "operator": "EQUALS", "value": "same"}]}
    token = qc.search_sessions(assistantId=assistant_id, searchExpression=search, maxResults=1)["nextToken"]
    other = qc.create_assistant(name="other", type="AGENT")["assistant"]["assistantId"]
    with pytest.raises(qc.exceptions.ValidationException, match="nextToken"):
        qc.search_sessions(assistantId=other, searchExpression=search, nextToken=token)


def test_sensitive_session_data_is_never_echoed_in_an_error(qc_unvalidated: Any, assistant_id: str) -> None:
    session_id = qc_unvalidated.create_session(assistantId=assistant_id, name="c")["session"]["sessionId"]
    data = [{"key": "ssn", "value": {"stringValue": "123-45-6789"}}] * 51
    with pytest.raises(qc_unvalidated.exceptions.ValidationException) as raised:
        qc_unvalidated.update_session_data(assistantId=assistant_id, sessionId=session_id, data=data)
    message = str(raised.value)
    assert "123-45-6789" not in message
    assert "*** Sensitive Data Redacted ***" in message


def test_an_orchestrator_list_and_its_removal_cannot_be_asked_together(qc: Any, assistant_id: str) -> None:
    session_id = qc.create_session(assistantId=assistant_id, name="c")["session"]["sessionId"]
    with pytest.raises(qc.exceptions.ValidationException, match="together"):
        qc.update_session(
            assistantId=assistant_id,
            sessionId=session_id,
            orchestratorConfigurationList=[{"orchestratorUseCase": "Connect.SelfService"}],
            removeOrchestratorConfigurationList=True,
        )
