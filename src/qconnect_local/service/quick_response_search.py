"""SearchQuickResponses: queries, filters, ordering, contact attributes, pages.

The model names the fields (QuickResponseQueryField, QuickResponseFilterField,
QuickResponseOrderField documentation); what they do is decided here, where AWS is silent:

- Queries: fields `content`, `name`, `description`, `shortcutKey`; words match as
  `store.search` describes (CONTAINS: whole words; CONTAINS_AND_PREFIX: the last word may also
  begin a word; `allowFuzziness`, off when absent: typo tolerance). A quick response is a result
  when any query matches. `priority` weights relevance: HIGH 4, MEDIUM 2 (the default), LOW 1.
- Filters: every filter must hold; within a filter any value may. `includeNoExistence` also
  accepts quick responses without the field (a filter may then have no values). Text fields:
  EQUALS is exact and case-sensitive, PREFIX "starts with". List fields (`channels`,
  `groupingConfiguration.values`): some element equals / starts with the value. `isActive`:
  `true` / `false` in any case (PREFIX: a prefix of one of them). `createdTime`,
  `lastModifiedTime`: the value names a span and both operators accept times inside it: epoch
  seconds (five digits or more) name that second (with a fraction, that millisecond), ISO-8601
  UTC values name their precision (`2024`, `2024-05`, `2024-05-01`, `2024-05-01T10`, ... down
  to fractions of a second).
- Order: `orderOnField` (`order` ASC when absent) on any filter field; text ignores case; quick
  responses without the field come last either way. Without it: most relevant first when there
  are queries, else oldest first. Ties: oldest first.
- Pages: `nextToken` is the shared signed token holding the offset reached, bound to the
  knowledge base and the exact search expression (reusing it with another is a
  ValidationException). Quick responses added or removed between pages may shift later pages.
- `attributes`: filled into the returned contents (see `quick_response_contents`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from qconnect_local.protocol.errors import validation_error
from qconnect_local.service import resources
from qconnect_local.service.context import Call
from qconnect_local.service.families import QUICK_RESPONSE
from qconnect_local.service.pagination import decode_token, encode_token, page_size
from qconnect_local.service.quick_response_contents import interpolate
from qconnect_local.service.quick_responses import describe, load_knowledge_base
from qconnect_local.service.registry import operation
from qconnect_local.store import quick_response_search as qr_search
from qconnect_local.store.search import TextQuery

QUERY_FIELDS: Final = {
    "content": "content",
    "name": "name",
    "description": "description",
    "shortcutKey": "shortcut_key",
}
PRIORITY_WEIGHTS: Final = {"HIGH": 4.0, "MEDIUM": 2.0, "LOW": 1.0}
DEFAULT_PRIORITY: Final = "MEDIUM"


@dataclass(frozen=True, slots=True)
class _Field:
    column: str
    kind: str  # qr_search.TEXT | LIST | BOOLEAN | TIME


_TEXT, _LIST, _BOOLEAN, _TIME = qr_search.TEXT, qr_search.LIST, qr_search.BOOLEAN, qr_search.TIME
FIELDS: Final = {
    "name": _Field("name", _TEXT),
    "description": _Field("description", _TEXT),
    "shortcutKey": _Field("shortcut_key", _TEXT),
    "isActive": _Field("is_active", _BOOLEAN),
    "channels": _Field("channel_list", _LIST),
    "language": _Field("language", _TEXT),
    "contentType": _Field("content_type", _TEXT),
    "createdTime": _Field("created_at", _TIME),
    "lastModifiedTime": _Field("modified_at", _TIME),
    "lastModifiedBy": _Field("last_modified_by", _TEXT),
    "groupingConfiguration.criteria": _Field("grouping_criteria", _TEXT),
    "groupingConfiguration.values": _Field("grouping_value_list", _LIST),
}


def _unsupported(kind: str, name: str, supported: Any) -> Exception:
    return validation_error(f"Unsupported {kind} field '{name}'; supported: {', '.join(supported)}")


def _text_query(query: dict[str, Any]) -> TextQuery:
    column = QUERY_FIELDS.get(query["name"])
    if column is None:
        raise _unsupported("query", query["name"], QUERY_FIELDS)
    return TextQuery(
        column=column,
        values=tuple(query["values"]),
        prefix=query["operator"] == "CONTAINS_AND_PREFIX",
        fuzzy=bool(query.get("allowFuzziness")),
        weight=PRIORITY_WEIGHTS[query.get("priority") or DEFAULT_PRIORITY],
    )


# --- filters ----------------------------------------------------------------------------------

_EPOCH = re.compile(r"\d{5,}(?:\.\d+)?")  # four digits are a year
_ISO = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?)?)?)?(?:Z|\+00:?00)?"
)
_HALF_MILLISECOND = timedelta(microseconds=500)


def time_span(value: str) -> tuple[datetime, datetime]:
    """The instants `[start, end)` a createdTime / lastModifiedTime filter value names."""
    try:
        return _time_span(value)
    except (OverflowError, ValueError, OSError):
        raise validation_error(f"'{value}' is not a time this service can represent") from None


def _time_span(value: str) -> tuple[datetime, datetime]:
    if _EPOCH.fullmatch(value):
        instant = datetime.fromtimestamp(float(value), UTC)
        if "." in value:
            return instant - _HALF_MILLISECOND, instant + _HALF_MILLISECOND
        return instant, instant + timedelta(seconds=1)
    match = _ISO.fullmatch(value)
    if match is None:
        raise validation_error(
            f"'{value}' is not a time: use epoch seconds or ISO-8601 UTC "
            "(e.g. 2024-05-01T10:30:00Z or 2024-05)"
        )
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        start = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=UTC,
        )
    except ValueError as error:
        raise validation_error(f"'{value}' is not a time: {error}") from None
    if fraction:
        return start, start + timedelta(microseconds=10 ** (6 - len(fraction)))
    for part, step in (
        (second, timedelta(seconds=1)),
        (minute, timedelta(minutes=1)),
        (hour, timedelta(hours=1)),
    ):
        if part:
            return start, start + step
    if day:
        return start, start + timedelta(days=1)
    if month:
        return start, start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start, start.replace(year=start.year + 1)


def _value_test(name: str, field: _Field, value: str, equals: bool) -> qr_search.ValueTest:
    if field.kind in (_TEXT, _LIST):
        return qr_search.ValueTest(value, equals)
    if field.kind == _BOOLEAN:
        given = value.lower()
        accepted = tuple(
            flag
            for flag in (True, False)
            if (str(flag).lower() == given if equals else str(flag).lower().startswith(given))
        )
        if not accepted:
            raise validation_error(f"'{value}' is not a value of {name}: use true or false")
        return qr_search.ValueTest(accepted)
    return qr_search.ValueTest(time_span(value))


def _filter(spec: dict[str, Any]) -> qr_search.Filter:
    name = spec["name"]
    field = FIELDS.get(name)
    if field is None:
        raise _unsupported("filter", name, FIELDS)
    values = spec.get("values") or []
    missing_matches = bool(spec.get("includeNoExistence"))
    if not values and not missing_matches:
        raise validation_error(f"The filter on {name} needs values (or includeNoExistence set to true)")
    tests = tuple(_value_test(name, field, value, spec["operator"] == "EQUALS") for value in values)
    return qr_search.Filter(field.column, field.kind, tests, missing_matches)


def _order(spec: dict[str, Any]) -> qr_search.Order:
    field = FIELDS.get(spec["name"])
    if field is None:
        raise _unsupported("order", spec["name"], FIELDS)
    return qr_search.Order(field.column, field.kind, spec.get("order") == "DESC")


# --- the operation ----------------------------------------------------------------------------


def token_scope(call: Call, kb_id: str, expression: dict[str, Any]) -> str:
    """What a search's nextToken is bound to: the operation, caller, knowledge base and expression."""
    canonical = json.dumps(expression, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:24]
    return f"{call.operation}|{call.account}|{call.region}|{kb_id}|{digest}"


