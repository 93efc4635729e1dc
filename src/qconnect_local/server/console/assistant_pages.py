"""Console pages of assistants: their associations and sessions; a session's transcript, its
recommendation queue and its conversation; one SendMessage turn's span tree.

Everything comes from the API's own operations (`View.call`) but for what none returns, read
through store.console_sessions without changing anything: session names (SearchSessions gives
ids only), a session's `Custom` data, the transcript and the recommendation queue (GetRecommendations
is a client's read, never a page's), which turn a message belongs to, a turn's spans (ListSpans
has no per-turn filter) and which passage a citation quotes.

The one write is posting a transcript utterance, the control plane's own code
(`recommendations.add_turn`), from a confirmed form.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Final

from qconnect_local.server.console import kb_pages, shared
from qconnect_local.server.console.framework import ConsoleError, Crumb, Page, View, page, redirect, when
from qconnect_local.service import recommendations
from qconnect_local.service.context import Call
from qconnect_local.store import console_sessions
from qconnect_local.store.console_sessions import SpanRow

TRANSCRIPT_SHOWN: Final = 100  # transcript turns on one session page
TRIGGERS_SHOWN: Final = 20  # recommendation triggers on one session page
SPANS_SHOWN: Final = 1_000  # spans of one turn at most
TURN_MESSAGES: Final = 50  # messages of one turn shown on its span page
PARTICIPANTS: Final = recommendations.PARTICIPANTS
AI_PAGES: Final = (
    ("ai-agents", "AI agents"),
    ("ai-prompts", "AI prompts"),
    ("ai-guardrails", "AI guardrails"),
)
TRACK_WIDTH: Final = 1000  # the span bar's SVG user units across the turn's whole duration
MIN_BAR: Final = 4.0  # the narrowest bar, so that an instant span is still seen


# --- helpers ------------------------------------------------------------------------------------


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ConsoleError(400, f"Not a position in a list: {value[:40]!r}") from None


def _session(view: View, assistant: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = view.call(
        "GetSession", assistantId=assistant["assistantId"], sessionId=view.labels["session"]
    )["session"]
    return found


def _agent_links(view: View, assistant_id: str, config: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The aiAgentConfiguration map as rows: type, agent id and version, link, enabled."""
    rows = []
    for agent_type, data in sorted((config or {}).items()):
        qualified = str((data or {}).get("aiAgentId", ""))
        agent, version = shared.split_reference(qualified)
        rows.append(
            {
                "type": agent_type,
                "id": agent,
                "version": version,
                "href": view.url("assistants", assistant_id, "ai-agents", agent) if agent else None,
                "enabled": (data or {}).get("enabled"),
            }
        )
    return rows


