"""Generative results: QueryAssistant's GENERATIVE_ANSWER (the MANUAL_SEARCH agent's answer over
what retrieval finds), and the GENERATIVE_ANSWER and DETECTED_INTENT recommendations of an
ANSWER_RECOMMENDATION agent (`recommendations`).

- Asked for with `queryCondition` RESULT_TYPE EQUALS GENERATIVE_ANSWER; without a condition,
  QueryAssistant answers KNOWLEDGE_CONTENT results only, as before agents existed. It is the
  first result of the first page, besides the `maxResults` knowledge results.
- The agent: the session's MANUAL_SEARCH agent, else the assistant's default, else its SYSTEM
  one. Retrieval as in a conversation turn (`conversation_pipeline.find_passages`), then the
  agent's answer-generation prompt (else the SYSTEM one) on the configured backend.
- The result: `data.reference.generativeReference` (`modelId`, a `generationId`) and
  `data.details.generativeData`: the `completion`, and a `references` entry per cited content
  (`sourceContentData`: its title, the cited passage as `excerpt`, its `rankingData` and the
  `citationSpan` in the completion); `relevanceScore` is the best cited passage's relevance.
  Nothing relevant: the backend's no-answer text, with no references.
- The agent's guardrail (`answerGenerationAIGuardrailId`): a blocked query or answer is a
  BLOCKED_GENERATIVE_ANSWER_CHUNK result whose completion is the guardrail's blocked message.
- A model failure is answered with its modeled error (UnprocessableContentException, ...).

Recommendations (`recommendations`): when the assistant runs an ANSWER_RECOMMENDATION agent
(UpdateAssistantAIAgent; not with `enabled: false`), each query a customer turn derives also
gets, under a trigger of type GENERATIVE, a DETECTED_INTENT recommendation (the agent's
intent-labeling prompt over the transcript; none for an empty label) and a GENERATIVE_ANSWER
one (its query-reformulation prompt, retrieval, its answer-generation prompt; none when
nothing relevant is found), the guardrail (`answerGenerationAIGuardrailId`) applied as above.
Without such an agent, recommendations are KNOWLEDGE_CONTENT only. A model failure there
queues nothing generative (the knowledge recommendations stay).
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from qconnect_local.engine import generation
from qconnect_local.engine.generation import Passage
from qconnect_local.protocol.errors import ServiceError
from qconnect_local.service import (
    ai_agents,
    ai_resources,
    conversation_pipeline,
    knowledge_bases,
    resources,
    system_ai,
)
from qconnect_local.service.context import Call
from qconnect_local.service.conversations import choose_default
from qconnect_local.service.families import CONTENT
from qconnect_local.service.retrieval import GENERATIVE_ANSWER

BLOCKED: Final = "BLOCKED_GENERATIVE_ANSWER_CHUNK"
AGENT_TYPE: Final = "MANUAL_SEARCH"


def _reference(call: Call, passage: Passage, span: tuple[int, int]) -> dict[str, Any]:
    return {
        "reference": {
            "contentReference": {
                "knowledgeBaseArn": knowledge_bases.kb_arn(call, passage.knowledge_base_id),
                "knowledgeBaseId": passage.knowledge_base_id,
                "contentArn": resources.arn_for(call, CONTENT, passage.knowledge_base_id, passage.content_id),
                "contentId": passage.content_id,
                "sourceURL": passage.source_url,
                "referenceType": passage.reference_type,
            }
        },
        "details": {
            "sourceContentData": {
                "id": passage.content_id,
                "type": "KNOWLEDGE_CONTENT",
                "textData": {"title": {"text": passage.title}, "excerpt": {"text": passage.text[:1000]}},
                "rankingData": {"relevanceScore": round(passage.relevance, 4)},
                "citationSpan": {"beginOffsetInclusive": span[0], "endOffsetExclusive": span[1]},
            }
        },
    }


def _result(
    call: Call,
    result_type: str,
    completion: str,
    model_id: str,
    references: list[dict[str, Any]],
    score: float,
) -> dict[str, Any]:
    return {
        "resultId": str(uuid.uuid4()),
        "type": result_type,
        "relevanceScore": round(score, 4),
        "data": {
            "reference": {"generativeReference": {"modelId": model_id, "generationId": str(uuid.uuid4())}},
            "details": {
                "generativeData": {
                    "completion": completion,
                    "references": references,
                    "rankingData": {"relevanceScore": round(score, 4)},
                }
            },
        },
    }


def _settings(agent: ai_resources.Resource, agent_type: str) -> dict[str, Any]:
    """The agent's configuration member of its type."""
    return agent.config["configuration"][system_ai.configuration_member(agent_type)] or {}


def answer(call: Call, assistant: Any, session: Any, query: str) -> dict[str, Any]:
    """The GENERATIVE_ANSWER (or BLOCKED_GENERATIVE_ANSWER_CHUNK) result for `query`."""
    with call.runtime.store.read() as conn:
        agent, _number = choose_default(conn, call, assistant, session, AGENT_TYPE, None)
    if agent.type != AGENT_TYPE:
        agent = system_ai.system_agent(call, assistant, AGENT_TYPE)
    return _generated(call, assistant, session, _settings(agent, AGENT_TYPE), query, [])


