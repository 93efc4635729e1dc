"""Conversations: SendMessage answered by the session's agent over the assistant's knowledge, with
citations, guardrails and a trace of every step; GetNextMessage tokens, ListMessages, ListSpans, and
the scripted backend driving every state and error."""

from __future__ import annotations

import time
from typing import Any

import pytest

from conftest import Target
from documents import create_content, custom_kb, wait_for_content
from qconnect_local.config import Settings
from qconnect_local.engine.generation import NO_ANSWER
from qconnect_local.testing import mock_qconnect

REFUNDS = "Refunds are paid within 5 business days. A refund goes back to the original card."
SHIPPING = "Parcels ship from our warehouse in Ohio. Delivery takes three days."


@pytest.fixture
def conversation(target: Target, qc: Any) -> dict[str, str]:
    """An assistant answering from a knowledge base of two documents, and a session."""
    kb_id = custom_kb(qc)["knowledgeBaseId"]
    for name, text in (("refunds", REFUNDS), ("shipping", SHIPPING)):
        content = create_content(target, qc, kb_id, name, text.encode())
        wait_for_content(qc, kb_id, content["contentId"])
    assistant_id = qc.create_assistant(name="helper", type="AGENT")["assistant"]["assistantId"]
    qc.create_assistant_association(
        assistantId=assistant_id, associationType="KNOWLEDGE_BASE", association={"knowledgeBaseId": kb_id}
    )
    session_id = qc.create_session(assistantId=assistant_id, name="contact")["session"]["sessionId"]
    return {"assistantId": assistant_id, "sessionId": session_id, "kb": kb_id}


def ids(conversation: dict[str, str]) -> dict[str, str]:
    return {"assistantId": conversation["assistantId"], "sessionId": conversation["sessionId"]}


def say(qc: Any, conversation: dict[str, str], text: str, **extra: Any) -> list[dict[str, Any]]:
    """SendMessage, then every GetNextMessage answer until the token runs out."""
    sent = qc.send_message(
        **ids(conversation), type="TEXT", message={"value": {"text": {"value": text}}}, **extra
    )
    return follow(qc, conversation, sent["nextMessageToken"])


def follow(qc: Any, conversation: dict[str, str], token: str | None) -> list[dict[str, Any]]:
    answers = []
    deadline = time.monotonic() + 30
    while token:
        answer = qc.get_next_message(**ids(conversation), nextMessageToken=token)
        if (
            answer["conversationState"]["status"] == "PROCESSING"
            and not answer["response"]["value"]["text"]["value"]
        ):
            assert time.monotonic() < deadline, "the answer never came"
        else:
            answers.append(answer)
        token = answer.get("nextMessageToken")
    return answers


def text_of(answer: dict[str, Any]) -> str:
    value: str = answer["response"]["value"]["text"]["value"]
    return value


# -- answers ---------------------------------------------------------------------------------------


def test_a_question_is_answered_from_the_knowledge_base_with_citations(
    qc: Any, conversation: dict[str, str]
) -> None:
    [answer] = say(qc, conversation, "When are refunds paid back to my card?")
    text = text_of(answer)
    assert "Refunds are paid within 5 business days." in text
    citations = answer["response"]["value"]["text"]["citations"]
    assert {c["title"] for c in citations} == {"refunds"}
    for citation in citations:
        span = citation["citationSpan"]
        assert text[span["beginOffsetInclusive"] : span["endOffsetExclusive"]] in REFUNDS
        assert citation["knowledgeBaseId"] == conversation["kb"]
    assert answer["conversationState"] == {"status": "READY", "reason": "SUCCESS"}
    assert answer["response"]["participant"] == "BOT"
    assert {"key": "selfServiceTool", "value": {"stringValue": "QUESTION"}} in answer[
        "conversationSessionData"
    ]


def test_nothing_relevant_gives_the_documented_fallback(qc: Any, conversation: dict[str, str]) -> None:
    [answer] = say(qc, conversation, "What colour are the office chairs in Berlin?")
    assert text_of(answer) == NO_ANSWER
    assert "citations" not in answer["response"]["value"]["text"]


def test_an_escalation_closes_the_conversation(qc: Any, conversation: dict[str, str]) -> None:
    [answer] = say(qc, conversation, "I want to talk to a human agent")
    assert answer["conversationState"]["status"] == "CLOSED"
    assert {"key": "selfServiceTool", "value": {"stringValue": "ESCALATION"}} in answer[
        "conversationSessionData"
    ]


