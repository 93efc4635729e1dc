"""How one SendMessage is answered: the agent's prompts rendered, the generation backend called,
the guardrail enforced on the way in and out, and every step traced as a span.

It reads what it needs and writes nothing but the scripted queue's pops; the worker commits
its result (`worker.conversation_jobs`). Rules (docs/behaviour.md, "Conversations"):

- SELF_SERVICE: the guardrail (`selfServiceAIGuardrailId`) checks the customer's text; a blocked
  input is answered with `blockedInputMessaging`. Then the pre-processing prompt
  (`selfServicePreProcessingAIPromptId`, else the SYSTEM one) chooses a tool:
  - QUESTION: a filler message first when `configuration.generateFillerMessage` is true
    (`FILLER`, committed at once, before the answer is produced), then retrieval over the
    agent's `associationConfigurations` (else every knowledge base of the assistant; the
    session's tag filter applies; `maxResults` passages, 5 by default) and the
    answer-generation prompt over those passages, with citations. The
    guardrail checks the answer against them (grounding, relevance); a blocked answer is
    `blockedOutputsMessaging`.
  - CONVERSATION, FOLLOW_UP_QUESTION: the tool's `message` is the answer.
  - ESCALATION, COMPLETE: the tool's `message` is the answer and the conversation is CLOSED.
  The tool chosen is in `conversationSessionData` as `selfServiceTool`, beside the session's
  UpdateSessionData values.
- ORCHESTRATION: retrieval as above, then the orchestration prompt with the conversation as
  `{{$.conversationHistory}}` and the agent's `toolConfigurations` as tools. A text answer is
  sent as TEXT with citations. A RETURN_TO_CONTROL tool use is sent as a DATA message
  `{"toolUse": {"toolUseId", "name", "input"}}`, and the conversation waits for the caller's
  TOOL_USE_RESULT, which goes back to the model as the tool's result. A CONSTANT tool's result
  is its `overrideInputValues` constants, given back to the model at once (at most
  `MAX_TOOL_ROUNDS` rounds).
- Spans: one root span per turn (the agent: `spanType` SERVER, aiAgent* attributes), with
  children for the guardrail checks (INTERNAL, `guardrailAssessments`), retrieval (INTERNAL),
  every model call (CLIENT: prompt*, requestModel, inference settings, token usage, input and
  output messages), and tool calls (INTERNAL). Timestamps are the model's `Timestamp` shape:
  epoch seconds (with milliseconds) on the wire.
"""

from __future__ import annotations

import functools
import json
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from qconnect_local.engine import generation
from qconnect_local.engine.guardrails import Assessment, Guardrail, compile_guardrail
from qconnect_local.engine.prompt_templates import PromptTemplate
from qconnect_local.protocol.errors import ServiceError
from qconnect_local.service import (
    ai_agents,
    ai_guardrails,
    ai_prompts,
    ai_resources,
    assistants,
    retrieval,
    sessions,
    system_ai,
)
from qconnect_local.service.context import Call
from qconnect_local.service.families import ASSISTANT_ASSOCIATION, MESSAGE, SESSION
from qconnect_local.store import Connection, scripted

_BACKENDS: weakref.WeakKeyDictionary[Any, generation.Backend] = weakref.WeakKeyDictionary()
FILLER: Final = "One moment while I look that up."
DEFAULT_PASSAGES: Final = 5
MAX_TOOL_ROUNDS: Final = 3
TRANSCRIPT_TURNS: Final = 3  # {{$.transcript}}: the last three turns
MAX_HISTORY: Final = 50  # earlier messages a turn reads (and an orchestration prompt is given)
MAX_SPAN_MESSAGES: Final = 10  # of a model call's input messages, the last ones a span keeps
MAX_PROMPT_CHARS: Final = 4_000_000  # a rendered prompt at most (placeholders times values)
CLOSING_TOOLS: Final = ("ESCALATION", "COMPLETE")
MAX_KEPT_TEMPLATE_CHARS: Final = 100_000  # longer prompt texts are parsed again each time


