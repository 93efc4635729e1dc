"""Hot-path reads: a SQLAlchemy Core SELECT compiled once per dialect, run on the DBAPI cursor.

SQLAlchemy's per-execution work (cache-key traversal, execution context, result metadata)
costs about fifteen times what SQLite needs to answer a primary-key lookup, and the hot read
paths (GetKnowledgeBase, GetImportJob, ...) are exactly such lookups. The statement is still
written with SQLAlchemy Core and its column types still convert the results; only the
per-call machinery is skipped. Writes and anything unusual keep using `conn.execute`.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect


class _Compiled:
    __slots__ = ("names", "positional", "processors", "row_type", "sql")

    def __init__(self, stmt: Select[Any], dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = compiled.positiontup
        self.names = [str(column.key) for column in stmt.selected_columns]
        self.row_type = namedtuple("PreparedRow", self.names, rename=True)  # type: ignore[misc]
        self.processors: list[Callable[[Any], Any] | None] = [
            column.type._cached_result_processor(dialect, None) for column in stmt.selected_columns
        ]


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
        processors, row_type = compiled.processors, compiled.row_type
        return [
            row_type(
                *[value if proc is None else proc(value) for proc, value in zip(processors, raw, strict=True)]
            )
            for raw in raw_rows
        ]

    def first(self, conn: Connection, **params: Any) -> Any | None:
        rows = self.all(conn, **params)
        return rows[0] if rows else None
