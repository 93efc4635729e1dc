"""Turn a routed request into the operation's input parameters, typed as the model says.

Uri labels and query strings arrive as text and are converted; the JSON body must already
carry the right JSON types (a string where a string is modeled, ...), otherwise the request is
a `SerializationException`, which is what AWS answers for a body it cannot deserialize.
Unknown members are ignored, as AWS does. Constraints are the validator's job, not this one's,
but what no model value can be is refused here: integers outside the 32/64-bit range of
`integer`/`long`, non-finite numbers, lone UTF-16 surrogates and nesting deeper than
`MAX_NESTING` (so no later step can overflow the stack or fail to encode a reply).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from botocore.model import OperationModel, Shape

from qconnect_local.protocol.errors import serialization_error
from qconnect_local.protocol.http import Request

MAX_NESTING = 100  # JSON levels; the model's deepest non-recursive input nests 12
_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


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
                params[_member_name(shape, wire_name)] = _from_json(member, value, wire_name, 1)
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
        # Strict UTF-8 first: json.loads(bytes) would let encoded surrogates through.
        text = body.decode()
        document = json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:  # UnicodeDecodeError included
        raise serialization_error(f"Request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise serialization_error("Request body is nested too deeply") from exc
    if not isinstance(document, dict):
        raise serialization_error("Request body must be a JSON object")
    if _SURROGATE_ESCAPE.search(text):  # escapes may pair up into one character, or not
        try:
            json.dumps(document, ensure_ascii=False).encode()
        except UnicodeEncodeError as exc:
            raise serialization_error("Request body contains an unpaired UTF-16 surrogate") from exc
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _from_text(shape: Shape, text: str, path: str) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        if not _INTEGER_TEXT.fullmatch(text):
            raise serialization_error(f"Value '{text}' at '{path}' is not a valid integer")
        return _in_range(kind, int(text), path)
    if kind in ("float", "double"):
        try:
            number = float(text)
        except ValueError as exc:
            raise serialization_error(f"Value '{text}' at '{path}' is not a valid number") from exc
        return _finite(number, path)
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


def _in_range(kind: str, number: int, path: str) -> int:
    low, high = _RANGES[kind]
    if not low <= number <= high:
        raise serialization_error(f"Value '{number}' at '{path}' is out of range for type {kind}")
    return number


def _finite(number: float, path: str) -> float:
    if not math.isfinite(number):
        raise serialization_error(f"Value '{number}' at '{path}' is not a finite number")
    return number


def _too_deep(value: Any, budget: int) -> bool:
    """Whether a document nests deeper than `budget` levels (stops looking at the budget)."""
    if isinstance(value, dict | list):
        if budget <= 0:
            return True
        items = value.values() if isinstance(value, dict) else value
        return any(_too_deep(item, budget - 1) for item in items)
    return False


def _from_json(shape: Shape, value: Any, path: str, depth: int) -> Any:
    kind = shape.type_name
    if depth > MAX_NESTING:
        raise serialization_error(f"Value at '{path}' is nested more than {MAX_NESTING} levels deep")
    if shape.metadata.get("document"):
        if _too_deep(value, MAX_NESTING - depth):
            raise serialization_error(f"Value at '{path}' is nested more than {MAX_NESTING} levels deep")
        return value
    if not _json_type_ok(kind, value):
        raise serialization_error(f"Value at '{path}' must be of type {kind}, got {type(value).__name__}")
    if kind == "structure":
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            item = value.get(member.serialization.get("name", name))
            if item is not None:
                out[name] = _from_json(member, item, f"{path}.{name}", depth + 1)
        return out
    if kind == "list":
        member = shape.member
        return [_from_json(member, item, f"{path}.{i + 1}.member", depth + 1) for i, item in enumerate(value)]
    if kind == "map":
        key_shape, value_shape = shape.key, shape.value
        inner = depth + 1
        return {
            _from_json(key_shape, k, f"{path}.key", inner): _from_json(value_shape, v, f"{path}.{k}", inner)
            for k, v in value.items()
            if v is not None
        }
    if kind in _RANGES:
        return _in_range(kind, value, path)
    if kind in ("float", "double"):
        return _finite(value, path)
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
