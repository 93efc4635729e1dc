"""`mock_qconnect()`: boto3 `qconnect` and `wisdom` clients answered in-process, no socket.

A `before-send` handler, registered *first* for those two services only, hands the prepared
request to the same `route()` the HTTP server uses and returns its response, so behaviour is
identical to `qconnect-local serve`. Because it is registered first and only on these two
services, it coexists with moto's `mock_aws` (which answers every other service).
"""

from __future__ import annotations

import functools
import io
import os
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from botocore import handlers as botocore_handlers
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from qconnect_local.config import Settings
from qconnect_local.protocol.http import Request, Response
from qconnect_local.runtime import Runtime
from qconnect_local.server.app import route

P = ParamSpec("P")
R = TypeVar("R")

EVENTS = ("before-send.qconnect", "before-send.wisdom")
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

_active: list[mock_qconnect] = []
_lock = threading.Lock()


class _RawBody(io.BytesIO):
    """What botocore's AWSResponse expects of `raw`: a readable with `stream()`."""

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    if hasattr(body, "read"):
        data = body.read()
        if hasattr(body, "seek"):
            body.seek(0)
        return data if isinstance(data, bytes) else str(data).encode()
    return bytes(body)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _lowered_headers(headers: Any) -> dict[str, str]:
    """Header names lower-cased, values as text.

    botocore's `HeadersDict` already keeps each name's lower-case form; reading it directly is
    almost ten times cheaper than its MutableMapping `items()`, which matters on every call.
    """
    keyed = getattr(headers, "_dict", None)
    if type(keyed) is dict:
        try:
            return {key._lower: _text(value) for key, value in keyed.items()}
        except AttributeError:  # a botocore whose keys differ: take the public way below
            pass
    return {str(name).lower(): _text(value) for name, value in headers.items()}


def _before_send(request: AWSPreparedRequest, **_kwargs: Any) -> AWSResponse | None:
    # botocore calls *every* before-send handler and keeps the first response; the handler
    # can be registered twice on one client (built-in and on boto3's default session), so the
    # request is marked and served once.
    if not _active or getattr(request, "_qconnect_local_served", False):
        return None
    request._qconnect_local_served = True
    runtime = _active[-1].runtime
    url = urlsplit(request.url)
    headers = _lowered_headers(request.headers)
    headers.setdefault("host", url.netloc)
    response = route(
        runtime,
        Request(request.method, url.path or "/", url.query, headers, _body_bytes(request.body)),
        url.scheme or "https",
    )
    return AWSResponse(request.url, response.status, dict(response.headers), _RawBody(response.body))


def _install_builtin() -> None:
    """Every botocore session created from now on carries the handler (inactive until entered)."""
    for event in EVENTS:
        spec = (event, _before_send, botocore_handlers.REGISTER_FIRST)
        if spec not in botocore_handlers.BUILTIN_HANDLERS:
            botocore_handlers.BUILTIN_HANDLERS.append(spec)


def _install_on_default_session() -> None:
    """boto3's default session may predate our import; give it the handler too."""
    import sys

    boto3 = sys.modules.get("boto3")
    session = getattr(boto3, "DEFAULT_SESSION", None) if boto3 else None
    if session is not None:
        for event in EVENTS:
            session.events.register_first(event, _before_send, unique_id=f"qconnect-local-{event}")


_install_builtin()


class mock_qconnect:
    """Context manager and decorator. `runtime` is the in-process service (store, clock, settings)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self.runtime: Runtime
        self._saved_env: dict[str, str | None] = {}

    def __enter__(self) -> mock_qconnect:
        self.runtime = Runtime(self._settings or Settings())
        self._saved_env = {name: os.environ.get(name) for name in FAKE_CREDENTIALS}
        for name, value in FAKE_CREDENTIALS.items():
            os.environ.setdefault(name, value)
        _install_on_default_session()
        with _lock:
            _active.append(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with _lock:
            _active.remove(self)
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.runtime.close()

    def request(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, data: bytes = b""
    ) -> Response:
        """Send a plain HTTP request (e.g. the signed PUT of an upload, a GetImportJob link) in-process.

        The links qconnect-local hands out point at the endpoint the client used; without a
        socket, this is how a test follows them.
        """
        parts = urlsplit(url)
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        lowered.setdefault("host", parts.netloc)
        return route(
            self.runtime, Request(method.upper(), parts.path or "/", parts.query, lowered, data), parts.scheme
        )

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with mock_qconnect(self._settings):
                return func(*args, **kwargs)

        return wrapper
