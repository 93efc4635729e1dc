"""The generation engine: one `Backend` per `--model-backend`, behind one request/result API.

- `local` (default): offline deterministic rules (`local.py`, docs/generation.md).
- `scripted`: entries queued by the control plane, else `local` (`scripted.py`).
- `bedrock`: Amazon Bedrock Converse through boto3 (`bedrock.py`).
- `openai`: an OpenAI-compatible chat-completions endpoint (`openai.py`).

The conversation service renders the prompt, calls `backend.generate(request)` off the event loop,
and turns a `GenerationError` into the operation's modeled error.
"""

from __future__ import annotations

from typing import Any, Final

from qconnect_local.engine.generation.api import (
    CONTENT_FILTERED,
    DEPENDENCY_FAILED,
    END_TURN,
    MAX_TOKENS,
    MODEL_UNAVAILABLE,
    ORCHESTRATION_ERROR,
    THROTTLING,
    TOOL_USE,
    UNPROCESSABLE,
    Backend,
    Citation,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    Passage,
)
from qconnect_local.engine.generation.local import ANSWER_THRESHOLD, NO_ANSWER, LocalBackend
from qconnect_local.engine.generation.scripted import (
    InMemoryScriptedQueue,
    ScriptedBackend,
    ScriptedQueue,
    check_scripted_entry,
)
from qconnect_local.engine.generation.text import estimate_tokens

BACKENDS: Final = ("local", "scripted", "bedrock", "openai")

__all__ = [
    "ANSWER_THRESHOLD",
    "BACKENDS",
    "CONTENT_FILTERED",
    "DEPENDENCY_FAILED",
    "END_TURN",
    "MAX_TOKENS",
    "MODEL_UNAVAILABLE",
    "NO_ANSWER",
    "ORCHESTRATION_ERROR",
    "THROTTLING",
    "TOOL_USE",
    "UNPROCESSABLE",
    "Backend",
    "Citation",
    "GenerationError",
    "GenerationRequest",
    "GenerationResult",
    "InMemoryScriptedQueue",
    "LocalBackend",
    "Passage",
    "ScriptedBackend",
    "ScriptedQueue",
    "backend_for",
    "check_scripted_entry",
    "estimate_tokens",
]


def backend_for(
    settings: Any,
    *,
    scripted_queue: ScriptedQueue | None = None,
    bedrock_client_factory: Any = None,
) -> Backend:
    """The backend `settings.model_backend` names; ValueError for an unknown name or a missing
    requirement (a scripted queue, an openai endpoint), so that `serve` fails at start-up."""
    name = getattr(settings, "model_backend", "local") or "local"
    timeout = float(getattr(settings, "model_timeout_seconds", 60.0))
    if name == "local":
        return LocalBackend()
    if name == "scripted":
        if scripted_queue is None:
            raise ValueError("the scripted model backend needs a scripted response queue")
        return ScriptedBackend(scripted_queue)
    if name == "bedrock":
        from qconnect_local.engine.generation.bedrock import BedrockBackend

        return BedrockBackend(bedrock_client_factory, timeout_seconds=timeout)
    if name == "openai":
        from qconnect_local.engine.generation.openai import OpenAIBackend

        endpoint = getattr(settings, "model_endpoint", None)
        if not endpoint:
            raise ValueError("--model-backend openai needs --model-endpoint (QCONNECT_LOCAL_MODEL_ENDPOINT)")
        return OpenAIBackend(endpoint, getattr(settings, "model_api_key", None), timeout_seconds=timeout)
    raise ValueError(f"unknown model backend {name!r}; choose one of {', '.join(BACKENDS)}")
