"""The bedrock backend's Converse request shape and response/error mapping, through botocore's Stubber."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from qconnect_local.engine.generation import GenerationError, GenerationRequest, Passage, backend_for
from qconnect_local.engine.generation.bedrock import BedrockBackend

TOOLS = [
    {
        "name": "QUESTION",
        "description": "Search the knowledge base.",
        "input_schema": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "message": {"type": "string"}},
            "required": ["query", "message"],
        },
    }
]


def request(**changes: Any) -> GenerationRequest:
    fields: dict[str, Any] = {
        "prompt_type": "ANSWER_GENERATION",
        "model_id": "anthropic.claude-3-haiku-20240307-v1:0",
        "system": "You answer.",
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "user", "content": "reset?"},
            {"role": "assistant", "content": ""},
            {"role": "assistant", "content": "<answer>"},
        ],
        "tools": [],
        "inference": {"temperature": 0.2, "topP": 0.9, "topK": 40, "maxTokensToSample": 300},
        "region": "eu-west-1",
    }
    fields.update(changes)
    return GenerationRequest(**fields)


def response(content: list[dict[str, Any]], stop: str = "end_turn") -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": {"inputTokens": 11, "outputTokens": 7, "totalTokens": 18},
        "metrics": {"latencyMs": 5},
    }


class Stubbed:
    """A real bedrock-runtime client with a Stubber, and the regions asked for."""

    def __init__(self) -> None:
        self.client = boto3.client(
            "bedrock-runtime",
            region_name="eu-west-1",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="x",
        )
        self.stubber = Stubber(self.client)
        self.regions: list[str] = []

    def __call__(self, region: str) -> Any:
        self.regions.append(region)
        return self.client


@pytest.fixture
def stubbed() -> Stubbed:
    return Stubbed()


def test_request_shape_and_text_response(stubbed: Stubbed) -> None:
    expected = {
        "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
        "system": [{"text": "You answer."}],
        "messages": [
            {"role": "user", "content": [{"text": "Hi"}, {"text": "reset?"}]},
            {"role": "assistant", "content": [{"text": "<answer>"}]},
        ],
        "inferenceConfig": {"maxTokens": 300, "temperature": 0.2, "topP": 0.9},
        "additionalModelRequestFields": {"top_k": 40},
    }
    stubbed.stubber.add_response(
        "converse", response([{"text": "Reset it "}, {"text": "in Settings."}]), expected
    )
    passages = (Passage("c-1", "kb", "T", None, "Reset your password in Settings.", 0.9),)
    with stubbed.stubber:
        result = BedrockBackend(stubbed).generate(request(passages=passages))
    stubbed.stubber.assert_no_pending_responses()
    assert stubbed.regions == ["eu-west-1"]
    assert result.text == "Reset it in Settings."
    assert [(c.passage, c.begin, c.end) for c in result.citations] == [(0, 0, 21)]
    assert (result.input_tokens, result.output_tokens, result.finish_reason) == (11, 7, "end_turn")
    assert result.model_id == "anthropic.claude-3-haiku-20240307-v1:0" and result.tool_use is None


def test_tools_nova_top_k_and_tool_use_response(stubbed: Stubbed) -> None:
    expected = {
        "modelId": "us.amazon.nova-pro-v1:0",
        "messages": [{"role": "user", "content": [{"text": "hello"}]}],
        "additionalModelRequestFields": {"inferenceConfig": {"topK": 5}},
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "QUESTION",
                        "description": "Search the knowledge base.",
                        "inputSchema": {"json": TOOLS[0]["input_schema"]},
                    }
                }
            ],
            "toolChoice": {"any": {}},
        },
    }
    use = {"toolUseId": "tu-1", "name": "QUESTION", "input": {"query": "q", "message": "m"}}
    stubbed.stubber.add_response("converse", response([{"toolUse": use}], "tool_use"), expected)
    req = request(
        prompt_type="SELF_SERVICE_PRE_PROCESSING",
        model_id="us.amazon.nova-pro-v1:0",
        system=None,
        messages=[{"role": "user", "content": "hello"}],
        tools=TOOLS,
        inference={"topK": 5},
    )
    with stubbed.stubber:
        result = BedrockBackend(stubbed).generate(req)
    assert result.text is None and result.tool_use == use and result.finish_reason == "tool_use"


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("max_tokens", "max_tokens"),
        ("stop_sequence", "end_turn"),
        ("guardrail_intervened", "content_filtered"),
    ],
)
def test_stop_reasons(stubbed: Stubbed, stop: str, finish: str) -> None:
    stubbed.stubber.add_response("converse", response([{"text": "x"}], stop))
    with stubbed.stubber:
        assert BedrockBackend(stubbed).generate(request()).finish_reason == finish


@pytest.mark.parametrize(
    ("code", "status", "error_code", "reason"),
    [
        ("ThrottlingException", 429, "ThrottlingException", None),
        ("ServiceQuotaExceededException", 400, "ThrottlingException", None),
        ("AccessDeniedException", 403, "UnprocessableContentException", "AI_INFERENCE_MODEL_UNAVAILABLE"),
        ("ValidationException", 400, "UnprocessableContentException", "AI_INFERENCE_MODEL_UNAVAILABLE"),
        ("ResourceNotFoundException", 404, "UnprocessableContentException", "AI_INFERENCE_MODEL_UNAVAILABLE"),
        ("ModelNotReadyException", 429, "UnprocessableContentException", "AI_INFERENCE_MODEL_UNAVAILABLE"),
        ("ModelTimeoutException", 408, "DependencyFailedException", None),
        ("ModelErrorException", 424, "DependencyFailedException", None),
        ("InternalServerException", 500, "DependencyFailedException", None),
        ("ServiceUnavailableException", 503, "DependencyFailedException", None),
    ],
)
def test_client_errors(stubbed: Stubbed, code: str, status: int, error_code: str, reason: str | None) -> None:
    stubbed.stubber.add_client_error("converse", code, "it failed", status)
    with stubbed.stubber, pytest.raises(GenerationError) as caught:
        BedrockBackend(stubbed).generate(request())
    assert (caught.value.error_code, caught.value.reason) == (error_code, reason)
    assert caught.value.message == f"Bedrock Converse failed: {code}: it failed"


def test_connection_and_credential_errors() -> None:
    class Failing:
        def __init__(self, error: Exception) -> None:
            self.error = error

        def converse(self, **_: Any) -> Any:
            raise self.error

    unreachable = EndpointConnectionError(endpoint_url="https://bedrock-runtime.eu-west-1.amazonaws.com")
    with pytest.raises(GenerationError) as caught:
        BedrockBackend(lambda _region: Failing(unreachable)).generate(request())
    assert caught.value.error_code == "DependencyFailedException"
    with pytest.raises(GenerationError) as caught:
        BedrockBackend(lambda _region: Failing(NoCredentialsError())).generate(request())
    assert (caught.value.error_code, caught.value.reason) == (
        "UnprocessableContentException",
        "AI_INFERENCE_MODEL_UNAVAILABLE",
    )
    with pytest.raises(GenerationError) as caught:
        BedrockBackend(lambda _region: Failing(RuntimeError("x"))).generate(
            request(messages=[{"role": "user", "content": " "}])
        )
    assert caught.value.message == "the rendered prompt has no message to send"


def test_backend_for_bedrock(stubbed: Stubbed) -> None:
    class Settings:
        model_backend = "bedrock"
        model_timeout_seconds = 5.0

    chosen = backend_for(Settings(), bedrock_client_factory=stubbed)
    assert isinstance(chosen, BedrockBackend) and chosen.name == "bedrock"
    default = backend_for(Settings())
    assert isinstance(default, BedrockBackend)
    client = default.client_for("ap-southeast-2")  # built lazily; no call is made
    assert client.meta.region_name == "ap-southeast-2" and client is default.client_for("ap-southeast-2")
    assert client.meta.config.read_timeout == 5.0
