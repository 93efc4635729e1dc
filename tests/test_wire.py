"""The wire as a client without an SDK sees it: raw HTTP against a real `qconnect-local serve`.

Status codes, headers and bodies are checked byte-level here, where boto3 would hide them:
errors carry `X-Amzn-Errortype`, `x-amzn-RequestId` and a JSON `message`; a 204 has no body;
timestamps are JSON numbers; bad input of any kind is a 4xx with a modeled error (501 for an
operation not implemented yet), never a 500 or a traceback.
"""

from __future__ import annotations

import http.client
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from qconnect_local.protocol.errors import ServiceError
from qconnect_local.protocol.http import Request
from qconnect_local.protocol.parser import parse_input
from qconnect_local.service import handlers
from qconnect_local.spec import operation, operation_names, service_model
from qconnect_local.testing.server import ServerProcess
from shapes import as_sent_by_botocore, sample

UNKNOWN_KB = "3f6e2b7a-1c4d-4e5f-8a9b-0c1d2e3f4a5b"
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_type(self) -> str | None:
        return self.headers.get("x-amzn-errortype")


class Wire:
    """One keep-alive connection to the server; reconnects when the server closes it."""

    def __init__(self, server: ServerProcess) -> None:
        self.port = server.port
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def send(
        self, method: str, path: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        data = body.encode() if isinstance(body, str) else body
        try:
            return self._send(method, path, data, headers or {})
        except (http.client.HTTPException, ConnectionError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            return self._send(method, path, data, headers or {})

    def _send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Reply:
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        if response.will_close:
            self.conn.close()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, payload)

    def create_kb(self, name: str = "support") -> dict[str, Any]:
        body = json.dumps({"name": name, "knowledgeBaseType": "QUICK_RESPONSES"})
        reply = self.send("POST", "/knowledgeBases", body, JSON_HEADERS)
        assert reply.status == 200, reply.body
        kb: dict[str, Any] = reply.json()["knowledgeBase"]
        return kb

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def wire(live_server: ServerProcess) -> Iterator[Wire]:
    live_server.control("reset")
    client = Wire(live_server)
    yield client
    client.close()


def assert_error(reply: Reply, status: int, code: str) -> str:
    """The error as AWS frames it; returns the message."""
    assert reply.status == status, reply.body
    assert reply.error_type == code
    assert reply.headers.get("x-amzn-requestid")
    assert reply.headers.get("content-type") == "application/json"
    message = reply.json()["message"]
    assert isinstance(message, str)
    assert message
    return message


# --- successful replies -----------------------------------------------------------------------------


def test_get_answers_json_with_timestamps_as_numbers(wire: Wire) -> None:
    kb = wire.create_kb()

    reply = wire.send("GET", f"/knowledgeBases/{kb['knowledgeBaseId']}")

    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers.get("x-amzn-requestid")
    modified = reply.json()["knowledgeBase"]["lastModifiedTime"]
    assert isinstance(modified, int | float)
    assert not isinstance(modified, bool)


ISO_8601 = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z"


def test_message_templates_carry_their_timestamps_as_iso_8601_strings(wire: Wire) -> None:
    """The one family whose model shapes say `timestampFormat: iso8601`."""
    body = json.dumps({"name": "templates", "knowledgeBaseType": "MESSAGE_TEMPLATES"})
    kb = wire.send("POST", "/knowledgeBases", body, JSON_HEADERS).json()["knowledgeBase"]
    base = f"/knowledgeBases/{kb['knowledgeBaseId']}/messageTemplates"
    template = json.dumps({"name": "t", "channelSubtype": "EMAIL", "content": {"email": {"subject": "s"}}})
    made = wire.send("POST", base, template, JSON_HEADERS).json()["messageTemplate"]
    attachment = json.dumps({"name": "a.txt", "contentDisposition": "ATTACHMENT", "body": "YQ=="})
    reply = wire.send("POST", f"{base}/{made['messageTemplateId']}/attachments", attachment, JSON_HEADERS)
    attached = reply.json()["attachment"]
    listed = wire.send("GET", base).json()["messageTemplateSummaries"][0]

    for value in (
        made["createdTime"],
        made["lastModifiedTime"],
        attached["uploadedTime"],
        attached["urlExpiry"],
        listed["lastModifiedTime"],
    ):
        assert isinstance(value, str)
        assert re.fullmatch(ISO_8601, value), value


def test_delete_answers_204_with_an_empty_body(wire: Wire) -> None:
    kb = wire.create_kb()

    reply = wire.send("DELETE", f"/knowledgeBases/{kb['knowledgeBaseId']}")

    assert reply.status == 204
    assert reply.body == b""
    assert reply.headers.get("x-amzn-requestid")
    assert wire.send("GET", f"/knowledgeBases/{kb['knowledgeBaseId']}").status == 404


def test_a_percent_encoded_arn_names_the_resource_in_a_path(wire: Wire) -> None:
    kb = wire.create_kb()
    encoded = quote(kb["knowledgeBaseArn"], safe="")
    assert encoded.startswith("arn%3Aaws%3Awisdom%3A") and "%2F" in encoded

    reply = wire.send("GET", f"/knowledgeBases/{encoded}")

    assert reply.status == 200
    assert reply.json()["knowledgeBase"]["knowledgeBaseId"] == kb["knowledgeBaseId"]


@pytest.mark.parametrize(
    ("body", "headers"),
    [(None, {}), (b"", JSON_HEADERS), (b"{}", JSON_HEADERS), (b"{}", {})],
    ids=["no-body", "empty-body", "empty-object", "no-content-type"],
)
def test_an_operation_without_body_members_takes_any_empty_body(
    wire: Wire, body: bytes | None, headers: dict[str, str]
) -> None:
    wire.create_kb()
    reply = wire.send("GET", "/knowledgeBases", body, headers)
    assert reply.status == 200
    assert len(reply.json()["knowledgeBaseSummaries"]) == 1


@pytest.mark.parametrize("body", [None, b"", b"{}"], ids=["no-body", "empty-body", "empty-object"])
def test_optional_only_body_members_may_all_be_left_out(wire: Wire, body: bytes | None) -> None:
    """UpdateQuickResponse requires nothing in its body: what answers is the service, not the parser."""
    kb = wire.create_kb()
    path = f"/knowledgeBases/{kb['knowledgeBaseId']}/quickResponses/{UNKNOWN_KB}"
    reply = wire.send("POST", path, body)
    assert reply.error_type not in ("SerializationException", "ValidationException")
    assert reply.status in (404, 501)  # no such quick response, or not implemented yet


def test_missing_content_type_is_accepted_for_a_json_body(wire: Wire) -> None:
    reply = wire.send("POST", "/knowledgeBases", json.dumps({"name": "kb", "knowledgeBaseType": "CUSTOM"}))
    assert reply.status == 200


# --- protocol errors ---------------------------------------------------------------------------------


def test_errors_carry_type_request_id_json_and_modeled_members(wire: Wire) -> None:
    reply = wire.send("GET", f"/knowledgeBases/{UNKNOWN_KB}")
    assert_error(reply, 404, "ResourceNotFoundException")
    assert reply.json()["resourceName"] == UNKNOWN_KB


def test_malformed_json_is_a_serialization_exception(wire: Wire) -> None:
    reply = wire.send("POST", "/knowledgeBases", b'{"name": "kb", ', JSON_HEADERS)
    assert_error(reply, 400, "SerializationException")


@pytest.mark.parametrize(
    "body",
    [
        {"name": 5, "knowledgeBaseType": "CUSTOM"},
        {"name": "kb", "knowledgeBaseType": "CUSTOM", "tags": ["a"]},
        {"name": "kb", "knowledgeBaseType": "CUSTOM", "tags": {"k": 1}},
        {"name": True, "knowledgeBaseType": "CUSTOM"},
        ["not", "an", "object"],
    ],
    ids=["number-for-string", "list-for-map", "number-in-map", "bool-for-string", "array-body"],
)
def test_a_wrong_json_type_is_a_serialization_exception(wire: Wire, body: Any) -> None:
    reply = wire.send("POST", "/knowledgeBases", json.dumps(body), JSON_HEADERS)
    assert_error(reply, 400, "SerializationException")


def test_an_unknown_route_is_an_unknown_operation(wire: Wire) -> None:
    assert_error(wire.send("GET", "/no/such/thing"), 404, "UnknownOperationException")


def test_a_wrong_method_on_a_known_path_is_an_unknown_operation(wire: Wire) -> None:
    assert_error(wire.send("PUT", "/knowledgeBases"), 404, "UnknownOperationException")
    assert_error(wire.send("PATCH", f"/knowledgeBases/{UNKNOWN_KB}"), 404, "UnknownOperationException")


def test_an_unimplemented_operation_is_501_naming_it(wire: Wire) -> None:
    name = next((n for n in ("ListAssistants", *operation_names()) if n not in handlers), None)
    if name is None:
        pytest.skip("every operation is implemented")
    op = operation(name)
    assert op.input_shape is not None
    request = as_sent_by_botocore(op, sample(op.input_shape))
    path = request.raw_path + (f"?{request.query_string}" if request.query_string else "")

    reply = wire.send(request.method, path, request.body or None, request.headers)

    message = assert_error(reply, 501, "NotImplementedException")
    assert name in message
    assert reply.json()["operation"] == name


def test_validation_lists_every_violation_in_aws_wording(wire: Wire) -> None:
    name = "n" * 256
    kb_types = service_model().shape_for("KnowledgeBaseType").enum
    body = json.dumps({"name": name, "knowledgeBaseType": "WIKI"})

    reply = wire.send("POST", "/knowledgeBases", body, JSON_HEADERS)

    assert assert_error(reply, 400, "ValidationException") == (
        "2 validation errors detected: "
        f"Value '{name}' at 'name' failed to satisfy constraint: "
        "Member must have length less than or equal to 255; "
        "Value 'WIKI' at 'knowledgeBaseType' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{', '.join(kb_types)}]"
    )


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/knowledgeBases/%ZZ", "ValidationException"),
        ("/knowledgeBases/%C3%28", "SerializationException"),
        ("/knowledgeBases/%ED%A0%80", "SerializationException"),  # an encoded UTF-16 surrogate
        ("/knowledgeBases?maxResults=%C3%28", "SerializationException"),
        ("/knowledgeBases?nextToken=%ZZ", "ValidationException"),
        ("/knowledgeBases?nextToken=%C3%28", "SerializationException"),
    ],
)
def test_bad_percent_encoding_is_a_client_error(wire: Wire, path: str, code: str) -> None:
    assert_error(wire.send("GET", path), 400, code)


