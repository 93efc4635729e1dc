"""Turn a routed request into the operation's input parameters, typed as the model says.

Uri labels and query strings arrive as text and are converted; the JSON body must already
carry the right JSON types (a string where a string is modeled, ...), otherwise the request is
a `SerializationException`, which is what AWS answers for a body it cannot deserialize.
Unknown members are ignored, as AWS does. Constraints are the validator's job, not this one's,
but what no model value can be is refused here: integers outside the 32/64-bit range of
`integer`/`long`, non-finite numbers, lone UTF-16 surrogates and nesting deeper than
`MAX_NESTING` (so no later step can overflow the stack or fail to encode a reply).

The model is read once, not per request: each operation gets a plan (where every member comes
from, and its converter) and each body shape a converter closure, cached by shape name like
the validator's checkers. Strings and booleans, most of any body, are taken after a bare type
check; anything else goes through its shape's converter, which owns every error message.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from botocore.model import OperationModel, Shape

from qconnect_local.protocol.compiled import CompiledCache
from qconnect_local.protocol.errors import ServiceError, quoted, serialization_error
from qconnect_local.protocol.http import Request

MAX_NESTING = 100  # JSON levels; the model's deepest non-recursive input nests 12
_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
# Numbers are bounded before they are converted: Python's int() refuses more than 4,300 digits
# with a ValueError, and takes time quadratic in the digits below that. No model integer has
# more than 19 digits; a JSON body's integers (documents included) may have up to
# MAX_JSON_INTEGER_DIGITS. Beyond, the request is a SerializationException, like any other
# number out of its type's range.
MAX_TEXT_INTEGER_DIGITS = 19
MAX_JSON_INTEGER_DIGITS = 64
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

Converter = Callable[[Any, str, int], Any]  # (JSON value, path, depth) -> parameter value
# A body member: (wire name, parameter name, JSON types taken as they are or None, converter).
Entry = tuple[str, str, tuple[type, ...] | None, Converter]
# A uri/querystring/header member: (location, parameter name, wire name (lower-case for a
# header), the shape its text converts to or None when the text is the value, is a query list).
Step = tuple[str, str, str, Shape | None, bool]


def parse_input(op: OperationModel, request: Request, labels: dict[str, str]) -> dict[str, Any]:
    plan = _PLANS.get(op, lambda: _build_plan(op))
    params: dict[str, Any] = {}
    query: dict[str, list[str]] | None = None
    for location, name, wire_name, text_shape, is_list in plan.steps:
        if location == "uri":
            if wire_name in labels:
                text = labels[wire_name]
                params[name] = text if text_shape is None else _from_text(text_shape, text, name)
        elif location == "querystring":
            if query is None:
                query = _query(request.query_string)
            if wire_name in query:
                values = query[wire_name]
                if is_list:
                    params[name] = [
                        v if text_shape is None else _from_text(text_shape, v, name) for v in values
                    ]
                else:
                    text = values[-1]
                    params[name] = text if text_shape is None else _from_text(text_shape, text, name)
        else:
            value = request.headers.get(wire_name)
            if value is not None:
                params[name] = value if text_shape is None else _from_text(text_shape, value, name)
    if plan.body:
        document = _json_body(request.body)
        for wire_name, name, types, convert in plan.body:
            value = document.get(wire_name)
            if value is not None:
                if types is not None and isinstance(value, types):
                    params[name] = value
                else:
                    params[name] = convert(value, wire_name, 1)
    return params


# --- per-operation plans ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    steps: tuple[Step, ...]  # in model order, as the members were read before plans
    body: tuple[Entry, ...]


_PLANS: CompiledCache[_Plan] = CompiledCache()
_TEXT_KINDS = frozenset({"integer", "long", "float", "double", "boolean", "timestamp"})


def _build_plan(op: OperationModel) -> _Plan:
    shape = op.input_shape
    if shape is None:
        return _Plan((), ())
    steps: list[Step] = []
    body_members: dict[str, Shape] = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location in ("uri", "querystring", "header"):
            is_list = location == "querystring" and member.type_name == "list"
            text_shape = member.member if is_list else member
            steps.append(
                (
                    location,
                    name,
                    wire_name.lower() if location == "header" else wire_name,
                    text_shape if text_shape.type_name in _TEXT_KINDS else None,
                    is_list,
                )
            )
        else:
            body_members[wire_name] = member
    body = tuple(
        (wire_name, _member_name(shape, wire_name), _as_is(member), _converter(member))
        for wire_name, member in body_members.items()
    )
    return _Plan(tuple(steps), body)


def _member_name(shape: Shape, wire_name: str) -> str:
    for name, member in shape.members.items():
        if member.serialization.get("name", name) == wire_name:
            return str(name)
    return wire_name


# --- text: labels, query strings, headers -------------------------------------------------------


def _query(query_string: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    try:
        pairs = parse_qsl(query_string, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise serialization_error("Query string is not valid percent-encoded UTF-8") from exc
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


def _from_text(shape: Shape, text: str, path: str) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        if not _INTEGER_TEXT.fullmatch(text):
            raise serialization_error(f"Value '{quoted(text)}' at '{path}' is not a valid integer")
        sign = "-" if text.startswith("-") else ""
        digits = text.lstrip("+-").lstrip("0") or "0"
        if len(digits) > MAX_TEXT_INTEGER_DIGITS:
            raise _out_of_range(kind, text, path)
        return _in_range(kind, int(sign + digits), path)
    if kind in ("float", "double"):
        try:
            number = float(text)
        except ValueError as exc:
            raise serialization_error(f"Value '{quoted(text)}' at '{path}' is not a valid number") from exc
        return _finite(number, path)
    if kind == "boolean":
        if text in ("true", "false"):
            return text == "true"
        raise serialization_error(f"Value '{quoted(text)}' at '{path}' is not a valid boolean")
    if kind == "timestamp":
        return _timestamp(text, path)
    return text


# --- the JSON body ------------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _bounded_int(text: str) -> int:
    if len(text) - text.startswith("-") > MAX_JSON_INTEGER_DIGITS:
        raise ValueError(f"an integer has more than {MAX_JSON_INTEGER_DIGITS} digits")
    return int(text)


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_int=_bounded_int)


def _json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        # Strict UTF-8 first: json.loads(bytes) would let encoded surrogates through.
        text = body.decode()
        if text.startswith("\ufeff"):  # what json.loads refuses before decoding
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        document = _DECODER.decode(text)
    except ValueError as exc:  # UnicodeDecodeError included
        raise serialization_error(f"Request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise serialization_error("Request body is nested too deeply") from exc
    if not isinstance(document, dict):
        raise serialization_error("Request body must be a JSON object")
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):  # escapes may pair up into one character, or not
        try:
            json.dumps(document, ensure_ascii=False).encode()
        except UnicodeEncodeError as exc:
            raise serialization_error("Request body contains an unpaired UTF-16 surrogate") from exc
    return document


# The JSON types each model type accepts in a body (booleans are kept apart from numbers).
JSON_TYPES: dict[str, tuple[type, ...]] = {
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
# Kinds whose JSON value is the parameter as it is, once its type is right (no bool/int overlap).
_AS_IS = frozenset({"string", "boolean"})


def _json_type_ok(kind: str, value: Any) -> bool:
    if isinstance(value, bool):  # JSON true/false is a Python int subclass: only booleans take it
        return kind == "boolean"
    return isinstance(value, JSON_TYPES.get(kind, (object,)))


def _in_range(kind: str, number: int, path: str) -> int:
    low, high = _RANGES[kind]
    if not low <= number <= high:
        raise _out_of_range(kind, str(number), path)
    return number


def _out_of_range(kind: str, text: str, path: str) -> ServiceError:
    return serialization_error(f"Value '{quoted(text)}' at '{path}' is out of range for type {kind}")


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


def _nested(path: str) -> ServiceError:
    return serialization_error(f"Value at '{path}' is nested more than {MAX_NESTING} levels deep")


def _wrong_type(kind: str, value: Any, path: str) -> ServiceError:
    return serialization_error(f"Value at '{path}' must be of type {kind}, got {type(value).__name__}")


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
        raise serialization_error(
            f"Value '{quoted(str(value))}' at '{path}' is not a valid timestamp"
        ) from exc


def _base64(value: str, path: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise serialization_error(f"Value at '{path}' is not valid base64") from exc


# --- per-shape converters -----------------------------------------------------------------------

_CONVERTERS: CompiledCache[Converter] = CompiledCache()


def _converter(shape: Shape) -> Converter:
    """The compiled converter for `shape`."""
    return _CONVERTERS.get(shape.name, lambda: _build(shape))


def _as_is(shape: Shape) -> tuple[type, ...] | None:
    """The JSON types a value of `shape` is taken as, after a bare type check; None: convert it."""
    if shape.type_name in _AS_IS and not shape.metadata.get("document"):
        return JSON_TYPES[shape.type_name]
    return None


def _build(shape: Shape) -> Converter:
    kind = shape.type_name
    if shape.metadata.get("document"):
        return _document
    if kind == "structure":
        return _structure(
            tuple(
                (member.serialization.get("name", name), name, _as_is(member), _converter(member))
                for name, member in shape.members.items()
            )
        )
    if kind == "list":
        return _list(shape.member)
    if kind == "map":
        return _map(shape.key, shape.value)
    if kind in _RANGES:
        return _scalar(kind, lambda value, path: _in_range(kind, value, path))
    if kind in ("float", "double"):
        return _scalar(kind, _finite)
    if kind == "timestamp":
        return _scalar(kind, _timestamp)
    if kind == "blob":
        return _scalar(kind, _base64)
    return _scalar(kind, None)


def _document(value: Any, path: str, depth: int) -> Any:
    if depth > MAX_NESTING or _too_deep(value, MAX_NESTING - depth):
        raise _nested(path)
    return value


def _scalar(kind: str, finish: Callable[[Any, str], Any] | None) -> Converter:
    def convert(value: Any, path: str, depth: int) -> Any:
        if depth > MAX_NESTING:
            raise _nested(path)
        if not _json_type_ok(kind, value):
            raise _wrong_type(kind, value, path)
        return value if finish is None else finish(value, path)

    return convert


def _structure(entries: tuple[Entry, ...]) -> Converter:
    def convert(value: Any, path: str, depth: int) -> dict[str, Any]:
        if depth > MAX_NESTING:
            raise _nested(path)
        if not isinstance(value, dict):
            raise _wrong_type("structure", value, path)
        inner = depth + 1
        fast = inner <= MAX_NESTING
        out: dict[str, Any] = {}
        for wire_name, name, types, child in entries:
            item = value.get(wire_name)
            if item is not None:
                if fast and types is not None and isinstance(item, types):
                    out[name] = item
                else:
                    out[name] = child(item, f"{path}.{name}", inner)
        return out

    return convert


def _list(member: Shape) -> Converter:
    types, child = _as_is(member), _converter(member)

    def convert(value: Any, path: str, depth: int) -> list[Any]:
        if depth > MAX_NESTING:
            raise _nested(path)
        if not isinstance(value, list):
            raise _wrong_type("list", value, path)
        inner = depth + 1
        if types is not None and inner <= MAX_NESTING and all(isinstance(item, types) for item in value):
            return value
        return [child(item, f"{path}.{i + 1}.member", inner) for i, item in enumerate(value)]

    return convert


def _map(key: Shape, item: Shape) -> Converter:
    key_types, key_child = _as_is(key), _converter(key)
    types, child = _as_is(item), _converter(item)

    def convert(value: Any, path: str, depth: int) -> dict[Any, Any]:
        if depth > MAX_NESTING:
            raise _nested(path)
        if not isinstance(value, dict):
            raise _wrong_type("map", value, path)
        inner = depth + 1
        out = {k: v for k, v in value.items() if v is not None}
        if (
            key_types is not None
            and types is not None
            and inner <= MAX_NESTING
            and all(isinstance(k, key_types) and isinstance(v, types) for k, v in out.items())
        ):
            return out
        return {key_child(k, f"{path}.key", inner): child(v, f"{path}.{k}", inner) for k, v in out.items()}

    return convert
