"""The scripted generation backend: queued texts, tool uses and failures; local when the queue is empty."""

from __future__ import annotations

from typing import Any

import pytest

from qconnect_local.engine.generation import (
    GenerationError,
    GenerationRequest,
    InMemoryScriptedQueue,
    LocalBackend,
    Passage,
    ScriptedBackend,
    backend_for,
    check_scripted_entry,
)

ACCOUNT, ASSISTANT, SESSION = "111122223333", "a-1", "s-1"
PASSAGES = (
    Passage("c-1", "kb-1", "One", None, "Reset a password in Settings.", 0.95),
    Passage("c-2", "kb-1", "Two", None, "Refunds take 5 days.", 0.95),
)


def request(session: str | None = SESSION, **changes: Any) -> GenerationRequest:
    fields: dict[str, Any] = {
        "prompt_type": "ANSWER_GENERATION",
        "model_id": "m-1",
        "system": None,
        "messages": [{"role": "user", "content": "12345678"}],
        "tools": [],
        "inference": {},
        "query": "reset password",
        "passages": PASSAGES,
        "scope": (ACCOUNT, ASSISTANT, session),
    }
    fields.update(changes)
    return GenerationRequest(**fields)


def backend(*entries: tuple[str | None, dict[str, Any]]) -> tuple[ScriptedBackend, list[float]]:
    queue = InMemoryScriptedQueue()
    for session, entry in entries:
        queue.push(ACCOUNT, ASSISTANT, session, entry)
    slept: list[float] = []
    return ScriptedBackend(queue, sleep=slept.append), slept


def test_text_with_citations_by_index_and_content_id() -> None:
    scripted, _ = backend(
        (
            SESSION,
            {
                "text": "Hello there",
                "citations": [
                    {"passage": 1, "begin": 0, "end": 5},
                    {"contentId": "c-1"},
                    {"contentId": "zz"},
                ],
            },
        )
    )
    result = scripted.generate(request())
    assert result.text == "Hello there"
    assert [(c.passage, c.begin, c.end) for c in result.citations] == [
        (1, 0, 5),
        (0, 0, 11),
    ]  # unknown dropped
    assert result.finish_reason == "end_turn" and result.tool_use is None
    assert (result.input_tokens, result.output_tokens) == (2, 3)
    assert result.model_id == "m-1"


def test_tool_use_usage_and_finish_reason() -> None:
    scripted, _ = backend(
        (None, {"toolUse": {"name": "ESCALATION", "input": {"message": "hold on"}}}),
        (
            None,
            {
                "toolUse": {"name": "X", "input": {}, "toolUseId": "t-1"},
                "text": "calling",
                "usage": {"inputTokens": 7, "outputTokens": 9},
                "finishReason": "max_tokens",
            },
        ),
    )
    first = scripted.generate(request())
    assert first.text is None and first.finish_reason == "tool_use"
    assert first.tool_use is not None and first.tool_use["name"] == "ESCALATION"
    assert first.tool_use["input"] == {"message": "hold on"} and first.tool_use["toolUseId"].startswith(
        "tooluse_"
    )
    second = scripted.generate(request())
    assert second.text == "calling" and second.tool_use == {"toolUseId": "t-1", "name": "X", "input": {}}
    assert (second.input_tokens, second.output_tokens, second.finish_reason) == (7, 9, "max_tokens")


@pytest.mark.parametrize(
    ("error", "code", "reason", "message"),
    [
        (
            {"code": "UnprocessableContentException"},
            "UnprocessableContentException",
            "AI_INFERENCE_MODEL_UNAVAILABLE",
            "scripted UnprocessableContentException",
        ),
        (
            {"code": "UnprocessableContentException", "reason": "ORCHESTRATION_ERROR", "message": "boom"},
            "UnprocessableContentException",
            "ORCHESTRATION_ERROR",
            "boom",
        ),
        ({"code": "DependencyFailedException", "message": "down"}, "DependencyFailedException", None, "down"),
        ({"code": "ThrottlingException"}, "ThrottlingException", None, "scripted ThrottlingException"),
    ],
)
def test_errors(error: dict[str, Any], code: str, reason: str | None, message: str) -> None:
    scripted, _ = backend((SESSION, {"error": error}))
    with pytest.raises(GenerationError) as caught:
        scripted.generate(request())
    assert (caught.value.error_code, caught.value.reason, caught.value.message) == (code, reason, message)
    assert scripted.generate(request()).text == "Reset a password in Settings."  # next call: local again


