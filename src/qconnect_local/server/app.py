"""The ASGI application: bytes in, `Request` to the right handler, `Response` bytes out.

Deliberately no web framework: routing is the model's, and a framework's per-request
machinery would cost a large share of the time GetKnowledgeBase takes (see
docs/benchmarks.md). Handlers are synchronous. On the embedded store, reads (GET, HEAD) run
on the event loop thread: in WAL mode they never wait, and a thread hop would cost more than
the read. Everything else runs on a thread pool: every write (it may wait for the store's write
lock while an import commits), every request on PostgreSQL (each read is a network round trip),
and any operation that waits by design (long polling, `spec.waiting_operations`), whose
passes are short: between them a long poll waits on the loop for its signal (`Suspend`), so
thousands may wait at once without a thread each. The loop itself never blocks. The worker
runs on threads of its own.

A request body is bounded before anything else is done with the request (routing,
authentication, parsing): by its `Content-Length` before a byte of it is read, and while it
streams in (a chunked body has none), so no client can make the server hold more than
`max_request_bytes` of it. Over the limit the answer is 413 `RequestEntityTooLarge` and the
connection is closed, the rest of the body unread. Signed-link PUTs stream to their blob with
a limit of their own (`max_upload_bytes`). The limits of the connection itself (headers,
timeouts, how many) are the HTTP protocol's: see `server/limits.py`.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from qconnect_local.protocol.errors import ServiceError, request_too_large
from qconnect_local.protocol.http import Request, Response
from qconnect_local.protocol.router import default_router
from qconnect_local.protocol.serializer import serialize_error
from qconnect_local.runtime import Runtime
from qconnect_local.server import blob_routes
from qconnect_local.server.control import CONSOLE_PREFIX, PREFIX, handle_control
from qconnect_local.server.dispatch import handle_api, new_request_id
from qconnect_local.server.request_log import Note, for_runtime
from qconnect_local.service.context import Suspend
from qconnect_local.service.links import LinkError
from qconnect_local.spec import waiting_operations

T = TypeVar("T")
READ_METHODS = frozenset({"GET", "HEAD"})
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def base_url(runtime: Runtime, headers: dict[str, str], scheme: str) -> str:
    if runtime.settings.public_url:
        return runtime.settings.public_url.rstrip("/")
    return f"{scheme}://{headers.get('host', '127.0.0.1')}"


def route(runtime: Runtime, request: Request, scheme: str = "http") -> Response:
    """Any HTTP request to this server, whichever transport brought it; a long poll waits on the
    calling thread (the in-process mock's way; the ASGI app waits on its event loop instead).
    Logged in the request log as the server logs it (a long poll once, when it answers)."""
    request_log = for_runtime(runtime)
    if request_log is None:
        return _route(runtime, request, scheme, None)
    started = time.perf_counter()
    note = Note()
    response = _route(runtime, request, scheme, note)
    note.answered(response)
    request_log.log(note, started)
    return response


def _route(runtime: Runtime, request: Request, scheme: str, note: Note | None) -> Response:
    limit = runtime.settings.max_request_bytes
    if len(request.body) > limit and not blob_routes.is_blob_path(request.raw_path):
        if note is not None:
            note.operation = _operation_name(request)
        return too_large(limit)  # as the server would, though the body is in memory already
    deadline: float | None = None
    while True:
        answer = route_once(
            runtime, request, scheme, may_wait=deadline is None or time.monotonic() < deadline, note=note
        )
        if isinstance(answer, Response):
            return answer
        deadline = deadline if deadline is not None else time.monotonic() + answer.seconds
        with answer.subscription as subscription:
            subscription.wait(max(0.0, deadline - time.monotonic()))


def route_once(
    runtime: Runtime, request: Request, scheme: str, *, may_wait: bool, note: Note | None = None
) -> Response | Suspend:
    """One pass over a request: its response, or the `Suspend` of a long poll that found nothing.
    `note`, when given, learns what the request log says of it (operation, account)."""
    if note is not None and note.operation is None:
        note.operation = _operation_name(request, routed=False)
    if blob_routes.is_blob_path(request.raw_path):
        if request.method == "PUT":
            return blob_routes.receive_upload(runtime, request, [request.body])
        response, body = blob_routes.download(runtime, request)
        response.body = b"".join(body) if body is not None else response.body
        return response
    if _is_console(request.raw_path):
        # Imported on the first console request: its templates and pages cost start-up nothing.
        from qconnect_local.server import console

        return console.dispatch(runtime, request, base_url(runtime, request.headers, scheme))
    if request.raw_path.startswith(PREFIX):
        return handle_control(runtime, request)
    return handle_api(
        runtime, request, base_url(runtime, request.headers, scheme), may_wait=may_wait, note=note
    )


def _is_console(raw_path: str) -> bool:
    """Whether a path is the web console's (`/_qconnect/console` and below)."""
    return raw_path == CONSOLE_PREFIX or raw_path.startswith(CONSOLE_PREFIX + "/")


def _operation_name(request: Request, *, routed: bool = True) -> str | None:
    """The request log's name for a request: `link.PUT`, `control.reset`, `qconnect.<Operation>`
    (with `routed`; otherwise None, for dispatch to name). Never the query string."""
    if blob_routes.is_blob_path(request.raw_path):
        return "link." + request.method
    if _is_console(request.raw_path):
        return "console." + request.method
    if request.raw_path.startswith(PREFIX):
        return "control." + (request.raw_path[len(PREFIX) :].strip("/") or "-")
    if not routed:
        return None
    try:
        return "qconnect." + default_router().match(request.method, request.raw_path).operation
    except ServiceError:
        return None


class App:
    def __init__(self, runtime: Runtime, write_threads: int = 8, waiting_threads: int = 8) -> None:
        self.runtime = runtime
        # Writes may wait for the store's write lock (an import commits in one transaction), so
        # they run on threads: the event loop keeps serving reads, which never wait in WAL mode.
        self._writers = ThreadPoolExecutor(write_threads, thread_name_prefix="qconnect-write")
        # Long polls' passes are short (the waits themselves are on the loop), so a few threads
        # serve any number of them. Few on purpose: on PostgreSQL each thread keeps a connection
        # of the store's pool (30), which these threads and the writers' must never exhaust.
        self._waiters = ThreadPoolExecutor(waiting_threads, thread_name_prefix="qconnect-wait")
        self._loop_reads = runtime.store.dialect == "sqlite"
        self._log = for_runtime(runtime)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if self._log is None:
            await self._serve(scope, receive, send, None)
            return
        started = time.perf_counter()
        note = Note()

        async def logged_send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                note.started(message)
            await send(message)

        try:
            await self._serve(scope, receive, logged_send, note)
        finally:
            self._log.log(note, started)  # after the whole response (a download's too) is sent

    async def _serve(self, scope: Scope, receive: Receive, send: Send, note: Note | None) -> None:
        # ASGI servers send header names lower-cased (the ASGI spec requires it).
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        raw_path = scope.get("raw_path") or scope["path"].encode()
        request = Request(
            scope["method"],
            raw_path.decode("latin-1").split("?", 1)[0],
            scope.get("query_string", b"").decode("latin-1"),
            headers,
        )
        if blob_routes.is_blob_path(request.raw_path):
            if note is not None:
                note.operation = _operation_name(request)
            await self._blob(request, receive, send)
            return
        limit = self.runtime.settings.max_request_bytes
        try:
            if _declared_length(headers) > limit:
                raise _TooLarge
            body = await _read_body(receive, limit)
        except _TooLarge:
            if note is not None:
                note.operation = _operation_name(request)
            await _send(send, too_large(limit))  # and uvicorn closes the connection (`Connection: close`)
            return
        if body is None:  # the client went away before its body was complete: nothing to answer
            return
        request.body = body
        scheme = scope.get("scheme", "http")
        response = await self._answer(request, scheme, receive, note)
        if response is not None:
            await _send(send, response)

    async def _answer(
        self, request: Request, scheme: str, receive: Receive, note: Note | None = None
    ) -> Response | None:
        """The response, a long poll's included: it waits here on the loop, holding no thread,
        and each pass over the request is one short read on a thread. None: the client of a
        long poll went away while it waited (nobody to answer, and its wait ends with it)."""
        threads = self._threads_for(request)
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        gone: asyncio.Future[None] | None = None  # the client's disconnect, watched while waiting
        try:
            while True:
                may_wait = deadline is None or loop.time() < deadline
                if threads is None:
                    answer = route_once(self.runtime, request, scheme, may_wait=may_wait, note=note)
                else:
                    answer = await loop.run_in_executor(
                        threads,
                        functools.partial(
                            route_once, self.runtime, request, scheme, may_wait=may_wait, note=note
                        ),
                    )
                if isinstance(answer, Response):
                    return answer
                deadline = deadline if deadline is not None else loop.time() + answer.seconds
                gone = gone or asyncio.ensure_future(_disconnected(receive))
                with answer.subscription as subscription:
                    waiting = asyncio.ensure_future(subscription.wait_async(max(0.0, deadline - loop.time())))
                    await asyncio.wait((waiting, gone), return_when=asyncio.FIRST_COMPLETED)
                    if gone.done():
                        waiting.cancel()
                        return None
        finally:
            if gone is not None:
                gone.cancel()

    def _threads_for(self, request: Request) -> ThreadPoolExecutor | None:
        """The pool a request that could wait runs on; None: answer it on the event loop.

        Long polls get a pool of their own, so that they can never take every thread writes need.
        """
        try:
            operation: str | None = default_router().match(request.method, request.raw_path).operation
        except ServiceError:  # not an API route: the control plane or an unknown path
            operation = None
        if operation in waiting_operations():
            return self._waiters
        if _is_console(request.raw_path):
            return self._writers  # a page of a large list takes longer than the loop may be held
        if request.method not in READ_METHODS or not self._loop_reads:
            return self._writers
        return None

    async def _io(self, func: Callable[..., T], *args: Any) -> T:
        """Run store or blob I/O: inline on the embedded store, on a thread when it is remote."""
        if self._loop_reads:
            return func(*args)
        return await asyncio.get_running_loop().run_in_executor(self._writers, func, *args)

    async def _blob(self, request: Request, receive: Receive, send: Send) -> None:
        """Signed links, streamed both ways: uploads can be far larger than what we buffer."""
        if request.method != "PUT":
            response, body = await self._io(blob_routes.download, self.runtime, request)
            await _send(send, response, body, self._io)
            return
        try:
            receiver = blob_routes.upload_receiver(self.runtime, request)
            await self._io(receiver.begin)
        except LinkError as error:
            await _drain(receive)
            await _send(send, blob_routes.error_response(error))
            return
        try:
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    receiver.abort()
                    return
                await self._io(receiver.write, message.get("body", b""))
                more = message.get("more_body", False)
            etag = await asyncio.get_running_loop().run_in_executor(self._writers, receiver.finish)
            response = blob_routes.put_response(etag)
        except LinkError as error:
            receiver.abort()
            response = blob_routes.error_response(error)
        except BaseException:
            receiver.abort()
            raise
        await _send(send, response)


async def _send(
    send: Send,
    response: Response,
    chunks: Iterator[bytes] | None = None,
    io: Callable[..., Awaitable[Any]] | None = None,
) -> None:
    """Send a response; `chunks` are read one by one through `io` (a thread, for remote blobs)."""
    headers = [(_header_name(k), v.encode("latin-1")) for k, v in response.headers]
    if chunks is None and response.header("content-length") is None:
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if chunks is None:
        await send({"type": "http.response.body", "body": response.body})
        return
    done = object()
    while (chunk := (await io(next, chunks, done)) if io is not None else next(chunks, done)) is not done:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


@functools.lru_cache(maxsize=256)
def _header_name(name: str) -> bytes:
    """A response header's name as bytes: the few names there are, encoded once."""
    return name.encode("latin-1")


async def _disconnected(receive: Receive) -> None:
    """Returns once the client has disconnected (its whole body was read before)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _drain(receive: Receive) -> None:
    """Read and drop a request body we refuse, so the connection stays usable."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body"):
            return


def too_large(limit: int) -> Response:
    """The 413 for a body over `limit`, in AWS's JSON error shape; the connection then closes:
    the rest of the body is never read."""
    response = serialize_error(request_too_large(limit), new_request_id())
    response.headers.append(("Connection", "close"))
    return response


class _TooLarge(Exception):
    """A request body over `max_request_bytes`, declared or streamed."""


def _declared_length(headers: dict[str, str]) -> int:
    """The body's `Content-Length`; 0 without one. The parser has checked that it is digits (and
    fits 64 bits), so this never converts an unbounded number."""
    declared = headers.get("content-length", "").strip()
    if not (declared.isascii() and declared.isdigit()):
        return 0
    return int(declared) if len(declared) <= 20 else 2**64


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, read as it arrives; `_TooLarge` as soon as more than `limit` bytes have
    come (with or without a Content-Length); None if the client disconnected first."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
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
