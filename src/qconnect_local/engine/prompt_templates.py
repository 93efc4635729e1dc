"""AI prompt templates: the YAML text of `templateConfiguration.textFullAIPromptEditTemplateConfiguration`.

Pure and deterministic. `parse_prompt` checks a prompt the way CreateAIPrompt / UpdateAIPrompt do here,
and `PromptTemplate.render` fills its variables for a model call. Every error is a `PromptTemplateError`
(a `ValueError`) whose message is a ValidationException message: it starts with the request field
(`templateConfiguration.textFullAIPromptEditTemplateConfiguration.text`) and names the YAML field or
variable at fault. AWS documents the formats and variables only in outline; the rules below are this
emulator's, and marked *(our choice)* where AWS says nothing.

Formats (`apiFormat`)
---------------------
The text is one YAML document (at most 1,000,000 characters, as the API model allows) whose top level is
a mapping. YAML aliases (`*name`) are refused, so an "alias bomb" cannot expand; nesting deeper than
32 levels and more than 10,000 YAML values (scalars and collections) are refused too *(our choices)*,
so any text up to the size limit is checked in well under a second. Syntax errors read "not in
expected YAML format", as the real service's do.

* `MESSAGES` (and its older name `ANTHROPIC_CLAUDE_MESSAGES`):
  - `messages` (required): a non-empty list of `{role: user|assistant, content: <string>}`;
  - `system` (optional): a string;
  - `tools` (optional): a list of `{name, description, input_schema}`. `name` is 1-64 of
    `A-Z a-z 0-9 _ -` and unique; `description` a non-empty string; `input_schema` the documented
    JSON-Schema subset: `{type: object (optional), properties: {...} (required), required: [...]
    (required)}`, each property `{type: string (required), description, enum: [strings], default}`;
    every `required` name must be a property and a `default` must be one of its `enum`.
* `TEXT_COMPLETIONS` (and `ANTHROPIC_CLAUDE_TEXT_COMPLETIONS`): `prompt` (required), a string.
* Both formats also accept `anthropic_version` (a string, e.g. `bedrock-2023-05-31`, as AWS's examples
  carry it), which is kept but not used. Any other top-level key is an error *(our choice)*.
* `ORCHESTRATION` prompts must use `MESSAGES`, and their `messages` must be exactly the bare entry
  `- "{{$.conversationHistory}}"`, optionally followed by one assistant prefill message (as observed
  of the live API). `tools` may be given in any MESSAGES prompt.

Variables
---------
A variable is written `{{$.name}}`, exactly (no spaces). It is substituted in `system`,
`messages[].content` and `prompt`; `tools` and `anthropic_version` are passed through verbatim. Every
`{{$.` must start a well-formed placeholder, and its name must be allowed for the prompt's type:

| Prompt type | Variables (besides `{{$.locale}}` and `{{$.Custom.<key>}}`, allowed for every type) |
|---|---|
| ANSWER_GENERATION | `contentExcerpt` (required), `query` |
| SELF_SERVICE_ANSWER_GENERATION | `contentExcerpt` (required), `query` |
| INTENT_LABELING_GENERATION | `transcript` |
| QUERY_REFORMULATION | `transcript` |
| SELF_SERVICE_PRE_PROCESSING | `transcript` |
| EMAIL_RESPONSE *(our choice)* | `transcript`, `contentExcerpt`, `query` |
| EMAIL_OVERVIEW *(our choice)* | `transcript` |
| EMAIL_GENERATIVE_ANSWER *(our choice)* | `transcript`, `contentExcerpt`, `query` |
| EMAIL_QUERY_REFORMULATION *(our choice)* | `transcript` |
| ORCHESTRATION | `conversationHistory` (required; only as the bare messages entry), |
|  | `toolConfigurationList`, `contactId`, `instanceId`, `sessionId`, `assistantId`, `dateTime` |
| NOTE_TAKING *(our choice)* | `transcript` |
| CASE_SUMMARIZATION *(our choice)* | `transcript` |

`transcript` is the most recent turns of the conversation (for email types, the email thread);
`contentExcerpt` the knowledge-base excerpts found; `query` the search query; `locale` the locale of
inputs and outputs; `Custom.<key>` the session's custom data (UpdateSessionData) under `<key>`. Every
type runs inside a session, so `Custom.<key>` is allowed for all of them *(our choice)*.

Rendering
---------
`render(values, custom)` substitutes each placeholder once, left to right: a substituted value is never
scanned again, so a value that itself contains `{{$.query}}` appears literally. A variable without a
value renders as the empty string *(our choice)*. For ORCHESTRATION the bare `conversationHistory`
entry expands to the `history` messages given to `render` (or, without them, to one user message
holding `values["conversationHistory"]` when that is non-empty).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import yaml

FIELD: Final = "templateConfiguration.textFullAIPromptEditTemplateConfiguration.text"
MAX_TEXT_CHARS: Final = 1_000_000
MAX_DEPTH: Final = 32
MAX_NODES: Final = 10_000

PROMPT_TYPES: Final = (
    "ANSWER_GENERATION",
    "INTENT_LABELING_GENERATION",
    "QUERY_REFORMULATION",
    "SELF_SERVICE_PRE_PROCESSING",
    "SELF_SERVICE_ANSWER_GENERATION",
    "EMAIL_RESPONSE",
    "EMAIL_OVERVIEW",
    "EMAIL_GENERATIVE_ANSWER",
    "EMAIL_QUERY_REFORMULATION",
    "ORCHESTRATION",
    "NOTE_TAKING",
    "CASE_SUMMARIZATION",
)
# apiFormat -> the format whose rules apply (the ANTHROPIC_CLAUDE_* names are the older spellings).
API_FORMATS: Final = {
    "MESSAGES": "MESSAGES",
    "ANTHROPIC_CLAUDE_MESSAGES": "MESSAGES",
    "TEXT_COMPLETIONS": "TEXT_COMPLETIONS",
    "ANTHROPIC_CLAUDE_TEXT_COMPLETIONS": "TEXT_COMPLETIONS",
}

CONVERSATION_HISTORY: Final = "conversationHistory"
_COMMON: Final = frozenset({"locale"})
_ORCHESTRATION_VARS: Final = frozenset(
    {
        CONVERSATION_HISTORY,
        "toolConfigurationList",
        "contactId",
        "instanceId",
        "sessionId",
        "assistantId",
        "dateTime",
    }
)
ALLOWED_VARIABLES: Final[Mapping[str, frozenset[str]]] = {
    "ANSWER_GENERATION": _COMMON | {"contentExcerpt", "query"},
    "SELF_SERVICE_ANSWER_GENERATION": _COMMON | {"contentExcerpt", "query"},
    "INTENT_LABELING_GENERATION": _COMMON | {"transcript"},
    "QUERY_REFORMULATION": _COMMON | {"transcript"},
    "SELF_SERVICE_PRE_PROCESSING": _COMMON | {"transcript"},
    "EMAIL_RESPONSE": _COMMON | {"transcript", "contentExcerpt", "query"},
    "EMAIL_OVERVIEW": _COMMON | {"transcript"},
    "EMAIL_GENERATIVE_ANSWER": _COMMON | {"transcript", "contentExcerpt", "query"},
    "EMAIL_QUERY_REFORMULATION": _COMMON | {"transcript"},
    "ORCHESTRATION": _COMMON | _ORCHESTRATION_VARS,
    "NOTE_TAKING": _COMMON | {"transcript"},
    "CASE_SUMMARIZATION": _COMMON | {"transcript"},
}
REQUIRED_VARIABLES: Final[Mapping[str, frozenset[str]]] = {
    "ANSWER_GENERATION": frozenset({"contentExcerpt"}),
    "SELF_SERVICE_ANSWER_GENERATION": frozenset({"contentExcerpt"}),
    "ORCHESTRATION": frozenset({CONVERSATION_HISTORY}),
}
CUSTOM_PREFIX: Final = "Custom."
ROLES: Final = ("user", "assistant")

_TOP_LEVEL_KEYS: Final = {
    "MESSAGES": ("anthropic_version", "system", "messages", "tools"),
    "TEXT_COMPLETIONS": ("anthropic_version", "prompt"),
}
_OPENER: Final = "{{$."
_PLACEHOLDER: Final = re.compile(r"\{\{\$\.([A-Za-z][A-Za-z0-9_]*(?:\.[^\s{}]+)?)\}\}")
_TOOL_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BARE_HISTORY: Final = "{{$.conversationHistory}}"
_SCHEMA_KEYS: Final = ("type", "properties", "required", "description")
_PROPERTY_KEYS: Final = ("type", "description", "enum", "default")


class PromptTemplateError(ValueError):
    """A prompt text the service refuses; the message is the ValidationException message."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"{FIELD}: {detail}")