@dataclass
class Answer:
    """What a turn produced: the messages to send, the spans, the state and session data."""

    messages: list[dict[str, Any]] = field(default_factory=list)  # {"type", "value"}
    spans: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=lambda: {"status": "READY", "reason": "SUCCESS"})
    session_data: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None  # a model call failed: the modeled error GetNextMessage answers


class Trace:
    """The spans of one turn, each timed by the service clock."""

    def __init__(self, call: Call, turn: Any) -> None:
        self.call = call
        self.turn = turn
        self.spans: list[dict[str, Any]] = []

    @contextmanager
    def span(
        self, name: str, span_type: str, parent: str | None, attributes: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        """A span around the block; the block may add attributes, and an error marks it ERROR."""
        span: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "parentSpanId": parent,
            "spanName": name,
            "spanType": span_type,
            "startTimestamp": self.now(),
            "status": "OK",
            "requestId": self.turn.request["requestId"],
            "originRequestId": self.turn.request.get("originRequestId"),
            "attributes": {k: v for k, v in attributes.items() if v is not None},
        }
        self.spans.append(span)
        try:
            yield span
        except generation.GenerationError as error:
            span["status"] = "ERROR"
            span["statusDescription"] = f"{error.error_code}: {error.message}"[:500]
            span["attributes"]["errorType"] = error.error_code
            raise
        finally:
            span["endTimestamp"] = self.now()

    def now(self) -> float:
        """The service clock now, as the epoch seconds (milliseconds kept) spans store."""
        return round(self.call.now().timestamp(), 3)


@dataclass
class Context:
    call: Call
    turn: Any
    assistant: Any
    session: Any
    agent: ai_resources.Resource
    agent_version: int | None
    settings: dict[str, Any]  # the agent type's configuration member
    history: list[dict[str, str]]  # [{"participant", "text"}], oldest first, this turn's message last
    text: str  # the customer's message as text
    trace: Trace
    backend: generation.Backend
    send_early: Callable[[dict[str, Any]], None]  # commit a message before the answer is done
    root: str = ""


# -- the context -----------------------------------------------------------------------------------


def _message_text(message_type: str, value: dict[str, Any]) -> str:
    if message_type == "TEXT":
        return str(value["text"].get("value") or "")
    if message_type == "DATA":
        return json.dumps(value["data"], sort_keys=True)
    result = value["toolUseResult"]
    return f"Tool {result.get('toolName')} returned {json.dumps(result.get('toolResult'), sort_keys=True)}"


def _history(conn: Connection, turn: Any, request_seq: int) -> list[dict[str, str]]:
    """The conversation before this turn: the caller's `selfServiceConversationHistory`, then
    the session's last `MAX_HISTORY` TEXT messages before this turn's own, oldest first."""
    earlier = []
    context = turn.request.get("conversationContext") or {}
    for entry in (context.get("selfServiceConversationHistory") or [])[-MAX_HISTORY:]:
        if entry.get("inputTranscript"):
            earlier.append({"participant": "CUSTOMER", "text": entry["inputTranscript"]})
        if entry.get("botResponse"):
            earlier.append({"participant": "BOT", "text": entry["botResponse"]})
    rows = MESSAGE.repo.page(
        conn,
        turn.account,
        turn.region,
        turn.session_id,
        after=request_seq,
        limit=MAX_HISTORY,
        descending=True,
        where={"type": "TEXT"},
    )
    for row in reversed(rows):
        if row.value.get("text", {}).get("value"):
            earlier.append({"participant": row.participant, "text": row.value["text"]["value"]})
    return earlier[-MAX_HISTORY:]


