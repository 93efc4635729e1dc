"""The request log: one line per request, on the `qconnect_local.requests` logger at INFO.

    2026-12-01T18:00:00.123Z <request-id> <account> qconnect.<Operation> <status> [<ErrorCode>] <ms>ms

Signed links log as `link.PUT` / `link.GET`, the control plane as `control.<name>`. With
`log_format = "json"` each line is one JSON object (time, requestId, account, operation, status,
errorCode, ms). A line carries only those fields: never a header, a query string (a signed
link's signature lives there), a token or a body.

The server's root level is `warning` by default, so the logger has a handler of its own (to
stderr, whatever `sys.stderr` is at the time) and does not propagate: the log shows at the
default level and `--quiet` (`log_requests = False`) turns it off. Nothing is formatted then.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import weakref
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from qconnect_local.protocol.http import Response

if TYPE_CHECKING:
    from qconnect_local.runtime import Runtime

LOGGER_NAME = "qconnect_local.requests"
logger = logging.getLogger(LOGGER_NAME)


class Note:
    """What one request's log line says, filled in as it is served: dispatch reports the
    operation and account, the transport the answer (`answered` or `started`)."""

    __slots__ = ("account", "error_code", "operation", "request_id", "status")

    def __init__(self) -> None:
        self.operation: str | None = None  # e.g. "qconnect.GetKnowledgeBase", "link.PUT"
        self.account: str | None = None
        self.status = 499  # until answered: the client went away first (nginx's code for it)
        self.request_id: str | None = None
        self.error_code: str | None = None

    def answered(self, response: Response) -> None:
        self.status = response.status
        for key, value in response.headers:
            self._header(key.lower(), value)

    def started(self, message: MutableMapping[str, Any]) -> None:
        """From an ASGI `http.response.start` message."""
        self.status = message["status"]
        for key, value in message.get("headers", ()):
            self._header(key.decode("latin-1").lower(), value.decode("latin-1"))

    def _header(self, lowered: str, value: str) -> None:
        if lowered in ("x-amzn-requestid", "x-amz-request-id"):
            self.request_id = value
        elif lowered == "x-amzn-errortype":
            self.error_code = value.split(":", 1)[0]


class _StderrHandler(logging.StreamHandler):
    """Writes to the current `sys.stderr` (pytest and others swap it), one message a line."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # under the handler's lock (Handler.handle holds it)
        super().emit(record)


def _install_handler() -> None:
    """Once per process, however many Runtimes or Apps: the logger's own stderr handler."""
    if any(isinstance(h, _StderrHandler) for h in logger.handlers):
        return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _timestamp(now: float) -> str:
    seconds = int(now)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int((now - seconds) * 1000):03d}Z"


class RequestLog:
    """One runtime's request log: `log()` writes one line, in its format."""

    __slots__ = ("_json",)

    def __init__(self, log_format: str) -> None:
        self._json = log_format == "json"
        _install_handler()

    def log(self, note: Note, started: float) -> None:
        """One line for the request `note` describes; `started` is its `time.perf_counter()`."""
        if not logger.isEnabledFor(logging.INFO):
            return
        ms = (time.perf_counter() - started) * 1000
        stamp = _timestamp(time.time())
        if self._json:
            line = json.dumps(
                {
                    "time": stamp,
                    "requestId": note.request_id,
                    "account": note.account,
                    "operation": note.operation,
                    "status": note.status,
                    "errorCode": note.error_code,
                    "ms": round(ms, 1),
                },
                separators=(",", ":"),
            )
        else:
            code = f" {note.error_code}" if note.error_code else ""
            line = (
                f"{stamp} {note.request_id or '-'} {note.account or '-'} "
                f"{note.operation or '-'} {note.status}{code} {ms:.1f}ms"
            )
        logger.info(line)


_by_runtime: weakref.WeakKeyDictionary[Runtime, RequestLog | None] = weakref.WeakKeyDictionary()


def for_runtime(runtime: Runtime) -> RequestLog | None:
    """The runtime's request log, made once; None when `log_requests` is off."""
    try:
        return _by_runtime[runtime]
    except KeyError:
        settings = runtime.settings
        made = RequestLog(settings.log_format) if settings.log_requests else None
        _by_runtime[runtime] = made
        return made
