"""Bounded requests: what one client can make the server hold, in memory, in time, in connections.

- A request body is bounded (`max_request_bytes`) by its Content-Length before a byte is read,
  and while it streams in: over the limit it is a 413 `RequestEntityTooLarge` in AWS's JSON
  error shape, the connection closed, the server's memory unchanged. The in-process mock refuses
  the same bodies.
- Error messages quote a short prefix of an offending value; numbers are bounded before they are
  converted (4,400 digits is a SerializationException, as any integer out of range is).
- Header size and count, a header-read timeout, a body timeout, the idle keep-alive timeout and a
  connection cap (health answers while it is reached) are the HTTP protocol's
  (`server/limits.py`): tested on uvicorn run in-process with `uvicorn_options`, and on a real
  `qconnect-local serve`.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import uvicorn
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from qconnect_local.config import Settings
from qconnect_local.protocol.errors import QUOTED_PREFIX
from qconnect_local.protocol.http import Request
from qconnect_local.runtime import Runtime
from qconnect_local.server.app import App, route
from qconnect_local.server.limits import LimitedHttpToolsProtocol, connection_cap, uvicorn_options
from qconnect_local.service import handlers
from qconnect_local.service.context import Call
from qconnect_local.testing.mock import mock_qconnect
from qconnect_local.testing.server import ServerProcess

MiB = 1024 * 1024
LIMIT = 1 * MiB  # the body limit of the servers below
UNKNOWN_ID = "3f6e2b7a-1c4d-4e5f-8a9b-0c1d2e3f4a5b"
JSON = {"Content-Type": "application/json"}


def kb_body(size: int) -> bytes:
    """A CreateKnowledgeBase body of exactly `size` bytes (a description too long to be valid)."""
    head, tail = b'{"name":"kb","knowledgeBaseType":"CUSTOM","description":"', b'"}'
    return head + b"d" * (size - len(head) - len(tail)) + tail


def client(url: str | None = None) -> Any:
    return boto3.client(
        "qconnect",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="123456789012",
        aws_secret_access_key="secret",
        config=Config(retries={"total_max_attempts": 1}, parameter_validation=False),
    )


# --- raw HTTP ---------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def error_type(self) -> str | None:
        return self.headers.get("x-amzn-errortype")

    def message(self) -> str:
        message: str = json.loads(self.body)["message"]
        return message


def parse_reply(raw: bytes) -> Reply:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Reply(int(status_line.split()[1]), headers, body)


def read_until_closed(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection (b"" if it closes at once)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:  # it closed with our bytes unread: what it sent is what counts
        pass
    return data


def is_closed(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def read_one_reply(sock: socket.socket, timeout: float = 10.0) -> Reply:
    """One response on a connection that stays open (Content-Length bodies only)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a response: {data!r}"
        data += chunk
    reply = parse_reply(data)
    while len(reply.body) < int(reply.headers.get("content-length", "0")):
        reply.body += sock.recv(65536)
    return reply


def get(path: str = "/knowledgeBases", *extra: str) -> bytes:
    return ("\r\n".join([f"GET {path} HTTP/1.1", "Host: local", *extra]) + "\r\n\r\n").encode()


def send_chunked(sock: socket.socket, path: str, total: int, chunk_size: int = 64 * 1024) -> int:
    """POST a chunked body of `total` bytes, for as long as the server reads; the bytes sent."""
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    chunk = b"%x\r\n" % chunk_size + b"x" * chunk_size + b"\r\n"
    sent = 0
    try:
        while sent < total:
            sock.sendall(chunk)
            sent += chunk_size
        sock.sendall(b"0\r\n\r\n")
    except OSError:  # the server answered and closed: the rest was never read
        pass
    return sent


def assert_aws_error(reply: Reply, status: int, code: str) -> str:
    assert (reply.status, reply.error_type) == (status, code), reply
    assert reply.headers.get("content-type") == "application/json"
    assert "x-amzn-requestid" in reply.headers
    return reply.message()


# --- servers ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    """A real `qconnect-local serve` whose body limit is LIMIT (set through its variable)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("QCONNECT_LOCAL_MAX_REQUEST_BYTES", str(LIMIT))
        process = ServerProcess("--no-worker").start()
    try:
        yield process
    finally:
        process.stop()


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