def load_context(
    call: Call, turn: Any, backend: generation.Backend, send_early: Callable[[dict[str, Any]], None]
) -> Context:
    with call.runtime.store.read() as conn:
        assistant = assistants.load(conn, call, turn.assistant_id)
        session = SESSION.repo.find(conn, call.account, call.region, turn.session_id, assistant.id)
        request = turn.request
        agent = ai_resources.find(conn, call, ai_agents.KIND, assistant, request["agentId"])
        number = request.get("agentVersion")
        if agent is None:  # deleted since: the SYSTEM agent of the type answers
            wanted = "ORCHESTRATION" if request.get("orchestratorUseCase") else "SELF_SERVICE"
            agent, number = system_ai.system_agent(call, assistant, wanted), 1
        elif number is not None and agent.origin != ai_resources.SYSTEM:
            version = ai_resources.version_row(conn, ai_agents.KIND, agent, number)
            if version is not None:
                agent = ai_resources.Resource.of_version(agent, version)
        assert agent.type is not None
        settings = agent.config["configuration"][system_ai.configuration_member(agent.type)] or {}
        message = MESSAGE.repo.find(conn, call.account, call.region, turn.request_message_id, turn.session_id)
        text = _message_text(message.type, message.value)
        history = [*_history(conn, turn, message.seq), {"participant": "CUSTOMER", "text": text}]
    return Context(
        call,
        turn,
        assistant,
        session,
        agent,
        number,
        settings,
        history,
        text,
        Trace(call, turn),
        backend,
        send_early,
    )


def slot_prompt(
    call: Call, assistant: Any, settings: dict[str, Any], slot: str
) -> tuple[ai_resources.Resource, int | None]:
    """The prompt of an agent slot, else the SYSTEM prompt of the slot's type."""
    wanted = system_ai.slot_prompt_type(slot)
    named = settings.get(slot)
    with call.runtime.store.read() as conn:
        if named is not None:
            try:
                return ai_resources.load_state(conn, call, ai_prompts.KIND, assistant, named)
            except ServiceError:
                pass  # deleted since the agent named it: the SYSTEM prompt answers
    system = next(p for p in system_ai.prompts(call, assistant) if p.type == wanted)
    return system, 1


def agent_guardrail(
    call: Call, assistant: Any, settings: dict[str, Any], slot: str
) -> tuple[ai_resources.Resource, Guardrail] | None:
    """The guardrail an agent's slot names, compiled; None when it names none (or one deleted since)."""
    named = settings.get(slot)
    if not named:
        return None
    with call.runtime.store.read() as conn:
        try:
            resource, _number = ai_resources.load_state(conn, call, ai_guardrails.KIND, assistant, named)
        except ServiceError:
            return None
    return resource, compile_guardrail(resource.config)


def _guardrail(ctx: Context, slot: str) -> tuple[ai_resources.Resource, Guardrail] | None:
    return agent_guardrail(ctx.call, ctx.assistant, ctx.settings, slot)


# -- steps -----------------------------------------------------------------------------------------


def _transcript_text(history: list[dict[str, str]]) -> str:
    names = {"CUSTOMER": "Customer", "AGENT": "Agent", "BOT": "Bot"}
    return "\n".join(
        f"{names.get(t['participant'], t['participant'])}: {t['text']}" for t in history[-TRANSCRIPT_TURNS:]
    )


def backend_of(runtime: Any) -> generation.Backend:
    """The runtime's generation backend, made once (a Bedrock client is costly to make)."""
    found = _BACKENDS.get(runtime)
    if found is None:
        found = generation.backend_for(runtime.settings, scripted_queue=scripted.Queue(runtime.store))
        _BACKENDS[runtime] = found
    return found


def _custom(ctx: Context) -> dict[str, str]:
    return sessions.custom_data(ctx.session) if ctx.session is not None else {}


def prompt_request(
    call: Call,
    assistant: Any,
    session: Any,
    settings: dict[str, Any],
    slot: str,
    *,
    query: str = "",
    passages: tuple[generation.Passage, ...] = (),
    tools: list[dict[str, Any]] | None = None,
    history: list[dict[str, str]] | None = None,
    transcript: list[dict[str, str]] | None = None,
    retrieved: bool = False,
) -> tuple[generation.GenerationRequest, tuple[ai_resources.Resource, int | None], Any]:
    """The slot's prompt rendered into a GenerationRequest: (request, (prompt, version), rendered)."""
    prompt, version = slot_prompt(call, assistant, settings, slot)
    assert prompt.type is not None
    template = _template(prompt)
    turns = transcript or []
    values = {
        "transcript": _transcript_text(turns),
        "query": query,
        "contentExcerpt": "\n\n".join(f"<excerpt>{p.text}</excerpt>" for p in passages),
        "locale": settings.get("locale") or "en_US",
        "sessionId": session.id if session is not None else "",
        "assistantId": assistant.id,
        "dateTime": call.now().isoformat(),
        "toolConfigurationList": json.dumps(tools or []),
    }
    custom = sessions.custom_data(session) if session is not None else {}
    _check_budget(prompt, values, custom, history)
    rendered = template.render(values, custom, history=history)
    request = generation.GenerationRequest(
        prompt_type=prompt.type,
        model_id=prompt.config["modelId"],
        system=rendered.system,
        messages=rendered.to_messages(),
        tools=[*rendered.tools, *(tools or [])],
        inference=prompt.config.get("inferenceConfiguration") or {},
        query=query,
        passages=passages,
        transcript=tuple(turns),
        locale=settings.get("locale"),
        scope=(call.account, assistant.id, session.id if session is not None else None),
        region=call.region,
        retrieved=retrieved,
    )
    return request, (prompt, version), rendered


