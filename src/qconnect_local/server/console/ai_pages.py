"""Console pages of an assistant's AI agents, AI prompts and AI guardrails.

Lists (SYSTEM ones too, their origin marked), and for each resource its `$LATEST` and its
versions side by side, which version the assistant runs by default (GetAssistant's
`aiAgentConfiguration`), and, for agents, links to the prompts and guardrails they name.
A prompt's preview renders its template with one session's values, as a model call would
fill them (`conversation_pipeline.prompt_request`), without calling any model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from qconnect_local.engine.prompt_templates import (
    CONVERSATION_HISTORY,
    CUSTOM_PREFIX,
    PromptTemplate,
    PromptTemplateError,
    parse_prompt,
)
from qconnect_local.protocol.errors import ServiceError
from qconnect_local.server.console import shared
from qconnect_local.server.console.framework import PAGE_SIZE, Crumb, Page, View, page, when
from qconnect_local.service.conversation_pipeline import MAX_HISTORY, TRANSCRIPT_TURNS
from qconnect_local.store import console_ai

VERSION_COLUMNS: Final = 10  # versions side by side on one page (prompts and guardrails: one Get each)
PARTICIPANTS: Final = {"CUSTOMER": "Customer", "AGENT": "Agent", "BOT": "Bot"}
PROMPT_SLOT: Final = "AIPromptId"
GUARDRAIL_SLOT: Final = "AIGuardrailId"


# -- shared helpers --------------------------------------------------------------------------------


def _anchor(qualifier: str | None) -> str:
    return f"version-{qualifier}" if qualifier and qualifier.isdigit() else "latest"


def _qualifier_label(qualifier: str | None) -> str:
    return f"version {qualifier}" if qualifier and qualifier.isdigit() else "$LATEST"


# -- the three kinds -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    path: str  # the URL segment: ai-agents
    label: str  # AI agents
    singular: str  # AI agent
    noun: str  # aiAgent: the data member of Get*, the prefix of its id and summary members
    has_origin: bool

    @property
    def plural_noun(self) -> str:
        return self.noun[0].upper() + self.noun[1:] + "s"  # AIAgents -> ListAIAgents

    @property
    def op_noun(self) -> str:
        return "AI" + self.noun[2:]  # aiAgent -> AIAgent

    @property
    def id_member(self) -> str:
        return self.noun + "Id"


AGENTS: Final = Kind("ai-agents", "AI agents", "AI agent", "aiAgent", True)
PROMPTS: Final = Kind("ai-prompts", "AI prompts", "AI prompt", "aiPrompt", True)
GUARDRAILS: Final = Kind("ai-guardrails", "AI guardrails", "AI guardrail", "aiGuardrail", False)
KINDS: Final = {kind.path: kind for kind in (AGENTS, PROMPTS, GUARDRAILS)}


def _list(view: View, kind: Kind) -> Page:
    assistant = shared.assistant(view)
    params: dict[str, Any] = {"assistantId": assistant["assistantId"]}
    origin = view.query.get("origin")
    if kind.has_origin and origin in ("SYSTEM", "CUSTOMER"):
        params["origin"] = origin
    else:
        origin = None
    items, next_token = view.page_of(f"List{kind.op_noun}s", f"{kind.noun}Summaries", **params)
    rows = [
        {
            "name": item.get("name"),
            "id": item[kind.id_member],
            "href": view.url("assistants", assistant["assistantId"], kind.path, item[kind.id_member]),
            "type": item.get("type"),
            "origin": item.get("origin"),
            "visibility": item.get("visibilityStatus"),
            "status": item.get("status"),
            "modified": when(item.get("modifiedTime")),
            "model": item.get("modelId"),
            "api_format": item.get("apiFormat"),
        }
        for item in items
    ]
    filters = [("All", view.here(origin=None, next=None), origin is None)]
    if kind.has_origin:
        filters += [
            (name, view.here(origin=name, next=None), origin == name) for name in ("SYSTEM", "CUSTOMER")
        ]
    return Page(
        "ai_list.html",
        f"{kind.label} of {assistant.get('name') or assistant['assistantId']}",
        shared.assistant_crumbs(view, assistant, Crumb(kind.label)),
        {
            "kind": kind,
            "assistant": assistant,
            "rows": rows,
            "next_token": next_token,
            "filters": filters,
            "others": [k for k in KINDS.values() if k is not kind],
        },
    )


@page("GET", "assistants/{assistant}/ai-agents")
def agent_list(view: View) -> Page:
    return _list(view, AGENTS)


@page("GET", "assistants/{assistant}/ai-prompts")
def prompt_list(view: View) -> Page:
    return _list(view, PROMPTS)


@page("GET", "assistants/{assistant}/ai-guardrails")
def guardrail_list(view: View) -> Page:
    return _list(view, GUARDRAILS)


# -- detail pages ----------------------------------------------------------------------------------


def _get(view: View, kind: Kind, assistant_id: str, qualified: str) -> dict[str, Any]:
    params = {"assistantId": assistant_id, kind.id_member: qualified}
    return view.call(f"Get{kind.op_noun}", **params)


def _versions(
    view: View, kind: Kind, assistant_id: str, resource_id: str, size: int
) -> tuple[list[dict[str, Any]], str | None]:
    params = {"assistantId": assistant_id, kind.id_member: resource_id, "maxResults": size}
    return view.page_of(f"List{kind.op_noun}Versions", f"{kind.noun}VersionSummaries", **params)


def _common_fields(data: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        ("Visibility", data.get("visibilityStatus")),
        ("Status", data.get("status")),
        ("Modified", when(data.get("modifiedTime"))),
        ("Description", data.get("description")),
    ]


def _column(qualifier: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """One side-by-side column: its heading and anchor; kind-specific parts are added after."""
    return {
        "label": f"Version {qualifier}" if qualifier else "$LATEST",
        "anchor": _anchor(qualifier),
        "number": qualifier,
        "fields": [],
        "references": [],
        "sections": [],
        "text": None,
        "variables": [],
        "problem": None,
        "defaults": [],
        "data": data,
        "json": shared.plain(data),
    }


def _detail(
    view: View, kind: Kind, fill: Callable[[View, dict[str, Any], dict[str, Any], Any], None]
) -> Page:
    """The shared frame of a detail page: $LATEST and a page of versions side by side."""
    assistant = shared.assistant(view)
    assistant_id = assistant["assistantId"]
    resource_id = view.labels[kind.noun[2:].lower()]
    latest = _get(view, kind, assistant_id, resource_id)
    data = latest[kind.noun]
    columns = [_column(None, data)]
    size = PAGE_SIZE if kind is AGENTS else VERSION_COLUMNS
    summaries, next_token = _versions(view, kind, assistant_id, data[kind.id_member], size)
    for summary in summaries:
        number = str(summary["versionNumber"])
        if kind is AGENTS:  # an agent's version summary carries its whole configuration
            version_data = summary[f"{kind.noun}Summary"]
        else:  # prompts' and guardrails' summaries do not: one Get of the version each
            version_data = _get(view, kind, assistant_id, f"{data[kind.id_member]}:{number}")[kind.noun]
        columns.append(_column(number, version_data))
    context: dict[str, Any] = {}
    for column in columns:
        fill(view, assistant, column, context)
    name = data.get("name") or data[kind.id_member]
    values: dict[str, Any] = {
        "kind": kind,
        "assistant": assistant,
        "data": data,
        "summary": [
            ("Name", data.get("name")),
            ("Id", data[kind.id_member]),
            ("ARN", data.get(f"{kind.noun}Arn")),
            ("Origin", data.get("origin")),
            ("Type", data.get("type")),
            (
                "Versions on this page",
                str(len(summaries)) + (" (more on the next page)" if next_token else ""),
            ),
        ],
        "columns": columns,
        "next_token": next_token,
        "list_href": view.url("assistants", assistant_id, kind.path),
        "uses": context.get("uses", []),
        "preview_href": (
            view.url("assistants", assistant_id, "ai-prompts", data[kind.id_member], "preview")
            if kind is PROMPTS
            else None
        ),
    }
    return Page(
        "ai_detail.html",
        f"{kind.singular} {name}",
        shared.assistant_crumbs(
            view, assistant, Crumb(kind.label, view.url("assistants", assistant_id, kind.path)), Crumb(name)
        ),
        values,
    )


# agents


def agent_settings(data: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The agent's configuration member (e.g. manualSearchAIAgentConfiguration) and its settings."""
    for member, settings in (data.get("configuration") or {}).items():
        if settings is not None:
            return member, settings
    return None, {}