@dataclass(frozen=True)
class HistoryEntry:
    """The bare `- "{{$.conversationHistory}}"` entry of an ORCHESTRATION prompt's messages."""


Message = dict[str, str]


@dataclass(frozen=True)
class RenderedPrompt:
    """A prompt ready for a model: `prompt` for TEXT_COMPLETIONS, `system`/`messages`/`tools` otherwise."""

    format: str
    system: str | None = None
    messages: list[Message] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)
    prompt: str | None = None

    def to_messages(self) -> list[Message]:
        """The prompt as chat messages: a TEXT_COMPLETIONS prompt becomes one user message."""
        if self.format == "TEXT_COMPLETIONS":
            return [{"role": "user", "content": self.prompt or ""}]
        return [dict(message) for message in self.messages]


@dataclass(frozen=True)
class PromptTemplate:
    """A validated prompt: its format, parts and the variables it uses."""

    prompt_type: str
    api_format: str
    format: str
    variables: frozenset[str]
    system: str | None = None
    messages: tuple[Message | HistoryEntry, ...] = ()
    tools: tuple[dict[str, Any], ...] = ()
    prompt: str | None = None
    anthropic_version: str | None = None

    def render(
        self,
        values: Mapping[str, str],
        custom: Mapping[str, str] | None = None,
        *,
        history: Sequence[Mapping[str, str]] | None = None,
    ) -> RenderedPrompt:
        """Fill the placeholders once each (missing values are empty); expand the history entry."""
        fill = _filler(values, custom or {})
        if self.format == "TEXT_COMPLETIONS":
            return RenderedPrompt(format=self.format, prompt=fill(self.prompt or ""))
        messages: list[Message] = []
        for message in self.messages:
            if isinstance(message, HistoryEntry):
                messages.extend(_history_messages(values, history))
            else:
                messages.append({"role": message["role"], "content": fill(message["content"])})
        return RenderedPrompt(
            format=self.format,
            system=None if self.system is None else fill(self.system),
            messages=messages,
            tools=copy.deepcopy(list(self.tools)),
        )


