"""Hot-path reads: a SQLAlchemy Core SELECT compiled once per dialect, run on the DBAPI cursor.

SQLAlchemy's per-execution work (cache-key traversal, execution context, result metadata)
costs about fifteen times what SQLite needs to answer a primary-key lookup, and the hot read
paths (GetKnowledgeBase, GetImportJob, ...) are exactly such lookups. The statement is still
written with SQLAlchemy Core and its column types still convert the results; only the
per-call machinery is skipped. Writes and anything unusual keep using `conn.execute`.
"""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import JSON, Connection, Select
from sqlalchemy.engine import Dialect

from qconnect_local.store.types import UtcDateTime, from_micros


def _result_processor(column_type: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column type's result conversion; UtcDateTime's directly, without the TypeDecorator's
    wrapping of its implementation type's (a third of a primary-key read's time went there)."""
    if isinstance(column_type, UtcDateTime):
        return from_micros
    if isinstance(column_type, JSON) and dialect.name == "sqlite" and dialect._json_deserializer is None:
        return _sqlite_json
    processor: Callable[[Any], Any] | None = column_type._cached_result_processor(dialect, None)
    return processor


def _sqlite_json(value: Any) -> Any:
    """A SQLite JSON column's value, as SQLAlchemy's processor gives it in three calls: the text
    decoded, and a number as it is stored (the column's NUMERIC affinity turns `5` into 5)."""
    return json.loads(value) if type(value) is str else value


class _Compiled:
    __slots__ = ("convert", "make_row", "positional", "sql")

    def __init__(self, stmt: Select[Any], dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = compiled.positiontup
        names = [str(column.key) for column in stmt.selected_columns]
        row_type = namedtuple("PreparedRow", names, rename=True)  # type: ignore[misc]
        self.make_row: Callable[[Iterable[Any]], Any] = row_type._make
        processors = [_result_processor(column.type, dialect) for column in stmt.selected_columns]
        # Only the columns whose type converts results (JSON, UtcDateTime, ...) are touched per
        # row, and only where the value is not NULL (every processor maps NULL to None).
        self.convert: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (index, proc) for index, proc in enumerate(processors) if proc is not None
        )


class Prepared:
    """Run `stmt` with named parameters (`bindparam` names) and get rows with attribute access."""

    def __init__(self, stmt: Select[Any]) -> None:
        self.stmt = stmt
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(self.stmt, dialect)
        return compiled

    def all(self, conn: Connection, **params: Any) -> list[Any]:
        compiled = self._for(conn.dialect)
        args: Any = [params[name] for name in compiled.positional] if compiled.positional else params
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(compiled.sql, args)
            raw_rows = cursor.fetchall()
        finally:
            cursor.close()
        make_row, convert = compiled.make_row, compiled.convert
        if not convert:
            return [make_row(raw) for raw in raw_rows]
        rows = []
        for raw in raw_rows:
            values = list(raw)
            for index, proc in convert:
                value = values[index]
                if value is not None:
                    values[index] = proc(value)
            rows.append(make_row(values))
        return rows

    def first(self, conn: Connection, **params: Any) -> Any | None:
        rows = self.all(conn, **params)
        return rows[0] if rows else None


class PreparedJoin:
    """A SELECT of several tables' columns side by side, each table's part given back as a row of
    its own (`widths`: how many columns each part has, in order): a row and its parent read in
    one query, yet handled as two rows, exactly as two `Prepared` lookups would give them."""

    def __init__(self, stmt: Select[Any], widths: Iterable[int]) -> None:
        self._whole = Prepared(stmt)
        columns = list(stmt.selected_columns)
        parts: list[tuple[int, int, Callable[[Iterable[Any]], Any]]] = []
        start = 0
        for width in widths:
            names = [str(column.key) for column in columns[start : start + width]]
            row_type = namedtuple("PreparedRow", names, rename=True)  # type: ignore[misc]
            parts.append((start, start + width, row_type._make))
            start += width
        assert start == len(columns), "the widths must cover every selected column"
        self._parts = tuple(parts)

    def first(self, conn: Connection, **params: Any) -> list[Any] | None:
        """The first result's parts, or None when there is no result."""
        row = self._whole.first(conn, **params)
        if row is None:
            return None
        return [make(row[start:end]) for start, end, make in self._parts]