def _template(prompt: ai_resources.Resource) -> PromptTemplate:
    """The prompt's parsed template: parsing its YAML costs more than rendering it, every turn.
    Kept unless its text is very long (a prompt may have up to 1,000,000 characters)."""
    assert prompt.type is not None
    config, text = prompt.config, ai_prompts.template_text(prompt.config)
    if len(text) > MAX_KEPT_TEMPLATE_CHARS:
        return ai_prompts.parsed(prompt.type, config)
    return _parsed_template(prompt.type, config["apiFormat"], text)


@functools.lru_cache(maxsize=64)
def _parsed_template(prompt_type: str, api_format: str, text: str) -> PromptTemplate:
    """`ai_prompts.parsed` of a prompt's text, kept (a template is immutable; errors are not kept)."""
    config = {"apiFormat": api_format, "templateConfiguration": {ai_prompts.TEMPLATE: {"text": text}}}
    return ai_prompts.parsed(prompt_type, config)


def _check_budget(
    prompt: ai_resources.Resource, values: dict[str, str], custom: dict[str, str], history: Any
) -> None:
    """Refuse a prompt whose placeholders would render past MAX_PROMPT_CHARS, before rendering it:
    its text times the largest value it could be given, as a model call would refuse it."""
    text = prompt.config["templateConfiguration"]["textFullAIPromptEditTemplateConfiguration"]["text"]
    largest = max([len(v) for v in (*values.values(), *custom.values())] or [0])
    history_chars = sum(len(m.get("content", "")) for m in history or [])
    if len(text) + text.count("{{$.") * largest + history_chars > MAX_PROMPT_CHARS:
        raise generation.GenerationError(
            generation.UNPROCESSABLE,
            f"The prompt {prompt.name} would render past {MAX_PROMPT_CHARS:,} characters",
            generation.ORCHESTRATION_ERROR,
        )


def _generate(
    ctx: Context,
    slot: str,
    *,
    query: str = "",
    passages: tuple[generation.Passage, ...] = (),
    tools: list[dict[str, Any]] | None = None,
    history: list[dict[str, str]] | None = None,
    retrieved: bool = False,
) -> generation.GenerationResult:
    """Render the slot's prompt and call the backend, traced as a CLIENT span."""
    request, (prompt, version), rendered = prompt_request(
        ctx.call,
        ctx.assistant,
        ctx.session,
        ctx.settings,
        slot,
        query=query,
        passages=passages,
        tools=tools,
        history=history,
        transcript=ctx.history,
        retrieved=retrieved,
    )
    inference = request.inference
    attributes = {
        "operationName": "chat",
        "providerName": ctx.backend.name,
        "promptArn": ai_resources.arn(ctx.call, ai_prompts.KIND, prompt) + (f":{version}" if version else ""),
        "promptId": prompt.id,
        "promptType": prompt.type,
        "promptName": prompt.name,
        "promptVersion": version,
        "requestModel": request.model_id,
        "requestMaxTokens": inference.get("maxTokensToSample"),
        "temperature": inference.get("temperature"),
        "topP": inference.get("topP"),
        "systemInstructions": [{"text": {"value": rendered.system[:25000]}}] if rendered.system else None,
        "inputMessages": [
            _span_message(m["role"], m["content"], ctx) for m in request.messages if m["content"]
        ],
    }
    with ctx.trace.span(f"{prompt.type} {request.model_id}", "CLIENT", ctx.root, attributes) as span:
        result = ctx.backend.generate(request)
        span["attributes"].update(
            {
                "responseModel": result.model_id,
                "responseFinishReasons": [result.finish_reason],
                "usageInputTokens": result.input_tokens,
                "usageOutputTokens": result.output_tokens,
                "usageTotalTokens": result.input_tokens + result.output_tokens,
                "outputMessages": [_span_output(result, ctx)],
            }
        )
    return result


