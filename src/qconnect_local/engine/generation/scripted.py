"""The `scripted` backend: exact answers, tool uses and failures queued by the control plane.

The service owns the queue's storage (`POST /_qconnect/ai/responses`) and hands it in as a
`ScriptedQueue`; the control plane validates each entry with `check_scripted_entry` before queueing.
Each model call pops one entry (for the session first, then for the assistant, as the queue decides);
an empty queue falls back to the `local` backend, so a test scripts only the calls it cares about.

Entry format (exactly one of `text`, `toolUse`, `error`; `text` may accompany `toolUse`):

    {"text": "...", "citations": [{"passage": 0 | "contentId": "...", "begin": 0, "end": 5}]}
    {"toolUse": {"name": "QUESTION", "input": {...}, "toolUseId": "..."}, "text": "..."}
    {"error": {"code": "UnprocessableContentException", "reason": "AI_INFERENCE_MODEL_UNAVAILABLE",
               "message": "..."}}

plus, on any entry: `delaySeconds` (0..300, slept before answering), `usage`
({"inputTokens", "outputTokens"}) and `finishReason` (end_turn, tool_use, max_tokens,
content_filtered).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from qconnect_local.engine.generation.api import (
    CONTENT_FILTERED,
    END_TURN,
    MAX_TOKENS,
    MODEL_UNAVAILABLE,
    TOOL_USE,
    UNPROCESSABLE,
    UNPROCESSABLE_REASONS,
    Backend,
    Citation,
    GenerationError,
    GenerationRequest,
    GenerationResult,
)
from qconnect_local.engine.generation.local import LocalBackend, tool_use_id
from qconnect_local.engine.generation.text import estimate_tokens, output_chars, prompt_chars

ENTRY_KEYS: Final = frozenset(
    {"text", "citations", "toolUse", "error", "delaySeconds", "usage", "finishReason"}
)
ERROR_CODES: Final = (
    "UnprocessableContentException",
    "DependencyFailedException",
    "ThrottlingException",
    "RequestTimeoutException",
    "AccessDeniedException",
    "ValidationException",
    "ServiceQuotaExceededException",
)
FINISH_REASONS: Final = (END_TURN, TOOL_USE, MAX_TOKENS, CONTENT_FILTERED)
MAX_DELAY_SECONDS: Final = 300
MAX_TEXT_CHARS: Final = 25_000  # TextData.value's limit


class ScriptedQueue(Protocol):
    """Where scripted entries wait; `pop` returns the next one for the scope, or None."""

    def pop(self, account: str, assistant_id: str, session_id: str | None) -> dict[str, Any] | None: ...


class InMemoryScriptedQueue:
    """A ScriptedQueue in a dict: a session's own entries first, then the assistant's (FIFO each)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, str | None], deque[dict[str, Any]]] = {}

    def push(self, account: str, assistant_id: str, session_id: str | None, entry: dict[str, Any]) -> None:
        check_scripted_entry(entry)
        self._entries.setdefault((account, assistant_id, session_id), deque()).append(entry)

    def pop(self, account: str, assistant_id: str, session_id: str | None) -> dict[str, Any] | None:
        for key in ((account, assistant_id, session_id), (account, assistant_id, None)):
            queue = self._entries.get(key)
            if queue:
                return queue.popleft()
        return None


def check_scripted_entry(entry: object) -> None:
    """Raise ValueError, naming the member at fault, unless `entry` is a valid scripted entry."""
    if not isinstance(entry, Mapping):
        raise ValueError("a scripted response must be a JSON object")
    unknown = sorted(set(entry) - ENTRY_KEYS)
    if unknown:
        raise ValueError(f"unknown member {unknown[0]!r}; allowed: {', '.join(sorted(ENTRY_KEYS))}")
    kinds = [k for k in ("toolUse", "error") if k in entry]
    if len(kinds) > 1 or not (kinds or "text" in entry):
        raise ValueError("a scripted response needs exactly one of text, toolUse or error")
    if "error" in entry and ("text" in entry or "citations" in entry):
        raise ValueError("error cannot be combined with text or citations")
    if "text" in entry:
        _check_text(entry["text"], entry.get("citations"))
    elif "citations" in entry:
        raise ValueError("citations need a text")
    if "toolUse" in entry:
        _check_tool_use(entry["toolUse"])
    if "error" in entry:
        _check_error(entry["error"])
    if "delaySeconds" in entry:
        delay = entry["delaySeconds"]
        if not _is_number(delay) or not 0 <= delay <= MAX_DELAY_SECONDS:
            raise ValueError(f"delaySeconds must be a number from 0 to {MAX_DELAY_SECONDS}")
    if "usage" in entry:
        usage = entry["usage"]
        if not isinstance(usage, Mapping) or set(usage) - {"inputTokens", "outputTokens"}:
            raise ValueError("usage must be an object with inputTokens and/or outputTokens")
        for key, value in usage.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"usage.{key} must be a non-negative integer")
    if "finishReason" in entry and entry["finishReason"] not in FINISH_REASONS:
        raise ValueError(f"finishReason must be one of {', '.join(FINISH_REASONS)}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_text(text: object, citations: object) -> None:
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"text must be a string of at most {MAX_TEXT_CHARS} characters")
    if citations is None:
        return
    if not isinstance(citations, list):
        raise ValueError("citations must be a list")
    for n, citation in enumerate(citations):
        where = f"citations[{n}]"
        if not isinstance(citation, Mapping) or set(citation) - {"passage", "contentId", "begin", "end"}:
            raise ValueError(f"{where} must be an object with passage or contentId, begin and end")
        if ("passage" in citation) == ("contentId" in citation):
            raise ValueError(f"{where} needs exactly one of passage (an index) or contentId")
        passage = citation.get("passage")
        if "passage" in citation and (
            not isinstance(passage, int) or isinstance(passage, bool) or passage < 0
        ):
            raise ValueError(f"{where}.passage must be a non-negative integer")
        if "contentId" in citation and not isinstance(citation["contentId"], str):
            raise ValueError(f"{where}.contentId must be a string")
        begin, end = citation.get("begin", 0), citation.get("end", len(text))
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (begin, end)):
            raise ValueError(f"{where}.begin and .end must be integers")
        if not 0 <= begin < end <= len(text):
            raise ValueError(f"{where} must satisfy 0 <= begin < end <= len(text) ({len(text)})")


