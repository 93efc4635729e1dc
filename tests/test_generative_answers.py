"""QueryAssistant's GENERATIVE_ANSWER, asked for by result type: the MANUAL_SEARCH agent's answer
over the passages retrieval finds, with references, and its guardrail's blocked form."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Target
from documents import create_content, custom_kb, wait_for_content
from qconnect_local.engine.generation import NO_ANSWER

REFUNDS = "Refunds are paid within 5 business days. A refund goes back to the original card."
GENERATIVE = [{"single": {"field": "RESULT_TYPE", "comparator": "EQUALS", "value": "GENERATIVE_ANSWER"}}]


@pytest.fixture
def assistant_id(target: Target, qc: Any) -> str:
    kb_id = custom_kb(qc)["knowledgeBaseId"]
    content = create_content(target, qc, kb_id, "refunds", REFUNDS.encode())
    wait_for_content(qc, kb_id, content["contentId"])
    assistant: str = qc.create_assistant(name="helper", type="AGENT")["assistant"]["assistantId"]
    qc.create_assistant_association(
        assistantId=assistant, associationType="KNOWLEDGE_BASE", association={"knowledgeBaseId": kb_id}
    )
    return assistant


def generative(qc: Any, assistant_id: str, text: str) -> dict[str, Any]:
    [result] = qc.query_assistant(assistantId=assistant_id, queryText=text, queryCondition=GENERATIVE)[
        "results"
    ]
    return result


def test_a_generative_answer_cites_the_content_it_comes_from(qc: Any, assistant_id: str) -> None:
    result = generative(qc, assistant_id, "When are refunds paid back to my card?")
    assert result["type"] == "GENERATIVE_ANSWER"
    data = result["data"]["details"]["generativeData"]
    assert "Refunds are paid within 5 business days." in data["completion"]
    [reference, *_] = data["references"]
    source = reference["details"]["sourceContentData"]
    assert source["textData"]["title"]["text"] == "refunds"
    span = source["citationSpan"]
    assert data["completion"][span["beginOffsetInclusive"] : span["endOffsetExclusive"]] in REFUNDS
    assert result["data"]["reference"]["generativeReference"]["modelId"]
    assert result["relevanceScore"] > 0


def test_nothing_relevant_gives_the_no_answer_text(qc: Any, assistant_id: str) -> None:
    result = generative(qc, assistant_id, "What colour are the chairs in Berlin?")
    assert result["data"]["details"]["generativeData"]["completion"] == NO_ANSWER
    assert result["data"]["details"]["generativeData"]["references"] == []


def test_without_a_result_type_condition_only_knowledge_content_is_returned(
    qc: Any, assistant_id: str
) -> None:
    results = qc.query_assistant(assistantId=assistant_id, queryText="refunds paid card")["results"]
    assert {r["type"] for r in results} == {"KNOWLEDGE_CONTENT"}


def test_the_manual_search_agents_guardrail_blocks_the_answer(qc: Any, assistant_id: str) -> None:
    guardrail = qc.create_ai_guardrail(
        assistantId=assistant_id,
        name="quiet",
        blockedInputMessaging="Not that.",
        blockedOutputsMessaging="I can't share that.",
        visibilityStatus="PUBLISHED",
        wordPolicyConfig={"wordsConfig": [{"text": "business days"}]},
    )["aiGuardrail"]
    agent = qc.create_ai_agent(
        assistantId=assistant_id,
        name="search",
        type="MANUAL_SEARCH",
        visibilityStatus="PUBLISHED",
        configuration={
            "manualSearchAIAgentConfiguration": {"answerGenerationAIGuardrailId": guardrail["aiGuardrailId"]}
        },
    )["aiAgent"]
    qc.update_assistant_ai_agent(
        assistantId=assistant_id, aiAgentType="MANUAL_SEARCH", configuration={"aiAgentId": agent["aiAgentId"]}
    )
    result = generative(qc, assistant_id, "When are refunds paid back to my card?")
    assert result["type"] == "BLOCKED_GENERATIVE_ANSWER_CHUNK"
    assert result["data"]["details"]["generativeData"]["completion"] == "I can't share that."


def test_feedback_can_name_a_generative_result(qc: Any, assistant_id: str) -> None:
    result = generative(qc, assistant_id, "When are refunds paid back to my card?")
    answer = qc.put_feedback(
        assistantId=assistant_id,
        targetId=result["resultId"],
        targetType="RESULT",
        contentFeedback={"generativeContentFeedbackData": {"relevance": "HELPFUL"}},
    )
    assert answer["targetId"] == result["resultId"]


# -- recommendations ------------------------------------------------------------------------------


def _recommender(qc: Any, assistant_id: str, *, enabled: bool = True) -> None:
    agent = qc.create_ai_agent(
        assistantId=assistant_id,
        name="recommender",
        type="ANSWER_RECOMMENDATION",
        visibilityStatus="PUBLISHED",
        configuration={"answerRecommendationAIAgentConfiguration": {}},
    )["aiAgent"]
    qc.update_assistant_ai_agent(
        assistantId=assistant_id,
        aiAgentType="ANSWER_RECOMMENDATION",
        configuration={"aiAgentId": agent["aiAgentId"], "enabled": enabled},
    )


def _recommended(target: Target, qc: Any, assistant_id: str, text: str) -> dict[str, Any]:
    session_id = qc.create_session(assistantId=assistant_id, name="contact")["session"]["sessionId"]
    target.control(
        f"assistants/{assistant_id}/sessions/{session_id}/transcript",
        {"participant": "CUSTOMER", "text": text},
    )
    answer: dict[str, Any] = qc.get_recommendations(assistantId=assistant_id, sessionId=session_id)
    return answer


def test_an_answer_recommendation_agent_adds_intent_and_generative_answer(
    target: Target, qc: Any, assistant_id: str
) -> None:
    _recommender(qc, assistant_id)
    answer = _recommended(target, qc, assistant_id, "My refund was never paid back to my card")
    by_type = {r["type"]: r for r in answer["recommendations"]}
    assert set(by_type) == {"KNOWLEDGE_CONTENT", "DETECTED_INTENT", "GENERATIVE_ANSWER"}
    assert by_type["DETECTED_INTENT"]["data"]["details"]["intentDetectedData"]["intent"]
    completion = by_type["GENERATIVE_ANSWER"]["data"]["details"]["generativeData"]["completion"]
    assert "Refunds are paid within 5 business days." in completion
    assert {t["type"] for t in answer["triggers"]} == {"QUERY", "GENERATIVE"}


def test_without_the_agent_or_with_it_disabled_recommendations_are_knowledge_only(
    target: Target, qc: Any, assistant_id: str
) -> None:
    answer = _recommended(target, qc, assistant_id, "My refund was never paid back to my card")
    assert {r["type"] for r in answer["recommendations"]} == {"KNOWLEDGE_CONTENT"}
    _recommender(qc, assistant_id, enabled=False)
    answer = _recommended(target, qc, assistant_id, "My refund was never paid back to my card")
    assert {r["type"] for r in answer["recommendations"]} == {"KNOWLEDGE_CONTENT"}
