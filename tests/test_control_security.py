"""The control plane under `--enforce-sigv4`, the bounded service clock, and the exposure warning.

Under `--enforce-sigv4` every `/_qconnect/` request but `GET /_qconnect/health` needs the
operator's token (`--control-token`) as `Authorization: Bearer <token>`; without one configured
the control plane is closed. Signed links under `/_qconnect/blobs/` carry their own signatures
and need no token. Without `--enforce-sigv4` the control plane is open, as moto's is.

The service clock never goes back past a time it has shown, so no expired link or signature
becomes valid again: a negative step is refused, one step is at most a year, and the clock's
`reset` keeps any lead over real time.
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from qconnect_local.cli import build_parser, exposure_warning, is_loopback, settings_from
from qconnect_local.clock import MAX_ADVANCE_SECONDS, Clock
from qconnect_local.config import Settings
from qconnect_local.protocol.http import Response
from qconnect_local.testing.mock import mock_qconnect
from qconnect_local.testing.server import ServerProcess

KEY_ID, SECRET = "AKIDEXAMPLE", "example-secret"
TOKEN = "operator-token-0123456789"
CONTROL = "http://local/_qconnect/"


def secured(token: str | None = TOKEN) -> mock_qconnect:
    return mock_qconnect(Settings(enforce_sigv4=True, credentials={KEY_ID: SECRET}, control_token=token))


@pytest.fixture
def mock() -> Iterator[mock_qconnect]:
    with secured() as running:
        yield running


def signed_client() -> Any:
    return boto3.client(
        "qconnect",
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(retries={"total_max_attempts": 1}),
    )


def control(
    mock: mock_qconnect,
    name: str,
    body: dict[str, Any] | None = None,
    *,
    method: str = "POST",
    authorization: str | None = None,
) -> tuple[int, dict[str, Any]]:
    headers = {"authorization": authorization} if authorization is not None else {}
    data = json.dumps(body).encode() if body is not None else b""
    response: Response = mock.request(method, CONTROL + name, headers=headers, data=data)
    document: dict[str, Any] = json.loads(response.body)
    return response.status, document


def operator(mock: mock_qconnect) -> Callable[..., tuple[int, dict[str, Any]]]:
    """`control` with the operator's token."""

    def send(name: str, body: dict[str, Any] | None = None, **kw: Any) -> tuple[int, dict[str, Any]]:
        return control(mock, name, body, authorization=f"Bearer {TOKEN}", **kw)

    return send


def knowledge_base_names(qc: Any) -> list[str]:
    return [kb["name"] for kb in qc.list_knowledge_bases()["knowledgeBaseSummaries"]]


# --- the operator's token ------------------------------------------------------------------------


def test_an_unsigned_reset_is_refused_and_deletes_nothing(mock: mock_qconnect) -> None:
    qc = signed_client()
    qc.create_knowledge_base(name="kept", knowledgeBaseType="CUSTOM")

    status, body = control(mock, "reset")

    assert status == 403
    assert body["code"] == "AccessDeniedException" and body["reason"] == "MissingControlToken"
    assert "Authorization: Bearer" in body["message"]
    assert knowledge_base_names(qc) == ["kept"]


def test_a_sigv4_signature_is_not_an_operator_credential(mock: mock_qconnect) -> None:
    signature = (
        f"AWS4-HMAC-SHA256 Credential={KEY_ID}/20240101/us-east-1/wisdom/aws4_request, "
        "SignedHeaders=host, Signature=" + "0" * 64
    )
    assert control(mock, "reset", authorization=signature)[0] == 403


def test_the_bearer_token_authorises_a_reset(mock: mock_qconnect) -> None:
    qc = signed_client()
    qc.create_knowledge_base(name="gone", knowledgeBaseType="CUSTOM")

    assert control(mock, "reset", authorization=f"Bearer {TOKEN}") == (200, {"reset": True})
    assert knowledge_base_names(qc) == []


def test_the_bearer_scheme_is_case_insensitive(mock: mock_qconnect) -> None:
    assert control(mock, "clock", method="GET", authorization=f"bearer {TOKEN}")[0] == 200
    assert control(mock, "clock", method="GET", authorization=f"BEARER  {TOKEN} ")[0] == 200