def test_a_filler_message_comes_first_when_asked_for(qc: Any, conversation: dict[str, str]) -> None:
    filler, answer = say(
        qc,
        conversation,
        "When are refunds paid back to my card?",
        configuration={"generateFillerMessage": True},
    )
    assert text_of(filler) == "One moment while I look that up."
    assert filler["conversationState"]["status"] == "PROCESSING"
    assert "Refunds are paid" in text_of(answer)
    assert answer["requestMessageId"] == filler["requestMessageId"]


def test_the_session_data_reaches_the_answer(qc: Any, conversation: dict[str, str]) -> None:
    qc.update_session_data(**ids(conversation), data=[{"key": "tier", "value": {"stringValue": "gold"}}])
    [answer] = say(qc, conversation, "When are refunds paid back to my card?")
    assert {"key": "tier", "value": {"stringValue": "gold"}} in answer["conversationSessionData"]


# -- tokens, idempotency, validation ----------------------------------------------------------------


def test_a_token_older_than_the_latest_send_message_is_not_found(
    qc: Any, conversation: dict[str, str]
) -> None:
    first = qc.send_message(**ids(conversation), type="TEXT", message={"value": {"text": {"value": "hello"}}})
    second = qc.send_message(**ids(conversation), type="TEXT", message={"value": {"text": {"value": "bye"}}})
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.get_next_message(**ids(conversation), nextMessageToken=first["nextMessageToken"])
    assert follow(qc, conversation, second["nextMessageToken"])


def test_a_token_of_another_session_is_refused(qc: Any, conversation: dict[str, str]) -> None:
    sent = qc.send_message(**ids(conversation), type="TEXT", message={"value": {"text": {"value": "hello"}}})
    other = qc.create_session(assistantId=conversation["assistantId"], name="other")["session"]["sessionId"]
    with pytest.raises(qc.exceptions.ValidationException):
        qc.get_next_message(
            assistantId=conversation["assistantId"],
            sessionId=other,
            nextMessageToken=sent["nextMessageToken"],
        )


def test_a_client_token_replays_the_send(qc: Any, conversation: dict[str, str]) -> None:
    request = {"type": "TEXT", "message": {"value": {"text": {"value": "hello"}}}, "clientToken": "once"}
    first = qc.send_message(**ids(conversation), **request)
    again = qc.send_message(**ids(conversation), **request)
    assert again["requestMessageId"] == first["requestMessageId"]
    follow(qc, conversation, first["nextMessageToken"])
    assert len(qc.list_messages(**ids(conversation))["messages"]) == 2


@pytest.mark.parametrize(
    ("message_type", "value", "match"),
    [
        ("DATA", {"data": ["not", "an", "object"]}, "JSON object"),
        ("TEXT", {"data": {"a": 1}}, "message.value.text"),
        ("TOOL_USE_RESULT", {"text": {"value": "x"}}, "toolUseResult"),
    ],
)
def test_the_message_must_fit_its_type(
    qc: Any, conversation: dict[str, str], message_type: str, value: dict[str, Any], match: str
) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match=match):
        qc.send_message(**ids(conversation), type=message_type, message={"value": value})


# -- ListMessages, ListSpans ------------------------------------------------------------------------


def test_list_messages_is_chronological_and_filters_text(qc: Any, conversation: dict[str, str]) -> None:
    say(qc, conversation, "When are refunds paid back to my card?")
    sent = qc.send_message(**ids(conversation), type="DATA", message={"value": {"data": {"orderId": "o-1"}}})
    follow(qc, conversation, sent["nextMessageToken"])
    every = qc.list_messages(**ids(conversation))["messages"]
    assert [m["participant"] for m in every] == ["CUSTOMER", "BOT", "CUSTOMER", "BOT"]
    assert [m["timestamp"] for m in every] == sorted(m["timestamp"] for m in every)
    texts = qc.list_messages(**ids(conversation), filter="TEXT_ONLY")["messages"]
    assert all("text" in m["value"] for m in texts)
    assert len(texts) == 3
    first = qc.list_messages(**ids(conversation), maxResults=3)
    rest = qc.list_messages(**ids(conversation), nextToken=first["nextToken"])
    assert [m["messageId"] for m in first["messages"] + rest["messages"]] == [m["messageId"] for m in every]