def _result(call: Call, row: Any, tags: dict[str, str], attributes: dict[str, str]) -> dict[str, Any]:
    data = describe(call, row, tags)
    contents, filled, unfilled = interpolate(data["contents"], row.content, attributes)
    data["contents"] = contents
    data["attributesInterpolated"] = filled or None
    data["attributesNotInterpolated"] = unfilled or None
    return data


@operation("SearchQuickResponses")
def search_quick_responses(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    expression = params["searchExpression"]
    queries = [_text_query(query) for query in expression.get("queries") or ()]
    filters = [_filter(spec) for spec in expression.get("filters") or ()]
    order = _order(expression["orderOnField"]) if expression.get("orderOnField") else None
    size = page_size(call, params)
    with call.runtime.store.read() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        scope = token_scope(call, kb.id, expression)
        token = params.get("nextToken")
        offset = decode_token(call, token, scope) if token is not None else 0
        rows = qr_search.search(conn, kb.id, queries, filters, order, offset=offset, limit=size + 1)
        attributes = params.get("attributes") or {}
        page = rows[:size]
        tags = resources.tags_of_rows(conn, call, QUICK_RESPONSE, page)
        results = [_result(call, row, row_tags, attributes) for row, row_tags in zip(page, tags, strict=True)]
    next_token = encode_token(call, offset + size, scope) if len(rows) > size else None
    return {"results": results, "nextToken": next_token}
