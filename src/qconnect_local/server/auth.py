"""Who is calling, and (optionally) proof that they hold the secret.

The access key id picks the account (a 12-digit key id *is* the account, so tests can address
several accounts without any setup) and the credential scope's region becomes the request's
region.

`verify_sigv4` is the opt-in strict mode (`--enforce-sigv4`). It recomputes the signature
exactly as botocore's `SigV4Auth`/`SigV4QueryAuth` build it for a non-S3 service, answers
failures with the codes, statuses and messages AWS's front door uses (so SDK error handling
behaves as it would against AWS), and returns the `Signer` whose credential it verified: the
identity is taken from nothing else, so no part of a request that the signature does not
cover can choose the account. To that end the Authorization header and the presign query
parameters are parsed strictly: a repeated or unknown component is rejected, not resolved.

`parse_identity` is for the default, unchecked mode: it reads the same credential (header or
presign query) leniently and never raises.
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

__all__ = ["AuthError", "Identity", "Signer", "parse_identity", "verify_sigv4"]

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
# How far a header-signed request's X-Amz-Date may be from the service clock, either way: the
# 15 minutes of AWS's SigV4 front door ("... (now - 15 min.)").
MAX_SKEW_MINUTES = 15
MAX_SKEW = timedelta(minutes=MAX_SKEW_MINUTES)
# A presigned URL lives at most a week: SigV4 signing keys are valid for seven days.
MAX_PRESIGN_EXPIRES = 604800

_HEADER_COMPONENTS = ("Credential", "SignedHeaders", "Signature")
_CONTENT_SHA256 = "x-amz-content-sha256"
_MESSAGE_QUOTE_LIMIT = 120  # characters of a client's value quoted back in an error message
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


def parse_identity(
    authorization: str | None, default_account: str, default_region: str, query_string: str = ""
) -> Identity:
    """Read key id and region from the SigV4 credential; anything unexpected falls back to the defaults.

    For the unchecked mode only (the checked one takes its identity from `verify_sigv4`). The
    credential is the one `verify_sigv4` would check: the Authorization header's or, without
    one, a presigned URL's `X-Amz-Credential`. Never raises: identity is needed even when auth
    checking is off and the request is junk.
    """
    credential: str | None
    if authorization is not None and authorization.strip():
        try:
            credential = _header_components(authorization).get("Credential")
        except AuthError:
            credential = None
    else:
        values = _presign_params(query_string).get("X-Amz-Credential", [])
        credential = values[0] if len(values) == 1 else None
    scope = credential.strip().split("/") if credential else []
    if len(scope) != 5 or not _is_key_id(scope[0]):
        return Identity(None, default_account, default_region)
    key_id, region = scope[0], scope[2]
    if not _is_region(region):
        region = default_region
    return Identity(key_id, key_id if is_account_id(key_id) else default_account, region)


def _is_key_id(value: str) -> bool:
    # isascii() first: str.isdigit()/isalnum() also accept non-ASCII digits and letters.
    return value.isascii() and value.isalnum()


def _is_region(value: str) -> bool:
    """Letters, digits and dashes (`us-east-1`): what may go into an ARN as its region."""
    return 0 < len(value) <= 64 and value.isascii() and value.replace("-", "").isalnum()


@dataclass(frozen=True, slots=True)
class Signer:
    """The credential whose signature `verify_sigv4` checked: the only source of a checked identity."""

    access_key_id: str
    region: str

    def identity(self, default_account: str) -> Identity:
        """A 12-digit key id is its own account; any other key works in the default account."""
        account = self.access_key_id if is_account_id(self.access_key_id) else default_account
        return Identity(self.access_key_id, account, self.region)


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


def _quoted(value: str) -> str:
    """A client's value as an error message may quote it: a short prefix, never the whole of a huge one."""
    if len(value) <= _MESSAGE_QUOTE_LIMIT:
        return value
    return value[:_MESSAGE_QUOTE_LIMIT] + "..."


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
) -> Signer:
    """The signer of a request carrying a valid SigV4 signature by a known key; `AuthError` otherwise.

    `raw_path` and `query_string` must be exactly as received (still percent-encoded, query
    without `?`); `headers` maps lower-case names to values; `now` is UTC (naive = UTC).
    `service` is the signing name the credential scope must name; None accepts any.
    The returned `Signer` is the credential the signature was checked against, and so the only
    thing a caller may take the account and region from.
    """
    claim = _claim(query_string, headers)
    key_id, scope_date, region, scope_service, secret = _check_scope(claim, credentials, service)
    request_time = _parse_timestamp(claim.timestamp)
    if scope_date != claim.timestamp[:8]:
        raise _invalid(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{_quoted(scope_date)}' != '{claim.timestamp[:8]}', from '{claim.timestamp}'."
        )
    _check_clock(request_time, claim.expires, _utc_naive(now))

    signed_names = claim.signed_headers.split(";")
    declared_hash = _declared_payload_hash(headers, signed_names)
    body_hash = hashlib.sha256(body).hexdigest()
    payload_hash = body_hash if declared_hash is None else declared_hash
    canonical_headers = "".join(
        f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed_names
    )
    signing_key = _signing_key(secret, scope_date, region, scope_service)
    prefix = "\n".join((method.upper(), _canonical_path(raw_path)))
    suffix = "\n".join((canonical_headers, claim.signed_headers, payload_hash))
    scope_str = f"{scope_date}/{region}/{scope_service}/{TERMINATOR}"

    def matches(canonical_query: str) -> bool:
        canonical_request = f"{prefix}\n{canonical_query}\n{suffix}"
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
    presigned = claim.expires is not None
    raw_query = _canonical_query_raw(query_string, presigned)
    if not matches(raw_query):
        normalized_query = _canonical_query_normalized(query_string, presigned)
        if normalized_query == raw_query or not matches(normalized_query):
            raise _invalid(_MISMATCH)
    if declared_hash is not None and declared_hash != body_hash:
        # Checked only once the signature holds, as AWS hashes the body after authenticating.
        raise _content_sha256_mismatch()
    return Signer(key_id, region)