def parse_prompt(text: str, *, prompt_type: str, api_format: str) -> PromptTemplate:
    """Validate a prompt's YAML text for its type and apiFormat; raise PromptTemplateError if invalid."""
    if prompt_type not in ALLOWED_VARIABLES:
        raise PromptTemplateError(f"type {_show(prompt_type)} is not one of {', '.join(PROMPT_TYPES)}")
    fmt = API_FORMATS.get(api_format)
    if fmt is None:
        raise PromptTemplateError(f"apiFormat {_show(api_format)} is not one of {', '.join(API_FORMATS)}")
    if prompt_type == "ORCHESTRATION" and fmt != "MESSAGES":
        raise PromptTemplateError("an ORCHESTRATION prompt must use apiFormat MESSAGES")
    document = _load_yaml(text)
    _check_keys(document, fmt)
    version = _optional_string(document, "anthropic_version")
    if fmt == "TEXT_COMPLETIONS":
        prompt = _required_string(document, "prompt")
        variables = _check_variables({"prompt": prompt}, prompt_type)
        _check_required(variables, prompt_type)
        return PromptTemplate(
            prompt_type, api_format, fmt, variables, prompt=prompt, anthropic_version=version
        )
    system = _optional_string(document, "system")
    messages = _parse_messages(document.get("messages"), prompt_type)
    tools = _parse_tools(document.get("tools"))
    texts = {"system": system} if system is not None else {}
    for index, message in enumerate(messages):
        if isinstance(message, dict):
            texts[f"messages[{index}].content"] = message["content"]
    variables = _check_variables(texts, prompt_type)
    if any(isinstance(message, HistoryEntry) for message in messages):
        variables |= {CONVERSATION_HISTORY}
    _check_required(variables, prompt_type)
    return PromptTemplate(
        prompt_type, api_format, fmt, variables, system, tuple(messages), tuple(tools), None, version
    )