def _orchestrators(
    view: View, assistant_id: str, entries: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    rows = []
    for entry in entries or []:
        agent, version = shared.split_reference(str(entry.get("aiAgentId", "")))
        rows.append(
            {
                "useCase": entry.get("orchestratorUseCase"),
                "id": agent,
                "version": version,
                "href": view.url("assistants", assistant_id, "ai-agents", agent) if agent else None,
            }
        )
    return rows


# --- assistants -----------------------------------------------------------------------------------


@page("GET", "assistants")
def assistant_list(view: View) -> Page:
    assistants, next_token = view.page_of("ListAssistants", "assistantSummaries")
    return Page(
        "assistant_list.html",
        "Assistants",
        shared.assistant_crumbs(view),
        {"assistants": assistants, "next_token": next_token},
    )


@page("GET", "assistants/{assistant}")
def assistant_detail(view: View) -> Page:
    assistant = shared.assistant(view)
    assistant_id = assistant["assistantId"]
    association_params: dict[str, Any] = {"assistantId": assistant_id, "maxResults": 50}
    if view.query.get("associations"):
        association_params["nextToken"] = view.query["associations"]
    listed = view.call("ListAssistantAssociations", **association_params)
    name = (view.query.get("name") or "").strip()
    filters = [{"field": "NAME", "operator": "EQUALS", "value": name}] if name else []
    sessions, sessions_next = view.page_of(
        "SearchSessions", "sessionSummaries", assistantId=assistant_id, searchExpression={"filters": filters}
    )
    with view.runtime.store.read() as conn:
        names = console_sessions.session_names(
            conn, view.account, view.region, assistant_id, [s["sessionId"] for s in sessions]
        )
    rows = [
        {
            "id": s["sessionId"],
            "arn": s["sessionArn"],
            "name": names[s["sessionId"]].name if s["sessionId"] in names else s["sessionId"],
            "description": names[s["sessionId"]].description if s["sessionId"] in names else None,
            "created": when(names[s["sessionId"]].created_at, precise=True)
            if s["sessionId"] in names
            else None,
        }
        for s in sessions
    ]
    encryption = assistant.get("serverSideEncryptionConfiguration") or {}
    return Page(
        "assistant_detail.html",
        assistant["name"],
        shared.assistant_crumbs(view, assistant),
        {
            "assistant": assistant,
            "assistant_id": assistant_id,
            "modified": when(assistant.get("lastModifiedTime"), precise=True),
            "kms_key": encryption.get("kmsKeyId"),
            "replica_keys": encryption.get("replicaKmsKeys") or [],
            "agents": _agent_links(view, assistant_id, assistant.get("aiAgentConfiguration")),
            "orchestrators": _orchestrators(
                view, assistant_id, assistant.get("orchestratorConfigurationList")
            ),
            "associations": listed.get("assistantAssociationSummaries", []),
            "associations_next": listed.get("nextToken"),
            "sessions": rows,
            "sessions_next": sessions_next,
            "session_name": name,
            "ai_pages": AI_PAGES,
        },
    )


# --- a session ------------------------------------------------------------------------------------


@dataclass
class Cited:
    """One citation of a message: its number, the quoted text and where it links."""

    number: int
    title: str | None
    quoted: str
    href: str | None
    reference_type: str | None
    source_url: str | None


@dataclass
class Piece:
    text: str
    citation: int | None = None  # the number of the citation this piece of the text is


@dataclass
class ShownMessage:
    id: str
    participant: str
    when: str | None
    kind: str  # TEXT, DATA, TOOL_USE_RESULT
    text: str | None
    pieces: list[Piece] = field(default_factory=list)
    citations: list[Cited] = field(default_factory=list)
    blocked: bool | None = None
    document: Any = None  # DATA or tool result, as JSON
    trace_href: str | None = None  # the turn's span page, on the message SendMessage sent


def _pieces(text: str, spans: list[tuple[int, int, int]]) -> list[Piece]:
    """The text cut at its citation spans (begin, end, number), in order; overlaps go to the first."""
    pieces: list[Piece] = []
    at = 0
    for begin, end, number in sorted(spans):
        begin, end = max(begin, at), min(end, len(text))
        if begin >= end:
            continue
        if begin > at:
            pieces.append(Piece(text[at:begin]))
        pieces.append(Piece(text[begin:end], number))
        at = end
    if at < len(text) or not pieces:
        pieces.append(Piece(text[at:]))
    return pieces


def _content_url(view: View, kb: str, content: str, position: int | None) -> str:
    """The content page, at the passage when one is known (its page of passages starting there
    when the first page does not show it)."""
    if position is None:
        return view.url("knowledge-bases", kb, "contents", content)
    first = str(position) if position >= kb_pages.PASSAGES_SHOWN else None
    return view.url("knowledge-bases", kb, "contents", content, passages=first) + f"#passage-{position}"


def _messages(
    view: View, assistant_id: str, session_id: str, listed: list[dict[str, Any]]
) -> list[ShownMessage]:
    known: dict[str, list[tuple[int, str]]] = {}
    shown = []
    with view.runtime.store.read() as conn:
        turns = console_sessions.message_turns(
            conn, view.account, view.region, session_id, [m["messageId"] for m in listed]
        )
        for message in listed:
            value = message.get("value") or {}
            item = ShownMessage(
                message["messageId"],
                message["participant"],
                when(message.get("timestamp"), precise=True),
                "TEXT",
                None,
            )
            if "text" in value and value["text"] is not None:
                text_value = value["text"]
                item.text = str(text_value.get("value") or "")
                item.blocked = (text_value.get("aiGuardrailAssessment") or {}).get("blocked")
                spans = []
                for number, citation in enumerate(text_value.get("citations") or [], start=1):
                    span = citation.get("citationSpan") or {}
                    begin = int(span.get("beginOffsetInclusive") or 0)
                    end = int(span.get("endOffsetExclusive") or 0)
                    quoted = item.text[begin:end]
                    kb, content = citation.get("knowledgeBaseId"), citation.get("contentId")
                    href = None
                    if kb and content:
                        position = console_sessions.cited_passage(
                            conn, view.account, view.region, content, quoted, known
                        )
                        href = _content_url(view, kb, content, position)
                    item.citations.append(
                        Cited(
                            number,
                            citation.get("title"),
                            quoted,
                            href,
                            citation.get("referenceType"),
                            citation.get("sourceURL"),
                        )
                    )
                    spans.append((begin, end, number))
                item.pieces = _pieces(item.text, spans)
            elif "data" in value:
                item.kind, item.document = "DATA", shared.plain(value["data"])
            elif "toolUseResult" in value:
                item.kind, item.document = "TOOL_USE_RESULT", shared.plain(value["toolUseResult"])
            turn = turns.get(message["messageId"])
            if turn is not None and turn[1] == message["messageId"]:
                item.trace_href = view.url(
                    "assistants", assistant_id, "sessions", session_id, "messages", turn[1]
                )
            shown.append(item)
    return shown


def _recommendation(view: View, rec: console_sessions.Recommendation) -> dict[str, Any]:
    """What a queued recommendation shows: its type, title, excerpt or answer, and a link."""
    payload = rec.payload or {}
    document = payload.get("document") or {}
    details = (payload.get("data") or {}).get("details") or {}
    reference = document.get("contentReference") or {}
    title = (document.get("title") or {}).get("text")
    text = (document.get("excerpt") or {}).get("text")
    if "intentDetectedData" in details:
        title, text = "Detected intent", details["intentDetectedData"].get("intent")
    elif "generativeData" in details:
        completion = details["generativeData"].get("completion")
        title, text = (
            "Generative answer",
            completion.get("value") if isinstance(completion, dict) else completion,
        )
    kb, content = reference.get("knowledgeBaseId"), reference.get("contentId")
    return {
        "id": rec.id,
        "type": rec.type,
        "title": title,
        "text": text,
        "relevance": payload.get("relevanceLevel"),
        "score": payload.get("relevanceScore"),
        "href": view.url("knowledge-bases", kb, "contents", content) if kb and content else None,
        "received": rec.received,
        "when": when(rec.created_at, precise=True),
        "payload": shared.plain(payload),
    }


@page("GET", "assistants/{assistant}/sessions/{session}")
def session_detail(view: View) -> Page:
    assistant = shared.assistant(view)
    assistant_id = assistant["assistantId"]
    session = _session(view, assistant)
    session_id = session["sessionId"]
    message_params: dict[str, Any] = {"assistantId": assistant_id, "sessionId": session_id, "maxResults": 50}
    if view.query.get("messages"):
        message_params["nextToken"] = view.query["messages"]
    listed = view.call("ListMessages", **message_params)
    shown = _messages(view, assistant_id, session_id, listed.get("messages", []))
    with view.runtime.store.read() as conn:
        extras = console_sessions.session_extras(conn, view.account, view.region, assistant_id, session_id)
        turns, earlier = console_sessions.transcript_page(
            conn,
            view.account,
            view.region,
            session_id,
            before=_int(view.query.get("turns")),
            limit=TRANSCRIPT_SHOWN,
        )
        triggers, older = console_sessions.trigger_page(
            conn,
            view.account,
            view.region,
            session_id,
            before=_int(view.query.get("triggers")),
            limit=TRIGGERS_SHOWN,
        )
    queue = [
        {
            "id": t.id,
            "type": t.type,
            "source": t.source,
            "query": t.query_text,
            "when": when(t.created_at, precise=True),
            "recommendations": [_recommendation(view, r) for r in t.recommendations],
        }
        for t in triggers
    ]
    return Page(
        "assistant_session.html",
        session["name"],
        shared.assistant_crumbs(
            view,
            assistant,
            Crumb("Sessions", view.url("assistants", assistant_id) + "#sessions"),
            Crumb(session["name"]),
        ),
        {
            "assistant": assistant,
            "assistant_id": assistant_id,
            "session": session,
            "session_id": session_id,
            "extras": extras,
            "created": when(extras.created_at, precise=True) if extras else None,
            "modified": when(extras.modified_at, precise=True) if extras else None,
            "agents": _agent_links(view, assistant_id, session.get("aiAgentConfiguration")),
            "orchestrators": _orchestrators(view, assistant_id, session.get("orchestratorConfigurationList")),
            "tag_filter": shared.plain(session.get("tagFilter")),
            "turns": turns,
            "turn_when": {t.seq: when(t.created_at, precise=True) for t in turns},
            "earlier_turns": earlier,
            "queue": queue,
            "older_triggers": older,
            "messages": shown,
            "messages_next": listed.get("nextToken"),
            "participants": PARTICIPANTS,
            "transcript_action": view.url("assistants", assistant_id, "sessions", session_id, "transcript"),
        },
    )


@page("POST", "assistants/{assistant}/sessions/{session}/transcript")
def post_transcript(view: View) -> Any:
    """One utterance of the live contact, as the control plane's transcript endpoint adds it."""
    call = Call(view.runtime, view.account, view.region, "Transcript", str(uuid.uuid4()), view.base_url)
    assistant_id, session_id = view.labels["assistant"], view.labels["session"]
    try:
        recommendations.add_turn(
            call, assistant_id, session_id, view.form.get("participant"), view.form.get("text")
        )
    except ValueError as error:
        raise ConsoleError(400, f"The utterance was not added: {error}") from None
    return redirect(view.url("assistants", assistant_id, "sessions", session_id) + "#transcript")


# --- one turn's spans -----------------------------------------------------------------------------


@dataclass
class ShownSpan:
    id: str
    name: str
    type: str
    status: str
    description: str | None
    start: float
    end: float
    offset_ms: float
    duration_ms: float
    bar_x: float
    bar_width: float
    started: str | None
    ended: str | None
    attributes: dict[str, Any]
    depth: int = 0
    children: list[ShownSpan] = field(default_factory=list)
    facts: list[tuple[str, Any]] = field(default_factory=list)
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (label, text, href)
    system: list[str] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    assessments: list[dict[str, Any]] = field(default_factory=list)
    raw: Any = None


SPAN_FACTS: Final = (
    ("operationName", "Operation"),
    ("providerName", "Provider"),
    ("aiAgentType", "Agent type"),
    ("aiAgentVersion", "Agent version"),
    ("aiAgentInvoker", "Invoked by"),
    ("aiAgentOrchestratorUseCase", "Orchestrator use case"),
    ("sessionName", "Session"),
    ("promptType", "Prompt type"),
    ("promptVersion", "Prompt version"),
    ("requestModel", "Model asked"),
    ("responseModel", "Model answering"),
    ("requestMaxTokens", "Max tokens"),
    ("temperature", "Temperature"),
    ("topP", "Top P"),
    ("responseFinishReasons", "Finish reasons"),
    ("timeToFirstTokenMs", "Time to first token (ms)"),
    ("errorType", "Error type"),
    ("interactionMode", "Interaction mode"),
    ("returnReason", "Return reason"),
)


def _span_message(message: dict[str, Any]) -> dict[str, Any]:
    """A SpanMessage as the page shows it: participant, time and each value's text."""
    values = []
    for value in message.get("values") or []:
        if "text" in value:
            values.append({"kind": "text", "text": (value["text"] or {}).get("value", "")})
        elif "toolUse" in value:
            use = value["toolUse"] or {}
            values.append(
                {"kind": "tool use", "text": f"{use.get('name')}", "json": shared.plain(use.get("arguments"))}
            )
        elif "toolResult" in value:
            values.append({"kind": "tool result", "text": "", "json": shared.plain(value["toolResult"])})
        elif "reasoning" in value:
            values.append({"kind": "reasoning", "text": str((value["reasoning"] or {}).get("value", ""))})
    return {
        "participant": message.get("participant"),
        "when": when(message.get("timestamp"), precise=True),
        "values": values,
    }


def _shown_span(view: View, assistant_id: str, row: SpanRow, t0: float, total: float) -> ShownSpan:
    payload = row.payload
    attributes = dict(payload.get("attributes") or {})
    start, end = float(payload["startTimestamp"]), float(payload["endTimestamp"])
    span = ShownSpan(
        id=row.id,
        name=str(payload.get("spanName")),
        type=str(payload.get("spanType")),
        status=str(payload.get("status")),
        description=payload.get("statusDescription"),
        start=start,
        end=end,
        offset_ms=round((start - t0) * 1000, 1),
        duration_ms=round((end - start) * 1000, 1),
        bar_x=min(round((start - t0) / total * TRACK_WIDTH, 1), TRACK_WIDTH - MIN_BAR),
        bar_width=max(round((end - start) / total * TRACK_WIDTH, 1), MIN_BAR),
        started=when(start, precise=True),
        ended=when(end, precise=True),
        attributes=attributes,
        raw=shared.plain({"spanId": row.id, **payload}),
    )
    span.facts = [(label, attributes[key]) for key, label in SPAN_FACTS if attributes.get(key) is not None]
    if attributes.get("aiAgentId"):
        span.links.append(
            (
                "AI agent",
                str(attributes.get("aiAgentName") or attributes["aiAgentId"]),
                view.url("assistants", assistant_id, "ai-agents", str(attributes["aiAgentId"])),
            )
        )
    if attributes.get("promptId"):
        span.links.append(
            (
                "AI prompt",
                str(attributes.get("promptName") or attributes["promptId"]),
                view.url("assistants", assistant_id, "ai-prompts", str(attributes["promptId"])),
            )
        )
    span.system = [
        str((v.get("text") or {}).get("value", ""))
        for v in attributes.get("systemInstructions") or []
        if v.get("text")
    ]
    span.inputs = [_span_message(m) for m in attributes.get("inputMessages") or []]
    span.outputs = [_span_message(m) for m in attributes.get("outputMessages") or []]
    usage_keys = (
        "usageInputTokens",
        "usageOutputTokens",
        "usageTotalTokens",
        "cacheReadInputTokens",
        "cacheWriteInputTokens",
    )
    if any(attributes.get(k) is not None for k in usage_keys):
        span.usage = {k: attributes.get(k) for k in usage_keys}
    for assessment in attributes.get("guardrailAssessments") or []:
        span.assessments.append(
            {
                "name": assessment.get("guardrailName"),
                "href": view.url(
                    "assistants", assistant_id, "ai-guardrails", str(assessment.get("guardrailId"))
                ),
                "source": assessment.get("source"),
                "action": assessment.get("action"),
                "policies": assessment.get("policies") or [],
            }
        )
    return span


def span_tree(view: View, assistant_id: str, rows: list[SpanRow]) -> tuple[list[ShownSpan], float]:
    """The turn's spans nested by parent span id (a span whose parent is not among them is a
    root), each with its offset and duration in the turn; and the turn's duration in ms."""
    if not rows:
        return [], 0.0
    t0 = min(float(r.payload["startTimestamp"]) for r in rows)
    t1 = max(float(r.payload["endTimestamp"]) for r in rows)
    total = max(t1 - t0, 0.001)
    shown = {r.id: _shown_span(view, assistant_id, r, t0, total) for r in rows}
    roots: list[ShownSpan] = []
    for row in rows:
        parent = row.payload.get("parentSpanId")
        node = shown[row.id]
        if parent and parent in shown and parent != row.id:
            shown[parent].children.append(node)
        else:
            roots.append(node)
    for children in [roots, *(s.children for s in shown.values())]:
        children.sort(key=lambda s: (s.start, s.end))
    return roots, round((t1 - t0) * 1000, 1)


def flatten(roots: list[ShownSpan]) -> list[ShownSpan]:
    """The tree in reading order (depth-first), each span with its depth; a cycle cannot loop."""
    order: list[ShownSpan] = []
    seen: set[str] = set()
    stack = [(span, 0) for span in reversed(roots)]
    while stack:
        span, depth = stack.pop()
        if span.id in seen:
            continue
        seen.add(span.id)
        span.depth = depth
        order.append(span)
        stack.extend((child, depth + 1) for child in reversed(span.children))
    return order


@page("GET", "assistants/{assistant}/sessions/{session}/messages/{message}")
def turn_spans(view: View) -> Page:
    assistant = shared.assistant(view)
    assistant_id = assistant["assistantId"]
    session = _session(view, assistant)
    session_id = session["sessionId"]
    message_id = view.labels["message"]
    with view.runtime.store.read() as conn:
        turn = console_sessions.turn_of_message(conn, view.account, view.region, session_id, message_id)
        if turn is None:
            raise ConsoleError(
                404, f"Session {session_id} has no message {message_id} sent with SendMessage."
            )
        rows = console_sessions.turn_spans(
            conn, view.account, view.region, session_id, turn.id, limit=SPANS_SHOWN
        )
        said = console_sessions.turn_messages(
            conn, view.account, view.region, session_id, turn.id, limit=TURN_MESSAGES
        )
    roots, total_ms = span_tree(view, assistant_id, rows)
    session_url = view.url("assistants", assistant_id, "sessions", session_id)
    request = turn.request or {}
    outcome = turn.outcome or {}
    agent_href = None
    if request.get("agentId"):
        agent_href = view.url("assistants", assistant_id, "ai-agents", str(request["agentId"]))
    messages = [
        {
            "id": m.id,
            "participant": m.participant,
            "type": m.type,
            "when": when(m.created_at, precise=True),
            "text": (m.value.get("text") or {}).get("value") if m.type == "TEXT" else None,
            "document": shared.plain(m.value) if m.type != "TEXT" else None,
        }
        for m in said
    ]
    return Page(
        "assistant_turn.html",
        f"Turn of {when(turn.created_at, precise=True)}",
        shared.assistant_crumbs(
            view,
            assistant,
            Crumb("Sessions", view.url("assistants", assistant_id) + "#sessions"),
            Crumb(session["name"], session_url),
            Crumb("Trace"),
        ),
        {
            "assistant_id": assistant_id,
            "session_id": session_id,
            "session_url": session_url + "#conversation",
            "turn": turn,
            "request": request,
            "state": outcome.get("conversationState"),
            "error": outcome.get("error"),
            "agent_href": agent_href,
            "started": when(turn.created_at, precise=True),
            "finished": when(turn.modified_at, precise=True) if turn.status != "PROCESSING" else None,
            "messages": messages,
            "roots": roots,
            "spans": flatten(roots),
            "total_ms": total_ms,
            "track_width": TRACK_WIDTH,
            "truncated": len(rows) >= SPANS_SHOWN,
        },
    )
