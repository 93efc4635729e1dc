"""SearchMessageTemplates: queries, filters, ordering and pages over a knowledge base's templates.

A knowledge base holds at most a few hundred templates (the quota is 200), so the search reads
their light rows (no content) and decides in Python, by rules that mirror SearchQuickResponses
(`service.quick_response_search`, `store.search`) where AWS is silent:

- Entries: each template's `$LATEST` (no `versionNumber`, the plain ARN). With a `qualifier`
  filter, the entries whose qualifier passes it: `$LATEST`, and `$ACTIVE_VERSION` for the
  active version of each template that has one (`versionNumber`, `isActive: true`, the ARN
  qualified by the number, its own language and times).
- Queries: fields `name` and `description`. A value matches a field when every word of the
  value is a word of the field (words: runs of letters and digits, without case or
  diacritics); CONTAINS_AND_PREFIX lets the value's last word begin a word; `allowFuzziness`
  lets a word of 4-7 characters be 1 edit away and one of 8 or more 2 edits (the first letter
  right). A query matches when any value does; an entry is found when any query matches. Its
  relevance is the sum of the priority weights (HIGH 4, MEDIUM 2 by default, LOW 1) of the
  queries it matches.
- Filters, every one of which must hold (any of its values may): `name`, `description`,
  `channel`, `channelSubtype`, `language`, `lastModifiedBy`, `groupingConfiguration.criteria`
  (EQUALS exact and case-sensitive, PREFIX "starts with"); `groupingConfiguration.values` (some
  value equals / starts with); `qualifier` (`$LATEST`, `$ACTIVE_VERSION`); `createdTime`,
  `lastModifiedTime` (the value names a span, as in SearchQuickResponses: epoch seconds or
  ISO-8601 at any precision). `includeNoExistence` also accepts entries without the field.
- Order: `orderOnField` on any filter field (ASC unless DESC; text ignoring case; entries
  without the field last either way); otherwise most relevant first when there are queries,
  then oldest template first, `$LATEST` before its active version.
- Pages: an offset in the shared signed token, bound to the knowledge base and expression.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from qconnect_local.protocol.errors import validation_error
from qconnect_local.service import resources
from qconnect_local.service.context import Call
from qconnect_local.service.families import MESSAGE_TEMPLATE
from qconnect_local.service.message_templates import (
    ACTIVE_VERSION,
    LATEST,
    identity,
    load_knowledge_base,
    source_summary,
)
from qconnect_local.service.pagination import decode_token, encode_token, page_size
from qconnect_local.service.quick_response_search import (
    DEFAULT_PRIORITY,
    PRIORITY_WEIGHTS,
    time_span,
    token_scope,
)
from qconnect_local.service.registry import operation
from qconnect_local.store import message_templates as mt_store
from qconnect_local.store.search import allowed_edits, within_edits, words

QUERY_FIELDS: Final = ("name", "description")


@dataclass(frozen=True, slots=True)
class Entry:
    """One searchable entry: a template's `$LATEST`, or its active version."""

    template: Any
    version: Any = None  # the active version's light row

    @property
    def state(self) -> Any:
        return self.version if self.version is not None else self.template

    def field(self, name: str) -> Any:
        """The value of a filter or order field (None when the entry lacks it)."""
        return FIELDS[name](self)


def _grouping(entry: Entry) -> dict[str, Any]:
    return entry.template.grouping or {}


FIELDS: Final[dict[str, Callable[[Entry], Any]]] = {
    "name": lambda e: e.template.name,
    "description": lambda e: e.template.description,
    "channel": lambda e: e.template.channel_subtype,
    "channelSubtype": lambda e: e.template.channel_subtype,
    "language": lambda e: e.state.language,
    "qualifier": lambda e: ACTIVE_VERSION if e.version is not None else LATEST,
    "createdTime": lambda e: e.template.created_at,
    "lastModifiedTime": lambda e: e.state.modified_at,
    "lastModifiedBy": lambda e: e.state.last_modified_by,
    "groupingConfiguration.criteria": lambda e: _grouping(e).get("criteria"),
    "groupingConfiguration.values": lambda e: _grouping(e).get("values") or None,
}
FILTER_FIELDS: Final = tuple(FIELDS)
TIME_FIELDS: Final = ("createdTime", "lastModifiedTime")


def _unsupported(kind: str, name: str, supported: Sequence[str]) -> Exception:
    return validation_error(f"Unsupported {kind} field '{name}'; supported: {', '.join(supported)}")


# -- queries -------------------------------------------------------------------------------------

WordTest = Callable[[str], bool]


def _word_test(word: str, *, prefix: bool, fuzzy: bool) -> WordTest:
    edits = allowed_edits(word) if fuzzy else 0

    def test(candidate: str) -> bool:
        if candidate == word or (prefix and candidate.startswith(word)):
            return True
        return edits > 0 and candidate[:1] == word[:1] and within_edits(word, candidate, edits)

    return test


@dataclass(frozen=True, slots=True)
class Query:
    field: str
    values: tuple[tuple[WordTest, ...], ...]  # per value, one test per word
    weight: float

    def matches(self, entry: Entry) -> bool:
        text = entry.field(self.field)
        if not text:
            return False
        field_words = set(words(text))
        return any(
            tests and all(any(test(word) for word in field_words) for test in tests) for tests in self.values
        )


