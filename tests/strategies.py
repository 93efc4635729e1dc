"""Hypothesis strategies for any botocore input shape: valid-looking values and deliberate breakage.

`valid(shape)` draws values that meet the model's constraints (enum, `min`/`max`, pattern via
`shapes.pattern_text`, one member per union), recursing like `shapes.sample` does: a second
visit of a recursive shape takes only what must be there. `invalid_json(shape)` draws a JSON
value the model forbids for `shape` (wrong JSON type, out of range, too long, unknown enum
value, broken union, missing required member); `invalid_text` does the same for values carried
as text in a label, query string or header.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import regex
from botocore.model import Shape
from hypothesis import strategies as st

from qconnect_local.protocol.parser import JSON_TYPES
from shapes import _reaches, pattern_text

INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
JSON_SCALARS: tuple[Any, ...] = (0, -1, 1.5, True, False, "text", "", [], {}, ["x"], {"k": "v"}, [{}])
_JSON_KINDS = JSON_TYPES  # what the parser accepts for each model type
BAD_TEXT = (
    "",
    " ",
    "abc",
    "-1",
    "0",
    "1.5",
    "1e400",
    "NaN",
    "99999999999999999999999",
    "%",
    "%zz",
    "%ff%fe",
    "%C3",
    "%00",
    "NOT_AN_ENUM_VALUE",
    "yes",
    "null",
    "é😀",
    "x" * 2100,
    "arn:aws:wisdom:us-east-1:111122223333:knowledge-base/",
)

json_documents = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


def valid(shape: Shape, *, label: bool = False) -> st.SearchStrategy[Any]:
    """Values boto3 would send for `shape` with client-side validation on."""
    return _valid(shape, (), label)


def _valid(shape: Shape, stack: tuple[str, ...], label: bool = False) -> st.SearchStrategy[Any]:
    kind = shape.type_name
    meta = shape.metadata
    if meta.get("document"):
        return json_documents.filter(lambda value: value is not None)  # null is an absent member
    if kind == "structure":
        return _structure(shape, stack)
    if kind == "list":
        low = meta.get("min", 0)
        high = min(meta.get("max", low + 3), low + 3)
        if shape.member.name in stack and not low:
            high = 0
        return st.lists(_valid(shape.member, stack), min_size=low, max_size=high)
    if kind == "map":
        low = meta.get("min", 0)
        high = min(meta.get("max", low + 2), low + 2)
        return st.dictionaries(
            _valid(shape.key, stack), _valid(shape.value, stack), min_size=low, max_size=high
        )
    if kind == "string":
        return _string(shape, label)
    if kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        return st.integers(meta.get("min", low), meta.get("max", high))
    if kind in ("float", "double"):
        return st.floats(meta.get("min"), meta.get("max"), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC))
    if kind == "blob":
        return st.binary(max_size=20)
    raise TypeError(f"no strategy for {kind} shape {shape.name}")


def _structure(shape: Shape, stack: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    closing = shape.name in stack
    inner = (*stack, shape.name)
    members = shape.members
    if shape.metadata.get("union"):
        names = list(members)
        if closing:
            names = [n for n in names if not _reaches(members[n], set(inner))] or names
        return st.one_of(
            [_valid(members[n], inner).map(lambda value, n=n: {n: value}) for n in names]  # type: ignore[misc]
        )
    required = set(shape.required_members)
    return st.fixed_dictionaries(
        {n: _valid(m, inner) for n, m in members.items() if n in required},
        optional={} if closing else {n: _valid(m, inner) for n, m in members.items() if n not in required},
    )


def _string(shape: Shape, label: bool) -> st.SearchStrategy[str]:
    meta = shape.metadata
    if meta.get("enum"):
        return st.sampled_from([str(v) for v in meta["enum"]])
    low, high = meta.get("min", 0), meta.get("max")
    pattern = meta.get("pattern")
    if pattern:
        return st.integers(0, 7).map(lambda v: pattern_text(pattern, v, low)[:high])
    low = max(low, 1) if label else low
    return st.text(min_size=low, max_size=min(high or low + 30, low + 30))


def invalid_json(shape: Shape, depth: int = 0) -> st.SearchStrategy[Any]:
    """A JSON value the model does not allow for `shape` (in a request body), at most 4 levels down."""
    kind = shape.type_name
    meta = shape.metadata
    if meta.get("document"):
        return st.just(_deep(150))  # nesting no model value has
    wrong_type = st.sampled_from([v for v in JSON_SCALARS if not _json_type_ok(kind, v)])
    options: list[st.SearchStrategy[Any]] = [wrong_type]
    if depth >= 4:
        return wrong_type
    high, low = meta.get("max"), meta.get("min")
    if kind == "string":
        if meta.get("enum"):
            options.append(st.just("NOT_AN_ENUM_VALUE"))
        if high is not None:
            options.append(st.just("x" * (high + 1)))
        if low:
            options.append(st.just(""))
        pattern = meta.get("pattern")
        if pattern:
            options.append(
                st.sampled_from(["!!", " ", "\u0000", "é" * 3]).filter(lambda t: not regex.search(pattern, t))
            )
    elif kind in INT_RANGES:
        lowest, highest = INT_RANGES[kind]
        options.append(st.sampled_from([highest + 1, lowest - 1, 2**64, 1.5, 1e308, "7"]))
        if high is not None:
            options.append(st.just(high + 1))
        if low is not None:
            options.append(st.just(low - 1))
    elif kind == "list":
        if high is not None:
            options.append(_valid(shape.member, ()).map(lambda v: [v] * (high + 1)))
        if low:
            options.append(st.just([]))
        options.append(st.deferred(lambda: invalid_json(shape.member, depth + 1)).map(lambda v: [v]))
    elif kind == "map":
        options.append(st.deferred(lambda: invalid_json(shape.value, depth + 1)).map(lambda v: {"key": v}))
    elif kind == "structure":
        if shape.metadata.get("union"):
            names = list(shape.members)
            options.append(st.just({}))
            if len(names) > 1:
                options.append(
                    st.tuples(_valid(shape.members[names[0]], ()), _valid(shape.members[names[1]], ())).map(
                        lambda pair: {names[0]: _jsonable(pair[0]), names[1]: _jsonable(pair[1])}
                    )
                )
        if shape.required_members:
            options.append(st.just({}))
        for name, member in list(shape.members.items())[:4]:
            options.append(_one_broken_member(name, member, depth + 1))
    elif kind == "timestamp":
        options.append(st.sampled_from(["not a time", 1e20, -1e20, "2024-13-45T99:00:00Z"]))
    elif kind == "blob":
        options.append(st.just("not base64!!"))
    return st.one_of(options)


def _one_broken_member(name: str, member: Shape, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.deferred(lambda: invalid_json(member, depth)).map(lambda value: {name: value})


def invalid_text(shape: Shape) -> st.SearchStrategy[str]:
    """Text for a label, query-string or header value that is not a valid value of `shape`."""
    meta = shape.metadata
    extra: list[str] = []
    if meta.get("max") is not None and shape.type_name == "string":
        extra.append("y" * (meta["max"] + 1))
    if shape.type_name in INT_RANGES:
        if meta.get("max") is not None:
            extra.append(str(meta["max"] + 1))
        if meta.get("min") is not None:
            extra.append(str(meta["min"] - 1))
    return st.sampled_from([*BAD_TEXT, *extra]) | st.text(max_size=20)


def _json_type_ok(kind: str, value: Any) -> bool:
    if isinstance(value, bool):
        return kind == "boolean"
    return isinstance(value, _JSON_KINDS.get(kind, (object,)))


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


def _jsonable(value: Any) -> Any:
    """Drawn values as the JSON body carries them (timestamps as epoch seconds, blobs as base64)."""
    import base64

    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