@pytest.mark.parametrize(
    ("max_results", "code"),
    [
        ("0", "ValidationException"),
        ("101", "ValidationException"),
        ("-1", "ValidationException"),
        ("abc", "SerializationException"),
        ("", "SerializationException"),
        ("1_0", "SerializationException"),
        ("1.5", "SerializationException"),
        ("%205", "SerializationException"),
        ("99999999999999999999", "SerializationException"),
    ],
)
def test_an_invalid_max_results_is_rejected(wire: Wire, max_results: str, code: str) -> None:
    assert_error(wire.send("GET", f"/knowledgeBases?maxResults={max_results}"), 400, code)


@pytest.mark.parametrize("token", ["garbage", "eyJwIjoxfQ.c2ln", "a" * 4096])
def test_an_invalid_next_token_is_a_validation_exception(wire: Wire, token: str) -> None:
    assert_error(wire.send("GET", f"/knowledgeBases?nextToken={token}"), 400, "ValidationException")


# --- input no model value can be (each failed before the parser refused it) ------------------------


def test_a_uri_long_beyond_64_bits_is_a_serialization_exception(wire: Wire) -> None:
    path = f"/assistants/{UNKNOWN_KB}/aiagents/{UNKNOWN_KB}/versions/99999999999999999999"
    assert_error(wire.send("DELETE", path), 400, "SerializationException")