def _claim(query_string: str, headers: Mapping[str, str]) -> _Claim:
    """The one signature a request carries: in its Authorization header or in its query, never both.

    Two would leave open which one names the caller, so (as AWS does) that is refused.
    """
    authorization = headers.get("authorization")
    presign = _presign_params(query_string)
    if authorization is not None and authorization.strip():
        if "X-Amz-Algorithm" in presign:
            raise _invalid(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the "
                "Authorization header should be specified."
            )
        return _claim_from_header(authorization, headers)
    if "X-Amz-Algorithm" in presign:
        return _claim_from_query(presign)
    raise _missing_token()


def _check_scope(
    claim: _Claim, credentials: Mapping[str, str], service: str | None
) -> tuple[str, str, str, str, str]:
    """Key id, date, region, service of the credential scope and the key's secret, or `AuthError`."""
    scope = claim.credential.split("/")
    if len(scope) != 5:
        raise _incomplete(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term,"
            f" got '{_quoted(claim.credential)}'"
        )
    key_id, scope_date, region, scope_service, terminator = scope
    secret = credentials.get(key_id)
    if secret is None:
        raise AuthError(
            "UnrecognizedClientException", "The security token included in the request is invalid.", 403
        )
    if terminator != TERMINATOR:
        raise _invalid(
            "Credential should be scoped with a valid terminator: "
            f"'{TERMINATOR}', not '{_quoted(terminator)}'."
        )
    if service is not None and scope_service != service:
        raise _invalid(f"Credential should be scoped to correct service: '{service}'. ")
    if not _is_region(region):
        # The region becomes part of every ARN the caller creates, so it must be one.
        raise _invalid(f"Credential should be scoped to a valid region, not '{_quoted(region)}'. ")
    return key_id, scope_date, region, scope_service, secret


def _declared_payload_hash(headers: Mapping[str, str], signed_names: list[str]) -> str | None:
    """The `X-Amz-Content-Sha256` a request declares, once sure the signature covers it.

    An unsigned one could be swapped together with the body, so the body would be bound to
    nothing. `UNSIGNED-PAYLOAD` is no exception here: AWS allows it only for operations whose
    model says so (`unsignedPayload`), and no qconnect operation does; it fails the comparison
    with the body's hash like any other wrong value.
    """
    declared = headers.get(_CONTENT_SHA256)
    if declared is None:
        return None
    if _CONTENT_SHA256 not in signed_names:
        raise _invalid("'X-Amz-Content-Sha256' must be a 'SignedHeader' in the AWS Authorization.")
    return declared


def _content_sha256_mismatch() -> AuthError:
    return AuthError(
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        400,
    )


def _header_components(authorization: str) -> dict[str, str]:
    """`AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` as a mapping.

    A component that is repeated or unknown is `IncompleteSignatureException`: with two
    `Credential=`, which one the signature was checked against and which one named the caller
    could differ, so none is chosen.
    """
    scheme, _, rest = authorization.strip().partition(" ")
    components: dict[str, str] = {}
    if scheme != ALGORITHM:
        return components
    for item in rest.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise _incomplete(
                f"'{_quoted(item)}' not a valid key=value pair (missing equal-sign) in Authorization header: "
                f"'{_quoted(authorization)}'."
            )
        key = key.strip()
        if key not in _HEADER_COMPONENTS:
            raise _incomplete(
                f"'{_quoted(key)}' is not a valid Authorization header component; it takes only "
                f"'Credential', 'SignedHeaders' and 'Signature'. Authorization={ALGORITHM}"
            )
        if key in components:
            raise _incomplete(
                f"Authorization header requires exactly one '{key}' parameter, got more. "
                f"Authorization={ALGORITHM}"
            )
        components[key] = value.strip()
    return components