def test_each_send_message_has_one_trace_of_linked_spans(qc: Any, conversation: dict[str, str]) -> None:
    [answer] = say(qc, conversation, "When are refunds paid back to my card?")
    spans = qc.list_spans(**ids(conversation))["spans"]
    roots = [s for s in spans if "parentSpanId" not in s]
    assert len(roots) == 1
    root = roots[0]
    assert root["spanType"] == "SERVER"
    assert root["attributes"]["aiAgentType"] == "SELF_SERVICE"
    children = [s for s in spans if s.get("parentSpanId") == root["spanId"]]
    assert len(children) == len(spans) - 1
    models = [s for s in children if s["spanType"] == "CLIENT"]
    assert [m["attributes"]["promptType"] for m in models] == [
        "SELF_SERVICE_PRE_PROCESSING",
        "SELF_SERVICE_ANSWER_GENERATION",
    ]
    for model in models:
        attributes = model["attributes"]
        assert attributes["requestModel"]
        assert (
            attributes["usageTotalTokens"] == attributes["usageInputTokens"] + attributes["usageOutputTokens"]
        )
        assert model["startTimestamp"] <= model["endTimestamp"]
    assert models[-1]["attributes"]["outputMessages"][0]["values"][0]["text"]["value"] == text_of(answer)
    assert {s["requestId"] for s in spans} == {root["requestId"]}


# -- guardrails -------------------------------------------------------------------------------------


def _guarded_agent(qc: Any, conversation: dict[str, str], **policies: Any) -> None:
    assistant_id = conversation["assistantId"]
    guardrail = qc.create_ai_guardrail(
        assistantId=assistant_id,
        name="polite",
        blockedInputMessaging="Let's keep it friendly.",
        blockedOutputsMessaging="I can't share that.",
        visibilityStatus="PUBLISHED",
        **policies,
    )["aiGuardrail"]
    agent = qc.create_ai_agent(
        assistantId=assistant_id,
        name="guarded",
        type="SELF_SERVICE",
        visibilityStatus="PUBLISHED",
        configuration={
            "selfServiceAIAgentConfiguration": {"selfServiceAIGuardrailId": guardrail["aiGuardrailId"]}
        },
    )["aiAgent"]
    qc.update_assistant_ai_agent(
        assistantId=assistant_id, aiAgentType="SELF_SERVICE", configuration={"aiAgentId": agent["aiAgentId"]}
    )


def test_a_blocked_input_is_answered_with_the_guardrails_message(
    qc: Any, conversation: dict[str, str]
) -> None:
    _guarded_agent(qc, conversation, wordPolicyConfig={"wordsConfig": [{"text": "darn"}]})
    [answer] = say(qc, conversation, "This darn refund is late")
    assert text_of(answer) == "Let's keep it friendly."
    assert answer["response"]["value"]["text"]["aiGuardrailAssessment"] == {"blocked": True}
    assessments = [
        a
        for s in qc.list_spans(**ids(conversation))["spans"]
        for a in s["attributes"].get("guardrailAssessments", [])
    ]
    assert [(a["source"], a["action"]) for a in assessments] == [("INPUT", "BLOCKED")]


def test_innocent_text_passes_the_guardrail(qc: Any, conversation: dict[str, str]) -> None:
    _guarded_agent(qc, conversation, wordPolicyConfig={"wordsConfig": [{"text": "darn"}]})
    [answer] = say(qc, conversation, "When are refunds paid back to my card?")
    assert "Refunds are paid" in text_of(answer)
    assert answer["response"]["value"]["text"]["aiGuardrailAssessment"] == {"blocked": False}


def test_a_blocked_answer_is_replaced(qc: Any, conversation: dict[str, str]) -> None:
    _guarded_agent(qc, conversation, wordPolicyConfig={"wordsConfig": [{"text": "business days"}]})
    [answer] = say(qc, conversation, "When are refunds paid back to my card?")
    assert text_of(answer) == "I can't share that."
    assert answer["response"]["value"]["text"]["aiGuardrailAssessment"] == {"blocked": True}


# -- orchestration and tools --------------------------------------------------------------------------


