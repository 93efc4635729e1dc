"""The request log (issue 13): one line per request on `qconnect_local.requests`, never a secret."""

from __future__ import annotations

import json
import logging
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from polling import poll
from qconnect_local.config import Settings
from qconnect_local.runtime import Runtime
from qconnect_local.server.request_log import LOGGER_NAME
from qconnect_local.service import handlers
from qconnect_local.testing.mock import mock_qconnect
from qconnect_local.testing.server import ServerProcess, app_in_thread

LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (?P<id>\S+) (?P<account>\S+) (?P<op>\S+)"
    r" (?P<status>\d{3})(?: (?P<code>\w+))? (?P<ms>\d+\.\d)ms$"
)
ACCOUNT = "123456789012"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def lines() -> Iterator[list[str]]:
    handler = _Lines()
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def _client() -> Any:
    return boto3.client("qconnect", region_name="us-east-1")


def _parsed(line: str) -> dict[str, str]:
    match = LINE.match(line)
    assert match, line
    return match.groupdict()


def test_a_successful_call_logs_its_operation_status_and_account(lines: list[str]) -> None:
    with mock_qconnect():
        reply = _client().list_knowledge_bases()
    assert len(lines) == 1
    fields = _parsed(lines[0])
    assert fields["op"] == "qconnect.ListKnowledgeBases"
    assert fields["status"] == "200" and fields["code"] is None
    assert fields["account"] == ACCOUNT
    assert fields["id"] == reply["ResponseMetadata"]["RequestId"]


def test_an_error_logs_its_code(lines: list[str]) -> None:
    with mock_qconnect(), pytest.raises(Exception, match="ResourceNotFound"):
        _client().get_knowledge_base(knowledgeBaseId="00000000-0000-4000-8000-000000000000")
    fields = _parsed(lines[-1])
    assert fields["op"] == "qconnect.GetKnowledgeBase"
    assert (fields["status"], fields["code"]) == ("404", "ResourceNotFoundException")


def test_an_unimplemented_operation_logs_501(lines: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(handlers, "CreateAIAgent")  # every operation is implemented: pretend one is not
    with mock_qconnect(), pytest.raises(Exception, match="NotImplemented"):
        _client().create_ai_agent(
            assistantId="00000000-0000-4000-8000-000000000000",
            name="a",
            type="MANUAL_SEARCH",
            configuration={"manualSearchAIAgentConfiguration": {}},
            visibilityStatus="SAVED",
        )
    fields = _parsed(lines[-1])
    assert (fields["op"], fields["status"], fields["code"]) == (
        "qconnect.CreateAIAgent",
        "501",
        "NotImplementedException",
    )


def test_a_signed_put_logs_link_put_without_its_query_string(lines: list[str]) -> None:
    with mock_qconnect() as mock:
        qc = _client()
        kb = qc.create_knowledge_base(name="support", knowledgeBaseType="QUICK_RESPONSES")["knowledgeBase"]
        up = qc.start_content_upload(knowledgeBaseId=kb["knowledgeBaseId"], contentType="text/csv")
        reply = mock.request("PUT", up["url"], headers=up["headersToInclude"], data=b"name,content\na,b\n")
    assert reply.status == 200
    fields = _parsed(lines[-1])
    assert (fields["op"], fields["status"]) == ("link.PUT", "200")
    query = up["url"].split("?", 1)[1]
    for line in lines:
        assert "?" not in line and query not in line and "Signature" not in line


def test_a_control_request_logs_its_name_and_never_the_token(lines: list[str]) -> None:
    token = "operator-secret-token-123"
    with mock_qconnect(Settings(enforce_sigv4=True, credentials={"AKID": "s"}, control_token=token)) as mock:
        ok = mock.request(
            "POST", "http://local/_qconnect/reset", headers={"authorization": f"Bearer {token}"}
        )
        refused = mock.request(
            "POST", "http://local/_qconnect/reset", headers={"authorization": "Bearer wrong"}
        )
    assert ok.status == 200 and refused.status >= 400
    assert [_parsed(line)["op"] for line in lines] == ["control.reset", "control.reset"]
    assert _parsed(lines[0])["status"] == "200"
    assert _parsed(lines[1])["status"] == str(refused.status)
    assert not any(token in line or "wrong" in line or "Bearer" in line for line in lines)


def test_the_json_format_is_one_object_a_line(lines: list[str]) -> None:
    with mock_qconnect(Settings(log_format="json")):
        _client().list_knowledge_bases()
        with pytest.raises(Exception, match="ResourceNotFound"):
            _client().get_knowledge_base(knowledgeBaseId="00000000-0000-4000-8000-000000000000")
    ok, failed = (json.loads(line) for line in lines)
    assert set(ok) == {"time", "requestId", "account", "operation", "status", "errorCode", "ms"}
    assert ok["operation"] == "qconnect.ListKnowledgeBases" and ok["status"] == 200
    assert ok["errorCode"] is None and ok["account"] == ACCOUNT and isinstance(ok["ms"], float)
    assert failed["errorCode"] == "ResourceNotFoundException" and failed["status"] == 404


def test_log_requests_off_logs_nothing(lines: list[str]) -> None:
    with mock_qconnect(Settings(log_requests=False)) as mock:
        _client().list_knowledge_bases()
        mock.request("GET", "http://local/_qconnect/health")
    assert lines == []


def test_the_log_reaches_stderr_at_the_default_root_level(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_qconnect():
        _client().list_knowledge_bases()
    err = capsys.readouterr().err
    assert " qconnect.ListKnowledgeBases 200 " in err


def test_the_asgi_app_logs_each_request_and_a_long_poll_once(lines: list[str]) -> None:
    runtime = Runtime(Settings(run_worker=False))
    with app_in_thread(runtime) as port:
        qc = ServerProcess(port=port).client()
        assistant_id = qc.create_assistant(name="support", type="AGENT")["assistant"]["assistantId"]
        session_id = qc.create_session(assistantId=assistant_id, name="c")["session"]["sessionId"]
        # A request is logged once its response is sent, so the client may see it first.
        poll(lambda: lines, lambda got: any("qconnect.CreateSession" in line for line in got), what="the log")
        del lines[:]
        qc.get_recommendations(assistantId=assistant_id, sessionId=session_id, waitTimeSeconds=1)
        kb = qc.create_knowledge_base(name="kb", knowledgeBaseType="QUICK_RESPONSES")["knowledgeBase"]
        up = qc.start_content_upload(knowledgeBaseId=kb["knowledgeBaseId"], contentType="text/csv")
        assert _put(up) == 200
    ops = [_parsed(line) for line in lines]
    assert [f["op"] for f in ops] == [
        "qconnect.GetRecommendations",
        "qconnect.CreateKnowledgeBase",
        "qconnect.StartContentUpload",
        "link.PUT",
    ]
    assert float(ops[0]["ms"]) >= 900, "a long poll is logged once, with its whole wait"
    assert all(f["status"] == "200" for f in ops)
    assert ops[0]["account"] != "-"


def _put(up: dict[str, Any]) -> int:
    request = urllib.request.Request(up["url"], data=b"name,content\na,b\n", method="PUT")
    for name, value in up["headersToInclude"].items():
        request.add_header(name, value)
    with urllib.request.urlopen(request, timeout=10) as reply:
        reply.read()
        status: int = reply.status
        return status
