"""The types every generation backend shares: one request in, one result (or one error) out.

The conversation service renders an agent's prompt into a `GenerationRequest`; a `Backend` answers it
with a `GenerationResult` or raises `GenerationError`, which the service turns into the modeled error
of the operation. Backends never touch the database: what they need (passages, transcript) comes in
the request, so each one is testable on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Protocol

# finish_reason values (responseFinishReasons of a span)
END_TURN: Final = "end_turn"
TOOL_USE: Final = "tool_use"
MAX_TOKENS: Final = "max_tokens"
CONTENT_FILTERED: Final = "content_filtered"  # only remote models report it

UNPROCESSABLE: Final = "UnprocessableContentException"
DEPENDENCY_FAILED: Final = "DependencyFailedException"
THROTTLING: Final = "ThrottlingException"
MODEL_UNAVAILABLE: Final = "AI_INFERENCE_MODEL_UNAVAILABLE"
ORCHESTRATION_ERROR: Final = "ORCHESTRATION_ERROR"
UNPROCESSABLE_REASONS: Final = (ORCHESTRATION_ERROR, MODEL_UNAVAILABLE)  # UnprocessableContentReason


@dataclass(frozen=True)
class Passage:
    """One retrieved passage the answer may cite."""

    content_id: str
    knowledge_base_id: str
    title: str
    source_url: str | None
    text: str
    relevance: float  # engine.retrieval relevance, 0..1
    reference_type: str = "KNOWLEDGE_BASE"


@dataclass(frozen=True)
class Citation:
    """A span of the answer text supported by one passage (TextMessage.citations)."""

    passage: int  # index into GenerationRequest.passages
    begin: int  # CitationSpan.beginOffsetInclusive, in the answer text
    end: int  # CitationSpan.endOffsetExclusive


@dataclass(frozen=True)
class GenerationRequest:
    """One model call: the rendered prompt for real models, the structured context for `local`."""

    prompt_type: str  # AIPromptType
    model_id: str
    system: str | None  # the rendered system prompt (TEXT_COMPLETIONS: None, the prompt is a message)
    messages: list[dict[str, str]]  # [{"role": "user"|"assistant", "content": ...}]
    tools: list[dict[str, Any]]  # [{"name", "description", "input_schema"}]
    inference: dict[str, Any]  # temperature, topP, topK, maxTokensToSample (any may be absent)
    query: str = ""
    passages: tuple[Passage, ...] = ()
    transcript: tuple[dict[str, str], ...] = ()  # [{"participant": CUSTOMER|AGENT|BOT, "text"}], oldest first
    locale: str | None = None
    scope: tuple[str, str, str | None] = ("", "", None)  # account, assistant id, session id
    region: str = "us-east-1"  # where a bedrock call goes (the assistant's region)
    # ORCHESTRATION: retrieval already ran for this turn, so `passages` (possibly empty) is its
    # result and the local backend answers instead of calling a retrieval tool again.
    retrieved: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # free for the service; backends ignore it


@dataclass(frozen=True)
class GenerationResult:
    """What the model said: text, a tool use, or both, with usage for the span."""

    text: str | None  # None when the model only used a tool
    tool_use: dict[str, Any] | None  # {"toolUseId", "name", "input": {...}}
    citations: tuple[Citation, ...]
    input_tokens: int
    output_tokens: int
    model_id: str  # responseModel
    finish_reason: str  # END_TURN | TOOL_USE | MAX_TOKENS | CONTENT_FILTERED


class GenerationError(Exception):
    """A model failure the service answers with the modeled error `error_code`.

    `error_code` is the error shape's name (UnprocessableContentException, DependencyFailedException,
    ThrottlingException, ...); `reason` is UnprocessableContentException's `reason` member.
    """

    def __init__(self, error_code: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.reason = reason

    def __repr__(self) -> str:
        return f"GenerationError({self.error_code!r}, {self.message!r}, reason={self.reason!r})"


class Backend(Protocol):
    """Anything that answers a GenerationRequest (called off the event loop; may block)."""

    name: str

    def generate(self, request: GenerationRequest) -> GenerationResult: ...
