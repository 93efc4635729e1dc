"""Model-driven fuzzing: hostile input never earns a 5xx, a traceback or an unmodeled error.

For every operation, requests built from the botocore input shapes (valid-looking, then broken
in one place: wrong JSON types, out-of-range numbers, over-long strings, unknown enum values,
broken unions, malformed or truncated JSON, bad percent-encoding, wrong methods, unknown paths,
garbage nextTokens) go through the same `route()` the HTTP server uses, in-process. Every answer
is a 2xx, the documented 501 for an operation not implemented, or a 4xx whose
`X-Amzn-Errortype` the model lists for the operation that answered (or SerializationException /
UnknownOperationException), and the service stays healthy. The signed upload links and the
CSV import worker get the same treatment, and a few cases go over a real socket.

Profiles: "ci" (default, bounded for `make test`) and "long" (`HYPOTHESIS_PROFILE=long`, `make fuzz`).
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from botocore.model import OperationModel
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import Target
from importing import FINAL, quick_response_kb, start_import, upload, wait_for_job
from qconnect_local.protocol.errors import ServiceError
from qconnect_local.protocol.http import Request, Response
from qconnect_local.protocol.router import default_router
from qconnect_local.server.app import route
from qconnect_local.service import handlers
from qconnect_local.spec import operation, operation_names
from qconnect_local.testing.mock import mock_qconnect
from qconnect_local.testing.server import ServerProcess
from shapes import as_sent_by_botocore, sample
from strategies import invalid_json, invalid_text, json_documents, valid

_COMMON = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,  # the seeded store is meant to persist across examples
    ],
}
settings.register_profile("ci", max_examples=10, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("long", max_examples=200, **_COMMON)  # type: ignore[arg-type]
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
fuzz = settings.get_profile(PROFILE)
# The CSV worker runs a real import per example: a tenth of the API budget.
fuzz_imports = settings(fuzz, max_examples=max(3, fuzz.max_examples // 10))

OPERATIONS = sorted(operation_names())
PROTOCOL_ERRORS = frozenset({"SerializationException", "UnknownOperationException"})
# Constraint violations are answered with ValidationException by every operation, as AWS's
# service-wide input validation does, even where the operation's error list omits it.
# (Only TagResource, UntagResource and ListTagsForResource leave it out of their lists.)
INPUT_ERRORS = PROTOCOL_ERRORS | {"ValidationException"}
# What handlers raise beyond the operation's modeled errors, on purpose: the model lists no
# ResourceNotFoundException for ListImportJobs, yet an unknown knowledge base can be nothing else.
HANDLER_ERRORS: dict[str, frozenset[str]] = {"ListImportJobs": frozenset({"ResourceNotFoundException"})}
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "BREW")
TWO_MB = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'


# --- the properties -----------------------------------------------------------------------------


def answering_operation(request: Request) -> str | None:
    """The operation a request routes to (a wrong method may land on a sibling), or None."""
    try:
        return default_router().match(request.method, request.raw_path).operation
    except ServiceError:
        return None


def allowed_errors(name: str | None) -> frozenset[str]:
    if name is None:
        return PROTOCOL_ERRORS
    modeled = {shape.name for shape in operation(name).error_shapes}
    return INPUT_ERRORS | modeled | HANDLER_ERRORS.get(name, frozenset())


def assert_well_behaved(request: Request, response: Response) -> None:
    name = answering_operation(request)
    where = f"{request.method} {request.raw_path[:200]}?{request.query_string[:200]} -> {response.status}"
    assert b"Traceback" not in response.body and b'File "' not in response.body, where
    if response.status >= 500:
        assert response.status == 501 and name is not None and name not in handlers, (
            where,
            response.body[:500],
        )
        assert response.header("X-Amzn-Errortype") == "NotImplementedException", where
        return
    if response.status >= 400:
        code = response.header("X-Amzn-Errortype")
        assert code in allowed_errors(name), (where, code, response.body[:500])
        if request.method != "HEAD":  # a HEAD answer has no body
            assert isinstance(json.loads(response.body)["message"], str), where


def assert_healthy(runtime: Any) -> None:
    response = route(runtime, Request("GET", "/_qconnect/health", "", {"host": "local"}))
    assert response.status == 200, response.body


# --- one runtime for the module, seeded per test -------------------------------------------------


@pytest.fixture(scope="module")
def mock() -> Iterator[mock_qconnect]:
    with mock_qconnect() as active:
        yield active


@pytest.fixture
def seeds(mock: mock_qconnect) -> dict[str, list[str]]:
    """Real identifiers to put in labels sometimes, so handlers get past their lookups."""
    mock.runtime.reset()
    qc = Target("in-process", None, mock).client()
    kb = quick_response_kb(qc)
    qr = qc.create_quick_response(
        knowledgeBaseId=kb["knowledgeBaseId"], name="hello", content={"content": "Hello there"}
    )["quickResponse"]
    return {
        "knowledgeBaseId": [kb["knowledgeBaseId"], kb["knowledgeBaseArn"]],
        "quickResponseId": [qr["quickResponseId"], qr["quickResponseArn"]],
        "resourceArn": [kb["knowledgeBaseArn"], qr["quickResponseArn"]],
    }


def send(mock: mock_qconnect, request: Request) -> Response:
    request.headers.setdefault("host", "local")
    response = route(mock.runtime, request)
    assert_well_behaved(request, response)
    return response


# --- building requests from the model ------------------------------------------------------------


def _label_indices(op: OperationModel) -> dict[str, int]:
    uri = op.http["requestUri"].split("?", 1)[0].strip("/").split("/")
    return {part[1:-1].rstrip("+"): i for i, part in enumerate(uri) if part.startswith("{")}


def _members(op: OperationModel, location: str | None) -> dict[str, Any]:
    shape = op.input_shape
    if shape is None:
        return {}
    return {n: m for n, m in shape.members.items() if m.serialization.get("location") == location}


@st.composite
def valid_request(draw: st.DrawFn, op: OperationModel, seeds: dict[str, list[str]]) -> Request:
    params: dict[str, Any] = {}
    shape = op.input_shape
    if shape is not None:
        labels = _members(op, "uri")
        for name, member in shape.members.items():
            if name in labels:
                own = seeds.get(name, [])
                params[name] = draw(
                    st.sampled_from(own) | valid(member, label=True) if own else valid(member, label=True)
                )
            elif name in shape.required_members or draw(st.booleans()):
                params[name] = draw(valid(member))
    return as_sent_by_botocore(op, params)


def _with_query(request: Request, name: str, raw_value: str) -> None:
    """Add `name=raw_value` (not encoded, so broken percent-encoding stays broken); the last one wins."""
    joined = f"{quote(name)}={raw_value}"
    request.query_string = f"{request.query_string}&{joined}" if request.query_string else joined


@st.composite
def broken_request(draw: st.DrawFn, op: OperationModel, seeds: dict[str, list[str]]) -> Request:
    """A valid-looking request with one thing wrong."""
    request = draw(valid_request(op, seeds))
    body_members = _members(op, None)
    query_members = _members(op, "querystring")
    header_members = _members(op, "header")
    labels = _label_indices(op)
    kinds = ["method", "unknown-path", "garbage-query", "malformed-json", "truncated", "nesting"]
    kinds += ["body-member"] * 3 if body_members else []
    kinds += ["query-member"] * 2 if query_members else []
    kinds += ["header-member"] if header_members else []
    kinds += ["label"] * 2 if labels else []
    has_token = "nextToken" in body_members or "nextToken" in query_members
    kinds += ["next-token"] * 2 if has_token else []
    kind = draw(st.sampled_from(kinds))
    if kind == "method":
        request.method = draw(st.sampled_from([m for m in METHODS if m != request.method]))
    elif kind == "unknown-path":
        extra = draw(st.text(min_size=1, max_size=20).map(lambda t: quote(t, safe="%")))
        request.raw_path = draw(
            st.sampled_from(
                [request.raw_path + "/" + extra, "/" + extra, "/knowledgeBases/" + extra + "/x/y/z"]
            )
        )
    elif kind == "garbage-query":
        _with_query(
            request, draw(st.text(max_size=10)), draw(st.sampled_from(["%", "%zz", "%ff", "a=b=c", ""]))
        )
    elif kind == "malformed-json":
        request.body = draw(
            st.sampled_from(
                [b"{", b"[]", b"null", b"7", b'"x"', b"\xff\xfe", b"\xef\xbb\xbf{}", b'{"a": NaN}']
            )
            | st.binary(max_size=40)
        )
    elif kind == "truncated":
        body = request.body or b'{"name": "value"}'
        request.body = body[: draw(st.integers(0, max(0, len(body) - 1)))]
    elif kind == "nesting":
        depth = draw(st.integers(90, 2000))
        request.body = b'{"a": ' + b"[" * depth + b"]" * depth + b"}"
    elif kind == "body-member":
        document = json.loads(request.body) if request.body.strip() else {}
        name = draw(st.sampled_from(sorted(body_members)))
        member = body_members[name]
        document[member.serialization.get("name", name)] = draw(invalid_json(member))
        request.body = json.dumps(document).encode()
    elif kind in ("query-member", "next-token") and (kind == "query-member" or "nextToken" in query_members):
        if kind == "next-token":
            name = "nextToken"
            value = draw(garbage_tokens)
        else:
            name = draw(st.sampled_from(sorted(query_members)))
            value = draw(invalid_text(query_members[name]))
        wire = query_members[name].serialization.get("name", name)
        _with_query(request, wire, quote(value, safe="%") if draw(st.booleans()) else value)
    elif kind == "next-token":
        document = json.loads(request.body) if request.body.strip() else {}
        document["nextToken"] = draw(garbage_tokens)
        request.body = json.dumps(document).encode()
    elif kind == "header-member":
        name = draw(st.sampled_from(sorted(header_members)))
        wire = header_members[name].serialization.get("name", name).lower()
        request.headers[wire] = draw(invalid_text(header_members[name]))
    else:  # label
        name = draw(st.sampled_from(sorted(labels)))
        parts = request.raw_path.strip("/").split("/")
        text = draw(invalid_text(operation_input_member(op, name)).filter(lambda t: t and "/" not in t))
        parts[labels[name]] = quote(text, safe="%") if draw(st.booleans()) else text.replace("?", "%3F")
        request.raw_path = "/" + "/".join(parts)
    return request


def operation_input_member(op: OperationModel, label: str) -> Any:
    assert op.input_shape is not None
    return next(m for n, m in op.input_shape.members.items() if m.serialization.get("name", n) == label)


garbage_tokens = st.sampled_from(
    ["", "x", "eyJhIjogMX0=", "eyJhIjogMX0.AAAA", "%%%", "null", "a" * 3000, "..", "=="]
) | st.text(min_size=1, max_size=80)


# --- every operation ---------------------------------------------------------------------------


def examples_for(name: str) -> settings:
    """Implemented operations get most of the budget: the others answer 501 once input is valid."""
    share = fuzz.max_examples * 5 // 2 if name in handlers else fuzz.max_examples // 2
    return settings(fuzz, max_examples=max(3, share))


@pytest.mark.parametrize("name", OPERATIONS)
def test_valid_looking_requests_get_modeled_answers(
    mock: mock_qconnect, seeds: dict[str, list[str]], name: str
) -> None:
    @examples_for(name)
    @given(request=valid_request(operation(name), seeds))
    def check(request: Request) -> None:
        response = send(mock, request)
        # What boto3 sends with its own validation on, the protocol layer takes: any refusal
        # is the handler's (unknown resource, unsupported combination), never a constraint.
        code = response.header("X-Amzn-Errortype")
        assert code not in PROTOCOL_ERRORS, response.body
        assert b"failed to satisfy constraint" not in response.body, response.body

    check()
    assert_healthy(mock.runtime)


@pytest.mark.parametrize("name", OPERATIONS)
def test_broken_requests_get_modeled_client_errors(
    mock: mock_qconnect, seeds: dict[str, list[str]], name: str
) -> None:
    @examples_for(name)
    @given(request=broken_request(operation(name), seeds))
    def check(request: Request) -> None:
        response = send(mock, request)
        assert response.status < 500 or response.status == 501

    check()
    assert_healthy(mock.runtime)


@pytest.mark.parametrize("name", OPERATIONS)
def test_a_two_megabyte_body_is_refused_or_ignored_cleanly(
    mock: mock_qconnect, seeds: dict[str, list[str]], name: str
) -> None:
    op = operation(name)
    request = as_sent_by_botocore(op, sample(op.input_shape) if op.input_shape is not None else {})
    request.body = TWO_MB
    send(mock, request)
    request.body = TWO_MB[: len(TWO_MB) // 2]  # truncated
    send(mock, request)
    assert_healthy(mock.runtime)


# --- the signed upload links ---------------------------------------------------------------------

UPLOAD_HEADERS = st.dictionaries(
    st.sampled_from(
        ["content-type", "x-amz-meta-x", "content-length", "x-amz-server-side-encryption", "foo"]
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=30),
    max_size=3,
)


@pytest.fixture
def fresh_upload(mock: mock_qconnect, seeds: dict[str, list[str]]) -> dict[str, Any]:
    qc = Target("in-process", None, mock).client()
    up: dict[str, Any] = qc.start_content_upload(
        knowledgeBaseId=seeds["knowledgeBaseId"][0], contentType="text/csv"
    )
    return up


def assert_s3_style(response: Response, where: str) -> None:
    assert response.status < 500, (where, response.body[:300])
    assert b"Traceback" not in response.body, where
    if response.status >= 400:
        assert response.header("Content-Type") == "application/xml", where
        assert b"<Error><Code>" in response.body.replace(b"\n", b"").replace(b" ", b""), (
            where,
            response.body,
        )


@fuzz
@given(data=st.data())
def test_upload_links_refuse_tampering_like_s3(
    mock: mock_qconnect, fresh_upload: dict[str, Any], data: st.DataObject
) -> None:
    url = urlsplit(fresh_upload["url"])
    query = parse_qsl(url.query, keep_blank_values=True)
    headers = dict(fresh_upload["headersToInclude"])
    tamper = data.draw(st.sampled_from(["query", "drop", "headers", "method", "path", "none"]))
    method, path = "PUT", url.path
    if tamper == "query":
        index = data.draw(st.integers(0, len(query) - 1))
        query[index] = (
            query[index][0],
            data.draw(st.text(max_size=30) | st.sampled_from(["%zz", "", "9" * 5000])),
        )
    elif tamper == "drop":
        del query[data.draw(st.integers(0, len(query) - 1))]
    elif tamper == "headers":
        headers = {k.lower(): v for k, v in headers.items()} | data.draw(UPLOAD_HEADERS)
    elif tamper == "method":
        method = data.draw(st.sampled_from([m for m in METHODS if m != "PUT"]))
    elif tamper == "path":
        path = data.draw(
            st.sampled_from([path + "x", path + "/x", path.rsplit("/", 1)[0] + "/", "/_qconnect/blobs/x"])
        )
    raw_query = (
        urlencode(query)
        if tamper != "query" or data.draw(st.booleans())
        else "&".join(f"{k}={v}" for k, v in query)
    )
    body = data.draw(st.binary(max_size=200))
    response = mock.request(method, f"http://local{path}?{raw_query}", headers=headers, data=body)
    assert_s3_style(response, f"{tamper}: {method} {path}?{raw_query[:200]}")
    if tamper == "none":
        assert response.status == 200
    assert_healthy(mock.runtime)


def test_a_non_ascii_link_signature_is_a_mismatch_not_a_crash(
    mock: mock_qconnect, fresh_upload: dict[str, Any]
) -> None:
    url = urlsplit(fresh_upload["url"])
    query = [(k, "\u0080" if k == "signature" else v) for k, v in parse_qsl(url.query)]
    response = mock.request(
        "PUT",
        f"http://local{url.path}?{urlencode(query)}",
        headers=fresh_upload["headersToInclude"],
        data=b"x",
    )
    assert response.status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in response.body


@fuzz
@given(
    method=st.sampled_from(METHODS),
    path=st.text(max_size=40).map(lambda t: "/_qconnect/blobs/" + quote(t, safe="/%")),
    query=st.text(max_size=40),
    headers=UPLOAD_HEADERS,
    body=st.binary(max_size=100),
)
def test_random_requests_to_link_paths_get_s3_errors(
    mock: mock_qconnect, method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> None:
    response = route(mock.runtime, Request(method, path, query, {"host": "local", **headers}, body))
    assert_s3_style(response, f"{method} {path}?{query}")
    assert response.status >= 400


# --- the CSV import worker -----------------------------------------------------------------------

HEADER = b"Name,Content,Channels\n"
NAMED_FILES = {
    "invalid-utf8": HEADER + b"hello,\xff\xfe bad,Chat\n",
    "binary": bytes(range(256)) * 8,
    "one-megabyte-field": HEADER + b'big,"' + b"x" * (1024 * 1024) + b'",Chat\n',
    "hundred-thousand-columns": b",".join(b"c%d" % i for i in range(100_000)) + b"\n" + b"," * 99_999 + b"\n",
    "unbalanced-quotes": HEADER + b'hello,"unterminated,Chat\nnext,row,Chat\n',
    "nul-bytes": HEADER + b"he\x00llo,con\x00tent,Chat\n",
    "empty": b"",
    "header-only": HEADER,
}


def import_bytes(mock: mock_qconnect, kb_id: str, body: bytes) -> dict[str, Any]:
    target = Target("in-process", None, mock)
    qc = target.client()
    up = upload(target, qc, kb_id, body)
    job = start_import(qc, kb_id, up["uploadId"])
    return wait_for_job(qc, kb_id, job["importJobId"], timeout=60)


def assert_import_ended_cleanly(mock: mock_qconnect, job: dict[str, Any]) -> None:
    assert job["status"] in {"COMPLETE", "FAILED"}, job["status"]
    if job["status"] == "FAILED":
        assert job.get("failedRecordReport"), job
    worker = mock.runtime.worker
    assert worker is not None and all(thread.is_alive() for thread in worker._threads)


@pytest.mark.parametrize("name", sorted(NAMED_FILES))
def test_hostile_csv_files_end_failed_or_complete(
    mock: mock_qconnect, seeds: dict[str, list[str]], name: str
) -> None:
    job = import_bytes(mock, seeds["knowledgeBaseId"][0], NAMED_FILES[name])
    assert_import_ended_cleanly(mock, job)
    assert job["status"] in FINAL


@fuzz_imports
@given(
    body=st.binary(max_size=300)
    | st.lists(st.text(max_size=12), max_size=8).map(lambda cells: HEADER + ",".join(cells).encode() + b"\n")
    | st.text(alphabet='ab",\n\r\x00\\é', max_size=200).map(lambda text: HEADER + text.encode())
)
def test_random_csv_bytes_never_leave_a_job_stuck(
    mock: mock_qconnect, seeds: dict[str, list[str]], body: bytes
) -> None:
    assert_import_ended_cleanly(mock, import_bytes(mock, seeds["knowledgeBaseId"][0], body))


def test_the_worker_still_imports_after_hostile_files(
    mock: mock_qconnect, seeds: dict[str, list[str]]
) -> None:
    kb_id = seeds["knowledgeBaseId"][0]
    for body in (NAMED_FILES["binary"], NAMED_FILES["unbalanced-quotes"]):
        import_bytes(mock, kb_id, body)
    job = import_bytes(mock, kb_id, HEADER + b"greeting,Hello there,Chat\n")
    assert job["status"] == "COMPLETE"


# --- over a real socket --------------------------------------------------------------------------

SOCKET_CASES = [
    ("POST", "/knowledgeBases", "", b"{"),
    ("POST", "/knowledgeBases", "", b'{"name": "x", "knowledgeBaseType": 7}'),
    ("POST", "/knowledgeBases", "", TWO_MB),
    ("POST", "/knowledgeBases", "", b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    ("GET", "/knowledgeBases/%zz", "", b""),
    ("GET", "/knowledgeBases/%C3", "", b""),
    ("GET", "/knowledgeBases", "maxResults=%ff", b""),
    ("GET", "/knowledgeBases", "maxResults=99999999999999999999", b""),
    ("GET", "/knowledgeBases", "nextToken=garbage", b""),
    ("PATCH", "/knowledgeBases", "", b""),
    ("GET", "/no/such/path", "", b""),
    ("PUT", "/_qconnect/blobs/uploads/nope", "expires=x&signature=%zz", b"data"),
]


def _over_socket(
    server: ServerProcess, method: str, path: str, query: str, body: bytes
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request(method, f"{path}?{query}" if query else path, body=body or None)
        reply = connection.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        connection.close()


def test_hostile_requests_over_a_socket_get_clean_answers(live_server: ServerProcess) -> None:
    live_server.control("reset")
    for method, path, query, body in SOCKET_CASES:
        status, headers, payload = _over_socket(live_server, method, path, query, body)
        request = Request(method, path, query, headers)
        assert b"Traceback" not in payload, (method, path)
        if path.startswith("/_qconnect/blobs/"):
            assert 400 <= status < 500 and headers["content-type"] == "application/xml", (
                method,
                path,
                status,
            )
        else:
            assert_well_behaved(request, Response(status, list(headers.items()), payload))
            assert 400 <= status < 500, (method, path, query, status)
    status, _headers, _payload = _over_socket(live_server, "GET", "/_qconnect/health", "", b"")
    assert status == 200


def test_random_broken_requests_over_a_socket(live_server: ServerProcess) -> None:
    """A sample of the in-process fuzzing, replayed through the HTTP server (parsing, framing)."""
    live_server.control("reset")

    @settings(fuzz, max_examples=max(5, fuzz.max_examples))
    @given(name=st.sampled_from(OPERATIONS), data=st.data())
    def replay(name: str, data: st.DataObject) -> None:
        request = data.draw(broken_request(operation(name), {}))
        if request.method == "BREW":  # the HTTP server's parser refuses it before the app sees it
            request.method = "PATCH"
        path = quote(request.raw_path, safe="/%:@!$&'()*+,;=-._~")
        query = quote(request.query_string, safe="=&%/:+,;@!$'()*-._~")
        status, headers, payload = _over_socket(live_server, request.method, path, query, request.body)
        assert_well_behaved(
            Request(request.method, path, query, {}), Response(status, list(headers.items()), payload)
        )

    replay()
    status, _headers, _payload = _over_socket(live_server, "GET", "/_qconnect/health", "", b"")
    assert status == 200


# --- the control plane ---------------------------------------------------------------------------

CONTROL_NUMBERS: st.SearchStrategy[Any] = st.sampled_from(
    [1e400, -1e400, 1e300, -1e20, 3e11, 2**70, "abc", None, [], {}, True]
)
CONTROL_BODIES = st.one_of(
    st.fixed_dictionaries({"advanceSeconds": CONTROL_NUMBERS}),
    st.fixed_dictionaries({"freeze": json_documents}),
    st.fixed_dictionaries(
        {
            "hold": st.one_of(
                json_documents,
                st.fixed_dictionaries({"status": st.just("START_IN_PROGRESS"), "seconds": CONTROL_NUMBERS}),
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "failNext": st.one_of(
                json_documents,
                st.fixed_dictionaries({"status": st.just("START_IN_PROGRESS"), "count": CONTROL_NUMBERS}),
            )
        }
    ),
    st.fixed_dictionaries({"release": json_documents}),
)


@fuzz
@given(name=st.sampled_from(["clock", "transitions"]), body=CONTROL_BODIES)
@example(name="clock", body={"advanceSeconds": 3e11})  # once 500s on every call: time past year 9999
@example(name="clock", body={"advanceSeconds": 1e400})
@example(name="transitions", body={"hold": {"status": "START_IN_PROGRESS", "seconds": 1e300}})
@example(name="transitions", body={"hold": None})
@example(name="transitions", body={"failNext": {"status": "START_IN_PROGRESS", "count": 1e400}})
def test_control_requests_never_break_the_service(
    mock: mock_qconnect, seeds: dict[str, list[str]], name: str, body: dict[str, Any]
) -> None:
    """A bad control request is a 400; whatever it sets, the API keeps answering without a 5xx."""
    response = route(
        mock.runtime, Request("POST", f"/_qconnect/{name}", "", {"host": "local"}, json.dumps(body).encode())
    )
    assert response.status in (200, 400), response.body
    try:
        kb_id = seeds["knowledgeBaseId"][0]
        send(mock, as_sent_by_botocore(operation("GetKnowledgeBase"), {"knowledgeBaseId": kb_id}))
        up = send(
            mock,
            as_sent_by_botocore(
                operation("StartContentUpload"), {"knowledgeBaseId": kb_id, "contentType": "text/csv"}
            ),
        )
        upload_id = json.loads(up.body)["uploadId"]
        params = {"knowledgeBaseId": kb_id, "importJobType": "QUICK_RESPONSES", "uploadId": upload_id}
        send(mock, as_sent_by_botocore(operation("StartImportJob"), params))
        assert_healthy(mock.runtime)
    finally:
        mock.runtime.transitions.clear()
        mock.runtime.clock.reset()
