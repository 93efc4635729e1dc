"""SigV4 as strict as AWS (issue 12): every rule is shown by signing with botocore and tampering.

The requests go through the in-process service with `enforce_sigv4` on (the same `route()` the
HTTP server uses), with the service clock frozen at the instant they are signed, so expiry and
skew are exact. The rules:

1. The account and region come only from the credential the signature was verified against,
   for header and presigned (query-string) signing alike; a repeated or unknown Authorization
   component, or a repeated presign parameter, is IncompleteSignatureException (400).
2. A presigned URL's X-Amz-Expires is at most 604800 (a week), and the URL expires at
   X-Amz-Date + X-Amz-Expires on the service clock.
3. A sent X-Amz-Content-Sha256 must be signed and must be the body's SHA-256
   (XAmzContentSHA256Mismatch, 400); UNSIGNED-PAYLOAD is not allowed, as no qconnect
   operation is modelled with an unsigned payload.
4. A header-signed request dated more than 15 minutes from the service clock, either way, is
   InvalidSignatureException (403).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from qconnect_local.config import Settings
from qconnect_local.server.auth import Identity, Signer, parse_identity, verify_sigv4
from qconnect_local.testing.mock import mock_qconnect

ENDPOINT = "http://localhost:4566"
REGION = "us-west-2"
ALICE, ALICE_SECRET = "111122223333", "alice-secret"
BOB, BOB_SECRET = "444455556666", "bob-secret"
KEY_ID, SECRET = "AKIDEXAMPLE", "plain-secret"  # not an account id: the default account
DEFAULT_ACCOUNT = Settings().default_account
CREDENTIALS = {ALICE: ALICE_SECRET, BOB: BOB_SECRET, KEY_ID: SECRET}


@dataclass(frozen=True)
class Wire:
    """A request as the server receives it: path and query still percent-encoded."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def authorization(self) -> str:
        return self.headers["authorization"]

    def with_headers(self, **changes: str) -> Wire:
        return replace(self, headers={**self.headers, **changes})


@dataclass(frozen=True)
class Reply:
    status: int
    code: str | None
    document: dict[str, Any]

    @property
    def message(self) -> str:
        return str(self.document.get("message", ""))


class Service:
    """The in-process service under --enforce-sigv4, its clock stopped at `now`."""

    def __init__(self, qconnect: mock_qconnect) -> None:
        self.qconnect = qconnect
        clock = qconnect.runtime.clock
        # A whole second (SigV4 dates have no fraction), and not before now: the clock only moves on.
        self.now = clock.freeze((clock.now() + timedelta(seconds=1)).replace(microsecond=0))

    @property
    def signed_at(self) -> datetime:
        """The service's now as botocore's clock gives it: naive UTC."""
        return self.now.replace(tzinfo=None)

    def advance(self, **delta: float) -> None:
        self.qconnect.runtime.clock.advance(timedelta(**delta).total_seconds())

    def send(self, wire: Wire) -> Reply:
        url = ENDPOINT + wire.path + (f"?{wire.query}" if wire.query else "")
        response = self.qconnect.request(wire.method, url, headers=wire.headers, data=wire.body)
        document = json.loads(response.body) if response.body else {}
        return Reply(response.status, response.header("x-amzn-errortype"), document)


@pytest.fixture
def service() -> Iterator[Service]:
    with mock_qconnect(Settings(enforce_sigv4=True, credentials=dict(CREDENTIALS))) as qconnect:
        yield Service(qconnect)


@pytest.fixture
def unchecked() -> Iterator[Service]:
    """The default mode: nothing is verified, the identity is read from the credential."""
    with mock_qconnect() as qconnect:
        yield Service(qconnect)


def on_the_wire(request: AWSRequest) -> Wire:
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    headers = {
        name.lower(): value.decode() if isinstance(value, bytes) else value
        for name, value in prepared.headers.items()
    }
    headers.setdefault("host", parts.netloc)
    body = prepared.body or b""
    return Wire(
        prepared.method, parts.path, parts.query, headers, body if isinstance(body, bytes) else body.encode()
    )


def sign(
    method: str,
    path: str,
    at: datetime,
    *,
    document: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    key_id: str = ALICE,
    region: str = REGION,
) -> Wire:
    """Sign like a botocore qconnect client (SigV4Auth in the Authorization header) at `at`."""
    body = json.dumps(document).encode() if document is not None else b""
    all_headers = {"Content-Type": "application/json", **(headers or {})} if document is not None else headers
    request = AWSRequest(method=method, url=ENDPOINT + path, data=body, headers=all_headers or {})
    with mock.patch("botocore.auth.get_current_datetime", return_value=at):
        SigV4Auth(Credentials(key_id, CREDENTIALS[key_id]), "wisdom", region).add_auth(request)
    return on_the_wire(request)