@pytest.mark.parametrize(
    "given",
    ["wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "tökén", f"{TOKEN} {TOKEN}"],
    ids=["other", "prefix", "longer", "case", "non-ascii", "twice"],
)
def test_a_wrong_token_is_refused_and_deletes_nothing(mock: mock_qconnect, given: str) -> None:
    qc = signed_client()
    qc.create_knowledge_base(name="kept", knowledgeBaseType="CUSTOM")

    status, body = control(mock, "reset", authorization=f"Bearer {given}")

    assert (status, body["reason"]) == (403, "InvalidControlToken")
    assert knowledge_base_names(qc) == ["kept"]


@pytest.mark.parametrize("authorization", ["", "Bearer", "Bearer   ", f"Basic {TOKEN}", TOKEN])
def test_a_missing_token_is_refused(mock: mock_qconnect, authorization: str) -> None:
    status, body = control(mock, "reset", authorization=authorization)
    assert (status, body["reason"]) == (403, "MissingControlToken")


CONTROL_REQUESTS = [
    ("POST", "reset"),
    ("GET", "clock"),
    ("POST", "clock"),
    ("GET", "transitions"),
    ("POST", "transitions"),
    ("POST", "passages"),
    ("POST", "content"),
    ("POST", "knowledgeBases/kb/ingest"),
    ("POST", "assistants/a/sessions/s/transcript"),
    ("POST", "health"),
    ("HEAD", "health"),
    ("GET", "no-such-endpoint"),
    ("GET", "%68ealth"),
]


@pytest.mark.parametrize(("method", "name"), CONTROL_REQUESTS)
def test_every_control_request_but_get_health_needs_the_token(
    mock: mock_qconnect, method: str, name: str
) -> None:
    response = mock.request(method, CONTROL + name, data=b"{}")
    assert response.status == 403, response.body


def test_with_the_token_the_control_plane_answers_as_before(mock: mock_qconnect) -> None:
    send = operator(mock)
    assert send("clock", method="GET")[0] == 200
    assert send("transitions", {"release": True})[0] == 200
    assert send("no-such-endpoint", method="GET")[0] == 404
    assert send("passages", {"knowledgeBaseIds": "not a list"})[0] == 400
    status, body = send("assistants/a/sessions/s/transcript", {"participant": "CUSTOMER", "text": "hi"})
    assert status == 404 and body["code"] == "ResourceNotFoundException"


def test_health_is_open_without_a_token(mock: mock_qconnect) -> None:
    status, body = control(mock, "health", method="GET")
    assert status == 200 and body["status"] == "ok"


@pytest.mark.parametrize("token", [None, "", "   "], ids=["none", "empty", "blank"])
def test_without_a_configured_token_the_control_plane_is_closed(token: str | None) -> None:
    with secured(token) as mock:
        for authorization in (None, "Bearer ", f"Bearer {token or ''}", f"Bearer {TOKEN}"):
            status, body = control(mock, "reset", authorization=authorization)
            assert (status, body["reason"]) == (403, "ControlPlaneClosed")
        assert "--control-token" in body["message"] and "QCONNECT_LOCAL_CONTROL_TOKEN" in body["message"]
        assert control(mock, "health", method="GET")[0] == 200


def test_signed_links_work_without_a_token(mock: mock_qconnect) -> None:
    qc = signed_client()
    kb = qc.create_knowledge_base(name="links", knowledgeBaseType="QUICK_RESPONSES")["knowledgeBase"]
    up = qc.start_content_upload(knowledgeBaseId=kb["knowledgeBaseId"], contentType="text/csv")

    put = mock.request("PUT", up["url"], headers=up["headersToInclude"], data=b"Name,Content\na,b\n")
    assert put.status == 200, put.body

    job = qc.start_import_job(
        knowledgeBaseId=kb["knowledgeBaseId"], importJobType="QUICK_RESPONSES", uploadId=up["uploadId"]
    )["importJob"]
    got = mock.request("GET", job["url"])
    assert (got.status, got.body) == (200, b"Name,Content\na,b\n")


@pytest.mark.parametrize("token", [None, TOKEN], ids=["no-token", "token-configured"])
def test_without_enforce_sigv4_the_control_plane_is_open(token: str | None) -> None:
    with mock_qconnect(Settings(control_token=token)) as mock:
        assert control(mock, "reset") == (200, {"reset": True})
        assert control(mock, "clock", {"advanceSeconds": 1})[0] == 200
        assert control(mock, "reset", authorization="Bearer wrong")[0] == 200


def test_the_token_comes_from_the_flag_or_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QCONNECT_LOCAL_CONTROL_TOKEN", "from-the-variable")
    assert settings_from(build_parser().parse_args(["serve"])).control_token == "from-the-variable"
    args = build_parser().parse_args(["serve", "--control-token", "from-the-flag"])
    assert settings_from(args).control_token == "from-the-flag"
    assert "from-the-flag" not in repr(settings_from(args))


@pytest.mark.parametrize("token", ["", "   ", "two words", "tökén"])
def test_a_control_token_flag_must_be_printable_ascii(token: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--control-token", token])
    assert "control token" in capsys.readouterr().err


# --- the clock only moves forward ----------------------------------------------------------------


def clock_now(mock: mock_qconnect) -> datetime:
    return datetime.fromisoformat(operator(mock)("clock", method="GET")[1]["now"])


@pytest.mark.parametrize("seconds", [-1, -86400, -1e-6, -1e400])
def test_a_negative_advance_is_refused_and_changes_nothing(mock: mock_qconnect, seconds: float) -> None:
    send = operator(mock)
    frozen = send("clock", {"freeze": True})[1]

    status, body = send("clock", {"advanceSeconds": seconds})

    assert status == 400 and "never goes back" in body["message"]
    assert send("clock", method="GET")[1] == frozen


def test_day_scale_advances_are_accepted_up_to_a_year(mock: mock_qconnect) -> None:
    send = operator(mock)
    start = send("clock", {"freeze": True})[1]["now"]
    assert send("clock", {"advanceSeconds": 86400})[0] == 200
    assert send("clock", {"advanceSeconds": 86400 * 40})[0] == 200
    assert send("clock", {"advanceSeconds": MAX_ADVANCE_SECONDS})[0] == 200
    moved = datetime.fromisoformat(send("clock", method="GET")[1]["now"]) - datetime.fromisoformat(start)
    assert moved == timedelta(seconds=86400 * 41 + MAX_ADVANCE_SECONDS)


@pytest.mark.parametrize(
    "raw", [str(MAX_ADVANCE_SECONDS + 1), "3e11", "1e400", "NaN", "Infinity", '"60"', "true", "null", "[]"]
)
def test_an_advance_beyond_a_year_or_not_a_number_is_refused(mock: mock_qconnect, raw: str) -> None:
    before = operator(mock)("clock", {"freeze": True})[1]
    response = mock.request(
        "POST",
        CONTROL + "clock",
        headers={"authorization": f"Bearer {TOKEN}"},
        data=f'{{"advanceSeconds": {raw}}}'.encode(),
    )
    assert response.status == 400, response.body
    assert operator(mock)("clock", method="GET")[1] == before


def test_a_refused_clock_request_changes_nothing_else(mock: mock_qconnect) -> None:
    send = operator(mock)
    send("clock", {"advanceSeconds": 3600})
    before = send("clock", {"freeze": True})[1]
    assert send("clock", {"reset": True, "freeze": False, "advanceSeconds": -5})[0] == 400
    assert send("clock", method="GET")[1] == before


def test_the_clock_reset_cannot_move_the_clock_back(mock: mock_qconnect) -> None:
    send = operator(mock)
    send("clock", {"freeze": True})
    ahead = datetime.fromisoformat(send("clock", {"advanceSeconds": 86400})[1]["now"])

    status, state = send("clock", {"reset": True})

    assert status == 200 and state["frozen"] is False
    assert datetime.fromisoformat(state["now"]) >= ahead
    assert state["offsetSeconds"] > 86400 - 60  # the lead is kept: the clock ticks on from there


def test_the_clock_reset_returns_to_real_time_when_that_is_forward(mock: mock_qconnect) -> None:
    send = operator(mock)
    send("clock", {"freeze": True})  # stopped: real time runs ahead of the service's
    status, state = send("clock", {"reset": True})
    assert (status, state["frozen"], state["offsetSeconds"]) == (200, False, 0)
    assert abs(datetime.fromisoformat(state["now"]) - datetime.now(UTC)) < timedelta(seconds=5)


def test_an_expired_link_stays_expired_whatever_the_clock_is_told(mock: mock_qconnect) -> None:
    send = operator(mock)
    qc = signed_client()
    kb = qc.create_knowledge_base(name="expiry", knowledgeBaseType="QUICK_RESPONSES")["knowledgeBase"]
    up = qc.start_content_upload(
        knowledgeBaseId=kb["knowledgeBaseId"], contentType="text/csv", presignedUrlTimeToLive=1
    )

    def put() -> Response:
        return mock.request("PUT", up["url"], headers=up["headersToInclude"], data=b"Name,Content\n")

    assert send("clock", {"advanceSeconds": 120})[0] == 200
    assert put().status == 403 and b"Request has expired" in put().body
    for body in ({"advanceSeconds": -120}, {"reset": True}, {"freeze": True}, {"freeze": False}):
        send("clock", body)
        assert put().status == 403 and b"Request has expired" in put().body, body


def test_a_server_reset_returns_to_real_time_with_nothing_left_to_revive(mock: mock_qconnect) -> None:
    """The whole server's reset deletes every upload, job and file: their links name nothing."""
    send = operator(mock)
    qc = signed_client()
    kb = qc.create_knowledge_base(name="reset", knowledgeBaseType="QUICK_RESPONSES")["knowledgeBase"]
    send("clock", {"advanceSeconds": 600})  # (within the skew SigV4 allows the client)
    up = qc.start_content_upload(
        knowledgeBaseId=kb["knowledgeBaseId"], contentType="text/csv", presignedUrlTimeToLive=1
    )
    send("clock", {"advanceSeconds": 3600})

    assert send("reset") == (200, {"reset": True})

    assert send("clock", method="GET")[1]["offsetSeconds"] == 0
    put = mock.request("PUT", up["url"], headers=up["headersToInclude"], data=b"Name,Content\n")
    assert put.status == 404 and b"NoSuchUpload" in put.body


OPERATIONS: dict[str, Callable[[Clock], object]] = {
    "advance": lambda clock: clock.advance(90),
    "freeze": lambda clock: clock.freeze(),
    "unfreeze": lambda clock: clock.unfreeze(),
    "resume_real_time": lambda clock: clock.resume_real_time(),
}


@pytest.mark.parametrize("sequence", list(itertools.product(OPERATIONS, repeat=3)), ids="-".join)
def test_no_sequence_of_clock_changes_shows_an_earlier_time(sequence: tuple[str, ...]) -> None:
    clock = Clock()
    shown = clock.now()
    for name in sequence:
        OPERATIONS[name](clock)
        assert clock.now() >= shown, name
        shown = clock.now()
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.freeze(shown - timedelta(seconds=1))
    assert clock.now() >= shown


# --- the start-up warning ------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]", "::ffff:127.0.0.1"])
def test_loopback_addresses_are_not_exposed(host: str) -> None:
    assert is_loopback(host)
    assert exposure_warning(host, Settings()) is None


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "10.0.0.5", "192.168.1.20", "fe80::1", "qconnect.internal"]
)
def test_a_non_loopback_host_without_enforce_sigv4_is_warned_about(host: str) -> None:
    warning = exposure_warning(host, Settings())
    assert warning is not None and len(warning.splitlines()) == 2
    assert host in warning and "--enforce-sigv4" in warning
    assert "read and delete every account's data and reset the server" in warning
    assert exposure_warning(host, Settings(enforce_sigv4=True)) is None


