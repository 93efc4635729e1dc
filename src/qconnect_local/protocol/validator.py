"""Server-side validation of every input constraint the model states.

botocore checks only `required`, `min` and unions on the client, so this is where users learn
about `max`, `pattern`, `enum` and ranges. All violations are collected and reported in one
`ValidationException` worded like AWS's front door:
`2 validation errors detected: Value 'x' at 'name' failed to satisfy constraint: Member must ...`.
The message stays short whatever the request: a value is quoted up to `QUOTED_PREFIX`
characters (then `... (N characters)`, or `(N items)` for a list or map), sensitive ones not at
all, and the first `LISTED_ERRORS` violations are spelled out, then how many more there are.

Each shape is compiled once into a checker closure (cached by shape name: in botocore
constraints live on the target shape, never on the member reference), so the hot path is a
few comparisons. The model's patterns are unanchored: they match anywhere (`search`).
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Iterable
from typing import Any

import regex
from botocore.model import OperationModel, Shape

from qconnect_local.protocol.compiled import CompiledCache
from qconnect_local.protocol.errors import QUOTED_PREFIX, ServiceError, quoted

Checker = Callable[[Any, str, list[str]], None]
REDACTED = "*** Sensitive Data Redacted ***"
# At most this many violations are spelled out (the count is always the whole number): with each
# value quoted short, the message stays small however many members a huge request gets wrong.
LISTED_ERRORS = 20


def validate(shape: Shape, value: Any) -> list[str]:
    """Every constraint violation of `value` against `shape`, as AWS-worded messages."""
    errors: list[str] = []
    checker(shape)(value, "", errors)
    return errors


def raise_for_errors(errors: list[str]) -> None:
    if errors:
        noun = "error" if len(errors) == 1 else "errors"
        listed = "; ".join(errors[:LISTED_ERRORS])
        if len(errors) > LISTED_ERRORS:
            listed += f"; and {len(errors) - LISTED_ERRORS} more"
        raise ServiceError("ValidationException", f"{len(errors)} validation {noun} detected: {listed}")


def check_input(op: OperationModel, params: Any) -> None:
    """ValidationException, as AWS words it, for an operation's input that breaks its model."""
    if op.input_shape is not None:
        raise_for_errors(validate(op.input_shape, params))


def checker(shape: Shape) -> Checker:
    return _compile(shape.name, shape)


def _show(shape: Shape, value: Any) -> str:
    """A value as a message quotes it: at most `QUOTED_PREFIX` characters of it (see `quoted`)."""
    if value is None:
        return "null"
    if shape.metadata.get("sensitive") or (isinstance(value, (list, dict)) and _holds_sensitive(shape)):
        return f"'{REDACTED}'"
    if isinstance(value, list):
        return "'[" + _items(map(_item, value), len(value)) + "]'"
    if isinstance(value, dict):
        return "'{" + _items((f"{_item(k)}={_item(v)}" for k, v in value.items()), len(value)) + "}'"
    if isinstance(value, bool):
        return f"'{str(value).lower()}'"
    return f"'{quoted(str(value))}'"


# Containers inside a quoted list or map, shown short without rendering them whole first.
_NESTED = reprlib.Repr()
_NESTED.maxstring = _NESTED.maxother = QUOTED_PREFIX
_NESTED.maxlevel = 3
_NESTED.maxlist = _NESTED.maxdict = _NESTED.maxtuple = _NESTED.maxset = 64


def _item(value: Any) -> str:
    return _NESTED.repr(value) if isinstance(value, (list, dict, tuple, set)) else quoted(str(value))


def _items(parts: Iterable[str], count: int) -> str:
    """`parts` joined by ", ", read only as far as the first `QUOTED_PREFIX` characters: a long
    list or map is never rendered whole (a map's every bad key quotes the map)."""
    shown: list[str] = []
    size = 0
    for part in parts:
        shown.append(part)
        size += len(part) + 2
        if size > QUOTED_PREFIX:
            break
    text = ", ".join(shown)
    if len(shown) == count and len(text) <= QUOTED_PREFIX:
        return text
    return f"{text[:QUOTED_PREFIX]}... ({count} items)"


def _holds_sensitive(shape: Shape) -> bool:
    """Whether a list, map or structure has a sensitive value anywhere inside: shown whole in a
    message, it would give that value away."""
    known = _SENSITIVE_INSIDE.get(shape.name)
    if known is None:
        known = _SENSITIVE_INSIDE[shape.name] = _find_sensitive(shape)
    return known


_SENSITIVE_INSIDE: dict[str, bool] = {}