def presign(
    path: str,
    at: datetime,
    *,
    expires: int | str = 300,
    key_id: str = ALICE,
    region: str = REGION,
) -> Wire:
    """A presigned GET (SigV4QueryAuth) signed at `at`."""
    request = AWSRequest(method="GET", url=ENDPOINT + path)
    with mock.patch("botocore.auth.get_current_datetime", return_value=at):
        # botocore puts `expires` into the query as given, so a str can carry junk.
        SigV4QueryAuth(Credentials(key_id, CREDENTIALS[key_id]), "wisdom", region, expires=expires).add_auth(
            request
        )
    return on_the_wire(request)


def create_knowledge_base(name: str) -> dict[str, Any]:
    return {"name": name, "knowledgeBaseType": "CUSTOM"}


def arn_account_and_region(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return parts[4], parts[3]


def listed(reply: Reply) -> list[str]:
    assert reply.status == 200, reply
    return [kb["knowledgeBaseArn"] for kb in reply.document["knowledgeBaseSummaries"]]


def seed(service: Service, key_id: str = ALICE, region: str = REGION, name: str = "seeded") -> str:
    reply = service.send(
        sign(
            "POST",
            "/knowledgeBases",
            service.signed_at,
            document=create_knowledge_base(name),
            key_id=key_id,
            region=region,
        )
    )
    assert reply.status == 200, reply
    arn: str = reply.document["knowledgeBase"]["knowledgeBaseArn"]
    return arn


# --- 1. identity: only the verified credential names the account ------------------------------


def test_the_account_and_region_are_the_verified_credentials(service: Service) -> None:
    arn = seed(service, ALICE, "eu-west-1")
    assert arn_account_and_region(arn) == (ALICE, "eu-west-1")
    arn = seed(service, KEY_ID, "ap-southeast-2")
    assert arn_account_and_region(arn) == (DEFAULT_ACCOUNT, "ap-southeast-2")


def test_a_second_credential_cannot_borrow_another_account(service: Service) -> None:
    """The attack of issue 12: Alice signs, and puts Bob's credential first to act as Bob."""
    seed(service, BOB, name="bobs")
    wire = sign("POST", "/knowledgeBases", service.signed_at, document=create_knowledge_base("stolen"))
    bobs_scope = f"Credential={BOB}/{service.signed_at:%Y%m%d}/{REGION}/wisdom/aws4_request"
    scheme, rest = wire.authorization.split(" ", 1)
    for forged in (f"{scheme} {bobs_scope}, {rest}", f"{wire.authorization}, {bobs_scope}"):
        reply = service.send(wire.with_headers(authorization=forged))
        assert (reply.status, reply.code) == (400, "IncompleteSignatureException")
        assert "exactly one 'Credential'" in reply.message
    bob = sign("GET", "/knowledgeBases", service.signed_at, key_id=BOB)
    alice = sign("GET", "/knowledgeBases", service.signed_at, key_id=ALICE)
    assert len(listed(service.send(bob))) == 1
    assert listed(service.send(alice)) == []


@pytest.mark.parametrize("component", ["SignedHeaders", "Signature"])
def test_any_repeated_component_is_an_incomplete_signature(service: Service, component: str) -> None:
    wire = sign("GET", "/knowledgeBases", service.signed_at)
    value = wire.authorization.split(f"{component}=", 1)[1].split(",", 1)[0]
    reply = service.send(wire.with_headers(authorization=f"{wire.authorization}, {component}={value}"))
    assert (reply.status, reply.code) == (400, "IncompleteSignatureException")
    assert f"exactly one '{component}'" in reply.message


@pytest.mark.parametrize("extra", ["Region=us-east-1", "credential=x/y/z/w/v", "X-Amz-Date=20250101T000000Z"])
def test_an_unknown_component_is_an_incomplete_signature(service: Service, extra: str) -> None:
    wire = sign("GET", "/knowledgeBases", service.signed_at)
    reply = service.send(wire.with_headers(authorization=f"{wire.authorization}, {extra}"))
    assert (reply.status, reply.code) == (400, "IncompleteSignatureException")
    assert "is not a valid Authorization header component" in reply.message


def test_a_presigned_request_runs_in_the_signers_account_and_region(service: Service) -> None:
    arn = seed(service, ALICE, "eu-west-1")
    assert listed(service.send(presign("/knowledgeBases", service.signed_at, region="eu-west-1"))) == [arn]
    assert listed(service.send(presign("/knowledgeBases", service.signed_at, region=REGION))) == []
    assert (
        listed(service.send(presign("/knowledgeBases", service.signed_at, key_id=BOB, region="eu-west-1")))
        == []
    )


def test_a_repeated_presign_parameter_is_an_incomplete_signature(service: Service) -> None:
    wire = presign("/knowledgeBases", service.signed_at)
    bobs = f"X-Amz-Credential={BOB}%2F{service.signed_at:%Y%m%d}%2F{REGION}%2Fwisdom%2Faws4_request"
    for query in (f"{bobs}&{wire.query}", f"{wire.query}&{bobs}", f"{wire.query}&X-Amz-Expires=60"):
        reply = service.send(replace(wire, query=query))
        assert (reply.status, reply.code) == (400, "IncompleteSignatureException"), query
        assert "must be given only once" in reply.message


def test_a_signature_in_both_header_and_query_is_refused(service: Service) -> None:
    header_signed = sign("GET", "/knowledgeBases", service.signed_at)
    query_signed = presign("/knowledgeBases", service.signed_at, key_id=BOB)
    reply = service.send(replace(query_signed, headers={**query_signed.headers, **header_signed.headers}))
    assert (reply.status, reply.code) == (403, "InvalidSignatureException")
    assert reply.message.startswith("Only one auth mechanism allowed")


def test_a_region_that_cannot_be_in_an_arn_is_refused(service: Service) -> None:
    reply = service.send(sign("GET", "/knowledgeBases", service.signed_at, region="us west 2!"))
    assert (reply.status, reply.code) == (403, "InvalidSignatureException")
    assert reply.message.startswith("Credential should be scoped to a valid region, not 'us west 2!'.")


def test_verify_sigv4_returns_the_signer_it_checked() -> None:
    at = datetime(2025, 1, 1, 0, 10)
    for wire in (
        sign("GET", "/assistants", at, region="eu-west-1"),
        presign("/assistants", at, region="eu-west-1"),
    ):
        signer = verify_sigv4(wire.method, wire.path, wire.query, wire.headers, wire.body, CREDENTIALS, at)
        assert signer == Signer(ALICE, "eu-west-1")
        assert signer.identity("000000000000") == Identity(ALICE, ALICE, "eu-west-1")
    assert Signer(KEY_ID, "us-east-2").identity("000000000000") == Identity(
        KEY_ID, "000000000000", "us-east-2"
    )


def test_unchecked_presigned_requests_use_their_credential_too(unchecked: Service) -> None:
    """Without --enforce-sigv4 nothing is verified, but a presigned URL is not the default account."""
    arn = seed(unchecked, ALICE, "eu-west-1")
    assert listed(unchecked.send(presign("/knowledgeBases", unchecked.signed_at, region="eu-west-1"))) == [
        arn
    ]
    assert listed(unchecked.send(presign("/knowledgeBases", unchecked.signed_at, key_id=KEY_ID))) == []


def test_parse_identity_reads_a_presigned_credential() -> None:
    wire = presign("/assistants", datetime(2025, 1, 1), region="eu-west-1")
    assert parse_identity(None, "000000000000", "us-east-1", wire.query) == Identity(
        ALICE, ALICE, "eu-west-1"
    )
    assert parse_identity("", "000000000000", "us-east-1", wire.query) == Identity(ALICE, ALICE, "eu-west-1")
    twice = f"{wire.query}&X-Amz-Credential={BOB}%2F20250101%2Feu-west-1%2Fwisdom%2Faws4_request"
    assert parse_identity(None, "000000000000", "us-east-1", twice) == Identity(
        None, "000000000000", "us-east-1"
    )


def test_parse_identity_does_not_guess_between_two_credentials() -> None:
    header = sign("GET", "/assistants", datetime(2025, 1, 1)).authorization
    forged = f"{header}, Credential={BOB}/20250101/us-west-2/wisdom/aws4_request"
    assert parse_identity(forged, "000000000000", "us-east-1") == Identity(None, "000000000000", "us-east-1")
    assert parse_identity(header, "000000000000", "us-east-1") == Identity(ALICE, ALICE, REGION)


# --- 2. presigned URLs: a week at most, expiring as AWS's do ----------------------------------


WEEK = 604800
TOO_LONG = (
    "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires "
    "must be less than 604800 seconds"
)


def test_a_week_is_the_longest_a_presigned_url_may_live(service: Service) -> None:
    assert service.send(presign("/knowledgeBases", service.signed_at, expires=WEEK)).status == 200
    for expires in (WEEK + 1, 999999999, "9" * 4400, "0" * 50 + "604801"):
        reply = service.send(presign("/knowledgeBases", service.signed_at, expires=expires))
        assert (reply.status, reply.code, reply.message) == (400, "IncompleteSignatureException", TOO_LONG)


def test_leading_zeros_do_not_change_the_expiry(service: Service) -> None:
    assert service.send(presign("/knowledgeBases", service.signed_at, expires="0" * 20 + "60")).status == 200


@pytest.mark.parametrize("expires", ["-1", "1e3", "\uff16\uff10", " 60", ""])
def test_an_expiry_that_is_not_a_number_of_seconds_is_an_incomplete_signature(
    service: Service, expires: str
) -> None:
    reply = service.send(presign("/knowledgeBases", service.signed_at, expires=expires))
    assert (reply.status, reply.code) == (400, "IncompleteSignatureException")


def test_a_presigned_url_expires_at_its_date_plus_its_expiry(service: Service) -> None:
    wire = presign("/knowledgeBases", service.signed_at, expires=3600)
    service.advance(seconds=3600)
    assert service.send(wire).status == 200  # valid through the last second
    service.advance(seconds=1)
    reply = service.send(wire)
    assert (reply.status, reply.code) == (403, "InvalidSignatureException")
    expiry = service.signed_at + timedelta(seconds=3600)
    assert reply.message == (
        f"Signature expired: {expiry:%Y%m%dT%H%M%SZ} is now earlier than "
        f"{service.signed_at + timedelta(seconds=3601):%Y%m%dT%H%M%SZ}"
    )


def test_a_week_long_url_is_dead_thirty_days_later(service: Service) -> None:
    """Issue 12 replayed X-Amz-Expires=999999999 after 30 days; capped, a week is the most one lives."""
    wire = presign("/knowledgeBases", service.signed_at, expires=WEEK)
    service.advance(days=7)
    assert service.send(wire).status == 200
    service.advance(days=23)
    assert (service.send(wire).status, service.send(wire).code) == (403, "InvalidSignatureException")


def test_a_presigned_url_dated_in_the_future_is_not_yet_current(service: Service) -> None:
    reply = service.send(presign("/knowledgeBases", service.signed_at + timedelta(minutes=16), expires=3600))
    assert (reply.status, reply.code) == (403, "InvalidSignatureException")
    assert reply.message.startswith("Signature not yet current:")


def test_a_tampered_expiry_is_a_signature_mismatch(service: Service) -> None:
    wire = presign("/knowledgeBases", service.signed_at, expires=60)
    reply = service.send(replace(wire, query=wire.query.replace("X-Amz-Expires=60", "X-Amz-Expires=600")))
    assert (reply.status, reply.code) == (403, "InvalidSignatureException")
    assert reply.message.startswith("The request signature we calculated does not match")


# --- 3. X-Amz-Content-Sha256: signed, and the body's hash -------------------------------------


MISMATCH = (
    400,
    "XAmzContentSHA256Mismatch",
    "The provided 'x-amz-content-sha256' header does not match what was computed.",
)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_signed_content_hash_of_the_body_is_accepted(service: Service) -> None:
    body = json.dumps(create_knowledge_base("hashed")).encode()
    wire = sign(
        "POST",
        "/knowledgeBases",
        service.signed_at,
        document=create_knowledge_base("hashed"),
        headers={"X-Amz-Content-SHA256": sha256(body)},
    )
    assert "x-amz-content-sha256" in wire.authorization
    assert service.send(wire).status == 200
    empty = sign("GET", "/knowledgeBases", service.signed_at, headers={"X-Amz-Content-SHA256": sha256(b"")})
    assert service.send(empty).status == 200


def test_a_body_swapped_under_a_signed_hash_is_a_content_mismatch(service: Service) -> None:
    body = json.dumps(create_knowledge_base("original")).encode()
    wire = sign(
        "POST",
        "/knowledgeBases",
        service.signed_at,
        document=create_knowledge_base("original"),
        headers={"X-Amz-Content-SHA256": sha256(body)},
    )
    swapped = replace(wire, body=body.replace(b"original", b"swapped!"))
    reply = service.send(swapped.with_headers(**{"content-length": str(len(swapped.body))}))
    assert (reply.status, reply.code, reply.message) == MISMATCH
    assert listed(service.send(sign("GET", "/knowledgeBases", service.signed_at))) == []


def test_an_unsigned_content_hash_is_refused_even_when_it_is_right(service: Service) -> None:
    """Issue 12: sent unsigned, the header and the body could be swapped together."""
    wire = sign("POST", "/knowledgeBases", service.signed_at, document=create_knowledge_base("original"))
    assert "x-amz-content-sha256" not in wire.authorization
    swapped = json.dumps(create_knowledge_base("swapped")).encode()
    for body in (wire.body, swapped):
        reply = service.send(replace(wire, body=body).with_headers(**{"x-amz-content-sha256": sha256(body)}))
        assert (reply.status, reply.code) == (403, "InvalidSignatureException")
        assert reply.message == "'X-Amz-Content-Sha256' must be a 'SignedHeader' in the AWS Authorization."
    assert listed(service.send(sign("GET", "/knowledgeBases", service.signed_at))) == []


def test_unsigned_payload_is_not_allowed(service: Service) -> None:
    """No qconnect operation is modelled with an unsigned payload, so AWS would not take one."""
    wire = sign(
        "POST",
        "/knowledgeBases",
        service.signed_at,
        document=create_knowledge_base("unsigned"),
        headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
    )
    reply = service.send(wire)
    assert (reply.status, reply.code, reply.message) == MISMATCH


def test_a_presigned_request_with_a_content_hash_must_sign_it_too(service: Service) -> None:
    wire = presign("/knowledgeBases", service.signed_at)
    reply = service.send(wire.with_headers(**{"x-amz-content-sha256": sha256(b"")}))
    assert (reply.status, reply.code) == (403, "InvalidSignatureException")


# --- 4. clock skew: 15 minutes either way -----------------------------------------------------


def test_fifteen_minutes_of_skew_either_way_is_tolerated(service: Service) -> None:
    for skew in (timedelta(minutes=-15), timedelta(minutes=15)):
        assert service.send(sign("GET", "/knowledgeBases", service.signed_at + skew)).status == 200


def test_a_request_signed_over_fifteen_minutes_ago_has_expired(service: Service) -> None:
    at = service.signed_at - timedelta(minutes=15, seconds=1)
    reply = service.send(sign("GET", "/knowledgeBases", at))
    assert (reply.status, reply.code) == (403, "InvalidSignatureException")
    now = service.signed_at
    assert reply.message == (
        f"Signature expired: {at:%Y%m%dT%H%M%SZ} is now earlier than "
        f"{now - timedelta(minutes=15):%Y%m%dT%H%M%SZ} ({now:%Y%m%dT%H%M%SZ} - 15 min.)"
    )


def test_a_request_signed_over_fifteen_minutes_ahead_is_not_yet_current(service: Service) -> None:
    at = service.signed_at + timedelta(minutes=15, seconds=1)
    reply = service.send(sign("GET", "/knowledgeBases", at))
    assert (reply.status, reply.code) == (403, "InvalidSignatureException")
    now = service.signed_at
    assert reply.message == (
        f"Signature not yet current: {at:%Y%m%dT%H%M%SZ} is still later than "
        f"{now + timedelta(minutes=15):%Y%m%dT%H%M%SZ} ({now:%Y%m%dT%H%M%SZ} + 15 min.)"
    )


def test_a_replay_is_refused_once_the_window_has_passed(service: Service) -> None:
    wire = sign("POST", "/knowledgeBases", service.signed_at, document=create_knowledge_base("once"))
    assert service.send(wire).status == 200
    service.advance(minutes=15, seconds=1)
    assert service.send(wire).code == "InvalidSignatureException"


# --- never a 500 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA256 Credential=" + "a/" * 5000,
        "AWS4-HMAC-SHA256 " + ", ".join(["Credential=x"] * 2000),
        "AWS4-HMAC-SHA256 Credential=\udcff/\ud800/x/wisdom/aws4_request, SignedHeaders=host, Signature=0",
        "AWS4-HMAC-SHA256 =, =, =",
        "AWS4-HMAC-SHA256 ,,,,,",
        "AWS4-HMAC-SHA256 Credential==, SignedHeaders==, Signature==",
    ],
)
def test_junk_authorization_is_a_client_error(service: Service, authorization: str) -> None:
    wire = sign("GET", "/knowledgeBases", service.signed_at)
    reply = service.send(wire.with_headers(authorization=authorization))
    assert reply.status in (400, 403), reply
    assert len(reply.message) < 1000  # a short prefix of the junk, not all of it


@pytest.mark.parametrize(
    "query",
    [
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Algorithm=%ZZ&X-Amz-Credential=%",
        "X%2DAmz%2DAlgorithm=AWS4-HMAC-SHA256&X-Amz-Expires=" + "9" * 5000,
    ],
)
def test_junk_presign_parameters_are_a_client_error(service: Service, query: str) -> None:
    wire = presign("/knowledgeBases", service.signed_at)
    reply = service.send(replace(wire, query=f"{wire.query}&{query}"))
    assert reply.status in (400, 403), reply