def _generated(
    call: Call,
    assistant: Any,
    session: Any,
    settings: dict[str, Any],
    query: str,
    transcript: list[dict[str, str]],
) -> dict[str, Any]:
    """The answer-generation prompt over what retrieval finds for `query`, guarded."""
    found = conversation_pipeline.agent_guardrail(call, assistant, settings, "answerGenerationAIGuardrailId")
    guardrail = found[1] if found is not None else None
    if guardrail is not None:
        checked = guardrail.check_input(query)
        if checked.blocked:
            return _result(call, BLOCKED, checked.text, "", [], 0.0)
    passages = conversation_pipeline.find_passages(call, assistant, session, settings, query)
    request, _prompt, _rendered = conversation_pipeline.prompt_request(
        call,
        assistant,
        session,
        settings,
        "answerGenerationAIPromptId",
        query=query,
        passages=passages,
        history=[],
        transcript=transcript,
    )
    generated = _generate(call, request)
    text = generated.text or generation.NO_ANSWER
    if guardrail is not None and text != generation.NO_ANSWER:  # the no-answer reply claims nothing
        checked = guardrail.check_output(text, sources=[p.text for p in passages], query=query)
        if checked.blocked:
            return _result(call, BLOCKED, checked.text, generated.model_id, [], 0.0)
        text = checked.text
    cited = [c for c in generated.citations if text == generated.text]
    references = [_reference(call, passages[c.passage], (c.begin, c.end)) for c in cited]
    score = max((passages[c.passage].relevance for c in cited), default=0.0)
    return _result(call, GENERATIVE_ANSWER, text, generated.model_id, references, score)


# -- recommendations -------------------------------------------------------------------------------

RECOMMENDER: Final = "ANSWER_RECOMMENDATION"


def recommender(call: Call, assistant: Any, session: Any) -> ai_resources.Resource | None:
    """The ANSWER_RECOMMENDATION agent the assistant (or session) runs explicitly, if enabled."""
    for config in (session.config if session is not None else {}, assistant.config):
        entry = (config.get("aiAgentConfiguration") or {}).get(RECOMMENDER)
        if entry is None:
            continue
        if entry.get("enabled") is False:
            return None
        with call.runtime.store.read() as conn:
            try:
                agent, _n = ai_resources.load_state(conn, call, ai_agents.KIND, assistant, entry["aiAgentId"])
            except ServiceError:
                return None
        return agent
    return None


def recommendations(
    call: Call, assistant: Any, session: Any, transcript: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """The DETECTED_INTENT and GENERATIVE_ANSWER recommendation payloads for the transcript
    (RecommendationData members but the id), or none (see the module docstring)."""
    agent = recommender(call, assistant, session)
    if agent is None:
        return []
    turns = [{"participant": p, "text": t} for p, t in transcript]
    settings = _settings(agent, RECOMMENDER)
    made: list[dict[str, Any]] = []
    try:
        label = _generate_text(
            call, assistant, session, settings, "intentLabelingGenerationAIPromptId", turns
        )
        if label:
            made.append(_intent(label))
        query = _generate_text(call, assistant, session, settings, "queryReformulationAIPromptId", turns)
        result = _generated(call, assistant, session, settings, query or turns[-1]["text"], turns)
    except ServiceError:
        return made
    completion = result["data"]["details"]["generativeData"]["completion"]
    if completion != generation.NO_ANSWER:
        level = "HIGH" if result["relevanceScore"] >= 0.75 else "MEDIUM"
        made.append({**{k: v for k, v in result.items() if k != "resultId"}, "relevanceLevel": level})
    return made


def _generate(call: Call, request: generation.GenerationRequest) -> generation.GenerationResult:
    """The backend's answer; a model failure as the modeled error it names."""
    try:
        return conversation_pipeline.backend_of(call.runtime).generate(request)
    except generation.GenerationError as failure:
        raise ServiceError(failure.error_code, failure.message, reason=failure.reason) from None


def _generate_text(
    call: Call, assistant: Any, session: Any, settings: dict[str, Any], slot: str, turns: list[dict[str, str]]
) -> str:
    request, _prompt, _rendered = conversation_pipeline.prompt_request(
        call, assistant, session, settings, slot, history=[], transcript=turns
    )
    generated = _generate(call, request)
    return (generated.text or "").strip()


def _intent(label: str) -> dict[str, Any]:
    return {
        "type": "DETECTED_INTENT",
        "relevanceLevel": "HIGH",
        "data": {
            "reference": {"generativeReference": {"generationId": str(uuid.uuid4())}},
            "details": {
                "intentDetectedData": {
                    "intent": label,
                    "intentId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"intent/{label}")),
                    "relevanceLevel": "HIGH",
                }
            },
        },
    }