def _check_tool_use(tool_use: object) -> None:
    if not isinstance(tool_use, Mapping) or set(tool_use) - {"name", "input", "toolUseId"}:
        raise ValueError("toolUse must be an object with name, input and optionally toolUseId")
    name = tool_use.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("toolUse.name must be a non-empty string")
    if not isinstance(tool_use.get("input", {}), Mapping):
        raise ValueError("toolUse.input must be a JSON object")
    if "toolUseId" in tool_use and not isinstance(tool_use["toolUseId"], str):
        raise ValueError("toolUse.toolUseId must be a string")


def _check_error(error: object) -> None:
    if not isinstance(error, Mapping) or set(error) - {"code", "reason", "message"}:
        raise ValueError("error must be an object with code, and optionally reason and message")
    if error.get("code") not in ERROR_CODES:
        raise ValueError(f"error.code must be one of {', '.join(ERROR_CODES)}")
    if "reason" in error:
        if error["code"] != UNPROCESSABLE:
            raise ValueError("error.reason is only for UnprocessableContentException")
        if error["reason"] not in UNPROCESSABLE_REASONS:
            raise ValueError(f"error.reason must be one of {', '.join(UNPROCESSABLE_REASONS)}")
    if "message" in error and not isinstance(error["message"], str):
        raise ValueError("error.message must be a string")


class ScriptedBackend:
    """Pops one entry per call from the queue; falls back to another backend when it is empty."""

    name = "scripted"

    def __init__(
        self,
        queue: ScriptedQueue,
        fallback: Backend | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.queue = queue
        self.fallback: Backend = fallback or LocalBackend()
        self.sleep = sleep

    def generate(self, request: GenerationRequest) -> GenerationResult:
        account, assistant_id, session_id = request.scope
        entry = self.queue.pop(account, assistant_id, session_id)
        if entry is None:
            return self.fallback.generate(request)
        check_scripted_entry(entry)  # a queue filled around the control plane still gets a clear error
        if entry.get("delaySeconds"):
            self.sleep(float(entry["delaySeconds"]))
        if "error" in entry:
            error = entry["error"]
            code = error["code"]
            reason = error.get("reason", MODEL_UNAVAILABLE if code == UNPROCESSABLE else None)
            raise GenerationError(code, error.get("message") or f"scripted {code}", reason)
        return _result(entry, request)


def _result(entry: Mapping[str, Any], request: GenerationRequest) -> GenerationResult:
    text = entry.get("text")
    tool_use = None
    if "toolUse" in entry:
        spec = entry["toolUse"]
        arguments = dict(spec.get("input", {}))
        tool_use = {
            "toolUseId": spec.get("toolUseId") or tool_use_id(request, spec["name"], arguments),
            "name": spec["name"],
            "input": arguments,
        }
    citations = _citations(entry.get("citations") or [], text or "", request)
    usage = entry.get("usage", {})
    return GenerationResult(
        text=text,
        tool_use=tool_use,
        citations=citations,
        input_tokens=usage.get("inputTokens", estimate_tokens(prompt_chars(request))),
        output_tokens=usage.get("outputTokens", estimate_tokens(output_chars(text, tool_use))),
        model_id=request.model_id,
        finish_reason=entry.get("finishReason", TOOL_USE if tool_use is not None else END_TURN),
    )


def _citations(raw: list[Mapping[str, Any]], text: str, request: GenerationRequest) -> tuple[Citation, ...]:
    """Citations resolved against the request's passages; one naming no such passage is dropped."""
    found: list[Citation] = []
    for citation in raw:
        if "contentId" in citation:
            index = next(
                (i for i, p in enumerate(request.passages) if p.content_id == citation["contentId"]), None
            )
        else:
            index = citation["passage"] if citation["passage"] < len(request.passages) else None
        if index is not None:
            found.append(Citation(index, citation.get("begin", 0), citation.get("end", len(text))))
    return tuple(found)
