"""The request pipeline: route -> identify -> parse -> validate -> handle -> serialize.

Each step is a separate piece (smithy-rs style); this function only strings them together
and is the one place that turns any exception into a response, so a client never sees a
traceback: modeled errors keep their shape, anything else is logged here and answered with a
bare 500.
"""

from __future__ import annotations

import logging
import uuid

from qconnect_local.protocol.errors import ServiceError, internal_error, not_implemented
from qconnect_local.protocol.http import Request, Response
from qconnect_local.protocol.parser import parse_input
from qconnect_local.protocol.router import default_router
from qconnect_local.protocol.serializer import serialize_error, serialize_output
from qconnect_local.protocol.validator import checker, raise_for_errors
from qconnect_local.runtime import Runtime
from qconnect_local.server.auth import AuthError, parse_identity, verify_sigv4
from qconnect_local.service import handlers
from qconnect_local.service.context import Call
from qconnect_local.spec import operation

log = logging.getLogger("qconnect_local")


def handle_api(runtime: Runtime, request: Request, base_url: str) -> Response:
    request_id = str(uuid.uuid4())
    try:
        match = default_router().match(request.method, request.raw_path)
        settings = runtime.settings
        if settings.enforce_sigv4:
            _authenticate(runtime, request)
        identity = parse_identity(
            request.headers.get("authorization"), settings.default_account, settings.default_region
        )
        op = operation(match.operation)
        params = parse_input(op, request, match.labels)
        if op.input_shape is not None:
            errors: list[str] = []
            checker(op.input_shape)(params, "", errors)
            raise_for_errors(errors)
        handler = handlers.get(match.operation)
        if handler is None:
            raise not_implemented(match.operation)
        call = Call(runtime, identity.account, identity.region, match.operation, request_id, base_url)
        return serialize_output(op, handler(call, params), request_id)
    except ServiceError as error:
        return serialize_error(error, request_id)
    except Exception:
        log.exception(
            "internal error serving %s %s (request %s)", request.method, request.raw_path, request_id
        )
        return serialize_error(internal_error(), request_id)


def _authenticate(runtime: Runtime, request: Request) -> None:
    try:
        verify_sigv4(
            request.method,
            request.raw_path,
            request.query_string,
            request.headers,
            request.body,
            runtime.settings.credentials,
            runtime.clock.now(),
        )
    except AuthError as error:
        raise ServiceError(error.code, error.message, status=error.status) from None