def default_uses(assistant: dict[str, Any]) -> list[dict[str, Any]]:
    """The assistant's default agents: per agent type (and orchestrator use case), the agent and
    qualifier it names."""
    uses: list[dict[str, Any]] = []
    for agent_type, entry in sorted((assistant.get("aiAgentConfiguration") or {}).items()):
        if entry and entry.get("aiAgentId"):
            agent_id, qualifier = shared.split_reference(entry["aiAgentId"])
            uses.append(
                {"for": agent_type, "id": agent_id, "qualifier": qualifier, "enabled": entry.get("enabled")}
            )
    for entry in assistant.get("orchestratorConfigurationList") or []:
        agent_id, qualifier = shared.split_reference(entry["aiAgentId"])
        uses.append(
            {
                "for": f"ORCHESTRATION use case {entry.get('orchestratorUseCase')}",
                "id": agent_id,
                "qualifier": qualifier,
                "enabled": None,
            }
        )
    return uses


def _reference_name(
    view: View, assistant_id: str, kind: Kind, resource_id: str, cache: dict[str, Any]
) -> str:
    if resource_id not in cache:
        try:
            cache[resource_id] = _get(view, kind, assistant_id, resource_id)[kind.noun].get("name")
        except ServiceError:
            cache[resource_id] = None
    return cache[resource_id] or f"{resource_id} (not found)"