def _span_message(role: str, text: str, ctx: Context) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "participant": "CUSTOMER" if role == "user" else "BOT",
        "timestamp": ctx.trace.now(),
        "values": [{"text": {"value": text[:25000]}}],
    }


def _span_output(result: generation.GenerationResult, ctx: Context) -> dict[str, Any]:
    values: list[dict[str, Any]] = []
    if result.text:
        values.append({"text": {"value": result.text[:25000]}})
    if result.tool_use:
        values.append(
            {
                "toolUse": {
                    "toolUseId": _uuid_of(result.tool_use["toolUseId"]),
                    "name": result.tool_use["name"],
                    "arguments": result.tool_use.get("input") or {},
                }
            }
        )
    return {
        "messageId": str(uuid.uuid4()),
        "participant": "BOT",
        "timestamp": ctx.trace.now(),
        "values": values,
    }


def _uuid_of(value: str) -> str:
    """A tool-use id as the Uuid the span shapes require (a backend's own id may be any string)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, value))


def _check(
    ctx: Context,
    guardrail: tuple[ai_resources.Resource, Guardrail] | None,
    source: str,
    text: str,
    **output: Any,
) -> Assessment | None:
    if guardrail is None:
        return None
    resource, compiled = guardrail
    with ctx.trace.span(
        f"guardrail {source.lower()}", "INTERNAL", ctx.root, {"operationName": "guardrail"}
    ) as span:
        assessment = (
            compiled.check_input(text) if source == "INPUT" else compiled.check_output(text, **output)
        )
        span["attributes"]["guardrailAssessments"] = [
            assessment.to_span(guardrail_id=resource.id, guardrail_name=resource.name)
        ]
    return assessment


def find_passages(
    call: Call, assistant: Any, session: Any, settings: dict[str, Any], query: str
) -> tuple[generation.Passage, ...]:
    """What retrieval finds for the query in the agent's `associationConfigurations` (their
    knowledge bases, the largest `maxResults`), else in every knowledge base of the assistant;
    the session's tag filter applies; the best passage per content."""
    with call.runtime.store.read() as conn:
        kbs = retrieval.searchable_knowledge_bases(conn, call, assistant)
        limit = DEFAULT_PASSAGES
        chosen = settings.get("associationConfigurations") or []
        if chosen:
            wanted = _association_kbs(conn, call, assistant, chosen)
            kbs = {kb: kind for kb, kind in kbs.items() if kb in wanted}
            limits = [
                (c.get("associationConfigurationData") or {})
                .get("knowledgeBaseAssociationConfigurationData", {})
                .get("maxResults")
                for c in chosen
            ]
            limit = max([n for n in limits if n] or [DEFAULT_PASSAGES])
        found = retrieval.search(conn, call, list(kbs), query, keep=retrieval.tag_filter_of(session))
    return tuple(
        generation.Passage(
            content_id=f.content.id,
            knowledge_base_id=f.content.knowledge_base_id,
            title=f.content.title,
            source_url=f.content.source_url,
            text=f.text,
            relevance=f.relevance,
            reference_type=kbs.get(f.content.knowledge_base_id, "KNOWLEDGE_BASE"),
        )
        for f in retrieval.best_per_content(found)[:limit]
    )


