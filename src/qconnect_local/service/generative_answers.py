"""QueryAssistant's GENERATIVE_ANSWER: the MANUAL_SEARCH agent's answer over what retrieval finds.

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
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from qconnect_local.engine import generation
from qconnect_local.engine.generation import Passage
from qconnect_local.engine.guardrails import compile_guardrail
from qconnect_local.protocol.errors import ServiceError
from qconnect_local.service import (
    ai_guardrails,
    ai_resources,
    conversation_pipeline,
    knowledge_bases,
    resources,
    system_ai,
)
from qconnect_local.service.context import Call
from qconnect_local.service.conversations import choose_default
from qconnect_local.service.families import CONTENT

GENERATIVE_ANSWER: Final = "GENERATIVE_ANSWER"
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


def answer(call: Call, assistant: Any, session: Any, query: str) -> dict[str, Any]:
    """The GENERATIVE_ANSWER (or BLOCKED_GENERATIVE_ANSWER_CHUNK) result for `query`."""
    with call.runtime.store.read() as conn:
        agent, _number = choose_default(conn, call, assistant, session, AGENT_TYPE, None)
        if agent.type != AGENT_TYPE:
            agent = system_ai.system_agent(call, assistant, AGENT_TYPE)
        settings = agent.config["configuration"][system_ai.configuration_member(AGENT_TYPE)] or {}
        guardrail = None
        if settings.get("answerGenerationAIGuardrailId"):
            try:
                found, _n = ai_resources.load_state(
                    conn, call, ai_guardrails.KIND, assistant, settings["answerGenerationAIGuardrailId"]
                )
                guardrail = (found, compile_guardrail(found.config))
            except ServiceError:
                guardrail = None
    if guardrail is not None:
        checked = guardrail[1].check_input(query)
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
    )
    try:
        generated = conversation_pipeline.backend_of(call.runtime).generate(request)
    except generation.GenerationError as failure:
        raise ServiceError(failure.error_code, failure.message, reason=failure.reason) from None
    text = generated.text or generation.NO_ANSWER
    if guardrail is not None:
        checked = guardrail[1].check_output(text, sources=[p.text for p in passages], query=query)
        if checked.blocked:
            return _result(call, BLOCKED, checked.text, generated.model_id, [], 0.0)
        text = checked.text
    cited = [c for c in generated.citations if text == generated.text]
    references = [_reference(call, passages[c.passage], (c.begin, c.end)) for c in cited]
    score = max((passages[c.passage].relevance for c in cited), default=0.0)
    return _result(call, GENERATIVE_ANSWER, text, generated.model_id, references, score)