Serve = Callable[..., int]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """`serve(**settings)`: uvicorn in a thread with `uvicorn_options(settings)`; its port."""
    started: list[tuple[uvicorn.Server, threading.Thread, Runtime]] = []

    def start(**overrides: Any) -> int:
        settings = Settings(run_worker=False, **overrides)
        runtime = Runtime(settings)
        config = uvicorn.Config(
            App(runtime), host="127.0.0.1", port=0, log_level="error", **uvicorn_options(settings)
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        started.append((server, thread, runtime))
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        port: int = server.servers[0].sockets[0].getsockname()[1]
        return port

    yield start
    for server, thread, runtime in started:
        server.should_exit = True
        thread.join(10)
        runtime.close()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


# --- the body limit ---------------------------------------------------------------------------------


def test_a_body_over_the_limit_by_content_length_is_a_413_that_botocore_parses(server: ServerProcess) -> None:
    qc = client(server.url)
    with pytest.raises(ClientError) as raised:
        qc.create_knowledge_base(name="kb", knowledgeBaseType="CUSTOM", description="d" * (2 * LIMIT))
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error["Error"]["Code"] == "RequestEntityTooLarge"
    assert str(LIMIT) in error["Error"]["Message"]
    assert qc.list_knowledge_bases()["knowledgeBaseSummaries"] == []  # and the server serves on


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(server: ServerProcess) -> None:
    """With Expect: 100-continue the client holds its body back: the 413 comes without it."""
    with connect(server.port) as sock:
        sock.sendall(
            b"POST /knowledgeBases HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (1024 * MiB)
        )
        reply = parse_reply(read_until_closed(sock))
    assert_aws_error(reply, 413, "RequestEntityTooLarge")
    assert reply.headers.get("connection") == "close"


def test_a_chunked_body_over_the_limit_is_a_413_and_the_rest_is_not_read(server: ServerProcess) -> None:
    with connect(server.port) as sock:
        sent = send_chunked(sock, "/knowledgeBases", 64 * MiB)
        reply = parse_reply(read_until_closed(sock))
    assert_aws_error(reply, 413, "RequestEntityTooLarge")
    assert reply.headers.get("connection") == "close"
    assert sent < 64 * MiB  # the server closed the connection long before the end


def test_a_streamed_200_mb_body_leaves_the_server_memory_as_it_was(server: ServerProcess) -> None:
    assert server.process is not None
    pid = server.process.pid
    before = rss_kib(pid)
    for path in ("/knowledgeBases", f"/knowledgeBases/{UNKNOWN_ID}/contents", "/_qconnect/reset"):
        with connect(server.port) as sock:
            send_chunked(sock, path, 200 * MiB)
            assert parse_reply(read_until_closed(sock)).status == 413
    peak = rss_kib(pid, "VmHWM")  # the high-water mark: even a moment's growth would show
    assert max(peak, rss_kib(pid)) - before < 100 * 1024, (before, peak)


def test_the_limit_is_checked_before_authentication() -> None:
    """An unsigned body over the limit is refused as too large, never read for the 403."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("QCONNECT_LOCAL_MAX_REQUEST_BYTES", str(LIMIT))
        enforcing = ServerProcess("--no-worker", "--enforce-sigv4", "--credentials", "AKID:SECRET").start()
    try:
        with connect(enforcing.port) as sock:
            send_chunked(sock, "/knowledgeBases", 32 * MiB)
            assert_aws_error(parse_reply(read_until_closed(sock)), 413, "RequestEntityTooLarge")
    finally:
        enforcing.stop()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_of_exactly_the_limit_is_read_and_parsed(server: ServerProcess, chunked: bool) -> None:
    body = kb_body(LIMIT)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        payload: Any = iter([body[: LIMIT // 2], body[LIMIT // 2 :]]) if chunked else body
        conn.request("POST", "/knowledgeBases", body=payload, headers=JSON, encode_chunked=chunked)
        response = conn.getresponse()
        reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()
    # Parsed and validated: the description is longer than the model allows.
    message = assert_aws_error(reply, 400, "ValidationException")
    assert "description" in message


def test_one_byte_over_the_limit_is_refused(server: ServerProcess) -> None:
    with connect(server.port) as sock:
        body = kb_body(LIMIT + 1)
        try:
            sock.sendall(
                b"POST /knowledgeBases HTTP/1.1\r\nHost: local\r\nContent-Length: %d\r\n\r\n" % len(body)
            )
            sock.sendall(body)
        except OSError:  # answered and closed before the body was all sent
            pass
        reply = parse_reply(read_until_closed(sock))
    assert_aws_error(reply, 413, "RequestEntityTooLarge")
    assert reply.headers.get("connection") == "close"


def test_signed_upload_puts_keep_their_own_limit(server: ServerProcess) -> None:
    """A PUT to an upload link is not an API body: over max_request_bytes it is still read (and
    then refused by the link's own checks), never answered with the API's 413."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("PUT", "/_qconnect/blobs/uploads/nope", body=b"x" * (2 * LIMIT))
        response = conn.getresponse()
        assert response.status != 413
        assert response.getheader("content-type") == "application/xml"
        response.read()
    finally:
        conn.close()


def test_the_in_process_mock_refuses_an_oversize_body_too() -> None:
    with mock_qconnect(Settings(max_request_bytes=LIMIT, run_worker=False)):
        qc = client()
        with pytest.raises(ClientError) as raised:
            qc.create_knowledge_base(name="kb", knowledgeBaseType="CUSTOM", description="d" * (2 * LIMIT))
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
        assert raised.value.response["Error"]["Code"] == "RequestEntityTooLarge"
        assert (
            qc.create_knowledge_base(name="kb", knowledgeBaseType="CUSTOM")["knowledgeBase"]["name"] == "kb"
        )


@pytest.fixture(scope="module")
def limited_runtime() -> Iterator[Runtime]:
    runtime = Runtime(Settings(max_request_bytes=LIMIT, run_worker=False))
    yield runtime
    runtime.close()


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(size=st.integers(min_value=LIMIT - 64, max_value=LIMIT + 64) | st.integers(1024, 4 * LIMIT))
def test_every_body_size_is_refused_exactly_when_over_the_limit(limited_runtime: Runtime, size: int) -> None:
    """The fuzzing harness's way: whatever the size, a well-formed answer; 413 iff over."""
    response = route(
        limited_runtime, Request("POST", "/knowledgeBases", "", {"host": "local"}, kb_body(size))
    )
    expected = "RequestEntityTooLarge" if size > LIMIT else "ValidationException"
    assert (response.status, response.header("X-Amzn-Errortype")) == (413 if size > LIMIT else 400, expected)
    assert isinstance(json.loads(response.body)["message"], str)


# --- short messages, bounded numbers ----------------------------------------------------------------


@pytest.fixture(scope="module")
def mock() -> Iterator[mock_qconnect]:
    with mock_qconnect(Settings(run_worker=False)) as active:
        yield active


def test_a_10_mb_name_is_quoted_short_in_its_validation_exception(mock: mock_qconnect) -> None:
    qc = client()
    with pytest.raises(qc.exceptions.ValidationException) as raised:
        qc.create_knowledge_base(name="n" * 10_000_000, knowledgeBaseType="CUSTOM")
    message = raised.value.response["Error"]["Message"]
    assert len(message) < 2 * QUOTED_PREFIX + 300, len(message)
    assert "n" * QUOTED_PREFIX + "... (10000000 characters)" in message
    assert "at 'name' failed to satisfy constraint: Member must have length less than or equal to" in message


def test_a_long_sensitive_value_stays_redacted(mock: mock_qconnect) -> None:
    qc = client()
    with pytest.raises(qc.exceptions.ValidationException) as raised:
        qc.create_ai_guardrail(
            assistantId=UNKNOWN_ID,
            name="guard",
            blockedInputMessaging="secret" * 100_000,
            blockedOutputsMessaging="blocked",
            visibilityStatus="PUBLISHED",
        )
    message = raised.value.response["Error"]["Message"]
    assert "secret" not in message
    assert "*** Sensitive Data Redacted ***" in message


def test_a_huge_map_is_quoted_short_and_not_every_violation_is_spelled_out(mock: mock_qconnect) -> None:
    """20,000 tag keys over the length limit: each violation quotes the map, short, and only 20
    are spelled out, then the count (rendering the map whole per key would take minutes)."""
    qc = client()
    tags = {"k" * 130 + str(i): "v" for i in range(20_000)}
    started = time.monotonic()
    with pytest.raises(qc.exceptions.ValidationException) as raised:
        qc.create_knowledge_base(name="kb", knowledgeBaseType="CUSTOM", tags=tags)
    assert time.monotonic() - started < 10
    message = raised.value.response["Error"]["Message"]
    assert message.startswith("20000 validation errors detected: ")
    assert message.endswith("; and 19980 more")
    assert len(message) < 20 * (2 * QUOTED_PREFIX + 300)
    assert "... (20000 items)" in message


DIGITS_4400 = "1" + "0" * 4400


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/knowledgeBases?maxResults={DIGITS_4400}"),
        ("GET", f"/knowledgeBases?maxResults=-{DIGITS_4400}"),
        ("DELETE", f"/assistants/{UNKNOWN_ID}/aiagents/{UNKNOWN_ID}/versions/{DIGITS_4400}"),
    ],
    ids=["query", "negative-query", "uri-label"],
)
def test_a_4400_digit_number_is_a_serialization_exception_not_a_500(
    server: ServerProcess, method: str, path: str
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()
    message = assert_aws_error(reply, 400, "SerializationException")
    assert "out of range" in message and len(message) < QUOTED_PREFIX + 200


def test_leading_zeros_do_not_make_a_number_too_long(mock: mock_qconnect) -> None:
    response = mock.request("GET", "http://local/knowledgeBases?maxResults=" + "0" * 4400 + "5")
    assert response.status == 200, response.body


def test_a_4400_digit_number_in_a_json_body_is_a_serialization_exception(mock: mock_qconnect) -> None:
    body = (
        '{"name":"kb","knowledgeBaseType":"CUSTOM","vectorIngestionConfiguration":{"chunkingConfiguration":'
        '{"chunkingStrategy":"FIXED_SIZE","fixedSizeChunkingConfiguration":{"maxTokens":'
        + DIGITS_4400
        + ',"overlapPercentage":10}}}}'
    )
    response = mock.request("POST", "http://local/knowledgeBases", headers=JSON, data=body.encode())
    assert (response.status, response.header("X-Amzn-Errortype")) == (400, "SerializationException")
    assert len(json.loads(response.body)["message"]) < 300


def test_a_long_but_bounded_json_integer_is_out_of_range_with_a_short_message(mock: mock_qconnect) -> None:
    body = (
        '{"name":"kb","knowledgeBaseType":"CUSTOM","vectorIngestionConfiguration":{"chunkingConfiguration":'
        '{"chunkingStrategy":"FIXED_SIZE","fixedSizeChunkingConfiguration":{"maxTokens":'
        + "9" * 60
        + ',"overlapPercentage":10}}}}'
    )
    response = mock.request("POST", "http://local/knowledgeBases", headers=JSON, data=body.encode())
    assert (response.status, response.header("X-Amzn-Errortype")) == (400, "SerializationException")
    assert "maxTokens" in json.loads(response.body)["message"]


# --- headers ----------------------------------------------------------------------------------------


def test_uvicorn_options_put_the_limited_httptools_protocol_in_place() -> None:
    options = uvicorn_options(Settings(idle_timeout_seconds=7, max_connections=50, max_header_count=9))
    assert issubclass(options["http"], LimitedHttpToolsProtocol)
    assert options["http"].limits.max_header_count == 9
    assert options["http"].limits.max_connections == 50
    assert options["timeout_keep_alive"] == 7
    assert options["limit_concurrency"] is None  # uvicorn's cap would refuse health too
    uvicorn.Config(lambda *_: None, **options).load()  # uvicorn accepts them


def test_the_connection_cap_fits_the_open_file_limit() -> None:
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert connection_cap(10**9) < soft
    assert connection_cap(5) == 5


def test_a_header_over_the_size_limit_is_a_431_before_it_is_all_sent(serve: Serve) -> None:
    port = serve(max_header_bytes=16 * 1024)
    with connect(port) as sock:
        sock.sendall(b"GET /knowledgeBases HTTP/1.1\r\nHost: local\r\nX-Big: ")
        sent = 0
        try:
            while sent < 64 * MiB:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except OSError:
            pass
        reply = parse_reply(read_until_closed(sock))
    assert_aws_error(reply, 431, "RequestHeaderFieldsTooLarge")
    assert sent < 4 * MiB  # refused as soon as it was over, not at the end


def test_a_long_url_counts_toward_the_header_limit(serve: Serve) -> None:
    port = serve(max_header_bytes=16 * 1024)
    with connect(port) as sock:
        sock.sendall(get("/knowledgeBases?nextToken=" + "a" * 20_000))
        assert_aws_error(parse_reply(read_until_closed(sock)), 431, "RequestHeaderFieldsTooLarge")


def test_headers_within_the_limits_are_served(serve: Serve) -> None:
    port = serve(max_header_bytes=16 * 1024, max_header_count=20)
    extra = [f"X-Pad-{i}: {'p' * 500}" for i in range(18)]  # 20 headers with Host, ~10 KiB
    with connect(port) as sock:
        sock.sendall(get("/knowledgeBases", *extra))
        assert read_one_reply(sock).status == 200


def test_more_headers_than_the_count_limit_are_a_431(serve: Serve) -> None:
    port = serve(max_header_count=20)
    with connect(port) as sock:
        sock.sendall(get("/knowledgeBases", *(f"X-{i}: 1" for i in range(20))))
        assert_aws_error(parse_reply(read_until_closed(sock)), 431, "RequestHeaderFieldsTooLarge")


def test_botocore_requests_fit_the_default_limits(serve: Serve) -> None:
    qc = client(f"http://127.0.0.1:{serve()}")
    kb = qc.create_knowledge_base(name="kb", knowledgeBaseType="CUSTOM", tags={"k": "v"})["knowledgeBase"]
    assert qc.get_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"])["knowledgeBase"]["name"] == "kb"


HEADER_LIMITS = {"max_header_bytes": 8 * 1024, "max_header_count": 20}


@pytest.fixture(scope="module")
def header_limited_port() -> Iterator[int]:
    """uvicorn in a thread with HEADER_LIMITS, for the whole module (hypothesis runs many examples)."""
    settings = Settings(run_worker=False, **HEADER_LIMITS)
    runtime = Runtime(settings)
    config = uvicorn.Config(
        App(runtime), host="127.0.0.1", port=0, log_level="error", **uvicorn_options(settings)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    thread.join(10)
    runtime.close()


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(
    sizes=st.lists(st.integers(0, 3000), max_size=30),
    pieces=st.integers(1, 5),
)
def test_any_set_of_headers_is_served_or_refused_by_the_limits(
    header_limited_port: int, sizes: list[int], pieces: int
) -> None:
    """The fuzzing harness's way for headers: however many, however long, however the bytes are
    split into writes, the answer is the API's (200) within the limits, 431 beyond, never other."""
    extra = [f"X-H{i}: {'v' * size}" for i, size in enumerate(sizes)]
    raw = get("/knowledgeBases", *extra)
    headers = [("host", "local"), *((f"x-h{i}", "v" * size) for i, size in enumerate(sizes))]
    size = len("/knowledgeBases") + sum(len(name) + len(value) + 4 for name, value in headers)
    count = len(headers)
    with connect(header_limited_port) as sock:
        step = max(1, len(raw) // pieces)
        try:
            for start in range(0, len(raw), step):
                sock.sendall(raw[start : start + step])
        except OSError:  # refused and closed while the rest was being sent
            pass
        reply = read_one_reply(sock)
    if count > HEADER_LIMITS["max_header_count"] or size > HEADER_LIMITS["max_header_bytes"]:
        assert_aws_error(reply, 431, "RequestHeaderFieldsTooLarge")
    elif size <= HEADER_LIMITS["max_header_bytes"] - 64:  # near the limit, how it was split may count
        assert reply.status == 200, (count, size, reply)
    else:
        assert reply.status in (200, 431), (count, size, reply)


# --- time -------------------------------------------------------------------------------------------


def trickle(sock: socket.socket, request: bytes) -> tuple[float, Reply]:
    """Send `request` a byte every 0.2 s (slowloris) until the server cuts the connection:
    (seconds from the first byte to the cut, the reply it sent)."""
    started = time.monotonic()
    try:
        for byte in request:
            sock.sendall(bytes([byte]))
            time.sleep(0.2)
    except OSError:
        pass
    elapsed = time.monotonic() - started
    return elapsed, parse_reply(read_until_closed(sock))


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(serve: Serve) -> None:
    port = serve(header_timeout_seconds=1)
    with connect(port) as sock:
        started = time.monotonic()
        assert read_until_closed(sock) == b""  # closed without a word: there was no request
        assert 0.8 < time.monotonic() - started < 5


def test_headers_that_trickle_in_are_cut_at_the_header_timeout_with_a_408(serve: Serve) -> None:
    """Slowloris: a byte every 0.2 s keeps the connection busy, but not past the deadline."""
    port = serve(header_timeout_seconds=1)
    with connect(port) as sock:
        elapsed, reply = trickle(sock, get("/knowledgeBases", *(f"X-{i}: 1" for i in range(50))))
    assert_aws_error(reply, 408, "RequestTimeoutException")
    assert elapsed < 5


def test_a_later_request_has_the_header_timeout_from_its_own_first_byte(serve: Serve) -> None:
    """On a kept-alive connection each request's headers get the whole timeout, counted from
    that request's first byte: not from the connection's start, and not unbounded."""
    port = serve(header_timeout_seconds=1, idle_timeout_seconds=30)
    with connect(port) as sock:
        sock.sendall(get())
        assert read_one_reply(sock).status == 200
        time.sleep(0.6)
        second = get()
        sock.sendall(second[:1])  # its time starts here, 0.6 s into the connection
        time.sleep(0.7)  # past the connection's first second: still within this request's
        sock.sendall(second[1:])
        assert read_one_reply(sock).status == 200
        elapsed, reply = trickle(sock, get("/knowledgeBases", *(f"X-{i}: 1" for i in range(50))))
    assert_aws_error(reply, 408, "RequestTimeoutException")  # about a second after its first byte
    assert 0.8 < elapsed < 5


def test_requests_at_irregular_intervals_around_the_header_timeout_keep_their_connection(
    serve: Serve,
) -> None:
    """The header timer, armed once and re-armed when it fires, never cuts a connection whose
    requests each send their headers at once, however their gaps fall against its deadlines."""
    port = serve(header_timeout_seconds=1, idle_timeout_seconds=30)
    rng = random.Random(5)
    with connect(port) as first, connect(port) as second:
        deadline = time.monotonic() + 6
        served = 0
        while time.monotonic() < deadline:
            for sock in (first, second):
                sock.sendall(get())
                assert read_one_reply(sock).status == 200
                served += 1
            time.sleep(rng.uniform(0.0, 1.3))
    assert served >= 10


def test_a_body_that_stops_arriving_is_cut_with_a_408(serve: Serve) -> None:
    port = serve(body_timeout_seconds=1)
    with connect(port) as sock:
        sock.sendall(b"POST /knowledgeBases HTTP/1.1\r\nHost: local\r\nContent-Length: 100\r\n\r\n{")
        started = time.monotonic()
        reply = parse_reply(read_until_closed(sock))
        assert 0.8 < time.monotonic() - started < 5
    assert_aws_error(reply, 408, "RequestTimeoutException")


def test_an_idle_keep_alive_connection_is_closed(serve: Serve) -> None:
    port = serve(idle_timeout_seconds=1)
    with connect(port) as sock:
        sock.sendall(get())
        assert read_one_reply(sock).status == 200
        assert is_closed(sock, within=5)


def test_a_slow_answer_is_not_cut_by_the_timeouts(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    """The timeouts are the client's: a handler (or long poll) taking longer is waited for."""

    def slow(_call: Call, _params: dict[str, Any]) -> dict[str, Any]:
        time.sleep(2.5)
        return {"knowledgeBaseSummaries": []}

    monkeypatch.setitem(handlers, "ListKnowledgeBases", slow)
    port = serve(header_timeout_seconds=1, body_timeout_seconds=1, idle_timeout_seconds=1)
    with connect(port) as sock:
        sock.sendall(get())
        assert read_one_reply(sock).status == 200


# --- connections ------------------------------------------------------------------------------------


def test_at_the_cap_the_longest_waiting_connection_makes_room(serve: Serve) -> None:
    port = serve(max_connections=4, header_timeout_seconds=30)
    waiting = []
    for _ in range(4):
        waiting.append(connect(port))
        time.sleep(0.1)  # so that the first is the longest waiting
    with connect(port) as newcomer:
        newcomer.sendall(get())
        assert read_one_reply(newcomer).status == 200
    assert is_closed(waiting[0], within=2)
    assert not any(is_closed(sock, within=0.2) for sock in waiting[1:])
    for sock in waiting:
        sock.close()


def test_at_the_cap_with_every_connection_busy_health_still_answers(serve: Serve) -> None:
    port = serve(max_connections=4, body_timeout_seconds=30)
    busy = []
    for _ in range(4):  # each in the middle of a request: none can make room
        sock = connect(port)
        sock.sendall(b"POST /knowledgeBases HTTP/1.1\r\nHost: local\r\nContent-Length: 100\r\n\r\n{")
        busy.append(sock)
    time.sleep(0.3)
    with connect(port) as over:
        over.sendall(get("/_qconnect/health"))
        health = parse_reply(read_until_closed(over))
    assert health.status == 200 and json.loads(health.body)["status"] == "ok"
    with connect(port) as over:
        over.sendall(get("/knowledgeBases"))
        refused = parse_reply(read_until_closed(over))
    assert_aws_error(refused, 503, "ServiceUnavailableException")
    assert refused.headers.get("retry-after") == "1"
    for sock in busy:
        sock.close()


def test_a_flood_of_half_open_connections_cannot_keep_health_out(serve: Serve) -> None:
    port = serve(max_connections=20, header_timeout_seconds=60)
    flood = [connect(port) for _ in range(60)]
    try:
        for sock in flood[::3]:
            sock.sendall(b"GET /knowl")  # some half-way through a request line
        with connect(port) as sock:
            sock.sendall(get("/_qconnect/health"))
            assert read_one_reply(sock).status == 200
        assert sum(is_closed(sock, within=0.05) for sock in flood) >= 40
    finally:
        for sock in flood:
            sock.close()


# --- the served process (`qconnect-local serve` passes uvicorn_options to uvicorn) ----------------


@pytest.fixture(scope="module")
def limited_server() -> Iterator[ServerProcess]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("QCONNECT_LOCAL_MAX_HEADER_BYTES", str(16 * 1024))
        env.setenv("QCONNECT_LOCAL_HEADER_TIMEOUT_SECONDS", "1")
        process = ServerProcess("--no-worker").start()
    try:
        yield process
    finally:
        process.stop()


def test_the_server_refuses_oversize_headers(limited_server: ServerProcess) -> None:
    with connect(limited_server.port) as sock:
        sock.sendall(get("/knowledgeBases", "X-Big: " + "a" * 32 * 1024))
        assert_aws_error(parse_reply(read_until_closed(sock)), 431, "RequestHeaderFieldsTooLarge")


def test_the_server_closes_half_open_connections(limited_server: ServerProcess) -> None:
    with connect(limited_server.port) as sock:
        sock.sendall(b"GET /knowledgeBases HTTP/1.1\r\n")
        assert_aws_error(parse_reply(read_until_closed(sock, timeout=5)), 408, "RequestTimeoutException")


def test_the_variables_reach_the_settings() -> None:
    environ = {
        "QCONNECT_LOCAL_MAX_REQUEST_BYTES": "123",
        "QCONNECT_LOCAL_MAX_HEADER_BYTES": "456",
        "QCONNECT_LOCAL_MAX_HEADER_COUNT": "7",
        "QCONNECT_LOCAL_HEADER_TIMEOUT_SECONDS": "8",
        "QCONNECT_LOCAL_BODY_TIMEOUT_SECONDS": "9",
        "QCONNECT_LOCAL_IDLE_TIMEOUT_SECONDS": "10",
        "QCONNECT_LOCAL_MAX_CONNECTIONS": "11",
    }
    loaded = Settings.from_env(environ)
    assert (loaded.max_request_bytes, loaded.max_header_bytes, loaded.max_header_count) == (123, 456, 7)
    assert (loaded.header_timeout_seconds, loaded.body_timeout_seconds, loaded.idle_timeout_seconds) == (
        8,
        9,
        10,
    )
    assert loaded.max_connections == 11
