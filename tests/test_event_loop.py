"""The event loop never waits: a long-polling call in progress does not delay other requests.

A GetRecommendations handler that blocks until released stands in for long polling (its input's
`waitTimeSeconds`). While it blocks, a GetKnowledgeBase on the same server must be answered;
only then is the poll released. If the poll ran on the event loop, the read could not be served
and the poll would end by its own timeout instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import uvicorn
from botocore.config import Config

from qconnect_local.config import Settings
from qconnect_local.runtime import Runtime
from qconnect_local.server.app import App
from qconnect_local.service import handlers
from qconnect_local.service.context import Call
from qconnect_local.testing import postgres

POLL_TIMEOUT = 20.0
ASSISTANT = "11111111-2222-4333-8444-555555555555"
SESSION = "66666666-7777-4888-9999-000000000000"


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield Settings(run_worker=False)
        return
    with postgres.required_database() as url:
        yield Settings(database_url=url, run_worker=False)


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    runtime = Runtime(settings)
    server = uvicorn.Server(uvicorn.Config(App(runtime), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        runtime.close()


def test_a_request_that_waits_does_not_delay_the_others(served: str, monkeypatch: pytest.MonkeyPatch) -> None:
    released = threading.Event()
    timed_out: list[bool] = []

    def long_poll(_call: Call, _params: dict[str, Any]) -> dict[str, Any]:
        timed_out.append(not released.wait(POLL_TIMEOUT))
        return {"recommendations": []}

    monkeypatch.setitem(handlers, "GetRecommendations", long_poll)
    qc = boto3.client(
        "qconnect",
        endpoint_url=served,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}, read_timeout=POLL_TIMEOUT + 10),
    )
    kb = qc.create_knowledge_base(name="kb", knowledgeBaseType="CUSTOM")["knowledgeBase"]
    poll = threading.Thread(
        target=lambda: qc.get_recommendations(assistantId=ASSISTANT, sessionId=SESSION, waitTimeSeconds=20)
    )
    poll.start()
    time.sleep(0.2)  # the poll is in its handler now
    assert qc.get_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"])["knowledgeBase"]["name"] == "kb"
    released.set()
    poll.join(POLL_TIMEOUT + 10)
    assert timed_out == [False]  # the poll was still waiting when the read was answered
