"""A boto3 `qconnect` client whose requests go straight to a runtime's `route()`, in-process.

The same hop `mock_qconnect()` makes (and its helpers), bound to one given runtime instead of
the innermost active mock, so seeding goes through every step an HTTP call takes: routing,
identity (SigV4 too, under --enforce-sigv4), validation, the handler, the request log.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config

from qconnect_local.protocol.http import Request, Response
from qconnect_local.runtime import Runtime
from qconnect_local.server.app import route
from qconnect_local.server.auth import is_account_id
from qconnect_local.testing import mock


class NoCredential(Exception):
    """Under --enforce-sigv4, no configured credential signs for the account."""


def client(runtime: Runtime, endpoint: str, account: str, region: str) -> Any:
    """A `qconnect` client acting as `account` in `region`, answered by `runtime` without a socket."""
    key, secret = _credential(runtime, account)
    session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=region)
    made = session.client("qconnect", endpoint_url=endpoint, config=Config(retries={"total_max_attempts": 1}))
    events = made.meta.events
    for event in mock.EVENTS:  # the mock's own hop answers with *its* runtime, if one is active
        events.unregister(event, mock._before_send)
    events.register_first("before-send.qconnect", functools.partial(_send, runtime))
    return made


def put(runtime: Runtime, url: str, headers: dict[str, str], data: bytes) -> Response:
    """A plain HTTP PUT (an upload's signed link), served in-process as `mock_qconnect.request`."""
    parts = urlsplit(url)
    lowered = {k.lower(): v for k, v in headers.items()}
    lowered.setdefault("host", parts.netloc)
    lowered["content-length"] = str(len(data))
    return route(runtime, Request("PUT", parts.path or "/", parts.query, lowered, data), parts.scheme)


def _send(runtime: Runtime, request: AWSPreparedRequest, **_kwargs: Any) -> AWSResponse:
    url = urlsplit(request.url)
    headers = mock._lowered_headers(request.headers)
    headers.setdefault("host", url.netloc)
    answer = route(
        runtime,
        Request(request.method, url.path or "/", url.query, headers, mock._body_bytes(request.body)),
        url.scheme or "http",
    )
    return AWSResponse(request.url, answer.status, dict(answer.headers), mock._RawBody(answer.body))


def _credential(runtime: Runtime, account: str) -> tuple[str, str]:
    """The key pair to sign as `account`: a 12-digit key id is its account (server/auth.py); under
    --enforce-sigv4 only a configured credential is accepted."""
    settings = runtime.settings
    if not settings.enforce_sigv4:
        return account, "seed"
    for key, secret in settings.credentials.items():
        if (key if is_account_id(key) else settings.default_account) == account:
            return key, secret
    raise NoCredential(f"no --credentials key signs for account {account} (under --enforce-sigv4)")