def _fill_agent(
    view: View, assistant: dict[str, Any], column: dict[str, Any], context: dict[str, Any]
) -> None:
    data = column["data"]
    assistant_id = assistant["assistantId"]
    agent_id = data["aiAgentId"]
    names: dict[str, Any] = context.setdefault("names", {})
    member, settings = agent_settings(data)
    column["fields"] = [("Type", data.get("type")), ("Configuration", member), *_common_fields(data)]
    for slot, value in sorted(settings.items()):
        if isinstance(value, str) and slot.endswith((PROMPT_SLOT, GUARDRAIL_SLOT)):
            target = PROMPTS if slot.endswith(PROMPT_SLOT) else GUARDRAILS
            ref_id, qualifier = shared.split_reference(value)
            column["references"].append(
                {
                    "slot": slot,
                    "kind": target.singular,
                    "name": _reference_name(view, assistant_id, target, ref_id, names),
                    "version": _qualifier_label(qualifier),
                    "href": view.url("assistants", assistant_id, target.path, ref_id)
                    + "#"
                    + _anchor(qualifier),
                }
            )
        else:
            shown = value if isinstance(value, str) else json.dumps(shared.plain(value), sort_keys=True)
            column["fields"].append((slot, shown))
    if "uses" not in context:
        context["uses"] = []
        for use in default_uses(assistant):
            mine = use["id"] == agent_id
            context["uses"].append(
                {
                    **use,
                    "mine": mine,
                    "name": "this agent"
                    if mine
                    else _reference_name(view, assistant_id, AGENTS, use["id"], names),
                    "system_fallback": False,
                    "version": _qualifier_label(use["qualifier"]),
                    "href": view.url("assistants", assistant_id, "ai-agents", use["id"])
                    + "#"
                    + _anchor(use["qualifier"]),
                }
            )
        if data.get("origin") == "SYSTEM" and data.get("type") not in (
            assistant.get("aiAgentConfiguration") or {}
        ):
            context["uses"].append(
                {
                    "for": data.get("type"),
                    "id": agent_id,
                    "qualifier": "1",
                    "version": "version 1",
                    "enabled": None,
                    "mine": True,
                    "name": "this agent",
                    "system_fallback": True,
                    "href": "#version-1",
                }
            )
    for use in context["uses"]:
        if use["mine"] and _anchor(use["qualifier"]) == column["anchor"]:
            column["defaults"].append(use["for"])


@page("GET", "assistants/{assistant}/ai-agents/{agent}")
def agent_detail(view: View) -> Page:
    return _detail(view, AGENTS, _fill_agent)


# prompts


def template_text(data: dict[str, Any]) -> str:
    configuration = data.get("templateConfiguration") or {}
    text = (configuration.get("textFullAIPromptEditTemplateConfiguration") or {}).get("text")
    return text if isinstance(text, str) else ""


def parsed_template(data: dict[str, Any]) -> PromptTemplate:
    return parse_prompt(
        template_text(data), prompt_type=data.get("type") or "", api_format=data.get("apiFormat") or ""
    )


def _fill_prompt(
    view: View, assistant: dict[str, Any], column: dict[str, Any], context: dict[str, Any]
) -> None:
    data = column["data"]
    column["fields"] = [
        ("Type", data.get("type")),
        ("API format", data.get("apiFormat")),
        ("Model", data.get("modelId")),
        ("Template type", data.get("templateType")),
        *_common_fields(data),
    ]
    inference = data.get("inferenceConfiguration")
    if inference:
        column["fields"].append(("Inference", json.dumps(inference, sort_keys=True)))
    column["text"] = template_text(data)
    try:
        column["variables"] = sorted(parsed_template(data).variables)
    except PromptTemplateError as error:
        column["problem"] = str(error)


