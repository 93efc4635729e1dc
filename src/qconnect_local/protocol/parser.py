"""Turn a routed request into the operation's input parameters, typed as the model says.

Uri labels and query strings arrive as text and are converted; the JSON body must already
carry the right JSON types (a string where a string is modeled, ...), otherwise the request is
a `SerializationException`, which is what AWS answers for a body it cannot deserialize.
Unknown members are ignored, as AWS does. Constraints are the validator's job, not this one's.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from botocore.model import OperationModel, Shape

from qconnect_local.protocol.errors import serialization_error
from qconnect_local.protocol.http import Request


def parse_input(op: OperationModel, request: Request, labels: dict[str, str]) -> dict[str, Any]:
    shape = op.input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    body_members: dict[str, Shape] = {}
    query: dict[str, list[str]] | None = None
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "uri":
            if wire_name in labels:
                params[name] = _from_text(member, labels[wire_name], name)
        elif location == "querystring":
            if query is None:
                query = _query(request.query_string)
            if wire_name in query:
                values = query[wire_name]
                if member.type_name == "list":
                    params[name] = [_from_text(member.member, v, name) for v in values]
                else:
                    params[name] = _from_text(member, values[-1], name)
        elif location == "header":
            value = request.headers.get(wire_name.lower())
            if value is not None:
                params[name] = _from_text(member, value, name)
        else:
            body_members[wire_name] = member
    if body_members:
        document = _json_body(request.body)
        for wire_name, member in body_members.items():
            value = document.get(wire_name)
            if value is not None:
                params[_member_name(shape, wire_name)] = _from_json(member, value, wire_name)
    return params


def _member_name(shape: Shape, wire_name: str) -> str:
    for name, member in shape.members.items():
        if member.serialization.get("name", name) == wire_name:
            return str(name)
    return wire_name


def _query(query_string: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    try:
        pairs = parse_qsl(query_string, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise serialization_error("Query string is not valid percent-encoded UTF-8") from exc
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


def _json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise serialization_error(f"Request body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise serialization_error("Request body must be a JSON object")
    return document


def _from_text(shape: Shape, text: str, path: str) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        try:
            return int(text)
        except ValueError as exc:
            raise serialization_error(f"Value '{text}' at '{path}' is not a valid integer") from exc
    if kind in ("float", "double"):
        try:
            return float(text)
        except ValueError as exc:
            raise serialization_error(f"Value '{text}' at '{path}' is not a valid number") from exc
    if kind == "boolean":
        if text in ("true", "false"):
            return text == "true"
        raise serialization_error(f"Value '{text}' at '{path}' is not a valid boolean")
    if kind == "timestamp":
        return _timestamp(text, path)
    return text


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "list": (list,),
    "map": (dict,),
    "structure": (dict,),
    "blob": (str,),
    "timestamp": (int, float, str),
}


def _json_type_ok(kind: str, value: Any) -> bool:
    if isinstance(value, bool):  # JSON true/false is a Python int subclass: only booleans take it
        return kind == "boolean"
    return isinstance(value, _JSON_TYPES.get(kind, (object,)))


def _from_json(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    if shape.metadata.get("document"):
        return value
    if not _json_type_ok(kind, value):
        raise serialization_error(f"Value at '{path}' must be of type {kind}, got {type(value).__name__}")
    if kind == "structure":
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            item = value.get(member.serialization.get("name", name))
            if item is not None:
                out[name] = _from_json(member, item, f"{path}.{name}")
        return out
    if kind == "list":
        member = shape.member
        return [_from_json(member, item, f"{path}.{i + 1}.member") for i, item in enumerate(value)]
    if kind == "map":
        key_shape, value_shape = shape.key, shape.value
        return {
            _from_json(key_shape, k, f"{path}.key"): _from_json(value_shape, v, f"{path}.{k}")
            for k, v in value.items()
            if v is not None
        }
    if kind == "timestamp":
        return _timestamp(value, path)
    if kind == "blob":
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise serialization_error(f"Value at '{path}' is not valid base64") from exc
    return value


def _timestamp(value: Any, path: str) -> datetime:
    try:
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, UTC)
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except ValueError:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise serialization_error(f"Value '{value}' at '{path}' is not a valid timestamp") from exc