def _claim_from_header(authorization: str, headers: Mapping[str, str]) -> _Claim:
    """Split the Authorization header like AWS does; the date comes from X-Amz-Date (or Date)."""
    components = _header_components(authorization)
    timestamp = headers.get("x-amz-date")
    if timestamp is None:
        timestamp = _timestamp_from_http_date(headers.get("date"))
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not components.get(name)
    ]
    if timestamp is None:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if problems:
        raise _incomplete(" ".join(problems) + f" Authorization={_quoted(authorization)}")
    assert timestamp is not None
    return _Claim(
        components["Credential"], components["SignedHeaders"], components["Signature"], timestamp, None
    )


_PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
)
_PRESIGN_ALL = (*_PRESIGN_PARAMS, "X-Amz-Expires", "X-Amz-Security-Token")


def _presign_params(query_string: str) -> dict[str, list[str]]:
    """The query's presign parameters (decoded names and values), each with every value it was given."""
    params: dict[str, list[str]] = {}
    if "X-Amz-" not in query_string and "%" not in query_string:
        return params  # the common case: no presign parameters, nothing to decode
    for pair in query_string.split("&"):
        key, _, value = pair.partition("=")
        key = unquote_plus(key)
        if key in _PRESIGN_ALL:
            params.setdefault(key, []).append(unquote_plus(value))
    return params


def _claim_from_query(presign: dict[str, list[str]]) -> _Claim:
    """Read a presigned URL's auth parameters (botocore `SigV4QueryAuth`), each exactly once."""
    repeated = [name for name, values in presign.items() if len(values) > 1]
    if repeated:
        raise _incomplete(
            f"AWS query-string parameter '{repeated[0]}' must be given only once. "
            "Re-examine the query-string parameters."
        )
    params = {name: values[0] for name, values in presign.items()}
    if any(not params.get(name) for name in (*_PRESIGN_PARAMS, "X-Amz-Expires")):
        raise _incomplete(
            "AWS query-string parameters must include "
            + ", ".join(f"'{name}'" for name in _PRESIGN_PARAMS)
            + ". Re-examine the query-string parameters."
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise _incomplete(f"Unsupported AWS 'algorithm': '{_quoted(params['X-Amz-Algorithm'])}'.")
    return _Claim(
        params["X-Amz-Credential"],
        params["X-Amz-SignedHeaders"],
        params["X-Amz-Signature"],
        params["X-Amz-Date"],
        _presign_expires(params["X-Amz-Expires"]),
    )


def _presign_expires(value: str) -> int:
    """`X-Amz-Expires` as seconds, 0 to a week; the length is checked before converting.

    A week is AWS's cap (S3 answers `AuthorizationQueryParametersError` with this message; the
    JSON APIs' code for a bad presign parameter is `IncompleteSignatureException`, 400).
    """
    if not (value.isascii() and value.isdigit()):
        raise _incomplete(f"X-Amz-Expires must be a non-negative integer, got '{_quoted(value)}'.")
    significant = value.lstrip("0") or "0"
    if len(significant) > len(str(MAX_PRESIGN_EXPIRES)) or int(significant) > MAX_PRESIGN_EXPIRES:
        raise _incomplete(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires "
            f"must be less than {MAX_PRESIGN_EXPIRES} seconds"
        )
    return int(significant)


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
            f"Date must be in ISO-8601 'basic format'. Got '{_quoted(value)}'. "
            "See http://en.wikipedia.org/wiki/ISO_8601"
        ) from None


def _check_clock(request_time: datetime, expires: int | None, now: datetime) -> None:
    """Reject a request signed more than MAX_SKEW from our clock, or a presigned URL past its expiry.

    A presigned URL may be used until X-Amz-Date + X-Amz-Expires (at most a week), however old
    its date; but like any request it may not be dated further ahead than the skew allows.
    """
    if expires is None and request_time < now - MAX_SKEW:
        raise _invalid(
            f"Signature expired: {_format(request_time)} is now earlier than "
            f"{_format(now - MAX_SKEW)} ({_format(now)} - {MAX_SKEW_MINUTES} min.)"
        )
    if request_time > now + MAX_SKEW:
        raise _invalid(
            f"Signature not yet current: {_format(request_time)} is still later than "
            f"{_format(now + MAX_SKEW)} ({_format(now)} + {MAX_SKEW_MINUTES} min.)"
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
