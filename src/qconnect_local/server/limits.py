"""What one client can make the server hold: header size, time, connections.

The request body is bounded by the application (`App`, `max_request_bytes`); everything before
the body and around it is the HTTP protocol's, and uvicorn's httptools protocol bounds little
of it: it has no header size or count limit (httptools keeps appending to a header value, so a
256 MiB header is read whole, in time quadratic in its size), no timeout before a request's
headers are complete (its keep-alive timer only runs between requests, and any byte stops
it), and its `limit_concurrency` answers 503 to every request over the cap, health included.

`LimitedHttpToolsProtocol` is that protocol with those limits added, through its parser
callbacks only (the parsing, the ASGI cycle and keep-alive are uvicorn's):

- **Header size and count** (`max_header_bytes`, `max_header_count`): the request line and
  headers of one request are counted as they arrive, and 431 `RequestHeaderFieldsTooLarge`
  (AWS's JSON error shape) answers as soon as they are over, the connection then closed. The
  size is exact once the headers are complete; while they arrive it is counted per read, so at
  most one read (256 KiB) more is held before the refusal.
- **Header-read timeout** (`header_timeout_seconds`): from the connection's start, or from a
  later request's first byte, to the end of its headers. A connection that sends nothing, or
  a few bytes at a time (slowloris), is closed (with a 408 if it had sent part of a request).
- **Body timeout** (`body_timeout_seconds`): the longest silence while a request body is being
  received; then the connection is closed and the application sees a disconnect. Time the
  server itself is not reading (the application has not taken the previous chunk yet) does
  not count.
- **Idle keep-alive timeout** (`idle_timeout_seconds`): uvicorn's own `timeout_keep_alive`.
- **A connection cap** (`max_connections`, lowered to fit the process's open-file limit): a
  connection that would go over it makes room by closing the connection that has been waiting
  longest for a request (idle keep-alive or half-open ones: nothing in progress is lost). When
  none is waiting, every connection being busy with a request, the new connection is still
  served, with its request answered at once: `GET /_qconnect/health` normally, anything else
  503 `ServiceUnavailableException` (which SDKs retry); it is then closed, and its headers
  must come within 2 s. So health answers while the cap is reached, and the file descriptors
  never run out to connections.

Not bounded here: how slowly a client reads a response (a stalled reader holds its connection
until it goes away), and the total time of a body that keeps trickling in (each silence is
bounded, not their sum).

`uvicorn_options(settings)` is what `uvicorn.run` / `uvicorn.Config` take to enforce all this.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from qconnect_local.config import Settings
from qconnect_local.protocol.errors import ServiceError
from qconnect_local.protocol.serializer import serialize_error
from qconnect_local.server.dispatch import new_request_id

log = logging.getLogger("qconnect_local")

HEALTH_PATH = b"/_qconnect/health"  # answered even when the connection cap is reached
OVER_CAP_HEADER_TIMEOUT = 2.0  # seconds a connection over the cap has to send its headers
# File descriptors kept for the store, blobs, logs and the worker's children, below the
# process's open-file limit, when the connection cap is derived from it.
RESERVED_DESCRIPTORS = 256


@dataclass(frozen=True, slots=True)
class Limits:
    max_header_bytes: int
    max_header_count: int
    header_timeout: float
    body_timeout: float
    max_connections: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            max_header_count=settings.max_header_count,
            header_timeout=float(settings.header_timeout_seconds),
            body_timeout=float(settings.body_timeout_seconds),
            max_connections=connection_cap(settings.max_connections),
        )


def connection_cap(configured: int) -> int:
    """`configured`, lowered so that connections never take the descriptors the rest needs."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to read
        return max(1, configured)
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return max(1, configured)
    return max(1, min(configured, max(soft // 2, soft - RESERVED_DESCRIPTORS)))


WANTED_DESCRIPTORS = 65536  # enough for the default connection cap and everything else


def raise_descriptor_limit() -> int:
    """Raise this process's soft open-file limit towards its hard limit (as servers do), so that
    long polls, each one connection held open, are bounded by `max_connections` and not by a
    default of 1,024; the soft limit now in force."""
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = WANTED_DESCRIPTORS if hard == resource.RLIM_INFINITY else min(hard, WANTED_DESCRIPTORS)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):  # not allowed here: keep the limit there is
            pass
    return int(soft)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword options of `uvicorn.run` / `uvicorn.Config` that enforce the limits above
    (`http` replaces `http="httptools"`: it is the httptools protocol with the limits)."""
    return {
        "http": protocol_class(Limits.from_settings(settings)),
        "timeout_keep_alive": settings.idle_timeout_seconds,
        "limit_concurrency": None,  # the protocol's own cap, which lets health through
        "ws": "none",  # no WebSocket API: an Upgrade header is an ordinary request
    }


def protocol_class(limits: Limits) -> type[LimitedHttpToolsProtocol]:
    """The protocol uvicorn instantiates per connection, with `limits` bound."""
    return type("QconnectHttpProtocol", (LimitedHttpToolsProtocol,), {"limits": limits})


def refusal(status: int, code: str, message: str) -> bytes:
    """A complete HTTP/1.1 response in AWS's JSON error shape, that closes the connection."""
    response = serialize_error(ServiceError(code, message, status=status), new_request_id())
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}"]
    head += [f"{name}: {value}" for name, value in response.headers]
    head += [f"Content-Length: {len(response.body)}", "Connection: close"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body


_REASONS = {
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with header, time and connection limits (module docstring)."""

    limits: ClassVar[Limits]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit_concurrency = None  # the cap is ours (`connection_made`)
        self._now = self.loop.time
        self._refused = False  # answered or closed by a limit: the parser's callbacks do nothing
        self._awaiting_headers = True  # what arrives now is a request's line and headers
        self._partial = False  # part of a request's line or headers has come
        self._completed_in_read = False  # a request ended within the read being parsed
        self._header_bytes = 0
        # The header-read timer is armed when a connection opens, or at the first byte of a
        # later request when none is pending, and never cancelled when headers complete: when
        # it fires it looks at `_headers_since` and re-arms for what is left, if anything. Two
        # timer operations per request cost the bare app's 23 µs request about 2 µs more.
        self._header_timer: Any = None
        self._headers_since: float | None = None  # when the headers now awaited began; None: none are
        self._header_limit = self.limits.header_timeout  # the time they have
        self._in_body = False  # headers done, body still coming
        self._body_seen = 0.0
        self._body_timer: Any = None
        self._waiting_since: float | None = None  # waiting for a request, nothing in progress
        self._over_cap = False

    # --- connections -----------------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._waiting_since = self._headers_since = self._now()
        if len(self.connections) > self.limits.max_connections and not self._make_room():
            self._over_cap = True
            self._application, self.app = self.app, self._over_cap_app
            self._header_limit = min(self._header_limit, OVER_CAP_HEADER_TIMEOUT)
        self._arm_header_timer(self._header_limit)

    def connection_lost(self, exc: Exception | None) -> None:
        self._waiting_since = None
        self._cancel_timers()
        super().connection_lost(exc)

    def _make_room(self) -> bool:
        """Close the connection that has waited longest for a request; False if none is waiting."""
        open_connections = [c for c in self.connections if not c.transport.is_closing()]
        if len(open_connections) <= self.limits.max_connections:
            return True  # enough of the others are closing already
        waiting = [
            c
            for c in open_connections
            if c is not self and isinstance(c, LimitedHttpToolsProtocol) and c._waiting_since is not None
        ]
        if not waiting:
            return False
        oldest = min(waiting, key=lambda c: c._waiting_since or 0.0)
        oldest._close()
        return True

    async def _over_cap_app(self, scope: Any, receive: Any, send: Any) -> None:
        """The application of a connection over the cap: health, or a 503 that SDKs retry."""
        if scope.get("raw_path", b"").rstrip(b"/") == HEALTH_PATH:
            await self._application(scope, receive, send)
            return
        error = ServiceError(
            "ServiceUnavailableException", "The server is at its connection limit; retry.", status=503
        )
        response = serialize_error(error, new_request_id())
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        headers += [(b"content-length", str(len(response.body)).encode()), (b"retry-after", b"1")]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    # --- reading ---------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        counting = self._awaiting_headers
        self._completed_in_read = False
        super().data_received(data)
        if self._refused or self.transport.is_closing():
            return
        if counting and self._awaiting_headers and not self._completed_in_read:
            # Every byte of this read belongs to headers not complete yet. (A read in which a
            # request also ended is not counted: part of it was that request's body.)
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self._refuse_headers()
                return
        if self._in_body:
            self._body_seen = self._now()
            if self._body_timer is None:
                self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_timeout)

    def on_message_begin(self) -> None:
        if self._refused:
            return
        super().on_message_begin()
        self._awaiting_headers = self._partial = True
        self._header_bytes = 0
        if self._headers_since is None:  # a later request: its time starts at its first byte
            self._headers_since = self._now()
            if self._header_timer is None:
                self._arm_header_timer(self._header_limit)

    def on_url(self, url: bytes) -> None:
        if not self._refused:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refused:
            return
        if len(self.headers) >= self.limits.max_header_count:
            self._refuse_headers()
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.limits.max_header_bytes:
            self._refuse_headers()
            return
        self._awaiting_headers = self._partial = False
        self._waiting_since = self._headers_since = None
        super().on_headers_complete()
        self._in_body = True
        if self._over_cap:
            self.cycle.keep_alive = False  # one answer, then the connection makes room

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._in_body = False
        self._awaiting_headers = self._completed_in_read = True
        self._header_bytes = 0
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.cycle.response_complete:
            self._waiting_since = self._now()  # idle: uvicorn's keep-alive timer runs

    # --- refusing --------------------------------------------------------------------------

    def _refuse_headers(self) -> None:
        limits = self.limits
        self._write_refusal(
            431,
            "RequestHeaderFieldsTooLarge",
            f"The request's headers are over this server's limits ({limits.max_header_bytes} bytes,"
            f" {limits.max_header_count} headers).",
        )

    def _write_refusal(self, status: int, code: str, message: str) -> None:
        """Answer and close, whatever the parser is in the middle of: it is told nothing more."""
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(refusal(status, code, message))  # never inside another answer
        self._close()

    def _close(self) -> None:
        self._refused = True
        self._waiting_since = None
        self._cancel_timers()
        if not self.transport.is_closing():
            self.transport.close()

    def _arm_header_timer(self, seconds: float) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(seconds, self._header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _cancel_timers(self) -> None:
        self._cancel_header_timer()
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self._refused or self._headers_since is None:
            return  # no headers awaited: the next request's first byte arms the timer again
        left = self._headers_since + self._header_limit - self._now()
        if left > 0:  # these are a later request's headers, which have had less time
            self._arm_header_timer(left)
            return
        if self._partial:  # part of a request came: say why it ends
            self._write_refusal(
                408, "RequestTimeoutException", "The request's headers did not arrive in time."
            )
        else:  # nothing came: just close, as an idle keep-alive connection is
            self._close()

    def _body_timeout(self) -> None:
        self._body_timer = None
        if not self._in_body or self.transport.is_closing():
            return
        now = self._now()
        if self.flow.read_paused or self.cycle.waiting_for_100_continue:
            # The wait is the server's: the application has not taken what came yet, or not
            # asked for the body the client holds back until `100 Continue`. Look again soon,
            # so that the client has (almost) the whole timeout once the server reads again.
            self._body_seen = now
            self._body_timer = self.loop.call_later(min(1.0, self.limits.body_timeout), self._body_timeout)
            return
        silent = now - self._body_seen
        if silent < self.limits.body_timeout:
            self._body_timer = self.loop.call_later(self.limits.body_timeout - silent, self._body_timeout)
            return
        log.info("closing a connection whose request body stopped for %.0f s", silent)
        if not self.cycle.response_started:
            self.transport.write(
                refusal(408, "RequestTimeoutException", "The request's body stopped arriving before its end.")
            )
        self._close()  # the application's receive() answers http.disconnect
