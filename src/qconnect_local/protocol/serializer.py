"""Turn an operation's output (native values) into the restJson1 response, as the model says.

Timestamps follow each shape's `timestampFormat` (epoch-second numbers by default in
restJson1, ISO-8601 where the model says so); `None` members are left out, never sent as
`null`; a 204 carries no body. Errors get `X-Amzn-Errortype`, the modeled members and the
model's status.

Walking botocore `Shape` objects on every response cost a quarter of a request's CPU, so the
model is read once: each shape compiles to an encoder (cached by shape name, like the
validator's checkers) and each operation to a plan. A shape whose values go out as they are
(strings, numbers, booleans, documents) compiles to `None`, and callers skip the call.
"""

from __future__ import annotations

import _json
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.model import OperationModel, Shape

from qconnect_local.protocol.compiled import CompiledCache
from qconnect_local.protocol.errors import ServiceError
from qconnect_local.protocol.http import Response

JSON = "application/json"

Encoder = Callable[[Any], Any]
Member = tuple[str, str, Encoder | None]  # (member name, wire name, encoder or None: as it is)


def serialize_output(op: OperationModel, output: dict[str, Any] | None, request_id: str) -> Response:
    plan = _PLANS.get(op, lambda: _build_plan(op))
    status = plan.status
    headers = [("x-amzn-RequestId", request_id)]
    body: dict[str, Any] = {}
    if plan.has_shape and output:
        for name, wire_name, encode in plan.headers:
            value = output.get(name)
            if value is not None:
                headers.append((wire_name, str(value if encode is None else encode(value))))
        for name in plan.status_members:
            value = output.get(name)
            if value is not None:
                status = int(value)
        body = plan.body(output)
    if status == 204:
        return Response(204, headers)
    headers.append(("Content-Type", JSON))
    return Response(status, headers, dumps(body))


def serialize_error(error: ServiceError, request_id: str) -> Response:
    body = {"message": error.message, **error.fields}
    headers = [
        ("x-amzn-RequestId", request_id),
        ("X-Amzn-Errortype", error.code),
        ("Content-Type", JSON),
    ]
    return Response(error.status, headers, dumps(body))


# What `json.dumps(separators=(",", ":"), ensure_ascii=False)` runs, built once instead of per
# call (a third of a small reply's encoding time). Without circular-reference markers: a cycle,
# which only a handler bug could make, fails as a RecursionError instead of a ValueError.
_encode_json = _json.make_encoder(
    None, json.JSONEncoder().default, _json.encode_basestring, None, ":", ",", False, False, True
)


def dumps(document: Any) -> bytes:
    """Compact UTF-8 JSON; never raises on text, since error replies are built with it too."""
    text = "".join(_encode_json(document, 0))
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate: only an escape can carry it
        return json.dumps(document, separators=(",", ":")).encode()


def to_json(shape: Shape, value: Any) -> Any:
    encode = _encoder(shape)
    return value if encode is None else encode(value)


def format_timestamp(value: datetime, fmt: str) -> Any:
    return _FORMATS.get(fmt, _epoch_seconds)(value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_seconds(value: datetime) -> Any:
    """`round(value.timestamp(), 3)`, or an int for a whole second, in half the time.

    From whole seconds and microseconds: unless the microseconds lie exactly half-way between
    two milliseconds, the float `timestamp()` (within 0.5 µs of the time below 2**33 s) rounds
    to the same millisecond M, and `round` returns the double nearest M/1000: `M / 1000`.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    seconds = delta.days * 86400 + delta.seconds
    micros = delta.microseconds
    if not micros:
        return seconds
    if micros % 1000 == 500 or not -(2**33) < seconds < 2**33:
        exact = value.timestamp()
        return int(exact) if exact == int(exact) else round(exact, 3)
    return (seconds * 1000 + (micros + 500) // 1000) / 1000


def _iso8601(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _rfc822(value: datetime) -> str:
    from email.utils import format_datetime  # the model never asks for it: not worth loading

    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return format_datetime(value.astimezone(UTC), usegmt=True)


_FORMATS: dict[str, Callable[[datetime], Any]] = {"iso8601": _iso8601, "rfc822": _rfc822}


# --- per-operation plans ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    status: int
    has_shape: bool
    headers: tuple[Member, ...]  # header name as the wire name
    status_members: tuple[str, ...]
    body: Encoder  # the output dict -> the body members only, by wire name


_PLANS: CompiledCache[_Plan] = CompiledCache()


def _build_plan(op: OperationModel) -> _Plan:
    shape = op.output_shape
    headers: list[Member] = []
    status_members: list[str] = []
    body: list[Member] = []
    for name, member in shape.members.items() if shape is not None else ():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "header":
            headers.append((name, wire_name, _encoder(member)))
        elif location == "statusCode":
            status_members.append(name)
        else:
            body.append((name, wire_name, _encoder(member)))
    return _Plan(
        status=int(op.http.get("responseCode", 200)),
        has_shape=shape is not None,
        headers=tuple(headers),
        status_members=tuple(status_members),
        body=_structure(tuple(body)),
    )


# --- per-shape encoders -------------------------------------------------------------------------

_ENCODERS: CompiledCache[Encoder | None] = CompiledCache()


def _encoder(shape: Shape) -> Encoder | None:
    """The compiled encoder for `shape`, or None: values go out as they are."""
    # A member reference may carry its own timestampFormat: it is part of the key.
    key = (shape.name, shape.serialization.get("timestampFormat"))
    return _ENCODERS.get(key, lambda: _build(shape))


def _build(shape: Shape) -> Encoder | None:
    kind = shape.type_name
    if kind == "structure" and not shape.metadata.get("document"):
        return _structure(
            tuple(
                (name, member.serialization.get("name", name), _encoder(member))
                for name, member in shape.members.items()
            )
        )
    if kind == "list":
        return _list(_encoder(shape.member))
    if kind == "map":
        return _map(_encoder(shape.value))
    if kind == "timestamp":
        return _FORMATS.get(shape.serialization.get("timestampFormat", "unixTimestamp"), _epoch_seconds)
    if kind == "blob":
        return _base64
    return None


def _structure(members: tuple[Member, ...]) -> Encoder:
    def encode(value: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        get = value.get
        for name, wire_name, child in members:
            item = get(name)
            if item is not None:
                out[wire_name] = item if child is None else child(item)
        return out

    return encode


def _list(child: Encoder | None) -> Encoder:
    if child is None:
        return lambda value: value if isinstance(value, list | tuple) else list(value)
    return lambda value: list(map(child, value))


def _map(child: Encoder | None) -> Encoder:
    if child is None:  # usually nothing to leave out, and then no copy either
        return lambda value: value if None not in value.values() else _without_none(value)
    return lambda value: {k: child(v) for k, v in value.items() if v is not None}


def _without_none(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None}


def _base64(value: Any) -> str:
    return base64.b64encode(value).decode()