def test_a_json_integer_beyond_32_bits_is_a_serialization_exception(wire: Wire) -> None:
    body = {
        "name": "kb",
        "knowledgeBaseType": "CUSTOM",
        "vectorIngestionConfiguration": {
            "chunkingConfiguration": {
                "chunkingStrategy": "FIXED_SIZE",
                "fixedSizeChunkingConfiguration": {"maxTokens": 2**31, "overlapPercentage": 10},
            }
        },
    }
    reply = wire.send("POST", "/knowledgeBases", json.dumps(body), JSON_HEADERS)
    assert "maxTokens" in assert_error(reply, 400, "SerializationException")


@pytest.mark.parametrize("body", [b"[" * 5000, b'{"name":' * 5000], ids=["deep-array", "deep-object"])
def test_json_too_deep_to_decode_is_a_serialization_exception(wire: Wire, body: bytes) -> None:
    assert_error(wire.send("POST", "/knowledgeBases", body, JSON_HEADERS), 400, "SerializationException")


def _retrieve_with_filter(wire: Wire, filter_: Any) -> Reply:
    body = {
        "retrievalConfiguration": {
            "knowledgeSource": {"assistantAssociationIds": [UNKNOWN_KB]},
            "filter": filter_,
        },
        "retrievalQuery": "refund",
    }
    return wire.send("POST", f"/assistants/{UNKNOWN_KB}/retrieve", json.dumps(body), JSON_HEADERS)


def _nested_filter(levels: int) -> Any:
    leaf = {"equals": {"key": "k", "value": "v"}}
    filter_: Any = leaf
    for _ in range(levels):
        filter_ = {"andAll": [filter_, leaf]}
    return filter_


def test_a_recursive_shape_nested_too_deep_is_a_serialization_exception(wire: Wire) -> None:
    """300 `andAll` levels decode as JSON, but no model value needs to nest that deep."""
    message = assert_error(_retrieve_with_filter(wire, _nested_filter(300)), 400, "SerializationException")
    assert "nested" in message


def test_a_document_nested_too_deep_is_a_serialization_exception(wire: Wire) -> None:
    value: Any = "v"
    for _ in range(300):
        value = [value]
    reply = _retrieve_with_filter(wire, {"equals": {"key": "k", "value": value}})
    assert_error(reply, 400, "SerializationException")


