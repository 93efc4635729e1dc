"""The `openai` backend: any OpenAI-compatible `/v1/chat/completions` endpoint (Ollama, vLLM,
llama.cpp's server, ...), over urllib so that no client library is needed.

The request and error mappings are in docs/generation.md.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any, Final

from qconnect_local import __version__
from qconnect_local.engine.generation.api import (
    CONTENT_FILTERED,
    DEPENDENCY_FAILED,
    END_TURN,
    MAX_TOKENS,
    MODEL_UNAVAILABLE,
    THROTTLING,
    TOOL_USE,
    UNPROCESSABLE,
    GenerationError,
    GenerationRequest,
    GenerationResult,
)
from qconnect_local.engine.generation.local import tool_use_id
from qconnect_local.engine.generation.text import cite_sentences, estimate_tokens, output_chars, prompt_chars

FINISH_REASONS: Final = {
    "stop": END_TURN,
    "tool_calls": TOOL_USE,
    "function_call": TOOL_USE,
    "length": MAX_TOKENS,
    "content_filter": CONTENT_FILTERED,
}
UNAVAILABLE_STATUSES: Final = frozenset({401, 403, 404})
MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024


def completions_url(endpoint: str) -> str:
    """The chat-completions URL of a base URL: `.../chat/completions` as is, `.../v1` plus
    `/chat/completions`, anything else plus `/v1/chat/completions`."""
    base = endpoint.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if base.endswith("/v1"):
        return base + "/chat/completions"
    return base + "/v1/chat/completions"


def chat_request(request: GenerationRequest) -> dict[str, Any]:
    """The JSON body for a request (docs/generation.md, "openai")."""
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages += [{"role": m["role"], "content": m.get("content") or ""} for m in request.messages]
    body: dict[str, Any] = {"model": request.model_id, "messages": messages, "stream": False}
    for source, target in (
        ("temperature", "temperature"),
        ("topP", "top_p"),
        ("topK", "top_k"),
        ("maxTokensToSample", "max_tokens"),
    ):
        if request.inference.get(source) is not None:
            body[target] = request.inference[source]
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool["name"],
                    "description": tool.get("description") or "",
                    "parameters": tool.get("input_schema") or {"type": "object", "properties": {}},
                },
            }
            for tool in request.tools
        ]
    return body


class OpenAIBackend:
    """POST /v1/chat/completions, one call per request, no retries (the service decides)."""

    name = "openai"

    def __init__(self, endpoint: str, api_key: str | None = None, timeout_seconds: float = 60.0) -> None:
        self.url = completions_url(endpoint)
        self.api_key = api_key
        self.timeout = float(timeout_seconds)

    def __repr__(self) -> str:  # never the key
        return f"OpenAIBackend({self.url!r})"

    def headers(self) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"qconnect-local/{__version__}",
        }
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def generate(self, request: GenerationRequest) -> GenerationResult:
        data = json.dumps(chat_request(request)).encode()
        http_request = urllib.request.Request(self.url, data=data, headers=self.headers(), method="POST")
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout) as response:
                raw = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as error:
            raise map_http_error(error.code, _read_error(error)) from error
        except TimeoutError as error:
            raise GenerationError(
                DEPENDENCY_FAILED, f"model endpoint timed out after {self.timeout:g}s"
            ) from error
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, TimeoutError | socket.timeout):
                message = f"model endpoint timed out after {self.timeout:g}s"
            else:
                message = f"model endpoint unreachable: {reason}"
            raise GenerationError(DEPENDENCY_FAILED, message) from error
        if len(raw) > MAX_RESPONSE_BYTES:
            raise GenerationError(DEPENDENCY_FAILED, "model endpoint response is too large")
        try:
            payload = json.loads(raw)
        except ValueError as error:
            raise GenerationError(DEPENDENCY_FAILED, "model endpoint answered with invalid JSON") from error
        return parse_response(payload, request)


def _read_error(error: urllib.error.HTTPError) -> str:
    """The server's error message: `error.message` (or `error` as a string) of a JSON body, else text."""
    try:
        body = error.read(64 * 1024).decode("utf-8", "replace")
    except OSError:
        return ""
    try:
        payload = json.loads(body)
    except ValueError:
        return body.strip()[:500]
    found = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(found, dict):
        return str(found.get("message", ""))[:500]
    return str(found if found is not None else body.strip())[:500]


def map_http_error(status: int, detail: str) -> GenerationError:
    """429 throttles; 401/403/404 (key refused, model unknown) make the model unavailable; any other
    status is a failed dependency."""
    message = f"model endpoint answered HTTP {status}" + (f": {detail}" if detail else "")
    if status == 429:
        return GenerationError(THROTTLING, message)
    if status in UNAVAILABLE_STATUSES:
        return GenerationError(UNPROCESSABLE, message, MODEL_UNAVAILABLE)
    return GenerationError(DEPENDENCY_FAILED, message)


def parse_response(payload: Any, request: GenerationRequest) -> GenerationResult:
    """A chat-completions response as a GenerationResult (the first choice; its first tool call)."""
    try:
        choice = payload["choices"][0]
        message = choice.get("message") or {}
    except (KeyError, IndexError, TypeError, AttributeError) as error:
        raise GenerationError(DEPENDENCY_FAILED, "model endpoint response has no choices") from error
    content = message.get("content")
    text = content if isinstance(content, str) and content != "" else None
    tool_use = None
    calls = message.get("tool_calls") or []
    if calls:
        tool_use = _tool_use(calls[0])
        if not tool_use["toolUseId"]:
            tool_use["toolUseId"] = tool_use_id(request, tool_use["name"], tool_use["input"])
    finish = FINISH_REASONS.get(str(choice.get("finish_reason")), END_TURN)
    if tool_use is not None:
        finish = TOOL_USE
    usage = payload.get("usage") or {}
    model = payload.get("model")
    return GenerationResult(
        text=text,
        tool_use=tool_use,
        citations=cite_sentences(text, request.passages) if text and request.passages else (),
        input_tokens=_count(usage.get("prompt_tokens"), estimate_tokens(prompt_chars(request))),
        output_tokens=_count(usage.get("completion_tokens"), estimate_tokens(output_chars(text, tool_use))),
        model_id=model if isinstance(model, str) and model else request.model_id,
        finish_reason=finish,
    )


def _count(value: object, estimate: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else estimate


def _tool_use(call: Any) -> dict[str, Any]:
    try:
        function = call["function"]
        name = function["name"]
        arguments = function.get("arguments") or {}
        if isinstance(arguments, str):
            arguments = json.loads(arguments) if arguments.strip() else {}
    except (KeyError, TypeError, ValueError) as error:
        raise GenerationError(DEPENDENCY_FAILED, "model endpoint returned a malformed tool call") from error
    if not isinstance(arguments, dict):
        raise GenerationError(
            DEPENDENCY_FAILED, "model endpoint returned tool arguments that are not an object"
        )
    return {"toolUseId": str(call.get("id") or ""), "name": str(name), "input": arguments}
