"""Deterministic sample values for any botocore shape: every member filled, every constraint met.

Used by the protocol round-trip tests to build inputs and outputs for all operations without a
per-operation list. `sample(shape, variant)` picks, for each union, enum and pattern
alternative, choice number `variant` (modulo the number of choices), so calling it for
`range(variant_count(shape))` sets every union member in turn. Strings meet `min`/`max`,
`enum` and the model's `pattern` (a small generator walks the parsed regular expression; the
one `\\p{..}` class the stdlib cannot parse is read as `\\w`). Unconstrained strings carry
characters that need escaping in paths, queries and JSON. Recursive shapes recurse once.
"""

from __future__ import annotations

import functools
import re
import re._constants as sre
import re._parser as sre_parse
from datetime import UTC, datetime
from typing import Any

import regex
from botocore.model import OperationModel, Shape
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence

from qconnect_local.protocol.http import Request

# Whole seconds: botocore sends input epoch timestamps as integer seconds.
INPUT_TIME = datetime(2024, 2, 29, 12, 34, 56, tzinfo=UTC)
# Milliseconds: what the server sends for output timestamps, in either format.
OUTPUT_TIME = datetime(2024, 2, 29, 12, 34, 56, 789000, tzinfo=UTC)
FREE_TEXT = "Ünïcode 😀 text/with?query&chars=+%#:~ end"
DOCUMENT = {"text": "héllo", "items": [1, 2.5, True, None, "two"], "nested": {"k": "v"}}
_PROPERTY_CLASS = re.compile(r"\\p\{\w+\}")


def as_sent_by_botocore(op: OperationModel, params: dict[str, Any]) -> Request:
    """What reaches the server when boto3 calls `op` with `params` (before signing)."""
    prepared = create_serializer("rest-json", include_validation=True).serialize_to_request(params, op)
    body = prepared["body"]
    return Request(
        method=prepared["method"],
        raw_path=prepared["url_path"],
        query_string=percent_encode_sequence(prepared["query_string"]) if prepared["query_string"] else "",
        headers={k.lower(): v for k, v in prepared["headers"].items()},
        body=body.encode() if isinstance(body, str) else body,
    )


def variant_count(shape: Shape) -> int:
    """How many samples it takes for every union member reachable from `shape` to be chosen once.

    At least two: the second takes the second pattern alternative (an ARN where an id or ARN
    is allowed), the second enum value and `False` for booleans.
    """
    return max(2, _widest_union(shape, frozenset()))


def _widest_union(shape: Shape, seen: frozenset[str]) -> int:
    if shape.name in seen:
        return 0
    seen = seen | {shape.name}
    kind = shape.type_name
    if kind == "structure" and not shape.metadata.get("document"):
        own = len(shape.members) if shape.metadata.get("union") else 0
        return max([own, *(_widest_union(m, seen) for m in shape.members.values())])
    if kind == "list":
        return _widest_union(shape.member, seen)
    if kind == "map":
        return _widest_union(shape.value, seen)
    return 0


def sample(shape: Shape, variant: int = 0, *, when: datetime = INPUT_TIME) -> Any:
    return _Sampler(variant, when).value(shape, ())


class _Sampler:
    def __init__(self, variant: int, when: datetime) -> None:
        self.variant = variant
        self.when = when

    def value(self, shape: Shape, stack: tuple[str, ...]) -> Any:
        if len(stack) > 60:
            raise RecursionError(f"sample of {stack[0]} does not terminate: {' > '.join(stack)}")
        kind = shape.type_name
        meta = shape.metadata
        if meta.get("document"):
            return DOCUMENT
        if kind == "structure":
            return self.structure(shape, stack)
        if kind == "list":
            count = int(_clamp(2, meta.get("min"), meta.get("max")))
            if shape.member.name in stack and not meta.get("min"):
                count = 0
            return [self.value(shape.member, stack) for _ in range(count)]
        if kind == "map":
            count = int(_clamp(1, meta.get("min"), meta.get("max")))
            return {self.value(shape.key, stack): self.value(shape.value, stack) for _ in range(count)}
        if kind == "string":
            return self.string(shape)
        if kind in ("integer", "long"):
            return int(_clamp(7, meta.get("min"), meta.get("max")))
        if kind in ("float", "double"):
            return float(_clamp(0.5, meta.get("min"), meta.get("max")))
        if kind == "boolean":
            return self.variant % 2 == 0
        if kind == "timestamp":
            return self.when
        if kind == "blob":
            return b"\x00\x01binary\xff"
        raise TypeError(f"no sample for {kind} shape {shape.name}")

    def structure(self, shape: Shape, stack: tuple[str, ...]) -> dict[str, Any]:
        closing = shape.name in stack  # second visit of a recursive shape: only what must be there
        inner = (*stack, shape.name)
        members = shape.members
        if shape.metadata.get("union"):
            names = list(members)
            if closing:
                names = [n for n in names if not _reaches(members[n], set(inner))] or names
            chosen = names[self.variant % len(names)]
            return {chosen: self.value(members[chosen], inner)}
        required = set(shape.required_members)
        return {
            name: self.value(member, inner)
            for name, member in members.items()
            if not closing or name in required
        }

    def string(self, shape: Shape) -> str:
        meta = shape.metadata
        enum = meta.get("enum")
        if enum:
            return str(enum[self.variant % len(enum)])
        low, high = meta.get("min") or 0, meta.get("max")
        pattern = meta.get("pattern")
        if pattern:
            text = pattern_text(pattern, self.variant, low)
        else:
            text = FREE_TEXT
            if len(text) < low:
                text += "x" * (low - len(text))
        if high is not None:
            text = text[:high]
        if pattern and not regex.search(pattern, text):
            raise ValueError(f"sample {text!r} for {shape.name} does not match {pattern!r}")
        return text