def _retrieve(ctx: Context, query: str) -> tuple[generation.Passage, ...]:
    """`find_passages`, traced as an INTERNAL span."""
    with ctx.trace.span("retrieve", "INTERNAL", ctx.root, {"operationName": "retrieve"}) as span:
        passages = find_passages(ctx.call, ctx.assistant, ctx.session, ctx.settings, query)
        span["attributes"]["outputMessages"] = [
            {
                "messageId": str(uuid.uuid4()),
                "participant": "BOT",
                "timestamp": ctx.trace.now(),
                "values": [{"text": {"value": f"{len(passages)} passages for: {query or '(no query)'}"}}],
            }
        ]
    return passages


def _association_kbs(conn: Connection, call: Call, assistant: Any, chosen: list[dict[str, Any]]) -> set[str]:
    kbs = set()
    for entry in chosen:
        row = ASSISTANT_ASSOCIATION.repo.find(
            conn, call.account, call.region, entry.get("associationId", ""), assistant.id
        )
        if row is not None and row.knowledge_base_id:
            kbs.add(row.knowledge_base_id)
    return kbs


def _text_message(
    text: str,
    result: generation.GenerationResult | None,
    passages: tuple[generation.Passage, ...],
    blocked: bool | None,
) -> dict[str, Any]:
    value: dict[str, Any] = {"value": text[:25000]}
    if result is not None and result.citations and text == result.text:
        value["citations"] = [
            {
                "contentId": passages[c.passage].content_id,
                "title": passages[c.passage].title,
                "knowledgeBaseId": passages[c.passage].knowledge_base_id,
                "citationSpan": {"beginOffsetInclusive": c.begin, "endOffsetExclusive": c.end},
                "sourceURL": passages[c.passage].source_url,
                "referenceType": passages[c.passage].reference_type,
            }
            for c in result.citations
        ]
    if blocked is not None:
        value["aiGuardrailAssessment"] = {"blocked": blocked}
    return {"type": "TEXT", "value": {"text": value}}


# -- the agents --------------------------------------------------------------------------------------


def answer(
    call: Call,
    turn: Any,
    backend: generation.Backend,
    send_early: Callable[[dict[str, Any]], None] | None = None,
) -> Answer:
    """The answer to one turn (module docstring); a failed model call is its `error`, traced.
    `send_early` commits a message at once (the filler); without it, it is sent with the answer."""
    result = Answer()
    ctx = load_context(call, turn, backend, send_early or result.messages.append)
    agent = ctx.agent
    attributes = {
        "aiAgentArn": ai_resources.arn(call, ai_agents.KIND, agent)
        + (f":{ctx.agent_version}" if ctx.agent_version else ""),
        "aiAgentType": agent.type,
        "aiAgentName": agent.name,
        "aiAgentId": agent.id,
        "aiAgentVersion": ctx.agent_version,
        "aiAgentInvoker": "SendMessage",
        "aiAgentOrchestratorUseCase": turn.request.get("orchestratorUseCase"),
        "sessionName": ctx.session.name if ctx.session is not None else None,
    }
    try:
        with ctx.trace.span(agent.name, "SERVER", None, attributes) as root:
            ctx.root = root["id"]
            if agent.type == "ORCHESTRATION":
                _orchestrate(ctx, result)
            else:
                _self_service(ctx, result)
    except generation.GenerationError as failure:
        result.messages = []
        result.error = {"code": failure.error_code, "message": failure.message, "reason": failure.reason}
    result.spans = ctx.trace.spans
    custom = [{"key": k, "value": {"stringValue": v}} for k, v in _custom(ctx).items()]
    result.session_data = custom + result.session_data
    return result


