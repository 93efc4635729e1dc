"""Who is calling, and (optionally) proof that they hold the secret.

`parse_identity` runs on every request and only reads the SigV4 credential scope: the access
key id picks the account (a 12-digit key id *is* the account, so tests can address several
accounts without any setup) and the scope's region becomes the request's region.

`verify_sigv4` is the opt-in strict mode. It recomputes the signature exactly as botocore's
`SigV4Auth` builds it for a non-S3 service and answers failures with the codes, statuses and
messages AWS's front door uses, so SDK error handling behaves as it would against AWS.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote, unquote_plus

__all__ = ["AuthError", "Identity", "parse_identity", "verify_sigv4"]

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
MAX_SKEW = timedelta(minutes=5)

_CREDENTIAL = "Credential="
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_QUERY_SAFE = "-_.~"
_PATH_SAFE = "/~"


@dataclass(frozen=True, slots=True)
class Identity:
    """The caller as far as the emulator cares: which account's data, in which region."""

    access_key_id: str | None
    account: str
    region: str


def is_account_id(value: str) -> bool:
    """Twelve ASCII digits: an AWS account id (and so a key id that names one)."""
    return len(value) == 12 and value.isascii() and value.isdigit()


def parse_identity(authorization: str | None, default_account: str, default_region: str) -> Identity:
    """Read key id and region from a SigV4 header; anything unexpected falls back to the defaults.

    Never raises: identity is needed even when auth checking is off and the header is junk.
    """
    if not authorization or not authorization.startswith(ALGORITHM):
        return Identity(None, default_account, default_region)
    start = authorization.find(_CREDENTIAL)
    if start < 0:
        return Identity(None, default_account, default_region)
    start += len(_CREDENTIAL)
    end = authorization.find(",", start)
    scope = (authorization[start:] if end < 0 else authorization[start:end]).strip().split("/")
    if len(scope) != 5:
        return Identity(None, default_account, default_region)
    key_id, region = scope[0], scope[2]
    # isascii() first: str.isdigit()/isalnum() also accept non-ASCII digits and letters.
    if not (key_id.isascii() and key_id.isalnum()):
        return Identity(None, default_account, default_region)
    if not (region.isascii() and region.replace("-", "").isalnum()):
        region = default_region
    account = key_id if is_account_id(key_id) else default_account
    return Identity(key_id, account, region)