# --- YAML ---------------------------------------------------------------------------------------------

_LOADER: Final[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(text: str) -> dict[str, Any]:
    """One YAML mapping, with aliases and deep nesting refused before anything is built."""
    if not isinstance(text, str) or not text.strip():
        raise PromptTemplateError("must be a YAML document (it is empty)")
    if len(text) > MAX_TEXT_CHARS:
        raise PromptTemplateError(f"is {len(text)} characters long; the limit is {MAX_TEXT_CHARS}")
    try:
        _scan_events(text)
        document = yaml.load(text, Loader=_LOADER)  # _LOADER is a safe loader
    except PromptTemplateError:
        raise
    except (yaml.YAMLError, UnicodeError, RecursionError, ValueError, TypeError) as error:
        raise PromptTemplateError(f"not in expected YAML format: {_yaml_problem(error)}") from None
    if not isinstance(document, dict):
        raise PromptTemplateError("not in expected YAML format: the top level must be a mapping of fields")
    return document


def _scan_events(text: str) -> None:
    """Refuse aliases, deep nesting and huge node counts from the parser's events, before building."""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise PromptTemplateError("YAML aliases (*name) are not supported; write the value out")
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_NODES:
                raise PromptTemplateError(f"YAML has more than {MAX_NODES} values; a prompt needs far fewer")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise PromptTemplateError(f"YAML is nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _yaml_problem(error: BaseException) -> str:
    """A short description of a YAML error, with its line and column when the parser gives them."""
    if isinstance(error, yaml.MarkedYAMLError):
        where = error.problem_mark
        problem = error.problem or error.context or "invalid YAML"
        if where is not None:
            return f"{problem} (line {where.line + 1}, column {where.column + 1})"
        return str(problem)
    if isinstance(error, UnicodeError):
        return "the text is not valid Unicode"
    if isinstance(error, RecursionError):
        return "the YAML is nested too deeply"
    return str(error)[:200] or type(error).__name__


# --- structure ----------------------------------------------------------------------------------------


def _check_keys(document: Mapping[Any, Any], fmt: str) -> None:
    """Only the format's fields may appear at the top level."""
    allowed = _TOP_LEVEL_KEYS[fmt]
    for key in document:
        if key not in allowed:
            hint = _format_hint(key, fmt)
            raise PromptTemplateError(
                f"field {_show(key)} is not supported for apiFormat {fmt}; use {', '.join(allowed)}{hint}"
            )
    required = "messages" if fmt == "MESSAGES" else "prompt"
    if required not in document:
        raise PromptTemplateError(f"{required} is required for apiFormat {fmt}")


def _format_hint(key: object, fmt: str) -> str:
    """Point at the other format when a key belongs to it."""
    other = "TEXT_COMPLETIONS" if fmt == "MESSAGES" else "MESSAGES"
    return f" ({_show(key)} belongs to apiFormat {other})" if key in _TOP_LEVEL_KEYS[other] else ""


def _required_string(document: Mapping[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PromptTemplateError(f"{key} must be a non-empty string")
    return value


def _optional_string(document: Mapping[str, Any], key: str) -> str | None:
    if key not in document:
        return None
    value = document[key]
    if not isinstance(value, str):
        raise PromptTemplateError(f"{key} must be a string")
    return value


def _parse_messages(raw: object, prompt_type: str) -> list[Message | HistoryEntry]:
    if not isinstance(raw, list) or not raw:
        raise PromptTemplateError("messages must be a non-empty list of {role, content} entries")
    if prompt_type == "ORCHESTRATION":
        return _parse_orchestration_messages(raw)
    return [_parse_message(item, f"messages[{index}]") for index, item in enumerate(raw)]


def _parse_message(item: object, where: str) -> Message:
    if item == _BARE_HISTORY:
        raise PromptTemplateError(f"{where}: {_BARE_HISTORY} is only available to ORCHESTRATION prompts")
    if not isinstance(item, dict):
        raise PromptTemplateError(f"{where} must be a mapping with role and content")
    for key in item:
        if key not in ("role", "content"):
            raise PromptTemplateError(
                f"{where}.{_show(key, quote=False)} is not supported; use role, content"
            )
    role = item.get("role")
    if role not in ROLES:
        raise PromptTemplateError(f"{where}.role must be user or assistant")
    content = item.get("content")
    if not isinstance(content, str) or not content.strip():
        raise PromptTemplateError(f"{where}.content must be a non-empty string")
    return {"role": str(role), "content": content}


def _parse_orchestration_messages(raw: list[Any]) -> list[Message | HistoryEntry]:
    """Exactly the bare history entry, then at most one assistant prefill."""
    if raw[0] != _BARE_HISTORY:
        raise PromptTemplateError(
            f'messages[0] of an ORCHESTRATION prompt must be the bare entry "{_BARE_HISTORY}"'
        )
    if len(raw) > 2:
        raise PromptTemplateError(
            "messages of an ORCHESTRATION prompt may hold only the history entry and one assistant message"
        )
    messages: list[Message | HistoryEntry] = [HistoryEntry()]
    if len(raw) == 2:
        prefill = _parse_message(raw[1], "messages[1]")
        if prefill["role"] != "assistant":
            raise PromptTemplateError("messages[1].role of an ORCHESTRATION prompt must be assistant")
        messages.append(prefill)
    return messages


def _parse_tools(raw: object) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise PromptTemplateError("tools must be a list of {name, description, input_schema} entries")
    tools = [_parse_tool(item, f"tools[{index}]") for index, item in enumerate(raw)]
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        if tool["name"] in seen:
            raise PromptTemplateError(f"tools[{index}].name {_show(tool['name'])} is used by an earlier tool")
        seen.add(tool["name"])
    return tools


def _parse_tool(item: object, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise PromptTemplateError(f"{where} must be a mapping with name, description and input_schema")
    _only_keys(item, ("name", "description", "input_schema"), where)
    name = item.get("name")
    if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
        raise PromptTemplateError(f"{where}.name must be 1-64 letters, digits, _ or -")
    description = item.get("description")
    if not isinstance(description, str) or not description.strip():
        raise PromptTemplateError(f"{where}.description must be a non-empty string")
    if "input_schema" not in item:
        raise PromptTemplateError(f"{where}.input_schema is required")
    schema = _parse_schema(item["input_schema"], f"{where}.input_schema")
    return {"name": name, "description": description, "input_schema": schema}


def _only_keys(item: Mapping[Any, Any], allowed: Sequence[str], where: str) -> None:
    for key in item:
        if key not in allowed:
            raise PromptTemplateError(
                f"{where}.{_show(key, quote=False)} is not supported; use {', '.join(allowed)}"
            )


def _parse_schema(raw: object, where: str) -> dict[str, Any]:
    """The documented JSON-Schema subset: an object of string properties."""
    if not isinstance(raw, dict):
        raise PromptTemplateError(f"{where} must be a mapping")
    _only_keys(raw, _SCHEMA_KEYS, where)
    if "type" in raw and raw["type"] != "object":
        raise PromptTemplateError(f"{where}.type must be object")
    if "description" in raw and not isinstance(raw["description"], str):
        raise PromptTemplateError(f"{where}.description must be a string")
    properties = raw.get("properties")
    if not isinstance(properties, dict):
        raise PromptTemplateError(f"{where}.properties is required and must be a mapping")
    for name, spec in properties.items():
        if not isinstance(name, str) or not name:
            raise PromptTemplateError(f"{where}.properties: property names must be non-empty strings")
        _parse_property(spec, f"{where}.properties.{name}")
    required = raw.get("required")
    if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
        raise PromptTemplateError(f"{where}.required is required and must be a list of property names")
    for name in required:
        if name not in properties:
            raise PromptTemplateError(f"{where}.required names {_show(name)}, which is not a property")
    return copy.deepcopy(raw)


def _parse_property(raw: object, where: str) -> None:
    if not isinstance(raw, dict):
        raise PromptTemplateError(f"{where} must be a mapping")
    _only_keys(raw, _PROPERTY_KEYS, where)
    if raw.get("type") != "string":
        raise PromptTemplateError(f"{where}.type must be string (the only supported type)")
    if "description" in raw and not isinstance(raw["description"], str):
        raise PromptTemplateError(f"{where}.description must be a string")
    enum = raw.get("enum")
    if enum is not None and (
        not isinstance(enum, list) or not enum or not all(isinstance(v, str) for v in enum)
    ):
        raise PromptTemplateError(f"{where}.enum must be a non-empty list of strings")
    if "default" in raw:
        default = raw["default"]
        if not isinstance(default, str):
            raise PromptTemplateError(f"{where}.default must be a string")
        if enum is not None and default not in enum:
            raise PromptTemplateError(f"{where}.default must be one of its enum values")


# --- variables ----------------------------------------------------------------------------------------


def _placeholders(text: str, where: str) -> Iterator[str]:
    """The variable names in text; every `{{$.` must open a well-formed placeholder."""
    start = text.find(_OPENER)
    while start != -1:
        match = _PLACEHOLDER.match(text, start)
        if match is None:
            snippet = text[start : start + 40].split("\n", 1)[0]
            raise PromptTemplateError(
                f"{where}: placeholder {_show(snippet)} is malformed; write {{{{$.name}}}} with no spaces"
            )
        yield match.group(1)
        start = text.find(_OPENER, match.end())


def _check_variables(texts: Mapping[str, str], prompt_type: str) -> frozenset[str]:
    """The variables used, each checked against the type's allowlist."""
    allowed = ALLOWED_VARIABLES[prompt_type]
    found: set[str] = set()
    for where, text in texts.items():
        for name in _placeholders(text, where):
            _check_variable(name, where, prompt_type, allowed)
            found.add(name)
    return frozenset(found)


def _check_variable(name: str, where: str, prompt_type: str, allowed: frozenset[str]) -> None:
    if name.startswith(CUSTOM_PREFIX) and len(name) > len(CUSTOM_PREFIX):
        return
    if name == CONVERSATION_HISTORY and prompt_type == "ORCHESTRATION":
        raise PromptTemplateError(f'{where}: {_BARE_HISTORY} may appear only as the bare entry "messages[0]"')
    if name not in allowed:
        names = ", ".join(f"{{{{$.{v}}}}}" for v in sorted(allowed))
        raise PromptTemplateError(
            f"{where}: variable {{{{$.{_show(name, quote=False)}}}}} is not available to "
            f"{prompt_type} prompts; "
            f"use {names} or {{{{$.Custom.<key>}}}}"
        )


def _check_required(found: frozenset[str], prompt_type: str) -> None:
    for name in sorted(REQUIRED_VARIABLES.get(prompt_type, frozenset()) - found):
        raise PromptTemplateError(f"{prompt_type} prompts must use the variable {{{{$.{name}}}}}")


# --- rendering ----------------------------------------------------------------------------------------


def _filler(values: Mapping[str, str], custom: Mapping[str, str]) -> Callable[[str], str]:
    """A function substituting every placeholder in one pass (values are never re-scanned)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith(CUSTOM_PREFIX):
            return str(custom.get(name[len(CUSTOM_PREFIX) :], ""))
        return str(values.get(name, ""))

    def fill(text: str) -> str:
        return _PLACEHOLDER.sub(value, text)

    return fill


def _history_messages(
    values: Mapping[str, str], history: Sequence[Mapping[str, str]] | None
) -> list[Message]:
    if history is not None:
        return [{"role": str(m["role"]), "content": str(m["content"])} for m in history]
    text = values.get(CONVERSATION_HISTORY, "")
    return [{"role": "user", "content": text}] if text else []


def _show(value: object, *, quote: bool = True) -> str:
    """A value for an error message, shortened so a huge key cannot flood it."""
    text = value if isinstance(value, str) else repr(value)
    text = text if len(text) <= 80 else text[:77] + "..."
    return f"'{text}'" if quote else text
