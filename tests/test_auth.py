"""SigV4 verification and caller identity, specified against what botocore actually sends.

Requests are signed with botocore's own `SigV4Auth`/`SigV4QueryAuth` and taken apart the way
they travel on the wire (path and query still percent-encoded, Host added by the HTTP client),
so a passing test means a real SDK call would be accepted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from unittest import mock
from urllib.parse import quote, urlsplit

import botocore.session
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest, AWSResponse
from botocore.credentials import Credentials
from botocore.utils import percent_encode_sequence

from qconnect_local.server.auth import AuthError, Identity, parse_identity, verify_sigv4

ENDPOINT = "http://localhost:4566"
REGION = "us-west-2"
KEY_ID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
KNOWN = {KEY_ID: SECRET, "111122223333": "another-secret"}
SIGNED_AT = datetime(2025, 1, 1, 0, 10, 0)
ARN = "arn:aws:wisdom:us-west-2:111122223333:assistant/1b2c3d4e-0000-4000-8000-000000000001"

MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True)
class Wire:
    """A request as the server receives it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


def on_the_wire(prepared: AWSPreparedRequest) -> Wire:
    parts = urlsplit(prepared.url)
    headers = {
        name.lower(): value.decode() if isinstance(value, bytes) else value
        for name, value in prepared.headers.items()
    }
    headers.setdefault("host", parts.netloc)  # urllib3 adds Host; botocore signs it from the URL
    body = prepared.body or b""
    return Wire(
        prepared.method, parts.path, parts.query, headers, body if isinstance(body, bytes) else body.encode()
    )


def sign(
    method: str,
    path: str,
    *,
    query: Sequence[tuple[str, Any]] = (),
    params: dict[str, Any] | None = None,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    key_id: str = KEY_ID,
    secret: str = SECRET,
    at: datetime = SIGNED_AT,
) -> Wire:
    """Sign like a botocore client: the query string is already canonical-encoded in the URL."""
    url = ENDPOINT + path
    if query:
        url += "?" + percent_encode_sequence(list(query))
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {}, params=params or {})
    with mock.patch("botocore.auth.get_current_datetime", return_value=at):
        SigV4Auth(Credentials(key_id, secret), "wisdom", REGION).add_auth(request)
    return on_the_wire(request.prepare())


def presign(method: str, path: str, *, expires: int = 60, at: datetime = SIGNED_AT) -> Wire:
    request = AWSRequest(method=method, url=ENDPOINT + path, params={"maxResults": "5"})
    with mock.patch("botocore.auth.get_current_datetime", return_value=at):
        SigV4QueryAuth(Credentials(KEY_ID, SECRET), "wisdom", REGION, expires=expires).add_auth(request)
    return on_the_wire(request.prepare())


def verify(wire: Wire, now: datetime = SIGNED_AT, credentials: dict[str, str] = KNOWN) -> None:
    verify_sigv4(wire.method, wire.path, wire.query, wire.headers, wire.body, credentials, now)


def rejected(wire: Wire, now: datetime = SIGNED_AT, credentials: dict[str, str] = KNOWN) -> AuthError:
    with pytest.raises(AuthError) as caught:
        verify(wire, now, credentials)
    return caught.value


def json_post(path: str, document: dict[str, Any]) -> Wire:
    return sign(
        "POST",
        path,
        body=json.dumps(document).encode(),
        headers={"Content-Type": "application/json"},
    )


# --- accepted: whatever botocore signs -------------------------------------------------------


def test_get_without_query_is_accepted() -> None:
    verify(sign("GET", "/assistants"))


def test_get_with_query_repeated_key_and_characters_needing_encoding_is_accepted() -> None:
    wire = sign(
        "GET",
        "/knowledgeBases/kb-1/contents",
        query=[("maxResults", 10), ("nextToken", "a b/c+d=é~"), ("tagKeys", ["zeta", "alpha", "mid key"])],
    )
    assert "tagKeys=zeta&tagKeys=alpha" in wire.query
    assert "%2F" in wire.query and "%20" in wire.query  # still encoded on the wire
    verify(wire)


def test_get_with_query_signed_from_params_is_accepted() -> None:
    """AWSRequest(params=...) puts '+' for spaces on the wire but signs %20: the spec's decoded form."""
    wire = sign("GET", "/assistants", params={"nextToken": "a b:c", "maxResults": "3"})
    assert "a+b" in wire.query
    verify(wire)


