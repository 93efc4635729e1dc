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

from sqlalchemy import ColumnElement, Connection, FromClause, and_, false, func, or_, select

from qconnect_local.protocol.errors import validation_error
from qconnect_local.service import resources
from qconnect_local.service.context import Call
from qconnect_local.service.families import QUICK_RESPONSE
from qconnect_local.service.pagination import decode_token, encode_token, page_size
from qconnect_local.service.quick_response_contents import interpolate
from qconnect_local.service.quick_responses import describe, load_knowledge_base
from qconnect_local.service.registry import operation
from qconnect_local.store.schema import quick_responses as qr_table
from qconnect_local.store.search import LIST_SEPARATOR, TextQuery, has_substring, index_for

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
    kind: str  # text | list | boolean | time


FIELDS: Final = {
    "name": _Field("name", "text"),
    "description": _Field("description", "text"),
    "shortcutKey": _Field("shortcut_key", "text"),
    "isActive": _Field("is_active", "boolean"),
    "channels": _Field("channel_list", "list"),
    "language": _Field("language", "text"),
    "contentType": _Field("content_type", "text"),
    "createdTime": _Field("created_at", "time"),
    "lastModifiedTime": _Field("modified_at", "time"),
    "lastModifiedBy": _Field("last_modified_by", "text"),
    "groupingConfiguration.criteria": _Field("grouping_criteria", "text"),
    "groupingConfiguration.values": _Field("grouping_value_list", "list"),
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


def _value_condition(name: str, field: _Field, value: str, equals: bool) -> ColumnElement[bool]:
    column = qr_table.c[field.column]
    if field.kind == "text":
        return column == value if equals else func.substr(column, 1, len(value)) == value
    if field.kind == "list":
        return has_substring(column, LIST_SEPARATOR + value + (LIST_SEPARATOR if equals else ""))
    if field.kind == "boolean":
        given = value.lower()
        accepted = [
            flag
            for flag in (True, False)
            if (str(flag).lower() == given if equals else str(flag).lower().startswith(given))
        ]
        if not accepted:
            raise validation_error(f"'{value}' is not a value of {name}: use true or false")
        return column.in_([int(flag) for flag in accepted])
    start, end = time_span(value)
    return and_(column >= start, column < end)


def _filter(spec: dict[str, Any]) -> ColumnElement[bool]:
    name = spec["name"]
    field = FIELDS.get(name)
    if field is None:
        raise _unsupported("filter", name, FIELDS)
    values = spec.get("values") or []
    missing_matches = bool(spec.get("includeNoExistence"))
    if not values and not missing_matches:
        raise validation_error(f"The filter on {name} needs values (or includeNoExistence set to true)")
    conditions = [_value_condition(name, field, value, spec["operator"] == "EQUALS") for value in values]
    if missing_matches:
        column = qr_table.c[field.column]
        conditions.append(column.is_(None) if field.kind in ("text", "list") else false())
    return or_(*conditions)


def _order_keys(spec: dict[str, Any]) -> list[Any]:
    field = FIELDS.get(spec["name"])
    if field is None:
        raise _unsupported("order", spec["name"], FIELDS)
    column = qr_table.c[field.column]
    descending = spec.get("order") == "DESC"
    keys: list[Any] = [func.lower(column), column] if field.kind in ("text", "list") else [column]
    ordered = [key.desc() if descending else key.asc() for key in keys]
    # Quick responses without the field come last in either direction (dialects differ by default).
    return [column.is_(None), *ordered] if column.nullable else ordered


# --- the operation ----------------------------------------------------------------------------


def _token_scope(call: Call, kb_id: str, expression: dict[str, Any]) -> str:
    canonical = json.dumps(expression, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:24]
    return f"{call.operation}|{call.account}|{call.region}|{kb_id}|{digest}"


def _result(conn: Connection, call: Call, row: Any, attributes: dict[str, str]) -> dict[str, Any]:
    data = describe(call, row, resources.tags_of(conn, call, QUICK_RESPONSE, row))
    contents, filled, unfilled = interpolate(data["contents"], row.content, attributes)
    data["contents"] = contents
    data["attributesInterpolated"] = filled or None
    data["attributesNotInterpolated"] = unfilled or None
    return data


@operation("SearchQuickResponses")
def search_quick_responses(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    expression = params["searchExpression"]
    queries = [_text_query(query) for query in expression.get("queries") or ()]
    conditions = [_filter(spec) for spec in expression.get("filters") or ()]
    order = expression.get("orderOnField")
    order_keys = _order_keys(order) if order else []
    size = page_size(call, params)
    with call.runtime.store.read() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        scope = _token_scope(call, kb.id, expression)
        token = params.get("nextToken")
        offset = decode_token(call, token, scope) if token is not None else 0
        source: FromClause = qr_table
        if queries:
            found = index_for(conn).matching(conn, queries)
            if found is None:
                return {"results": []}
            source, relevance = found
            order_keys = order_keys or [relevance.desc()]
        # Order and cut the page on keys only, then read the page's rows.
        page = (
            select(qr_table.c.seq)
            .select_from(source)
            .where(qr_table.c.knowledge_base_id == kb.id, *conditions)
            .order_by(*order_keys, qr_table.c.seq)
            .offset(offset)
            .limit(size + 1)
        )
        seqs = conn.execute(page).scalars().all()
        rows = {row.seq: row for row in conn.execute(select(qr_table).where(qr_table.c.seq.in_(seqs[:size])))}
        attributes = params.get("attributes") or {}
        results = [_result(conn, call, rows[seq], attributes) for seq in seqs[:size]]
    next_token = encode_token(call, offset + size, scope) if len(seqs) > size else None
    return {"results": results, "nextToken": next_token}
