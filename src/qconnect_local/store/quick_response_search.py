"""The SQL of SearchQuickResponses: text matches, filters and order, cut into one page.

The service turns the model's search expression into these plain terms (which column, what
kind of value, which values); this module only turns them into one query. Text matching is
`store.search`'s index. In relevance order, on an index that ranks by itself (SQLite's FTS5),
the page is cut from the index's best matches (`_ranked_page`): the same rows in the same order,
without joining and sorting every match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, FromClause, and_, false, func, or_, select

from qconnect_local.store.schema import quick_responses as qr_table
from qconnect_local.store.search import LIST_SEPARATOR, FtsIndex, TextQuery, has_substring, index_for

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
    if queries and order is None:
        ranked = _ranked_page(conn, kb_id, queries, filters, offset=offset, limit=limit)
        if ranked is not None:
            return _rows(conn, ranked)
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
    return _rows(conn, conn.execute(page).scalars().all())


def _rows(conn: Connection, seqs: Sequence[int]) -> list[Any]:
    """The rows of these `seq`s, in this order."""
    if not seqs:
        return []
    rows = {row.seq: row for row in conn.execute(select(qr_table).where(qr_table.c.seq.in_(seqs)))}
    return [rows[seq] for seq in seqs]


# Ranked candidates asked of an index that ranks by itself: at first twice the rows needed (four
# times with filters; at least _TOP_FIRST), at most _TOP_MOST (beyond that the whole match is
# joined and sorted instead). Every round computes BM25 for every match again.
_TOP_FIRST = 50
_TOP_MOST = 5000


def _ranked_page(
    conn: Connection,
    kb_id: str,
    queries: Sequence[TextQuery],
    filters: Sequence[Filter],
    *,
    offset: int,
    limit: int,
) -> list[int] | None:
    """The page's `seq`s in relevance order, from the index's own best matches; None when the
    index cannot rank by itself or too few of its best matches are the knowledge base's rows
    that pass the filters (the caller then joins every match).

    Exactly the page the full query gives: the index orders all matches as it does (relevance,
    then `seq`), and the first rows of that order that pass the knowledge base and filter
    tests are the first rows of the full query's order. Only if the index returned every row it
    was asked for and too few passed is more asked of it.
    """
    index = index_for(conn)
    if not isinstance(index, FtsIndex) or not index.ranks_itself:
        return None
    wanted = offset + limit
    # Filters turn down some of the best matches: ask for more at once than a second round costs.
    count = max((4 if filters else 2) * wanted, _TOP_FIRST)
    while count <= _TOP_MOST:
        ranked = index.top(conn, queries, count)
        if ranked is None:
            return []
        kept = set(
            conn.execute(
                select(qr_table.c.seq).where(
                    qr_table.c.seq.in_(ranked),
                    qr_table.c.knowledge_base_id == kb_id,
                    *(_condition(f) for f in filters),
                )
            ).scalars()
        )
        passed = [seq for seq in ranked if seq in kept]
        if len(passed) >= wanted or len(ranked) < count:
            return passed[offset:wanted]
        if count == _TOP_MOST:
            break
        # Ask for enough to pass at the rate seen so far, with room to spare.
        count = min(_TOP_MOST, max(4 * count, 2 * wanted * count // max(len(passed), 1)))
    return None