def test_reasonable_nesting_of_a_recursive_shape_is_accepted(wire: Wire) -> None:
    reply = _retrieve_with_filter(wire, _nested_filter(20))
    assert reply.error_type not in ("SerializationException", "ValidationException"), reply.body


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_json_number_constants_are_a_serialization_exception(wire: Wire, constant: bytes) -> None:
    body = b'{"name": "kb", "knowledgeBaseType": "CUSTOM", "description": ' + constant + b"}"
    assert_error(wire.send("POST", "/knowledgeBases", body, JSON_HEADERS), 400, "SerializationException")


def test_a_number_beyond_a_double_is_a_serialization_exception() -> None:
    """JSON allows 1e400; a double cannot hold it, and an infinity could never be sent back as JSON."""
    body = b'{"contextualGroundingPolicyConfig": {"filtersConfig": [{"threshold": 1e400}]}}'
    request = Request("POST", f"/assistants/{UNKNOWN_KB}/aiguardrails", "", {}, body)
    with pytest.raises(ServiceError) as raised:
        parse_input(operation("CreateAIGuardrail"), request, {"assistantId": UNKNOWN_KB})
    assert (raised.value.code, raised.value.status) == ("SerializationException", 400)


@pytest.mark.parametrize(
    "name", [b"\\ud800", b"x\\uDFFF", b"\xed\xa0\x80"], ids=["escaped", "escaped-low", "utf8-encoded"]
)
def test_an_unpaired_surrogate_is_a_serialization_exception(wire: Wire, name: bytes) -> None:
    body = b'{"name": "' + name + b'", "knowledgeBaseType": "CUSTOM"}'
    assert_error(wire.send("POST", "/knowledgeBases", body, JSON_HEADERS), 400, "SerializationException")


def test_a_surrogate_pair_is_one_character(wire: Wire) -> None:
    body = b'{"name": "kb \\ud83d\\ude00", "knowledgeBaseType": "CUSTOM"}'
    reply = wire.send("POST", "/knowledgeBases", body, JSON_HEADERS)
    assert reply.status == 200
    assert reply.json()["knowledgeBase"]["name"] == "kb \U0001f600"


# --- nothing a client sends gets a 5xx (other than 501) ---------------------------------------------

_PATHS = [
    "/knowledgeBases",
    f"/knowledgeBases/{UNKNOWN_KB}",
    f"/knowledgeBases/{UNKNOWN_KB}/templateUri",
    f"/knowledgeBases/{UNKNOWN_KB}/quickResponses",
    f"/knowledgeBases/{UNKNOWN_KB}/search",
    "/assistants",
    f"/assistants/{UNKNOWN_KB}/sessions/{UNKNOWN_KB}/recommendations",
    f"/tags/arn%3Aaws%3Awisdom%3Aus-east-1%3A123456789012%3Aknowledge-base%2F{UNKNOWN_KB}",
    "/tags/%FF%FE",
    "/knowledgeBases/%",
    "/knowledgeBases/%E2%82",
    "/knowledgeBases/" + "x" * 3000,
    "/knowledgeBases/../assistants",
    "/./knowledgeBases",
    "//",
    "/",
    "/%00",
    "/knowledgeBases?maxResults=5&maxResults=abc&&=&%ZZ",
    "/knowledgeBases?nextToken=" + "%FF" * 10,
    f"/assistants/{UNKNOWN_KB}/aiagents/{UNKNOWN_KB}/versions/-0",
    f"/assistants/{UNKNOWN_KB}/aiagents/{UNKNOWN_KB}/versions/1e3",
    "/_qconnect/nope",
]
_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW", "get"]
_BODIES: list[bytes] = [
    b"",
    b"{}",
    b"null",
    b"[]",
    b'"text"',
    b"123",
    b'{"name": {"nested": []}, "knowledgeBaseType": 7}',
    b'{"tags": {"": ""}, "tagKeys": [null], "maxResults": "5"}',
    b'{"name": "\\udfff"}',
    b'{"clientToken": ' + b"9" * 400 + b"}",
]


def test_no_request_gets_a_server_error_or_a_traceback(wire: Wire) -> None:
    rng = random.Random(20201019)
    for _ in range(300):
        method = rng.choice(_METHODS)
        path = rng.choice(_PATHS)
        body = rng.choice([*_BODIES, rng.randbytes(rng.randrange(1, 200))])
        headers = rng.choice([{}, JSON_HEADERS, {"Content-Type": "text/plain"}])
        reply = wire.send(method, path, body, headers)
        assert reply.status < 500 or reply.status == 501, (method, path, body, reply.status, reply.body)
        assert b"Traceback" not in reply.body, (method, path, body)
        if reply.status >= 400 and reply.error_type is not None:
            assert reply.json()["message"]