@page("GET", "assistants/{assistant}/ai-prompts/{prompt}")
def prompt_detail(view: View) -> Page:
    return _detail(view, PROMPTS, _fill_prompt)


# guardrails


def _policy_lines(data: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Each policy of a guardrail as readable lines."""
    sections: list[tuple[str, list[str]]] = []
    topics = (data.get("topicPolicyConfig") or {}).get("topicsConfig") or []
    if topics:
        sections.append(
            (
                "Denied topics",
                [f"{t.get('name')}: {t.get('definition')}" + _examples(t.get("examples")) for t in topics],
            )
        )
    filters = (data.get("contentPolicyConfig") or {}).get("filtersConfig") or []
    if filters:
        sections.append(
            (
                "Content filters",
                [
                    f"{f.get('type')}: input {f.get('inputStrength')}, output {f.get('outputStrength')}"
                    for f in filters
                ],
            )
        )
    words = data.get("wordPolicyConfig") or {}
    lines = [f"word: {w.get('text')}" for w in words.get("wordsConfig") or []]
    lines += [f"managed list: {w.get('type')}" for w in words.get("managedWordListsConfig") or []]
    if lines:
        sections.append(("Word filters", lines))
    sensitive = data.get("sensitiveInformationPolicyConfig") or {}
    lines = [f"{p.get('type')}: {p.get('action')}" for p in sensitive.get("piiEntitiesConfig") or []]
    lines += [
        f"regex {r.get('name')}: {r.get('pattern')} → {r.get('action')}"
        for r in sensitive.get("regexesConfig") or []
    ]
    if lines:
        sections.append(("Sensitive information", lines))
    grounding = (data.get("contextualGroundingPolicyConfig") or {}).get("filtersConfig") or []
    if grounding:
        sections.append(
            ("Contextual grounding", [f"{g.get('type')}: threshold {g.get('threshold')}" for g in grounding])
        )
    return sections


def _examples(examples: Any) -> str:
    return f" (e.g. {'; '.join(str(e) for e in examples)})" if examples else ""


def _fill_guardrail(
    view: View, assistant: dict[str, Any], column: dict[str, Any], context: dict[str, Any]
) -> None:
    data = column["data"]
    column["fields"] = [
        *_common_fields(data),
        ("Blocked input message", data.get("blockedInputMessaging")),
        ("Blocked output message", data.get("blockedOutputsMessaging")),
    ]
    column["sections"] = _policy_lines(data)


@page("GET", "assistants/{assistant}/ai-guardrails/{guardrail}")
def guardrail_detail(view: View) -> Page:
    return _detail(view, GUARDRAILS, _fill_guardrail)


# -- prompt preview --------------------------------------------------------------------------------


def _session_options(view: View, assistant_id: str) -> list[tuple[str, str]]:
    """The first page of the assistant's sessions (SearchSessions), as (id, label)."""
    found = view.call(
        "SearchSessions", assistantId=assistant_id, searchExpression={"filters": []}, maxResults=PAGE_SIZE
    )["sessionSummaries"]
    options = []
    for summary in found:
        try:
            session = view.call("GetSession", assistantId=assistant_id, sessionId=summary["sessionId"])[
                "session"
            ]
        except ServiceError:
            continue
        options.append((session["sessionId"], f"{session.get('name')} ({session['sessionId']})"))
    return options


def _transcript(turns: list[tuple[str, str]]) -> str:
    """As `conversation_pipeline._transcript_text` writes {{$.transcript}}: the last turns, one a line."""
    return "\n".join(f"{PARTICIPANTS.get(p, p)}: {t}" for p, t in turns[-TRANSCRIPT_TURNS:])


def preview_values(
    view: View, assistant_id: str, session: dict[str, Any] | None, query: str
) -> tuple[dict[str, str], dict[str, str], list[dict[str, str]], str]:
    """The values a model call would give the prompt in this session: (values, custom, history,
    where the transcript came from)."""
    custom: dict[str, str] = {}
    turns: list[tuple[str, str]] = []
    source = "no session"
    if session is not None:
        session_id = session["sessionId"]
        with view.runtime.store.read() as conn:
            custom = console_ai.session_custom_data(conn, view.account, view.region, assistant_id, session_id)
            turns = console_ai.recent_messages(conn, view.account, view.region, session_id, MAX_HISTORY)
            source = "the session's conversation messages (SendMessage)"
            if not turns:
                turns = console_ai.recent_transcript(conn, view.account, view.region, session_id, MAX_HISTORY)
                source = "the session's contact transcript" if turns else "the session (it has no turns yet)"
    values = {
        "transcript": _transcript(turns),
        "query": query,
        "contentExcerpt": "",
        "locale": "en_US",
        "sessionId": session["sessionId"] if session is not None else "",
        "assistantId": assistant_id,
        "dateTime": view.runtime.clock.now().isoformat(),
        "toolConfigurationList": "[]",
    }
    history = [{"role": "user" if p == "CUSTOMER" else "assistant", "content": t} for p, t in turns]
    return values, custom, history, source


NOTES: Final = {
    "contentExcerpt": "found by retrieval when an answer is made; the preview runs no search",
    "toolConfigurationList": "the agent's tools, given when the agent runs",
    "locale": "the agent's locale setting (en_US when unset)",
    "query": "the search query (type one above)",
    "sessionId": "the session's id",
    "assistantId": "the assistant's id",
    "dateTime": "the service clock, now",
    "contactId": "not known to qconnect-local: empty when the agent runs too",
    "instanceId": "not known to qconnect-local: empty when the agent runs too",
}


@page("GET", "assistants/{assistant}/ai-prompts/{prompt}/preview")
def prompt_preview(view: View) -> Page:
    assistant = shared.assistant(view)
    assistant_id = assistant["assistantId"]
    data = view.call("GetAIPrompt", assistantId=assistant_id, aiPromptId=view.labels["prompt"])["aiPrompt"]
    prompt_id = data["aiPromptId"]
    options = _session_options(view, assistant_id)
    chosen = view.query.get("session") or None
    query = view.query.get("query", "")
    session = None
    if chosen:
        session = view.call("GetSession", assistantId=assistant_id, sessionId=chosen)["session"]
        if all(option[0] != session["sessionId"] for option in options):
            options.insert(0, (session["sessionId"], f"{session.get('name')} ({session['sessionId']})"))
    values, custom, history, source = preview_values(view, assistant_id, session, query)
    rendered = None
    problem = None
    variables: list[dict[str, Any]] = []
    try:
        template = parsed_template(data)
    except PromptTemplateError as error:
        problem = str(error)
    else:
        rendered = template.render(values, custom, history=history)
        for name in sorted(template.variables):
            if name == CONVERSATION_HISTORY:
                value = f"{len(history)} message(s)" if history else ""
            elif name.startswith(CUSTOM_PREFIX):
                value = custom.get(name[len(CUSTOM_PREFIX) :], "")
            else:
                value = values.get(name, "")
            note = NOTES.get(name, "")
            if name.startswith(CUSTOM_PREFIX):
                note = "the session's Custom data (UpdateSessionData)"
            elif name == "transcript":
                note = f"the last {TRANSCRIPT_TURNS} turns, from {source}"
            elif name == CONVERSATION_HISTORY:
                note = f"the last {MAX_HISTORY} messages, from {source}"
            variables.append({"name": name, "value": value, "filled": bool(value), "note": note})
    name = data.get("name") or prompt_id
    prompt_href = view.url("assistants", assistant_id, "ai-prompts", prompt_id)
    return Page(
        "ai_prompt_preview.html",
        f"Preview of AI prompt {name}",
        shared.assistant_crumbs(
            view,
            assistant,
            Crumb("AI prompts", view.url("assistants", assistant_id, "ai-prompts")),
            Crumb(name, prompt_href),
            Crumb("Preview"),
        ),
        {
            "assistant": assistant,
            "data": data,
            "options": options,
            "chosen": session["sessionId"] if session is not None else "",
            "session": session,
            "query": query,
            "uses_query": "query" in {v["name"] for v in variables},
            "action": view.url("assistants", assistant_id, "ai-prompts", view.labels["prompt"], "preview"),
            "prompt_href": prompt_href,
            "session_href": (
                view.url("assistants", assistant_id, "sessions", session["sessionId"])
                if session is not None
                else None
            ),
            "rendered": rendered,
            "problem": problem,
            "variables": variables,
            "filled": [v["name"] for v in variables if v["filled"]],
            "empty": [v["name"] for v in variables if not v["filled"]],
            "tools_json": shared.plain(list(rendered.tools))
            if rendered is not None and rendered.tools
            else None,
        },
    )