def test_query_is_canonicalised_verbatim_when_signed_from_a_raw_url() -> None:
    """botocore sorts the URL's query pairs as written ('+', lower-case escapes and all)."""
    request = AWSRequest(method="GET", url=ENDPOINT + "/assistants?z=1&nextToken=a+b%2fc&a=")
    with mock.patch("botocore.auth.get_current_datetime", return_value=SIGNED_AT):
        SigV4Auth(Credentials(KEY_ID, SECRET), "wisdom", REGION).add_auth(request)
    verify(on_the_wire(request.prepare()))


def test_post_with_json_body_is_accepted() -> None:
    verify(json_post("/assistants", {"name": "helper", "type": "AGENT", "clientToken": "t-1"}))


def test_delete_on_a_path_holding_a_percent_encoded_arn_is_accepted() -> None:
    wire = sign("DELETE", "/tags/" + quote(ARN, safe=""), query=[("tagKeys", ["team", "cost center"])])
    assert wire.path.startswith("/tags/arn%3Aaws%3Awisdom%3A")
    verify(wire)


def test_explicit_content_sha256_header_is_used_as_the_payload_hash() -> None:
    """botocore signs the header's value as the payload hash; it must be the body's (test_sigv4_strict)."""
    digest = hashlib.sha256(b"streamed").hexdigest()
    verify(sign("PUT", "/upload", body=b"streamed", headers={"X-Amz-Content-SHA256": digest}))


def test_header_values_are_compared_with_whitespace_trimmed_and_collapsed() -> None:
    wire = sign("GET", "/assistants", headers={"X-Custom": "  a   b  "})
    verify(replace(wire, headers={**wire.headers, "x-custom": "a b"}))


def test_unsigned_headers_may_be_added_or_changed_in_transit() -> None:
    wire = sign("GET", "/assistants")
    verify(replace(wire, headers={**wire.headers, "user-agent": "proxy/1.0", "x-forwarded-for": "10.0.0.1"}))


def test_date_header_may_stand_in_for_x_amz_date() -> None:
    """botocore keeps an existing Date header (RFC 1123) and signs with it instead of X-Amz-Date."""
    wire = sign("GET", "/assistants", headers={"Date": "Mon, 01 Jan 2024 00:00:00 GMT"})
    assert "x-amz-date" not in wire.headers
    verify(wire)


def test_signature_is_checked_against_the_key_named_in_the_credential() -> None:
    verify(sign("GET", "/assistants", key_id="111122223333", secret="another-secret"))


def test_clock_skew_up_to_fifteen_minutes_is_tolerated() -> None:
    wire = sign("GET", "/assistants")
    verify(wire, now=SIGNED_AT + timedelta(minutes=15))
    verify(wire, now=SIGNED_AT - timedelta(minutes=15))


def test_aware_now_is_converted_to_utc() -> None:
    verify(sign("GET", "/assistants"), now=SIGNED_AT.replace(tzinfo=UTC))
    berlin = timezone(timedelta(hours=1))
    verify(sign("GET", "/assistants"), now=(SIGNED_AT + timedelta(hours=1)).replace(tzinfo=berlin))


def test_presigned_url_is_accepted_until_it_expires() -> None:
    wire = presign("GET", "/assistants", expires=600)
    assert "authorization" not in wire.headers and "X-Amz-Signature=" in wire.query
    verify(wire, now=SIGNED_AT + timedelta(minutes=9))
    error = rejected(wire, now=SIGNED_AT + timedelta(minutes=11))
    assert (error.code, error.status) == ("InvalidSignatureException", 403)
    assert error.message.startswith("Signature expired: 20250101T002000Z is now earlier than")


@dataclass
class _Raw:
    payload: bytes

    def stream(self) -> Iterator[bytes]:
        yield self.payload


