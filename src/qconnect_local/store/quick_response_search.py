"""The SQL of SearchQuickResponses: text matches, filters and order, cut into one page.

The service turns the model's search expression into these plain terms (which column, what
kind of value, which values); this module only turns them into one query. Text matching is
`store.search`'s index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, FromClause, and_, false, func, or_, select

from qconnect_local.store.schema import quick_responses as qr_table
from qconnect_local.store.search import LIST_SEPARATOR, TextQuery, has_substring, index_for

TEXT, LIST, BOOLEAN, TIME = "text", "list", "boolean", "time"


@dataclass(frozen=True, slots=True)
class ValueTest:
    """One value of a filter: text/list `str`, boolean the accepted flags, time `[start, end)`."""

    value: str | tuple[bool, ...] | tuple[datetime, datetime]
    equals: bool = True  # text and list: EQUALS (else PREFIX)


@dataclass(frozen=True, slots=True)
class Filter:
    """Holds when any test holds, or (`include_missing`) when the row has no value there."""

    column: str
    kind: str  # TEXT | LIST | BOOLEAN | TIME
    tests: tuple[ValueTest, ...]
    include_missing: bool = False


@dataclass(frozen=True, slots=True)
class Order:
    column: str
    kind: str
    descending: bool = False


def _test(column: Any, kind: str, test: ValueTest) -> ColumnElement[bool]:
    value = test.value
    if kind == TEXT:
        assert isinstance(value, str)
        return column == value if test.equals else func.substr(column, 1, len(value)) == value
    if kind == LIST:
        assert isinstance(value, str)
        return has_substring(column, LIST_SEPARATOR + value + (LIST_SEPARATOR if test.equals else ""))
    if kind == BOOLEAN:
        return column.in_([int(flag) for flag in value if isinstance(flag, bool)])
    assert isinstance(value, tuple) and len(value) == 2
    start, end = value
    return and_(column >= start, column < end)


def _condition(spec: Filter) -> ColumnElement[bool]:
    column = qr_table.c[spec.column]
    conditions = [_test(column, spec.kind, test) for test in spec.tests]
    if spec.include_missing:
        conditions.append(column.is_(None) if spec.kind in (TEXT, LIST) else false())
    return or_(*conditions)


def _order_keys(order: Order) -> list[Any]:
    column = qr_table.c[order.column]
    keys: list[Any] = [func.lower(column), column] if order.kind in (TEXT, LIST) else [column]
    ordered = [key.desc() if order.descending else key.asc() for key in keys]
    # Rows without the field come last in either direction (dialects differ by default).
    return [column.is_(None), *ordered] if column.nullable else ordered


def search(
    conn: Connection,
    kb_id: str,
    queries: Sequence[TextQuery],
    filters: Sequence[Filter],
    order: Order | None,
    *,
    offset: int,
    limit: int,
) -> list[Any]:
    """Up to `limit` rows from `offset` in the search's order: `order`, else relevance when there
    are queries, else oldest first (ties: oldest first)."""
    order_keys = _order_keys(order) if order else []
    source: FromClause = qr_table
    if queries:
        found = index_for(conn).matching(conn, queries)
        if found is None:
            return []
        source, relevance = found
        order_keys = order_keys or [relevance.desc()]
    # Order and cut the page on keys only, then read the page's rows.
    page = (
        select(qr_table.c.seq)
        .select_from(source)
        .where(qr_table.c.knowledge_base_id == kb_id, *(_condition(f) for f in filters))
        .order_by(*order_keys, qr_table.c.seq)
        .offset(offset)
        .limit(limit)
    )
    seqs = conn.execute(page).scalars().all()
    rows = {row.seq: row for row in conn.execute(select(qr_table).where(qr_table.c.seq.in_(seqs)))}
    return [rows[seq] for seq in seqs]