def _self_service(ctx: Context, result: Answer) -> None:
    guardrail = _guardrail(ctx, "selfServiceAIGuardrailId")
    text = ctx.text
    checked = _check(ctx, guardrail, "INPUT", text)
    if checked is not None and checked.blocked:
        result.messages.append(_text_message(checked.text, None, (), True))
        return
    if checked is not None:
        text = checked.text
    tools_choice = _generate(ctx, "selfServicePreProcessingAIPromptId", query=text)
    tool = tools_choice.tool_use or {"name": "QUESTION", "input": {"query": text}}
    name, tool_input = tool["name"], tool.get("input") or {}
    result.session_data.append({"key": "selfServiceTool", "value": {"stringValue": name}})
    with ctx.trace.span(f"tool {name}", "INTERNAL", ctx.root, {"operationName": "execute_tool"}):
        pass
    if name != "QUESTION":
        message = str(tool_input.get("message") or tools_choice.text or "")
        result.messages.append(_text_message(message or " ", None, (), _flag(checked)))
        if name in CLOSING_TOOLS:
            result.state = {"status": "CLOSED", "reason": "SUCCESS"}
        return
    if (ctx.turn.request.get("configuration") or {}).get("generateFillerMessage"):
        ctx.send_early(_text_message(FILLER, None, (), None))
    query = str(tool_input.get("query") or text)
    passages = _retrieve(ctx, query)
    generated = _generate(ctx, "selfServiceAnswerGenerationAIPromptId", query=query, passages=passages)
    _send_answer(ctx, result, guardrail, generated, passages, query, checked)


def _flag(checked: Assessment | None) -> bool | None:
    return None if checked is None else checked.blocked


def _send_answer(
    ctx: Context,
    result: Answer,
    guardrail: tuple[ai_resources.Resource, Guardrail] | None,
    generated: generation.GenerationResult,
    passages: tuple[generation.Passage, ...],
    query: str,
    checked_input: Assessment | None,
) -> None:
    text = generated.text or generation.NO_ANSWER
    if text == generation.NO_ANSWER:  # the service's own reply, no claim to ground
        result.messages.append(_text_message(text, None, (), None if guardrail is None else False))
        return
    checked = _check(ctx, guardrail, "OUTPUT", text, sources=[p.text for p in passages], query=query)
    if checked is not None and checked.blocked:
        result.messages.append(_text_message(checked.text, None, (), True))
        return
    shown = checked.text if checked is not None else text
    result.messages.append(_text_message(shown, generated, passages, None if checked is None else False))


def _tools(ctx: Context) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The agent's toolConfigurations as model tools, and each by name."""
    configured = {t["toolName"]: t for t in ctx.settings.get("toolConfigurations") or []}
    tools = [
        {
            "name": name,
            "description": t.get("description") or t.get("title") or name,
            "input_schema": t.get("inputSchema") or {"type": "object", "properties": {}},
        }
        for name, t in configured.items()
    ]
    return tools, configured


def _orchestrate(ctx: Context, result: Answer) -> None:
    guardrail = _guardrail(ctx, "orchestrationAIGuardrailId")
    checked = _check(ctx, guardrail, "INPUT", ctx.text)
    if checked is not None and checked.blocked:
        result.messages.append(_text_message(checked.text, None, (), True))
        return
    text = checked.text if checked is not None else ctx.text
    tools, configured = _tools(ctx)
    passages = _retrieve(ctx, text) if ctx.turn.request["type"] == "TEXT" else ()
    history = [
        {"role": "user" if t["participant"] == "CUSTOMER" else "assistant", "content": t["text"]}
        for t in ctx.history
    ]
    if ctx.turn.request["type"] == "TOOL_USE_RESULT":
        history.append({"role": "user", "content": f"Tool result: {ctx.text}"})
    for _round in range(MAX_TOOL_ROUNDS):
        generated = _generate(
            ctx,
            "orchestrationAIPromptId",
            query=text,
            passages=passages,
            tools=tools,
            history=history,
            retrieved=True,
        )
        use = generated.tool_use
        if use is None or use["name"] not in configured:
            _send_answer(ctx, result, guardrail, generated, passages, text, checked)
            return
        tool = configured[use["name"]]
        with ctx.trace.span(f"tool {use['name']}", "INTERNAL", ctx.root, {"operationName": "execute_tool"}):
            pass
        if tool.get("toolType") != "CONSTANT":
            payload = {"toolUseId": use["toolUseId"], "name": use["name"], "input": use.get("input") or {}}
            result.messages.append({"type": "DATA", "value": {"data": {"toolUse": payload}}})
            return
        constants = {
            o["jsonPath"]: o["value"]["constant"]["value"] for o in tool.get("overrideInputValues") or []
        }
        history.append({"role": "user", "content": f"Tool result: {json.dumps(constants, sort_keys=True)}"})
    result.messages.append(_text_message(generation.NO_ANSWER, None, (), None))
