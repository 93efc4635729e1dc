"""Turn an operation's output (native values) into the restJson1 response, as the model says.

Timestamps follow each shape's `timestampFormat` (epoch-second numbers by default in
restJson1, ISO-8601 where the model says so); `None` members are left out, never sent as
`null`; a 204 carries no body. Errors get `X-Amzn-Errortype`, the modeled members and the
model's status.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from botocore.model import OperationModel, Shape

from qconnect_local.protocol.errors import ServiceError
from qconnect_local.protocol.http import Response

JSON = "application/json"


def serialize_output(op: OperationModel, output: dict[str, Any] | None, request_id: str) -> Response:
    status = int(op.http.get("responseCode", 200))
    headers = [("x-amzn-RequestId", request_id)]
    shape = op.output_shape
    body: dict[str, Any] = {}
    if shape is not None and output:
        for name, member in shape.members.items():
            value = output.get(name)
            if value is None:
                continue
            location = member.serialization.get("location")
            wire_name = member.serialization.get("name", name)
            if location == "header":
                headers.append((wire_name, str(to_json(member, value))))
            elif location == "statusCode":
                status = int(value)
            else:
                body[wire_name] = to_json(member, value)
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


def dumps(document: Any) -> bytes:
    """Compact UTF-8 JSON; never raises on text, since error replies are built with it too."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate: only an escape can carry it
        return json.dumps(document, separators=(",", ":")).encode()


def to_json(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure" and not shape.metadata.get("document"):
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            item = value.get(name)
            if item is not None:
                out[member.serialization.get("name", name)] = to_json(member, item)
        return out
    if kind == "list":
        member = shape.member
        return [to_json(member, item) for item in value]
    if kind == "map":
        value_shape = shape.value
        return {k: to_json(value_shape, v) for k, v in value.items() if v is not None}
    if kind == "timestamp":
        return format_timestamp(value, shape.serialization.get("timestampFormat", "unixTimestamp"))
    if kind == "blob":
        return base64.b64encode(value).decode()
    return value


def format_timestamp(value: datetime, fmt: str) -> Any:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if fmt == "iso8601":
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if fmt == "rfc822":
        from email.utils import format_datetime

        return format_datetime(value.astimezone(UTC), usegmt=True)
    seconds = value.timestamp()
    return int(seconds) if seconds == int(seconds) else round(seconds, 3)
