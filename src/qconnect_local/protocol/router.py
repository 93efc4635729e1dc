"""Match (method, raw path) to an operation, built once from the model's `requestUri`s.

Matching is done on the raw, still percent-encoded path, split on `/`, so an ARN label
(`arn%3Aaws%3Awisdom%3A...%2F...`) stays one segment; labels are decoded only after the match.
Literal segments beat labels, so `/knowledgeBases/{id}/search` never swallows a deeper literal.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import unquote

from qconnect_local.protocol.errors import serialization_error, unknown_operation
from qconnect_local.spec import operation, operation_names

MEMO_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Route:
    operation: str
    segments: tuple[str | None, ...]  # literal text, or None where a label sits
    labels: tuple[tuple[int, str], ...]  # (segment index, label name)

    @property
    def literal_count(self) -> int:
        return sum(1 for s in self.segments if s is not None)


@dataclass(frozen=True, slots=True)
class Match:
    operation: str
    labels: dict[str, str]


def _split(path: str) -> list[str]:
    return path.strip("/").split("/") if path.strip("/") else []


def _route_for(name: str) -> Route:
    uri = operation(name).http["requestUri"].split("?", 1)[0]
    segments: list[str | None] = []
    labels: list[tuple[int, str]] = []
    for index, part in enumerate(_split(uri)):
        if part.startswith("{") and part.endswith("}"):
            segments.append(None)
            labels.append((index, part[1:-1].rstrip("+")))
        else:
            segments.append(part)
    return Route(name, tuple(segments), tuple(labels))


class Router:
    def __init__(self) -> None:
        table: dict[tuple[str, int], list[Route]] = {}
        for name in operation_names():
            route = _route_for(name)
            key = (operation(name).http["method"], len(route.segments))
            table.setdefault(key, []).append(route)
        for routes in table.values():
            routes.sort(key=lambda r: -r.literal_count)
        self._table = table
        self._recent: dict[tuple[str, str], Match] = {}

    def match(self, method: str, raw_path: str) -> Match:
        """The operation and labels of a request; a path asked for again (the server asks once to
        choose a thread, then to dispatch; clients poll the same resource) is answered from a
        bounded memo of recent matches. Matches are immutable: callers only read the labels."""
        key = (method, raw_path)
        found = self._recent.get(key)
        if found is None:
            found = self._match(method, raw_path)
            if len(self._recent) >= MEMO_SIZE:
                self._recent.clear()
            self._recent[key] = found
        return found

    def _match(self, method: str, raw_path: str) -> Match:
        parts = _split(raw_path)
        for route in self._table.get((method.upper(), len(parts)), ()):
            if all(lit is None or lit == part for lit, part in zip(route.segments, parts, strict=True)):
                return Match(route.operation, {name: _decode_label(parts[i]) for i, name in route.labels})
        raise unknown_operation(method, raw_path)


def _decode_label(raw: str) -> str:
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError as exc:
        raise serialization_error(f"Path segment {raw!r} is not valid percent-encoded UTF-8") from exc


@functools.cache
def default_router() -> Router:
    return Router()