def _query(spec: dict[str, Any]) -> Query:
    if spec["name"] not in QUERY_FIELDS:
        raise _unsupported("query", spec["name"], QUERY_FIELDS)
    prefix, fuzzy = spec["operator"] == "CONTAINS_AND_PREFIX", bool(spec.get("allowFuzziness"))
    values = []
    for value in spec["values"]:
        value_words = words(value)
        values.append(
            tuple(
                _word_test(word, prefix=prefix and i == len(value_words) - 1, fuzzy=fuzzy)
                for i, word in enumerate(value_words)
            )
        )
    return Query(spec["name"], tuple(values), PRIORITY_WEIGHTS[spec.get("priority") or DEFAULT_PRIORITY])


# -- filters -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filter:
    field: str
    tests: tuple[Callable[[Any], bool], ...]
    missing_matches: bool

    def holds(self, entry: Entry) -> bool:
        value = entry.field(self.field)
        if value is None:
            return self.missing_matches
        candidates = value if isinstance(value, list) else [value]
        return any(test(candidate) for test in self.tests for candidate in candidates)


def _value_test(field: str, value: str, equals: bool) -> Callable[[Any], bool]:
    if field in TIME_FIELDS:
        start, end = time_span(value)
        return lambda instant: start <= instant < end
    if equals:
        return lambda candidate: candidate == value
    return lambda candidate: str(candidate).startswith(value)


def _filter(spec: dict[str, Any]) -> Filter:
    name = spec["name"]
    if name not in FILTER_FIELDS:
        raise _unsupported("filter", name, FILTER_FIELDS)
    values = spec.get("values") or []
    missing_matches = bool(spec.get("includeNoExistence"))
    if not values and not missing_matches:
        raise validation_error(f"The filter on {name} needs values (or includeNoExistence set to true)")
    equals = spec["operator"] == "EQUALS"
    return Filter(name, tuple(_value_test(name, value, equals) for value in values), missing_matches)


# -- order ---------------------------------------------------------------------------------------


def _sort_key(value: Any) -> Any:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, datetime):
        return value.timestamp()
    return value


def _ordered(entries: list[tuple[float, int, Entry]], spec: dict[str, Any] | None) -> list[Entry]:
    """Entries (relevance, position, entry) in the order the expression asks for."""
    if spec is None:
        entries.sort(key=lambda item: (-item[0], item[1]))
        return [entry for _, _, entry in entries]
    name = spec["name"]
    present = [item for item in entries if item[2].field(name) is not None]
    absent = [item for item in entries if item[2].field(name) is None]
    present.sort(key=lambda item: item[1])
    present.sort(key=lambda item: _sort_key(item[2].field(name)), reverse=spec.get("order") == "DESC")
    return [entry for _, _, entry in present + sorted(absent, key=lambda item: item[1])]


# -- the operation --------------------------------------------------------------------------------


def _result(call: Call, entry: Entry, tags: dict[str, str]) -> dict[str, Any]:
    row, state = entry.template, entry.state
    number = int(entry.version.version_number) if entry.version is not None else None
    return {
        **identity(call, row, state, number),
        "isActive": True if number is not None else None,
        "versionNumber": number,
        "description": row.description,
        "sourceConfigurationSummary": source_summary(state.source_configuration),
        "groupingConfiguration": row.grouping,
        "language": state.language,
        "tags": tags,
    }


@operation("SearchMessageTemplates")
def search_message_templates(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    expression = params["searchExpression"]
    queries = [_query(spec) for spec in expression.get("queries") or ()]
    filters = [_filter(spec) for spec in expression.get("filters") or ()]
    order = expression.get("orderOnField")
    if order is not None and order["name"] not in FILTER_FIELDS:
        raise _unsupported("order", order["name"], FILTER_FIELDS)
    size = page_size(call, params)
    with call.runtime.store.read() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        scope = token_scope(call, kb.id, expression)
        token = params.get("nextToken")
        offset = decode_token(call, token, scope) if token is not None else 0
        templates = mt_store.all_templates(conn, call.account, call.region, kb.id)
        wants_active = any(f.field == "qualifier" for f in filters)
        active = mt_store.active_versions(conn, call.account, call.region, kb.id) if wants_active else {}
        candidates: list[Entry] = []
        for template in templates:
            candidates.append(Entry(template))
            if template.id in active:
                candidates.append(Entry(template, active[template.id]))
        found: list[tuple[float, int, Entry]] = []
        for position, entry in enumerate(candidates):
            if not all(f.holds(entry) for f in filters):
                continue
            relevance = sum(q.weight for q in queries if q.matches(entry))
            if queries and not relevance:
                continue
            found.append((relevance, position, entry))
        ordered = _ordered(found, order)
        page = ordered[offset : offset + size]
        tags = resources.tags_of_rows(conn, call, MESSAGE_TEMPLATE, [entry.template for entry in page])
        results = [_result(call, entry, row_tags) for entry, row_tags in zip(page, tags, strict=True)]
    next_token = encode_token(call, offset + size, scope) if len(ordered) > offset + size else None
    return {"results": results, "nextToken": next_token}
