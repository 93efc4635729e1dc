"""Signed links to blobs, S3 presigned-URL style: what StartContentUpload and GetImportJob hand out.

A link is `<base>/_qconnect/blobs/<path>?expires=<epoch>&signature=<hmac>`. The HMAC (store
secret, SHA-256) covers the method, the path, the expiry and the values of the headers the
client must send, so a link cannot be reused for another method, object, expiry or header
value. Failures answer like S3 does (status, XML error code, message).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from qconnect_local.runtime import Runtime

BLOB_PREFIX = "/_qconnect/blobs/"
DOWNLOAD_TTL = timedelta(minutes=15)  # how long the GET links handed out in responses last


@dataclass(frozen=True, slots=True)
class Download:
    """What a verified GET link serves: a blob, with the headers S3 would give it."""

    key: str
    content_type: str
    filename: str


# A family's GET links live under `<BLOB_PREFIX><collection>/...`; its downloader checks the
# link and names the blob: (runtime, path parts after the collection, full path, query).
Downloader = Callable[["Runtime", list[str], str, str], Download]
DOWNLOADS: dict[str, Downloader] = {}


def download_route(collection: str) -> Callable[[Downloader], Downloader]:
    """Register the downloader of the links under `<BLOB_PREFIX><collection>/`."""

    def register(func: Downloader) -> Downloader:
        if collection in DOWNLOADS:
            raise ValueError(f"download links under {collection}/ are registered twice")
        DOWNLOADS[collection] = func
        return func

    return register


def no_such_key() -> LinkError:
    return LinkError(404, "NoSuchKey", "The specified key does not exist.")


def internal_error() -> LinkError:
    """A fault of this server (a full disk, an I/O error), answered as S3 answers its own faults.

    InternalError 500, not 503 SlowDown: SlowDown asks the client to lower its request rate,
    and a full disk is not cured by fewer requests. SDKs retry both, so a retry after space
    was freed succeeds. The message is S3's own: nothing about our disks or files.
    """
    return LinkError(500, "InternalError", "We encountered an internal error. Please try again.")


class LinkError(Exception):
    """An S3-style refusal: HTTP status, S3 error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _signature(secret: bytes, method: str, path: str, expires: int, headers: Mapping[str, str]) -> str:
    canonical = "\n".join(
        [
            method.upper(),
            path,
            str(expires),
            *(f"{k.lower()}:{v.strip()}" for k, v in sorted(headers.items())),
        ]
    )
    return hmac.digest(secret, canonical.encode(), "sha256").hex()  # one-shot: no HMAC object


def sign(
    secret: bytes,
    base_url: str,
    method: str,
    path: str,
    expiry: datetime,
    headers: Mapping[str, str] | None = None,
) -> str:
    """The absolute URL for `method` on `path` (relative to BLOB_PREFIX) until `expiry`."""
    full_path = BLOB_PREFIX + path
    expires = int(expiry.timestamp())
    # Both values are URL-safe as they are (digits, hex): no urlencode needed.
    signature = _signature(secret, method, full_path, expires, headers or {})
    return f"{base_url}{full_path}?expires={expires}&signature={signature}"


def link_expiry(expiry: datetime) -> datetime:
    """Links carry whole seconds; report the same instant the link enforces."""
    return datetime.fromtimestamp(int(expiry.timestamp()), UTC)


def download_expiry(now: datetime) -> datetime:
    """The expiry of a GET link handed out `now` in a response (`DOWNLOAD_TTL` later)."""
    return link_expiry(now + DOWNLOAD_TTL)


def verify(
    secret: bytes,
    method: str,
    full_path: str,
    query_string: str,
    request_headers: Mapping[str, str],
    required_headers: Mapping[str, str],
    now: datetime,
) -> None:
    """Refuse like S3: a missing/garbled query or wrong signature or header -> 403, expired -> 403."""
    query = parse_qs(query_string)
    try:
        expires = int(query["expires"][0])
        given = query["signature"][0]
    except (KeyError, IndexError, ValueError):
        raise LinkError(
            403, "AccessDenied", "Query-string authentication requires the expires and signature parameters"
        ) from None
    expected = _signature(secret, method, full_path, expires, required_headers)
    # compare_digest raises TypeError on non-ASCII str; such a signature is simply wrong.
    if not given.isascii() or not hmac.compare_digest(given, expected):
        raise LinkError(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    for name, value in required_headers.items():
        sent = request_headers.get(name.lower())
        if sent is None or sent.strip() != value.strip():
            raise LinkError(
                403,
                "SignatureDoesNotMatch",
                f"The request signature we calculated does not match the signature you provided: "
                f"header {name} must be sent with the value {value!r}.",
            )
    if now.timestamp() > expires:
        raise LinkError(403, "AccessDenied", "Request has expired")


def s3_error_xml(error: LinkError, request_id: str) -> bytes:
    from xml.sax.saxutils import escape

    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
        f"<RequestId>{escape(request_id)}</RequestId><HostId>qconnect-local</HostId></Error>"
    ).encode()
