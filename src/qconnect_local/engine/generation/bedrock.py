"""The `bedrock` backend: the rendered prompt sent to Amazon Bedrock's Converse API through boto3.

Opt-in (`--model-backend bedrock`); it uses the user's own default boto3 credential chain and the
request's region. The request mapping and the error mapping are in docs/generation.md.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final

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
from qconnect_local.engine.generation.text import cite_sentences

ClientFactory = Callable[[str], Any]  # region -> a bedrock-runtime client

THROTTLING_CODES: Final = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "ServiceQuotaExceededException"}
)
UNAVAILABLE_CODES: Final = frozenset(
    {
        "AccessDeniedException",
        "ResourceNotFoundException",
        "ModelNotReadyException",
        "ValidationException",
        "UnrecognizedClientException",
        "ExpiredTokenException",
    }
)
STOP_REASONS: Final = {
    "end_turn": END_TURN,
    "stop_sequence": END_TURN,
    "tool_use": TOOL_USE,
    "max_tokens": MAX_TOKENS,
    "model_context_window_exceeded": MAX_TOKENS,
    "guardrail_intervened": CONTENT_FILTERED,
    "content_filtered": CONTENT_FILTERED,
}
# Converse's tool choice for prompts that must pick a tool (the others let the model decide).
FORCED_TOOL_TYPES: Final = frozenset({"SELF_SERVICE_PRE_PROCESSING"})


def default_client_factory(timeout_seconds: float) -> ClientFactory:
    """bedrock-runtime clients on the default credential chain, one per region, one attempt each."""
    clients: dict[str, Any] = {}
    lock = threading.Lock()

    def client_for(region: str) -> Any:
        with lock:
            if region not in clients:
                import boto3
                from botocore.config import Config

                config = Config(
                    read_timeout=timeout_seconds,
                    connect_timeout=min(timeout_seconds, 10),
                    retries={"max_attempts": 1},
                )
                clients[region] = boto3.client("bedrock-runtime", region_name=region, config=config)
            return clients[region]

    return client_for


def converse_request(request: GenerationRequest) -> dict[str, Any]:
    """The Converse parameters for a request (docs/generation.md, "bedrock")."""
    params: dict[str, Any] = {"modelId": request.model_id, "messages": converse_messages(request.messages)}
    if request.system:
        params["system"] = [{"text": request.system}]
    inference: dict[str, Any] = {}
    for source, target in (
        ("maxTokensToSample", "maxTokens"),
        ("temperature", "temperature"),
        ("topP", "topP"),
    ):
        if request.inference.get(source) is not None:
            inference[target] = request.inference[source]
    if inference:
        params["inferenceConfig"] = inference
    top_k = request.inference.get("topK")
    if top_k is not None:
        nova = "amazon.nova" in request.model_id
        params["additionalModelRequestFields"] = (
            {"inferenceConfig": {"topK": top_k}} if nova else {"top_k": top_k}
        )
    if request.tools:
        tools = [
            {
                "toolSpec": {
                    "name": tool["name"],
                    "description": tool.get("description") or tool["name"],
                    "inputSchema": {"json": tool.get("input_schema") or {"type": "object", "properties": {}}},
                }
            }
            for tool in request.tools
        ]
        params["toolConfig"] = {"tools": tools}
        if request.prompt_type in FORCED_TOOL_TYPES:
            params["toolConfig"]["toolChoice"] = {"any": {}}
    return params


def converse_messages(messages: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Messages as Converse content blocks; empty contents dropped, same-role neighbours merged
    (Converse wants the roles to alternate)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content") or ""
        if not content.strip():
            continue
        if out and out[-1]["role"] == message["role"]:
            out[-1]["content"].append({"text": content})
        else:
            out.append({"role": message["role"], "content": [{"text": content}]})
    return out


class BedrockBackend:
    """Converse, one call per request; ClientErrors become GenerationErrors."""

    name = "bedrock"

    def __init__(self, client_factory: ClientFactory | None = None, timeout_seconds: float = 60.0) -> None:
        self.client_for = client_factory or default_client_factory(timeout_seconds)

    def generate(self, request: GenerationRequest) -> GenerationResult:
        params = converse_request(request)
        if not params["messages"]:
            raise GenerationError(
                UNPROCESSABLE, "the rendered prompt has no message to send", MODEL_UNAVAILABLE
            )
        try:
            response = self.client_for(request.region).converse(**params)
        except Exception as error:
            raise map_error(error) from error
        return parse_response(response, request)


def parse_response(response: dict[str, Any], request: GenerationRequest) -> GenerationResult:
    """A Converse response as a GenerationResult (texts joined; the first tool use)."""
    blocks = response.get("output", {}).get("message", {}).get("content", []) or []
    texts = [block["text"] for block in blocks if "text" in block]
    tool_use = None
    for block in blocks:
        if "toolUse" in block:
            use = block["toolUse"]
            tool_use = {
                "toolUseId": use.get("toolUseId", ""),
                "name": use["name"],
                "input": use.get("input") or {},
            }
            if not tool_use["toolUseId"]:
                tool_use["toolUseId"] = tool_use_id(request, use["name"], tool_use["input"])
            break
    text = "".join(texts) if texts else None
    usage = response.get("usage", {})
    finish = STOP_REASONS.get(response.get("stopReason", ""), END_TURN)
    return GenerationResult(
        text=text,
        tool_use=tool_use,
        citations=cite_sentences(text, request.passages) if text and request.passages else (),
        input_tokens=int(usage.get("inputTokens", 0)),
        output_tokens=int(usage.get("outputTokens", 0)),
        model_id=request.model_id,
        finish_reason=finish,
    )


def map_error(error: Exception) -> GenerationError:
    """A boto3/botocore failure as the error the service answers (docs/generation.md)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        code = str(info.get("Code", "Unknown"))
        message = f"Bedrock Converse failed: {code}: {info.get('Message', '')}".rstrip(": ")
        if code in THROTTLING_CODES:
            return GenerationError(THROTTLING, message)
        if code in UNAVAILABLE_CODES:
            return GenerationError(UNPROCESSABLE, message, MODEL_UNAVAILABLE)
        return GenerationError(DEPENDENCY_FAILED, message)
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return GenerationError(UNPROCESSABLE, f"Bedrock Converse failed: {error}", MODEL_UNAVAILABLE)
    if isinstance(error, BotoCoreError):
        return GenerationError(DEPENDENCY_FAILED, f"Bedrock Converse failed: {error}")
    return GenerationError(DEPENDENCY_FAILED, f"Bedrock Converse failed: {type(error).__name__}: {error}")