def _find_sensitive(shape: Shape) -> bool:
    seen: set[str] = set()
    pending = [shape]
    while pending:
        current = pending.pop()
        if current.name in seen:
            continue
        seen.add(current.name)
        if current.metadata.get("sensitive"):
            return True
        kind = current.type_name
        if kind == "structure":
            pending += current.members.values()
        elif kind == "list":
            pending.append(current.member)
        elif kind == "map":
            pending += (current.key, current.value)
    return False


def _fail(errors: list[str], shape: Shape, value: Any, path: str, constraint: str) -> None:
    errors.append(f"Value {_show(shape, value)} at '{path}' failed to satisfy constraint: {constraint}")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


_CHECKERS: CompiledCache[Checker] = CompiledCache()


def _compile(name: str, shape: Shape) -> Checker:
    return _CHECKERS.get(name, lambda: _build(shape))


def _build(shape: Shape) -> Checker:
    kind = shape.type_name
    meta = shape.metadata
    if meta.get("document"):
        return lambda value, path, errors: None
    if kind == "structure":
        return _structure(shape)
    if kind == "list":
        return _sized(shape, _collection(shape.member, shape))
    if kind == "map":
        return _sized(shape, _map(shape))
    if kind == "string":
        return _string(shape)
    if kind in ("integer", "long", "float", "double"):
        return _number(shape)
    return lambda value, path, errors: None


def _structure(shape: Shape) -> Checker:
    members = list(shape.members.items())
    required = tuple(shape.required_members)
    is_union = bool(shape.metadata.get("union"))
    children = [(name, member, _compile(member.name, member)) for name, member in members]

    def check(value: Any, path: str, errors: list[str]) -> None:
        for name in required:
            if value.get(name) is None:
                _fail(errors, shape, None, _join(path, name), "Member must not be null")
        present = 0
        for name, _member, child in children:
            item = value.get(name)
            if item is not None:
                present += 1
                child(item, _join(path, name), errors)
        if is_union and present != 1:
            errors.append(
                f"Value at '{path or shape.name}' failed to satisfy constraint: "
                f"Union must have exactly one member set, but {present} were set"
            )

    return check


def _collection(member: Shape, parent: Shape) -> Checker:
    child = _compile(member.name, member)

    def check(value: Any, path: str, errors: list[str]) -> None:
        for index, item in enumerate(value, start=1):
            if item is None:
                _fail(errors, member, None, f"{path}.{index}.member", "Member must not be null")
            else:
                child(item, f"{path}.{index}.member", errors)

    return check


def _map(shape: Shape) -> Checker:
    key_shape, value_shape = shape.key, shape.value
    key_check, value_check = _compile(key_shape.name, key_shape), _compile(value_shape.name, value_shape)

    def check(value: Any, path: str, errors: list[str]) -> None:
        for key, item in value.items():
            key_errors: list[str] = []
            key_check(key, path, key_errors)
            if key_errors:
                reasons = ", ".join(e.split("constraint: ", 1)[-1] for e in key_errors)
                errors.append(
                    f"Value {_show(shape, value)} at '{path}' failed to satisfy constraint: "
                    f"Map keys must satisfy constraint: [{reasons}]"
                )
            value_check(item, f"{path}.{key}", errors)

    return check


def _sized(shape: Shape, inner: Checker) -> Checker:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")

    def check(value: Any, path: str, errors: list[str]) -> None:
        if low is not None and len(value) < low:
            _fail(errors, shape, value, path, f"Member must have length greater than or equal to {low}")
        if high is not None and len(value) > high:
            _fail(errors, shape, value, path, f"Member must have length less than or equal to {high}")
        inner(value, path, errors)

    return check


def _string(shape: Shape) -> Checker:
    meta = shape.metadata
    low, high = meta.get("min"), meta.get("max")
    enum = tuple(meta.get("enum") or ())
    enum_set = frozenset(enum)
    raw_pattern = meta.get("pattern")
    pattern = regex.compile(raw_pattern) if raw_pattern else None

    def check(value: Any, path: str, errors: list[str]) -> None:
        if low is not None and len(value) < low:
            _fail(errors, shape, value, path, f"Member must have length greater than or equal to {low}")
        if high is not None and len(value) > high:
            _fail(errors, shape, value, path, f"Member must have length less than or equal to {high}")
        if enum_set and value not in enum_set:
            _fail(errors, shape, value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        if pattern is not None and pattern.search(value) is None:
            _fail(
                errors, shape, value, path, f"Member must satisfy regular expression pattern: {raw_pattern}"
            )

    return check


def _number(shape: Shape) -> Checker:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")

    def check(value: Any, path: str, errors: list[str]) -> None:
        if low is not None and value < low:
            _fail(errors, shape, value, path, f"Member must have value greater than or equal to {low}")
        if high is not None and value > high:
            _fail(errors, shape, value, path, f"Member must have value less than or equal to {high}")

    return check