def test_an_orchestrator_hands_a_return_to_control_tool_to_the_caller(
    qc: Any, conversation: dict[str, str]
) -> None:
    assistant_id = conversation["assistantId"]
    tool = {
        "toolName": "Escalate",
        "toolType": "RETURN_TO_CONTROL",
        "description": "Hand the contact to a person",
    }
    agent = qc.create_ai_agent(
        assistantId=assistant_id,
        name="orchestrator",
        type="ORCHESTRATION",
        visibilityStatus="PUBLISHED",
        configuration={"orchestrationAIAgentConfiguration": {"toolConfigurations": [tool]}},
    )["aiAgent"]
    qc.update_assistant_ai_agent(
        assistantId=assistant_id,
        aiAgentType="ORCHESTRATION",
        configuration={"aiAgentId": agent["aiAgentId"]},
        orchestratorUseCase="Connect.SelfService",
    )
    [handed] = say(
        qc, conversation, "I want to talk to a human agent", orchestratorUseCase="Connect.SelfService"
    )
    assert handed["type"] == "DATA"
    use = handed["response"]["value"]["data"]["toolUse"]
    assert use["name"] == "Escalate"
    result = {"toolUseId": use["toolUseId"], "toolName": "Escalate", "toolResult": {"queued": True}}
    sent = qc.send_message(
        **ids(conversation),
        type="TOOL_USE_RESULT",
        message={"value": {"toolUseResult": result}},
        orchestratorUseCase="Connect.SelfService",
    )
    [after] = follow(qc, conversation, sent["nextMessageToken"])
    assert after["type"] == "TEXT"
    roots = [s for s in qc.list_spans(**ids(conversation))["spans"] if "parentSpanId" not in s]
    assert {r["attributes"]["aiAgentName"] for r in roots} == {"orchestrator"}


# -- the scripted backend ------------------------------------------------------------------------------


def _scripted() -> Any:
    return mock_qconnect(Settings(model_backend="scripted", log_requests=False))


def _scripted_conversation(mock: Any) -> tuple[Any, dict[str, str]]:
    qc = Target("in-process", None, mock).client()
    assistant_id = qc.create_assistant(name="a", type="AGENT")["assistant"]["assistantId"]
    session_id = qc.create_session(assistantId=assistant_id, name="s")["session"]["sessionId"]
    return qc, {"assistantId": assistant_id, "sessionId": session_id}


def test_the_scripted_backend_answers_exactly_what_was_queued() -> None:
    with _scripted() as mock:
        qc, conversation = _scripted_conversation(mock)
        target = Target("in-process", None, mock)
        target.control(
            "ai/responses",
            {
                "sessionId": conversation["sessionId"],
                "responses": [{"toolUse": {"name": "CONVERSATION", "input": {"message": "Scripted hello!"}}}],
            },
        )
        [answer] = say(qc, conversation, "hi")
        assert text_of(answer) == "Scripted hello!"


def test_the_scripted_backend_fails_as_queued() -> None:
    with _scripted() as mock:
        qc, conversation = _scripted_conversation(mock)
        error = {
            "code": "UnprocessableContentException",
            "reason": "AI_INFERENCE_MODEL_UNAVAILABLE",
            "message": "down",
        }
        Target("in-process", None, mock).control(
            "ai/responses", {"assistantId": conversation["assistantId"], "responses": [{"error": error}]}
        )
        sent = qc.send_message(**ids(conversation), type="TEXT", message={"value": {"text": {"value": "hi"}}})
        with pytest.raises(qc.exceptions.UnprocessableContentException) as raised:
            follow(qc, conversation, sent["nextMessageToken"])
        assert raised.value.response["reason"] == "AI_INFERENCE_MODEL_UNAVAILABLE"
        spans = qc.list_spans(**ids(conversation))["spans"]
        assert "ERROR" in {s["status"] for s in spans}


def test_a_bad_scripted_entry_is_refused_by_the_control_plane() -> None:
    with _scripted() as mock:
        response = mock.request(
            "POST", "http://local/_qconnect/ai/responses", data=b'{"responses": [{"nope": 1}]}'
        )
        assert response.status == 400


def test_while_the_answer_is_produced_the_state_is_processing() -> None:
    with mock_qconnect(Settings(log_requests=False)) as mock:
        qc, conversation = _scripted_conversation(mock)
        target = Target("in-process", None, mock)
        target.control("transitions", {"hold": {"kind": "conversation-turn", "status": "PROCESSING"}})
        sent = qc.send_message(**ids(conversation), type="TEXT", message={"value": {"text": {"value": "hi"}}})
        waiting = qc.get_next_message(**ids(conversation), nextMessageToken=sent["nextMessageToken"])
        assert waiting["conversationState"] == {"status": "PROCESSING"}
        assert waiting["nextMessageToken"]
        target.control("transitions", {"release": {"kind": "conversation-turn", "status": "PROCESSING"}})
        assert follow(qc, conversation, waiting["nextMessageToken"])