def _reaches(shape: Shape, names: set[str], seen: set[str] | None = None) -> bool:
    """Whether a value of `shape` can contain a value of one of the shapes called `names`."""
    seen = set() if seen is None else seen
    if shape.name in names:
        return True
    if shape.name in seen:
        return False
    seen.add(shape.name)
    kind = shape.type_name
    if kind == "structure" and not shape.metadata.get("document"):
        return any(_reaches(m, names, seen) for m in shape.members.values())
    if kind == "list":
        return _reaches(shape.member, names, seen)
    if kind == "map":
        return _reaches(shape.value, names, seen)
    return False


def _clamp(value: float, low: float | None, high: float | None) -> float:
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    return value


@functools.cache
def pattern_text(pattern: str, variant: int, min_length: int) -> str:
    """A short string the (unanchored) model pattern matches, at least `min_length` long."""
    parsed = sre_parse.parse(_PROPERTY_CLASS.sub(r"\\w", pattern))
    text = _Emitter(variant, 0).emit(parsed)
    if len(text) < min_length:
        text = _Emitter(variant, min_length - len(text)).emit(parsed)
    return text


_CATEGORY_CHAR = {
    sre.CATEGORY_DIGIT: "0",
    sre.CATEGORY_NOT_DIGIT: "a",
    sre.CATEGORY_SPACE: " ",
    sre.CATEGORY_NOT_SPACE: "a",
    sre.CATEGORY_WORD: "a",
    sre.CATEGORY_NOT_WORD: "-",
}
_CATEGORY_RE = {
    sre.CATEGORY_DIGIT: re.compile(r"\d"),
    sre.CATEGORY_NOT_DIGIT: re.compile(r"\D"),
    sre.CATEGORY_SPACE: re.compile(r"\s"),
    sre.CATEGORY_NOT_SPACE: re.compile(r"\S"),
    sre.CATEGORY_WORD: re.compile(r"\w"),
    sre.CATEGORY_NOT_WORD: re.compile(r"\W"),
}


class _Emitter:
    """Walks a parsed regex; `grow` extra characters go to the first repeats that can take them."""

    def __init__(self, variant: int, grow: int) -> None:
        self.variant = variant
        self.grow = grow

    def emit(self, items: Any) -> str:
        return "".join(self.node(op, arg) for op, arg in items)

    def node(self, op: Any, arg: Any) -> str:
        if op == sre.LITERAL:
            return chr(arg)
        if op in (sre.ANY, sre.NOT_LITERAL):
            return "a" if arg != ord("a") else "b"
        if op == sre.IN:
            return _member_of(arg)
        if op == sre.CATEGORY:
            return _CATEGORY_CHAR[arg]
        if op == sre.BRANCH:
            alternatives = arg[1]
            return self.emit(alternatives[self.variant % len(alternatives)])
        if op == sre.SUBPATTERN:
            return self.emit(arg[3])
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, body = arg
            parts = [self.emit(body) for _ in range(low)]
            while self.grow > 0 and len(parts) < high:
                piece = self.emit(body)
                if not piece:
                    break
                parts.append(piece)
                self.grow -= len(piece)
            return "".join(parts)
        if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            return ""
        raise ValueError(f"pattern construct {op} is not supported by the sample generator")


def _member_of(items: list[tuple[Any, Any]]) -> str:
    negate = bool(items) and items[0][0] == sre.NEGATE
    for candidate in "a0A-_. ":
        if _in_set(candidate, items) != negate:
            return candidate
    raise ValueError(f"no sample character for set {items}")


def _in_set(char: str, items: list[tuple[Any, Any]]) -> bool:
    code = ord(char)
    for op, arg in items:
        if op == sre.LITERAL and arg == code:
            return True
        if op == sre.RANGE and arg[0] <= code <= arg[1]:
            return True
        if op == sre.CATEGORY and _CATEGORY_RE[arg].fullmatch(char):
            return True
    return False