def test_session_entries_first_then_assistant_then_local() -> None:
    scripted, slept = backend(
        (None, {"text": "assistant-wide", "delaySeconds": 1.5}),
        (SESSION, {"text": "session"}),
        ("other", {"text": "other session"}),
    )
    assert scripted.generate(request()).text == "session"
    assert slept == []
    assert scripted.generate(request()).text == "assistant-wide"
    assert slept == [1.5]
    local = LocalBackend().generate(request())
    assert scripted.generate(request()) == local
    assert scripted.generate(request(session="other")).text == "other session"
    assert scripted.generate(request(session=None)) == local


def test_backend_for_scripted() -> None:
    class Settings:
        model_backend = "scripted"

    queue = InMemoryScriptedQueue()
    chosen = backend_for(Settings(), scripted_queue=queue)
    assert isinstance(chosen, ScriptedBackend) and chosen.queue is queue and chosen.name == "scripted"


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ([], "JSON object"),
        ({}, "exactly one of"),
        ({"text": "a", "error": {"code": "ThrottlingException"}}, "cannot be combined"),
        ({"toolUse": {"name": "A"}, "error": {"code": "ThrottlingException"}}, "exactly one of"),
        ({"text": "a", "colour": 1}, "unknown member 'colour'"),
        ({"text": 5}, "text must be a string"),
        ({"text": "x" * 25_001}, "25000"),
        ({"citations": []}, "exactly one of"),
        ({"toolUse": {"name": "A"}, "citations": []}, "citations need a text"),
        ({"text": "abc", "citations": {}}, "must be a list"),
        ({"text": "abc", "citations": [{"begin": 0}]}, "exactly one of passage"),
        ({"text": "abc", "citations": [{"passage": -1}]}, "non-negative"),
        ({"text": "abc", "citations": [{"passage": 0, "begin": 2, "end": 2}]}, "begin < end"),
        ({"text": "abc", "citations": [{"passage": 0, "end": 4}]}, "len(text) (3)"),
        ({"text": "abc", "citations": [{"contentId": 3}]}, "contentId must be a string"),
        ({"toolUse": {"input": {}}}, "toolUse.name"),
        ({"toolUse": {"name": "A", "input": []}}, "toolUse.input"),
        ({"toolUse": {"name": "A", "extra": 1}}, "toolUse must be"),
        ({"error": {"code": "Nope"}}, "error.code must be one of"),
        ({"error": {"code": "ThrottlingException", "reason": "ORCHESTRATION_ERROR"}}, "only for"),
        ({"error": {"code": "UnprocessableContentException", "reason": "X"}}, "error.reason must be"),
        ({"error": {"code": "DependencyFailedException", "message": 1}}, "error.message"),
        ({"text": "a", "delaySeconds": -1}, "delaySeconds"),
        ({"text": "a", "delaySeconds": 301}, "delaySeconds"),
        ({"text": "a", "delaySeconds": True}, "delaySeconds"),
        ({"text": "a", "usage": {"inputTokens": -1}}, "usage.inputTokens"),
        ({"text": "a", "usage": {"tokens": 1}}, "usage must be"),
        ({"text": "a", "finishReason": "stop"}, "finishReason"),
    ],
)
def test_check_scripted_entry_refuses(entry: Any, complaint: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        check_scripted_entry(entry)
    assert complaint in str(caught.value)


def test_check_scripted_entry_accepts() -> None:
    for entry in (
        {"text": ""},
        {"text": "abc", "citations": [{"passage": 0, "begin": 0, "end": 3}, {"contentId": "c"}]},
        {"toolUse": {"name": "QUESTION", "input": {"query": "q", "message": "m"}}, "delaySeconds": 0.5},
        {"error": {"code": "UnprocessableContentException", "reason": "AI_INFERENCE_MODEL_UNAVAILABLE"}},
        {"error": {"code": "DependencyFailedException"}, "delaySeconds": 2},
    ):
        check_scripted_entry(entry)
    with pytest.raises(ValueError):
        InMemoryScriptedQueue().push(ACCOUNT, ASSISTANT, None, {"nope": 1})
