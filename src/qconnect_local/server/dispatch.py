"""The request pipeline: route -> identify -> parse -> validate -> handle -> serialize.

Each step is a separate piece (smithy-rs style); this function only strings them together
and is the one place that turns any exception into a response, so a client never sees a
traceback: modeled errors keep their shape, anything else is logged here and answered with a
bare 500.
"""

from __future__ import annotations

import logging
import os
import random

from qconnect_local.protocol.errors import ServiceError, conflict, internal_error, not_implemented
from qconnect_local.protocol.http import Request, Response
from qconnect_local.protocol.output_check import check_output
from qconnect_local.protocol.parser import parse_input
from qconnect_local.protocol.router import default_router
from qconnect_local.protocol.serializer import serialize_error, serialize_output
from qconnect_local.protocol.validator import check_input
from qconnect_local.runtime import Runtime
from qconnect_local.server.auth import AuthError, Identity, parse_identity, verify_sigv4
from qconnect_local.server.request_log import Note
from qconnect_local.service import handlers
from qconnect_local.service.context import Call, Suspend
from qconnect_local.spec import operation
from qconnect_local.store.engine import StoreBusy
from qconnect_local.store.errors import StoreConflict

log = logging.getLogger("qconnect_local")

# Request ids only need to be unique, not secret: a private generator (never the global
# `random`, whose sequence tests may seed) is several times cheaper than uuid.uuid4().
_ids = random.Random()
os.register_at_fork(after_in_child=_ids.seed)
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant


def new_request_id() -> str:
    """A random UUID4 in its usual text form, as AWS's `x-amzn-RequestId` is."""
    h = f"{_ids.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def handle_api(
    runtime: Runtime,
    request: Request,
    base_url: str,
    *,
    may_wait: bool = False,
    note: Note | None = None,
) -> Response | Suspend:
    """The response to an API request; with `may_wait`, a long poll that found nothing yet
    returns its `Suspend` instead, for the caller to wait on and ask again (`long_poll`).
    `note`, when given, learns the operation and account, for the request log."""
    request_id = new_request_id()
    try:
        match = default_router().match(request.method, request.raw_path)
        if note is not None:
            note.operation = "qconnect." + match.operation
        settings = runtime.settings
        identity = _identify(runtime, request)
        if note is not None:
            note.account = identity.account
        op = operation(match.operation)
        params = parse_input(op, request, match.labels)
        check_input(op, params)
        handler = handlers.get(match.operation)
        if handler is None:
            raise not_implemented(match.operation)
        call = Call(
            runtime, identity.account, identity.region, match.operation, request_id, base_url, may_wait
        )
        output = handler(call, params)
        if settings.strict_outputs:
            check_output(op, output)
        return serialize_output(op, output, request_id)
    except Suspend as suspended:
        return suspended
    except ServiceError as error:
        return serialize_error(error, request_id)
    except StoreBusy:
        # The store's write lock stayed taken past its bound (docs/behaviour.md): nothing was
        # written, and a retry is the answer.
        return serialize_error(conflict("The store is busy with other writes; retry the request"), request_id)
    except StoreConflict:
        # A unique constraint caught a race the handler's own check could not see (two writers
        # on PostgreSQL creating the same name at once): the loser conflicts, as AWS answers.
        return serialize_error(
            conflict("The request conflicts with a resource created at the same time; retry it"), request_id
        )
    except Exception:
        log.exception(
            "internal error serving %s %s (request %s)", request.method, request.raw_path, request_id
        )
        return serialize_error(internal_error(), request_id)


def _identify(runtime: Runtime, request: Request) -> Identity:
    """Whose data the request works on, in which region.

    Under `enforce_sigv4` that is the credential the signature was verified against and
    nothing else, so no unsigned or unchecked part of the request can pick the account;
    otherwise it is read, unchecked, from the same credential (header or presigned query).
    """
    settings = runtime.settings
    if settings.enforce_sigv4:
        return _authenticate(runtime, request)
    return parse_identity(
        request.headers.get("authorization"),
        settings.default_account,
        settings.default_region,
        request.query_string,
    )


def _authenticate(runtime: Runtime, request: Request) -> Identity:
    """The verified signer's identity, or the auth failure as the ServiceError AWS would answer."""
    try:
        signer = verify_sigv4(
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
    return signer.identity(runtime.settings.default_account)
