"""The openai backend against a small chat-completions server on loopback, started by the tests."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from qconnect_local import __version__
from qconnect_local.engine.generation import GenerationError, GenerationRequest, Passage, backend_for
from qconnect_local.engine.generation.openai import OpenAIBackend, completions_url


class Fake:
    """What the server answers next, and what it was sent."""

    def __init__(self) -> None:
        self.status = 200
        self.body: Any = {}
        self.delay = 0.0
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.release = threading.Event()


@pytest.fixture
def fake() -> Iterator[tuple[Fake, str]]:
    state = Fake()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            state.requests.append((self.path, dict(self.headers.items()), json.loads(raw)))
            if state.delay:
                state.release.wait(state.delay)
            body = state.body if isinstance(state.body, bytes) else json.dumps(state.body).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def request(**changes: Any) -> GenerationRequest:
    fields: dict[str, Any] = {
        "prompt_type": "ANSWER_GENERATION",
        "model_id": "llama3.2",
        "system": "You answer.",
        "messages": [{"role": "user", "content": "How do I reset?"}],
        "tools": [],
        "inference": {},
    }
    fields.update(changes)
    return GenerationRequest(**fields)


def completion(message: dict[str, Any], finish: str = "stop", **extra: Any) -> dict[str, Any]:
    return {
        "id": "c-1",
        "model": "llama3.2:latest",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        **extra,
    }


TOOLS = [
    {
        "name": "QUESTION",
        "description": "Search.",
        "input_schema": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    }
]


def test_request_body_headers_and_text_mapping(fake: tuple[Fake, str]) -> None:
    state, url = fake
    state.body = completion(
        {"role": "assistant", "content": "Open Settings to reset your password."},
        usage={"prompt_tokens": 21, "completion_tokens": 8, "total_tokens": 29},
    )
    passages = (Passage("c-1", "kb", "T", None, "Reset your password from Settings.", 0.9),)
    backend = OpenAIBackend(url, api_key="sk-test", timeout_seconds=5)
    result = backend.generate(
        request(
            passages=passages,
            tools=TOOLS,
            inference={"temperature": 0.1, "topP": 0.5, "topK": 3, "maxTokensToSample": 200},
        )
    )
    path, headers, body = state.requests[0]
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sk-test"
    assert headers["Content-Type"] == "application/json" and headers["Accept"] == "application/json"
    assert headers["User-Agent"] == f"qconnect-local/{__version__}"
    assert body == {
        "model": "llama3.2",
        "messages": [
            {"role": "system", "content": "You answer."},
            {"role": "user", "content": "How do I reset?"},
        ],
        "stream": False,
        "temperature": 0.1,
        "top_p": 0.5,
        "top_k": 3,
        "max_tokens": 200,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "QUESTION",
                    "description": "Search.",
                    "parameters": TOOLS[0]["input_schema"],
                },
            }
        ],
    }
    assert result.text == "Open Settings to reset your password."
    assert [(c.passage, c.begin, c.end) for c in result.citations] == [(0, 0, len(result.text))]
    assert (result.input_tokens, result.output_tokens) == (21, 8)
    assert result.model_id == "llama3.2:latest" and result.finish_reason == "end_turn"
    assert "sk-test" not in repr(backend)


def test_no_key_no_system_and_estimated_usage(fake: tuple[Fake, str]) -> None:
    state, url = fake
    state.body = {"choices": [{"message": {"content": "abcde"}, "finish_reason": "length"}]}
    result = OpenAIBackend(url + "/v1/").generate(request(system=None))
    _, headers, body = state.requests[0]
    assert "Authorization" not in headers
    assert body == {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "How do I reset?"}],
        "stream": False,
    }
    assert (result.text, result.finish_reason, result.model_id) == ("abcde", "max_tokens", "llama3.2")
    assert (result.input_tokens, result.output_tokens) == (4, 2)  # ceil(15 / 4), ceil(5 / 4)


def test_tool_call_mapping(fake: tuple[Fake, str]) -> None:
    state, url = fake
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "QUESTION", "arguments": '{"query": "q"}'},
    }
    state.body = completion({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls")
    result = OpenAIBackend(url).generate(request(tools=TOOLS))
    assert result.text is None and result.finish_reason == "tool_use"
    assert result.tool_use == {"toolUseId": "call_1", "name": "QUESTION", "input": {"query": "q"}}
    # Ollama-style: arguments as an object, no id, finish_reason "stop".
    state.body = completion(
        {"content": "", "tool_calls": [{"function": {"name": "QUESTION", "arguments": {"query": "z"}}}]}
    )
    result = OpenAIBackend(url).generate(request(tools=TOOLS))
    assert result.tool_use is not None and result.tool_use["input"] == {"query": "z"}
    assert result.tool_use["toolUseId"].startswith("tooluse_") and result.finish_reason == "tool_use"


@pytest.mark.parametrize(
    ("status", "body", "error_code", "reason", "detail"),
    [
        (429, {"error": {"message": "slow down"}}, "ThrottlingException", None, "slow down"),
        (
            401,
            {"error": {"message": "bad key"}},
            "UnprocessableContentException",
            "AI_INFERENCE_MODEL_UNAVAILABLE",
            "bad key",
        ),
        (
            404,
            {"error": "model 'x' not found"},
            "UnprocessableContentException",
            "AI_INFERENCE_MODEL_UNAVAILABLE",
            "model 'x' not found",
        ),
        (400, {"error": {"message": "bad request"}}, "DependencyFailedException", None, "bad request"),
        (500, b"oops", "DependencyFailedException", None, "oops"),
        (503, {}, "DependencyFailedException", None, "{}"),
    ],
)
def test_http_errors(
    fake: tuple[Fake, str], status: int, body: Any, error_code: str, reason: str | None, detail: str
) -> None:
    state, url = fake
    state.status, state.body = status, body
    with pytest.raises(GenerationError) as caught:
        OpenAIBackend(url).generate(request())
    assert (caught.value.error_code, caught.value.reason) == (error_code, reason)
    assert caught.value.message == f"model endpoint answered HTTP {status}: {detail}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "model endpoint answered with invalid JSON"),
        ({"choices": []}, "model endpoint response has no choices"),
        (
            completion({"tool_calls": [{"function": {"name": "Q", "arguments": "{oops"}}]}),
            "malformed tool call",
        ),
        (completion({"tool_calls": [{"function": {"name": "Q", "arguments": "[1]"}}]}), "not an object"),
    ],
)
def test_bad_responses(fake: tuple[Fake, str], body: Any, message: str) -> None:
    state, url = fake
    state.body = body
    with pytest.raises(GenerationError) as caught:
        OpenAIBackend(url).generate(request())
    assert caught.value.error_code == "DependencyFailedException" and message in caught.value.message


def test_timeout_and_connection_refused(fake: tuple[Fake, str]) -> None:
    state, url = fake
    state.delay = 5
    with pytest.raises(GenerationError) as caught:
        OpenAIBackend(url, timeout_seconds=0.2).generate(request())
    assert caught.value.error_code == "DependencyFailedException"
    assert caught.value.message == "model endpoint timed out after 0.2s"
    state.release.set()
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(GenerationError) as caught:
        OpenAIBackend(f"http://127.0.0.1:{port}").generate(request())
    assert caught.value.error_code == "DependencyFailedException"
    assert caught.value.message.startswith("model endpoint unreachable:")


def test_completions_url_and_backend_for() -> None:
    assert completions_url("http://h:1") == "http://h:1/v1/chat/completions"
    assert completions_url("http://h:1/v1/") == "http://h:1/v1/chat/completions"
    assert completions_url("http://h/api/chat/completions") == "http://h/api/chat/completions"

    class Settings:
        model_backend = "openai"
        model_endpoint = "http://127.0.0.1:11434"
        model_api_key = "k"
        model_timeout_seconds = "7.5"  # a variable's raw string is accepted too

    chosen = backend_for(Settings())
    assert isinstance(chosen, OpenAIBackend) and chosen.name == "openai"
    assert (chosen.url, chosen.api_key, chosen.timeout) == (
        "http://127.0.0.1:11434/v1/chat/completions",
        "k",
        7.5,
    )
