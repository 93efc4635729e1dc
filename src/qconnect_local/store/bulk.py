"""Bulk inserts for the import worker: one compiled INSERT, bound by the columns' own types.

`conn.execute(insert(table), rows)` spends more time in SQLAlchemy (per-row parameter
construction) than SQLite spends storing the rows. Here the statement is compiled once per
dialect, each value goes through its column type's bind processor (JSON, UtcDateTime, ...)
exactly as SQLAlchemy would, and the DBAPI's `executemany` does the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect

Processor = Callable[[Any], Any]
Compiled = tuple[str, tuple[str, ...] | None, list[Processor | None]]


def _bind(values: list[Any], processor: Processor | None) -> list[Any]:
    """One column's values through its bind processor; a value equal to the previous one reuses
    its result (a batch shares its timestamps, scope and most list values)."""
    if processor is None:
        return values
    out: list[Any] = []
    last_in: Any = object()
    last_out: Any = None
    for value in values:
        if value is not last_in and value != last_in:
            last_in, last_out = value, processor(value)
        out.append(last_out)
    return out


class BulkInsert:
    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        self._compiled: dict[str, Compiled] = {}

    def _for(self, dialect: Dialect) -> Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = insert(self.table).values({c: None for c in self.columns}).compile(dialect=dialect)
            positional = tuple(compiled.positiontup) if compiled.positiontup else None
            order = positional or self.columns
            processors: list[Processor | None] = [
                self.table.c[c].type._cached_bind_processor(dialect) for c in order
            ]
            found = (str(compiled), positional, processors)
            self._compiled[dialect.name] = found
        return found

    def processor(self, dialect: Dialect, column: str) -> Processor | None:
        """What `column`'s type makes of a value for `dialect` (None: the value as it is)."""
        processor: Processor | None = self.table.c[column].type._cached_bind_processor(dialect)
        return processor

    def run_bound(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows already bound: each a tuple in `columns` order of values as the columns'
        bind processors make them (`processor`), in `conn`'s transaction, on the DBAPI cursor.
        No dict per row, no processing per value: an import builds its tuples directly."""
        if not rows:
            return
        sql, positional, _ = self._for(conn.dialect)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            if conn.dialect.name == "postgresql":
                quoted = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in self.columns)
                with cursor.copy(f"COPY {self.table.name} ({quoted}) FROM STDIN") as copy:
                    for values in rows:
                        copy.write_row(values)
            elif positional is None:
                cursor.executemany(sql, [dict(zip(self.columns, values, strict=True)) for values in rows])
            elif positional == self.columns:
                cursor.executemany(sql, rows)
            else:
                at = [self.columns.index(c) for c in positional]
                cursor.executemany(sql, [[values[i] for i in at] for values in rows])
        finally:
            cursor.close()

    def run(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Insert `rows` (column name -> native value; missing columns are NULL) in `conn`'s transaction."""
        if not rows:
            return
        sql, positional, processors = self._for(conn.dialect)
        order = positional or self.columns
        columns = [[row.get(c) for row in rows] for c in order]
        bound: list[Any] = list(
            zip(*(_bind(values, p) for values, p in zip(columns, processors, strict=True)), strict=True)
        )
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            if conn.dialect.name == "postgresql":
                # COPY streams the batch in one round trip; per-row INSERTs wait on the server.
                quoted = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in order)
                with cursor.copy(f"COPY {self.table.name} ({quoted}) FROM STDIN") as copy:
                    for values in bound:
                        copy.write_row(values)
            elif positional is None:
                cursor.executemany(sql, [dict(zip(order, values, strict=True)) for values in bound])
            else:
                cursor.executemany(sql, bound)
        finally:
            cursor.close()