class AuthError(Exception):
    """An authentication failure, carrying what goes on the wire (error code, message, HTTP status)."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    def __repr__(self) -> str:
        return f"AuthError({self.code!r}, {self.message!r}, {self.status})"


def _missing_token() -> AuthError:
    return AuthError("MissingAuthenticationTokenException", "Missing Authentication Token", 403)


def _incomplete(message: str) -> AuthError:
    # AWS's common-errors table gives IncompleteSignature a 400.
    return AuthError("IncompleteSignatureException", message, 400)


def _invalid(message: str) -> AuthError:
    return AuthError("InvalidSignatureException", message, 403)


_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True, slots=True)
class _Claim:
    """What the client says it signed: from the Authorization header or from presign query params."""

    credential: str
    signed_headers: str
    signature: str
    timestamp: str
    expires: int | None  # set only for presigned URLs


def verify_sigv4(
    method: str,
    raw_path: str,
    query_string: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Mapping[str, str],
    now: datetime,
    *,
    service: str | None = "wisdom",
) -> None:
    """Raise `AuthError` unless the request carries a valid SigV4 signature by a known key.

    `raw_path` and `query_string` must be exactly as received (still percent-encoded, query
    without `?`); `headers` maps lower-case names to values; `now` is UTC (naive = UTC).
    `service` is the signing name the credential scope must name; None accepts any.
    """
    authorization = headers.get("authorization")
    if authorization is not None and authorization.strip():
        claim = _claim_from_header(authorization, headers)
    elif "X-Amz-Algorithm=" in query_string:
        claim = _claim_from_query(query_string)
    else:
        raise _missing_token()

    scope = claim.credential.split("/")
    if len(scope) != 5:
        raise _incomplete(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term,"
            f" got '{claim.credential}'"
        )
    key_id, scope_date, region, scope_service, terminator = scope
    secret = credentials.get(key_id)
    if secret is None:
        raise AuthError(
            "UnrecognizedClientException", "The security token included in the request is invalid.", 403
        )
    if terminator != TERMINATOR:
        raise _invalid(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'."
        )
    if service is not None and scope_service != service:
        raise _invalid(f"Credential should be scoped to correct service: '{service}'. ")

    request_time = _parse_timestamp(claim.timestamp)
    if scope_date != claim.timestamp[:8]:
        raise _invalid(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{scope_date}' != '{claim.timestamp[:8]}', from '{claim.timestamp}'."
        )
    _check_clock(request_time, claim.expires, _utc_naive(now))

    presigned = claim.expires is not None
    canonical_path = _canonical_path(raw_path)
    canonical_headers = "".join(
        f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in claim.signed_headers.split(";")
    )
    payload_hash = headers.get("x-amz-content-sha256")
    if payload_hash is None:
        payload_hash = hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256
    signing_key = _signing_key(secret, scope_date, region, scope_service)
    scope_str = f"{scope_date}/{region}/{scope_service}/{TERMINATOR}"

    def matches(canonical_query: str) -> bool:
        canonical_request = "\n".join(
            (
                method.upper(),
                canonical_path,
                canonical_query,
                canonical_headers,
                claim.signed_headers,
                payload_hash,
            )
        )
        string_to_sign = "\n".join(
            (
                ALGORITHM,
                claim.timestamp,
                scope_str,
                hashlib.sha256(canonical_request.encode("utf-8", "surrogatepass")).hexdigest(),
            )
        )
        expected = hmac.new(signing_key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        # compare_digest raises on non-ASCII str; such a signature can only be wrong anyway.
        return claim.signature.isascii() and hmac.compare_digest(expected, claim.signature)

    # botocore's clients send the query already in canonical encoding and sign it verbatim; other
    # signers (AWSRequest(params=...), other SDKs, '+' for space) sign the decoded-and-re-encoded
    # form. Try the verbatim form first; the second costs only when the first fails.
    raw_query = _canonical_query_raw(query_string, presigned)
    if matches(raw_query):
        return
    normalized_query = _canonical_query_normalized(query_string, presigned)
    if normalized_query != raw_query and matches(normalized_query):
        return
    raise _invalid(_MISMATCH)


def _claim_from_header(authorization: str, headers: Mapping[str, str]) -> _Claim:
    """Split `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` like AWS does."""
    scheme, _, rest = authorization.strip().partition(" ")
    params: dict[str, str] = {}
    if scheme == ALGORITHM:
        for item in rest.split(","):
            item = item.strip()
            if not item:
                continue
            key, sep, value = item.partition("=")
            if not sep:
                raise _incomplete(
                    f"'{item}' not a valid key=value pair (missing equal-sign) in Authorization header: "
                    f"'{authorization}'."
                )
            params[key.strip()] = value.strip()

    timestamp = headers.get("x-amz-date")
    if timestamp is None:
        timestamp = _timestamp_from_http_date(headers.get("date"))
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not params.get(name)
    ]
    if timestamp is None:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if problems:
        raise _incomplete(" ".join(problems) + f" Authorization={authorization}")
    assert timestamp is not None
    return _Claim(params["Credential"], params["SignedHeaders"], params["Signature"], timestamp, None)


_PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
)


def _claim_from_query(query_string: str) -> _Claim:
    """Read a presigned URL's auth parameters (botocore `SigV4QueryAuth`)."""
    params: dict[str, str] = {}
    for pair in query_string.split("&"):
        key, _, value = pair.partition("=")
        if key.startswith("X-Amz-"):
            params[key] = unquote_plus(value)
    if any(not params.get(name) for name in (*_PRESIGN_PARAMS, "X-Amz-Expires")):
        raise _incomplete(
            "AWS query-string parameters must include "
            + ", ".join(f"'{name}'" for name in _PRESIGN_PARAMS)
            + ". Re-examine the query-string parameters."
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise _incomplete(f"Unsupported AWS 'algorithm': '{params['X-Amz-Algorithm']}'.")
    expires = params["X-Amz-Expires"]
    if not (expires.isascii() and expires.isdigit()):
        raise _incomplete(f"X-Amz-Expires must be a non-negative integer, got '{expires}'.")
    return _Claim(
        params["X-Amz-Credential"],
        params["X-Amz-SignedHeaders"],
        params["X-Amz-Signature"],
        params["X-Amz-Date"],
        int(expires),
    )


def _timestamp_from_http_date(value: str | None) -> str | None:
    """botocore signs with `Date` (RFC 1123) instead of X-Amz-Date when the request already had one."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return _format(_utc_naive(parsed))


def _parse_timestamp(value: str) -> datetime:
    """Parse `YYYYMMDDTHHMMSSZ` by slicing: strptime is needlessly slow on the hot path."""
    try:
        if len(value) != 16 or value[8] != "T" or value[15] != "Z" or not value.isascii():
            raise ValueError(value)
        return datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[9:11]),
            int(value[11:13]),
            int(value[13:15]),
        )
    except ValueError:
        raise _incomplete(
            f"Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
        ) from None


def _check_clock(request_time: datetime, expires: int | None, now: datetime) -> None:
    """Reject requests signed more than 5 minutes from our clock (or past a presigned URL's expiry)."""
    if request_time < now - MAX_SKEW and expires is None:
        raise _invalid(
            f"Signature expired: {_format(request_time)} is now earlier than "
            f"{_format(now - MAX_SKEW)} ({_format(now)} - 5 min.)"
        )
    if request_time > now + MAX_SKEW:
        raise _invalid(
            f"Signature not yet current: {_format(request_time)} is still later than "
            f"{_format(now + MAX_SKEW)} ({_format(now)} + 5 min.)"
        )
    if expires is not None and request_time + timedelta(seconds=expires) < now:
        raise _invalid(
            f"Signature expired: {_format(request_time + timedelta(seconds=expires))} "
            f"is now earlier than {_format(now)}"
        )


def _utc_naive(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _format(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


def _canonical_path(raw_path: str) -> str:
    """botocore (non-S3): `quote(remove_dot_segments(path), safe='/~')` on the path as sent.

    The path is already percent-encoded on the wire, so '%3A' becomes '%253A' here.
    """
    if not raw_path:
        path = "/"
    elif raw_path[0] == "/" and "//" not in raw_path and "/." not in raw_path:
        path = raw_path  # nothing for remove_dot_segments to do
    else:
        path = _remove_dot_segments(raw_path)
    # surrogatepass: a path decoded from undecodable bytes must mismatch, not raise.
    return quote(path, safe=_PATH_SAFE, errors="surrogatepass")


def _remove_dot_segments(url: str) -> str:
    """Port of `botocore.utils.remove_dot_segments` (RFC 3986 5.2.4, plus empty segments dropped)."""
    output: list[str] = []
    for segment in url.split("/"):
        if segment and segment != ".":
            if segment == "..":
                if output:
                    output.pop()
            else:
                output.append(segment)
    first = "/" if url[0] == "/" else ""
    last = "/" if url[-1] == "/" and output else ""
    return first + "/".join(output) + last


def _canonical_query_raw(query_string: str, presigned: bool) -> str:
    """botocore's `_canonical_query_string_url`: sort the pairs as sent, no re-encoding."""
    if not query_string:
        return ""
    pairs: list[tuple[str, str]] = []
    for pair in query_string.split("&"):
        key, _, value = pair.partition("=")
        if presigned and key == "X-Amz-Signature":
            continue
        pairs.append((key, value))
    pairs.sort()
    return "&".join(f"{key}={value}" for key, value in pairs)


def _canonical_query_normalized(query_string: str, presigned: bool) -> str:
    """The SigV4 spec's form: decode each name and value, re-encode with only -_.~ left bare, sort."""
    if not query_string:
        return ""
    pairs: list[tuple[str, str]] = []
    for pair in query_string.split("&"):
        key, _, value = pair.partition("=")
        key = unquote_plus(key)
        if presigned and key == "X-Amz-Signature":
            continue
        pairs.append((quote(key, safe=_QUERY_SAFE), quote(unquote_plus(value), safe=_QUERY_SAFE)))
    pairs.sort()
    return "&".join(f"{key}={value}" for key, value in pairs)


@lru_cache(maxsize=256)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """Derive the SigV4 signing key; it changes once a day per key/region, so a small cache pays."""
    key = hmac.new(f"AWS4{secret}".encode(), date.encode("utf-8"), hashlib.sha256).digest()
    for part in (region, service, TERMINATOR):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key