def test_real_client_calls_are_accepted() -> None:
    """End to end through a botocore qconnect client: URI labels, query lists, JSON bodies."""
    sent: list[AWSPreparedRequest] = []

    def capture(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        sent.append(request)
        return AWSResponse(request.url, 200, {"Content-Type": "application/json"}, _Raw(b"{}"))

    session = botocore.session.get_session()
    client = session.create_client(
        "qconnect",
        region_name=REGION,
        endpoint_url=ENDPOINT,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
    client.meta.events.register("before-send", capture)
    client.untag_resource(resourceArn=ARN, tagKeys=["b key", "a/key", "a/key"])
    client.list_assistants(maxResults=5, nextToken="tok en+/=")
    client.tag_resource(resourceArn=ARN, tags={"team": "ä ö"})
    client.get_assistant(assistantId=ARN)

    assert len(sent) == 4
    for request in sent:
        verify(on_the_wire(request), now=datetime.now(UTC))


# --- rejected: each failure answers like AWS -------------------------------------------------


def test_missing_authorization_header_is_missing_authentication_token() -> None:
    wire = sign("GET", "/assistants")
    headers = {name: value for name, value in wire.headers.items() if name != "authorization"}
    error = rejected(replace(wire, headers=headers))
    assert (error.code, error.status, error.message) == (
        "MissingAuthenticationTokenException",
        403,
        "Missing Authentication Token",
    )


def test_tampered_body_is_a_signature_mismatch() -> None:
    wire = json_post("/assistants", {"name": "helper", "type": "AGENT"})
    error = rejected(replace(wire, body=wire.body.replace(b"helper", b"hacker")))
    assert (error.code, error.status, error.message) == ("InvalidSignatureException", 403, MISMATCH)


def test_tampered_path_is_a_signature_mismatch() -> None:
    wire = sign("DELETE", "/tags/" + quote(ARN, safe=""))
    error = rejected(replace(wire, path=wire.path.replace("111122223333", "444455556666")))
    assert (error.code, error.status, error.message) == ("InvalidSignatureException", 403, MISMATCH)


def test_decoded_arn_path_is_a_signature_mismatch() -> None:
    """The canonical URI is built from the path as sent, not from its decoded form."""
    wire = sign("DELETE", "/tags/" + quote(ARN, safe=""))
    error = rejected(replace(wire, path="/tags/" + ARN))
    assert error.code == "InvalidSignatureException"


def test_tampered_query_is_a_signature_mismatch() -> None:
    wire = sign("GET", "/assistants", query=[("maxResults", 5)])
    error = rejected(replace(wire, query="maxResults=50"))
    assert (error.code, error.message) == ("InvalidSignatureException", MISMATCH)


def test_tampered_signed_header_is_a_signature_mismatch() -> None:
    wire = json_post("/assistants", {"name": "helper"})
    error = rejected(replace(wire, headers={**wire.headers, "content-type": "text/plain"}))
    assert error.code == "InvalidSignatureException"


def test_non_ascii_junk_is_a_signature_mismatch_not_a_crash() -> None:
    wire = sign("GET", "/assistants")
    forged = wire.headers["authorization"].rsplit("=", 1)[0] + "=ünïcödé"
    assert rejected(replace(wire, headers={**wire.headers, "authorization": forged})).message == MISMATCH
    assert rejected(replace(wire, path="/assistants/\udcff\ud800")).message == MISMATCH
    junk_header = {**wire.headers, "host": "h\udcffst"}
    assert rejected(replace(wire, headers=junk_header)).message == MISMATCH


def test_wrong_secret_is_a_signature_mismatch() -> None:
    error = rejected(sign("GET", "/assistants", secret="not-the-secret"))
    assert (error.code, error.status, error.message) == ("InvalidSignatureException", 403, MISMATCH)


def test_unknown_access_key_is_an_unrecognized_client() -> None:
    error = rejected(sign("GET", "/assistants", key_id="AKIDNOBODYKNOWS"))
    assert (error.code, error.status, error.message) == (
        "UnrecognizedClientException",
        403,
        "The security token included in the request is invalid.",
    )


def test_request_signed_too_long_ago_has_an_expired_signature() -> None:
    wire = sign("GET", "/assistants", at=datetime(2025, 1, 1, 0, 0, 0))
    error = rejected(wire, now=datetime(2025, 1, 1, 0, 20, 0))
    assert (error.code, error.status, error.message) == (
        "InvalidSignatureException",
        403,
        "Signature expired: 20250101T000000Z is now earlier than 20250101T000500Z"
        " (20250101T002000Z - 15 min.)",
    )


def test_request_signed_in_the_future_is_not_yet_current() -> None:
    wire = sign("GET", "/assistants", at=datetime(2025, 1, 1, 0, 30, 0))
    error = rejected(wire, now=datetime(2025, 1, 1, 0, 10, 0))
    assert (error.code, error.status, error.message) == (
        "InvalidSignatureException",
        403,
        "Signature not yet current: 20250101T003000Z is still later than 20250101T002500Z"
        " (20250101T001000Z + 15 min.)",
    )


def test_credential_scoped_to_another_service_is_rejected() -> None:
    request = AWSRequest(method="GET", url=ENDPOINT + "/assistants")
    with mock.patch("botocore.auth.get_current_datetime", return_value=SIGNED_AT):
        SigV4Auth(Credentials(KEY_ID, SECRET), "connect", REGION).add_auth(request)
    error = rejected(on_the_wire(request.prepare()))
    assert (error.code, error.status) == ("InvalidSignatureException", 403)
    assert error.message.startswith("Credential should be scoped to correct service: 'wisdom'.")


@pytest.mark.parametrize(
    ("authorization", "fragment"),
    [
        ("Bearer eyJhbGciOi", "Authorization header requires 'Credential' parameter."),
        ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-west-2/wisdom/aws4_request", "'Signature'"),
        ("AWS4-HMAC-SHA256 Credential AKIDEXAMPLE", "not a valid key=value pair (missing equal-sign)"),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/us-west-2/wisdom, SignedHeaders=host, Signature=00",
            "Credential must have exactly 5 slash-delimited elements",
        ),
    ],
)
def test_malformed_authorization_header_is_an_incomplete_signature(authorization: str, fragment: str) -> None:
    wire = sign("GET", "/assistants")
    error = rejected(replace(wire, headers={**wire.headers, "authorization": authorization}))
    assert (error.code, error.status) == ("IncompleteSignatureException", 400)
    assert fragment in error.message


def test_auth_error_carries_code_message_and_status() -> None:
    error = AuthError("UnrecognizedClientException", "nope", 403)
    assert (error.code, error.message, error.status) == ("UnrecognizedClientException", "nope", 403)
    assert isinstance(error, Exception)


# --- parse_identity --------------------------------------------------------------------------


FULLWIDTH_TWELVE = "".join(chr(0xFF10 + int(digit)) for digit in "123456789012")  # isdigit() is True


def header(credential: str) -> str:
    return f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host;x-amz-date, Signature=abc123"


def test_twelve_digit_access_key_is_the_account() -> None:
    identity = parse_identity(
        header("111122223333/20250101/eu-west-1/wisdom/aws4_request"), "000000000000", "us-east-1"
    )
    assert identity == Identity(access_key_id="111122223333", account="111122223333", region="eu-west-1")


def test_ordinary_access_key_uses_the_default_account() -> None:
    identity = parse_identity(
        header("AKIAIOSFODNN7EXAMPLE/20250101/us-west-2/wisdom/aws4_request"), "000000000000", "us-east-1"
    )
    assert identity == Identity("AKIAIOSFODNN7EXAMPLE", "000000000000", "us-west-2")


def test_region_comes_from_the_credential_scope() -> None:
    identity = parse_identity(
        header("AKIDEXAMPLE/20250101/ap-southeast-2/wisdom/aws4_request"), "000000000000", "us-east-1"
    )
    assert identity.region == "ap-southeast-2"


def test_real_botocore_header_is_understood() -> None:
    wire = sign("GET", "/assistants", key_id="123456789012")
    assert parse_identity(wire.headers["authorization"], "000000000000", "us-east-1") == Identity(
        "123456789012", "123456789012", REGION
    )


@pytest.mark.parametrize(
    "key_id",
    ["12345678901", "1234567890123", FULLWIDTH_TWELVE],
    ids=["11-digits", "13-digits", "fullwidth-digits"],
)
def test_only_exactly_twelve_ascii_digits_name_an_account(key_id: str) -> None:
    identity = parse_identity(
        header(f"{key_id}/20250101/us-west-2/wisdom/aws4_request"), "000000000000", "us-east-1"
    )
    assert identity.account == "000000000000"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer token",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc",
        "AWS4-HMAC-SHA256 Credential=, Signature=abc",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/us-west-2, Signature=abc",
        "AWS4-HMAC-SHA256 Credential=AKID EXAMPLE/20250101/us-west-2/wisdom/aws4_request",
        "AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f/g",
        "\x00\xff garbage \u2028",
    ],
)
def test_missing_or_garbled_header_gives_the_defaults(authorization: str | None) -> None:
    assert parse_identity(authorization, "000000000000", "us-east-1") == Identity(
        None, "000000000000", "us-east-1"
    )


def test_garbled_region_falls_back_to_the_default_region() -> None:
    identity = parse_identity(
        header("AKIDEXAMPLE/20250101/us west 2!/wisdom/aws4_request"), "000000000000", "us-east-1"
    )
    assert identity == Identity("AKIDEXAMPLE", "000000000000", "us-east-1")


def test_identity_is_frozen() -> None:
    identity = parse_identity(None, "000000000000", "us-east-1")
    with pytest.raises(AttributeError):
        identity.account = "111122223333"  # type: ignore[misc]