# -- hostile input ---------------------------------------------------------------------------------


def test_a_data_message_holds_at_most_100_000_characters_of_json(
    qc: Any, conversation: dict[str, str]
) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match="100,000"):
        qc.send_message(
            **ids(conversation), type="DATA", message={"value": {"data": {"blob": "x" * 100_001}}}
        )


def test_an_unknown_orchestrator_use_case_is_refused(qc: Any, conversation: dict[str, str]) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match=r"Connect\.SelfService"):
        say(qc, conversation, "hello", orchestratorUseCase="Nope")


def test_a_client_token_reused_for_another_message_sends_it(qc: Any, conversation: dict[str, str]) -> None:
    first = say(qc, conversation, "hello", clientToken="the-conversation")
    second = say(qc, conversation, "When are refunds paid back to my card?", clientToken="the-conversation")
    assert first and "Refunds are paid" in text_of(second[-1])


def test_a_prompt_that_would_render_past_the_budget_fails_the_turn() -> None:
    with mock_qconnect(Settings(log_requests=False)) as mock:
        qc, conversation = _scripted_conversation(mock)
        text = "prompt: |\n  " + "{{$.transcript}}" * 2_000 + "\n"
        prompt = qc.create_ai_prompt(
            assistantId=conversation["assistantId"],
            name="bomb",
            type="SELF_SERVICE_PRE_PROCESSING",
            templateType="TEXT",
            apiFormat="TEXT_COMPLETIONS",
            modelId="us.amazon.nova-pro-v1:0",
            visibilityStatus="PUBLISHED",
            templateConfiguration={"textFullAIPromptEditTemplateConfiguration": {"text": text}},
        )["aiPrompt"]
        agent = qc.create_ai_agent(
            assistantId=conversation["assistantId"],
            name="bomber",
            type="SELF_SERVICE",
            visibilityStatus="PUBLISHED",
            configuration={
                "selfServiceAIAgentConfiguration": {
                    "selfServicePreProcessingAIPromptId": prompt["aiPromptId"]
                }
            },
        )["aiAgent"]
        sent = qc.send_message(
            **ids(conversation),
            type="TEXT",
            aiAgentId=agent["aiAgentId"],
            message={"value": {"text": {"value": "x" * 25_000}}},
        )
        with pytest.raises(qc.exceptions.UnprocessableContentException, match="render past"):
            follow(qc, conversation, sent["nextMessageToken"])


def test_an_error_get_next_message_does_not_model_is_answered_as_unprocessable() -> None:
    with _scripted() as mock:
        qc, conversation = _scripted_conversation(mock)
        error = {"code": "ServiceQuotaExceededException", "message": "too many"}
        Target("in-process", None, mock).control(
            "ai/responses", {"sessionId": conversation["sessionId"], "responses": [{"error": error}]}
        )
        sent = qc.send_message(**ids(conversation), type="TEXT", message={"value": {"text": {"value": "hi"}}})
        with pytest.raises(
            qc.exceptions.UnprocessableContentException, match="ServiceQuotaExceededException"
        ):
            follow(qc, conversation, sent["nextMessageToken"])


def test_the_filler_message_is_sent_before_the_answer_is_produced() -> None:
    with _scripted() as mock:
        qc, conversation = _scripted_conversation(mock)
        slow = [
            {"toolUse": {"name": "QUESTION", "input": {"query": "refunds"}}},
            {"text": "Done.", "delaySeconds": 3},
        ]
        Target("in-process", None, mock).control(
            "ai/responses", {"sessionId": conversation["sessionId"], "responses": slow}
        )
        sent = qc.send_message(
            **ids(conversation),
            type="TEXT",
            message={"value": {"text": {"value": "refunds please"}}},
            configuration={"generateFillerMessage": True},
        )
        filler = qc.get_next_message(**ids(conversation), nextMessageToken=sent["nextMessageToken"])
        assert text_of(filler) == "One moment while I look that up."
        assert filler["conversationState"] == {"status": "PROCESSING"}
        so_far = qc.list_messages(**ids(conversation))["messages"]
        assert [m["participant"] for m in so_far] == ["CUSTOMER", "BOT"]  # the answer is still being made
        [answer] = follow(qc, conversation, filler["nextMessageToken"])
        assert text_of(answer) == "Done."