def stderr_after_stop(server: ServerProcess) -> str:
    """Stop the server and read everything it wrote to stderr."""
    server.stop()
    return server.log_text()


def test_serving_on_all_interfaces_without_enforce_sigv4_prints_the_warning() -> None:
    server = ServerProcess("--host", "0.0.0.0").start()
    try:
        server.control("reset")  # open, as warned
    finally:
        text = stderr_after_stop(server)
    assert "WARNING: listening on 0.0.0.0" in text
    assert "anyone who can reach the port can read and delete every account's data" in text


def http(url: str, method: str = "GET", data: bytes | None = None, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_secured_server_on_all_interfaces_guards_its_control_plane() -> None:
    server = ServerProcess(
        "--host", "0.0.0.0", "--enforce-sigv4", "--credentials", f"{KEY_ID}:{SECRET}", "--control-token", "t"
    ).start()
    try:
        qc = boto3.client(
            "qconnect",
            region_name="us-east-1",
            endpoint_url=server.url,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            config=Config(retries={"total_max_attempts": 1}),
        )
        kb = qc.create_knowledge_base(name="kept", knowledgeBaseType="QUICK_RESPONSES")["knowledgeBase"]
        reset = f"{server.url}/_qconnect/reset"

        status, body = http(reset, "POST", b"{}")
        assert status == 403 and json.loads(body)["reason"] == "MissingControlToken"
        assert http(reset, "POST", b"{}", Authorization="Bearer wrong")[0] == 403
        assert http(f"{server.url}/_qconnect/health")[0] == 200
        assert knowledge_base_names(qc) == ["kept"]

        up = qc.start_content_upload(knowledgeBaseId=kb["knowledgeBaseId"], contentType="text/csv")
        assert http(up["url"], "PUT", b"Name,Content\n", **up["headersToInclude"])[0] == 200

        assert server.control("reset") == {"reset": True}  # ServerProcess sends its --control-token
        assert knowledge_base_names(qc) == []
    finally:
        text = stderr_after_stop(server)
    assert "WARNING" not in text


def test_a_server_process_with_enforce_sigv4_gets_a_token_for_its_own_control_calls() -> None:
    server = ServerProcess("--enforce-sigv4", "--credentials", f"{KEY_ID}:{SECRET}")
    assert server.control_token and server.command()[-2:] == ["--control-token", server.control_token]
    assert "--control-token" not in ServerProcess().command()
