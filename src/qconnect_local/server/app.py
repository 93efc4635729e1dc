"""The ASGI application: bytes in, `Request` to the right handler, `Response` bytes out.

Deliberately no web framework: routing is the model's, and a framework's per-request
machinery would cost a large share of the time GetKnowledgeBase takes (see
docs/benchmarks.md). Handlers are synchronous and run on the event loop thread: every store
call is short, and the import worker runs on threads of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from qconnect_local.protocol.http import Request, Response
from qconnect_local.runtime import Runtime
from qconnect_local.server.control import PREFIX, handle_control
from qconnect_local.server.dispatch import handle_api

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def base_url(runtime: Runtime, headers: dict[str, str], scheme: str) -> str:
    if runtime.settings.public_url:
        return runtime.settings.public_url.rstrip("/")
    return f"{scheme}://{headers.get('host', '127.0.0.1')}"


def route(runtime: Runtime, request: Request, scheme: str = "http") -> Response:
    """Any HTTP request to this server, whichever transport brought it (ASGI or the in-process mock)."""
    if request.raw_path.startswith(PREFIX):
        return handle_control(runtime, request)
    return handle_api(runtime, request, base_url(runtime, request.headers, scheme))


class App:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw_path = scope.get("raw_path") or scope["path"].encode()
        request = Request(
            scope["method"],
            raw_path.decode("latin-1").split("?", 1)[0],
            scope.get("query_string", b"").decode("latin-1"),
            headers,
            body,
        )
        response = route(self.runtime, request, scope.get("scheme", "http"))
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers],
            }
        )
        await send({"type": "http.response.body", "body": response.body})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
