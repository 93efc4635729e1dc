"""One repository for every resource table: the SQL a family needs, written once.

A resource row has `seq` (the keyset-paging key), `id`, `account`, `region`, and, below the
top level, the id of its parent in a parent column (`knowledge_base_id`, `content_id`, ...).
Every lookup is scoped to account and region, so a row of another account is simply not found.
Services give model-level values in and get rows out; they never build SQL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)

from qconnect_local.store.prepared import Prepared, PreparedJoin
from qconnect_local.store.tag_column import tags_column, tags_from_column


class Repository:
    """Reads and writes of one resource table (see the module docstring for the columns)."""

    def __init__(self, table: Table, *, parent_column: str | None = None, name_column: str | None = None):
        self.table = table
        self.parent_column = parent_column
        self.name_column = name_column
        c = table.c
        self._by_id = self._by_id_under = self._by_bare_id = None
        self._tagged = self._tagged_under = None
        if "id" in c:  # every resource table; rows without ids of their own (passages) have none
            conditions = [
                c.id == bindparam("id"),
                c.account == bindparam("account"),
                c.region == bindparam("region"),
            ]
            self._by_id = Prepared(select(table).where(*conditions))
            # The same lookups with the row's tags (of the ARN bound as `arn`): `find_tagged`.
            self._tagged = Prepared(select(table, tags_column()).where(*conditions))
            if parent_column:
                under = c[parent_column] == bindparam("parent")
                self._by_id_under = Prepared(select(table).where(*conditions, under))
                self._tagged_under = Prepared(select(table, tags_column()).where(*conditions, under))
            self._by_bare_id = Prepared(select(table).where(c.id == bindparam("id")))
        self._with_parent: PreparedJoin | None = None
        self._tagged_with_parent: PreparedJoin | None = None

    def join_parent(self, parent: Table) -> None:
        """Prepare `find_with_parent` for rows whose `parent_column` holds an id of `parent`, a
        top-level table (the family declarations call it once their parents are known)."""
        assert self.parent_column is not None, f"{self.table.name} rows have no parent"
        c, p = self.table.c, parent.c
        # The row's own scope is its parent's: it is matched in the join, so an id of another
        # account's row under a parent of the same id is still not found.
        joined = parent.outerjoin(
            self.table,
            and_(
                c[self.parent_column] == p.id,
                c.id == bindparam("id"),
                c.account == p.account,
                c.region == p.region,
            ),
        )
        scope = (
            p.id == bindparam("parent"),
            p.account == bindparam("account"),
            p.region == bindparam("region"),
        )
        widths = (len(p), len(c))
        self._with_parent = PreparedJoin(select(parent, self.table).select_from(joined).where(*scope), widths)
        self._tagged_with_parent = PreparedJoin(
            select(parent, self.table, tags_column()).select_from(joined).where(*scope), (*widths, 1)
        )

    # -- reads ---------------------------------------------------------------------------------

    def find_tagged(
        self, conn: Connection, account: str, region: str, row_id: str, arn: str, parent: str | None = None
    ) -> tuple[Any, dict[str, str]] | None:
        """`find`, with the tags of `arn` (the row's ARN) read in the same query; None: no row."""
        if parent is not None and self._tagged_under is not None:
            row = self._tagged_under.first(
                conn, id=row_id, account=account, region=region, parent=parent, arn=arn
            )
        else:
            assert self._tagged is not None, f"{self.table.name} rows have no id"
            row = self._tagged.first(conn, id=row_id, account=account, region=region, arn=arn)
        return None if row is None else (row, tags_from_column(row.tags_of_row))

    def find_with_parent(
        self, conn: Connection, account: str, region: str, parent_id: str, row_id: str, arn: str | None = None
    ) -> tuple[Any, Any, dict[str, str] | None] | None:
        """The parent row and the row `row_id` under it, in one query (`join_parent`): None when
        the parent is not in the scope; (parent, None, None) when the row is not under it. With
        `arn` (the row's ARN), its tags too."""
        prepared = self._with_parent if arn is None else self._tagged_with_parent
        assert prepared is not None, f"{self.table.name}: join_parent was not called"
        parts = prepared.first(conn, id=row_id, account=account, region=region, parent=parent_id, arn=arn)
        if parts is None:
            return None
        parent, row = parts[0], parts[1]
        if row.id is None:  # the outer join found the parent only
            return parent, None, None
        return parent, row, (tags_from_column(parts[2].tags_of_row) if arn is not None else None)

    def find(
        self, conn: Connection, account: str, region: str, row_id: str, parent: str | None = None
    ) -> Any:
        """The row with this id in the scope (and under `parent`, when given), or None."""
        if parent is not None and self._by_id_under is not None:
            return self._by_id_under.first(conn, id=row_id, account=account, region=region, parent=parent)
        assert self._by_id is not None, f"{self.table.name} rows have no id"
        return self._by_id.first(conn, id=row_id, account=account, region=region)

    def find_any(self, conn: Connection, row_id: str) -> Any:
        """The row with this id in any scope: for the worker and signed links, which carry no caller."""
        assert self._by_bare_id is not None, f"{self.table.name} rows have no id"
        return self._by_bare_id.first(conn, id=row_id)

    def _scope(self, account: str, region: str, parent: str | None) -> list[ColumnElement[bool]]:
        c = self.table.c
        conditions = [c.account == account, c.region == region]
        if self.parent_column is not None and parent is not None:
            conditions.append(c[self.parent_column] == parent)
        return conditions

    def count(self, conn: Connection, account: str, region: str, parent: str | None = None) -> int:
        """How many rows the scope (and parent) holds: what a quota is checked against.

        The scope's lock (`lock_scope`) is taken first, so that in a write the answer stays
        true until commit: two writers cannot both see room for one more.
        """
        self.lock_scope(conn, account, region, parent)
        query = select(func.count()).select_from(self.table).where(*self._scope(account, region, parent))
        return int(conn.execute(query).scalar_one())

    def name_taken(
        self,
        conn: Connection,
        account: str,
        region: str,
        parent: str | None,
        name: str,
        *,
        column: str | None = None,
        except_id: str | None = None,
    ) -> bool:
        """Whether another row in the scope (and parent) has this value in `column` (the name)."""
        col = self.table.c[column or self.name_column or "name"]
        conditions = [*self._scope(account, region, parent), col == name]
        if except_id is not None:
            conditions.append(self.table.c.id != except_id)
        return conn.execute(select(self.table.c.id).where(*conditions).limit(1)).first() is not None

    def page(
        self,
        conn: Connection,
        account: str,
        region: str,
        parent: str | None,
        *,
        after: int | None,
        limit: int,
        descending: bool = False,
        where: Mapping[str, Any] | None = None,
    ) -> Sequence[Any]:
        """Up to `limit` rows after the keyset position `after` (a `seq`), in `seq` order.

        `where` adds equality conditions on other columns (e.g. a name filter).
        """
        seq = self.table.c.seq
        conditions = self._scope(account, region, parent)
        conditions += [self.table.c[column] == value for column, value in (where or {}).items()]
        if after is not None:
            conditions.append(seq < after if descending else seq > after)
        query = select(self.table).where(*conditions)
        query = query.order_by(seq.desc() if descending else seq.asc()).limit(limit)
        return conn.execute(query).all()

    def under(self, conn: Connection, column: str, value: str) -> Sequence[Any]:
        """Every row whose `column` is `value` (the rows a cascade is about to delete)."""
        return conn.execute(select(self.table).where(self.table.c[column] == value)).all()

    def where(self, conn: Connection, **equal: Any) -> Sequence[Any]:
        """Every row matching these column values, in `seq` order."""
        conditions = [self.table.c[column] == value for column, value in equal.items()]
        return conn.execute(select(self.table).where(*conditions).order_by(self.table.c.seq)).all()

    def where_in(self, conn: Connection, column: str, values: Collection[Any]) -> Sequence[Any]:
        """Every row whose `column` is one of `values`, in `seq` order."""
        if not values:
            return []
        query = select(self.table).where(self.table.c[column].in_(list(values))).order_by(self.table.c.seq)
        return conn.execute(query).all()

    # -- writes --------------------------------------------------------------------------------

    def insert(self, conn: Connection, values: Mapping[str, Any]) -> None:
        conn.execute(insert(self.table).values(**values))

    def insert_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows of the same columns in one statement (executemany)."""
        if rows:
            conn.execute(insert(self.table), list(rows))

    def update(self, conn: Connection, seq: int, values: Mapping[str, Any]) -> bool:
        """Update one row; whether it was there."""
        return bool(conn.execute(update(self.table).where(self.table.c.seq == seq).values(**values)).rowcount)

    def delete(self, conn: Connection, seq: int) -> None:
        conn.execute(delete(self.table).where(self.table.c.seq == seq))

    def delete_before(self, conn: Connection, column: str, value: str, time_column: str, before: Any) -> None:
        """Delete the rows whose `column` is `value` and whose `time_column` is before `before`."""
        table = self.table
        conn.execute(delete(table).where(table.c[column] == value, table.c[time_column] < before))

    def delete_through(self, conn: Connection, column: str, value: str, seq: int) -> None:
        """Delete the rows whose `column` is `value` up to and including keyset position `seq`."""
        table = self.table
        conn.execute(delete(table).where(table.c[column] == value, table.c.seq <= seq))

    def delete_under(self, conn: Connection, column: str, value: str) -> None:
        conn.execute(delete(self.table).where(self.table.c[column] == value))

    def lock(self, conn: Connection, row_id: str) -> None:
        """Serialise writers that read-modify-write this row, or check-then-insert under it,
        until `conn` commits.

        PostgreSQL locks the row (every process sees the lock); SQLite needs nothing, as its
        writers already run one at a time.
        """
        if conn.dialect.name == "postgresql":
            conn.execute(select(self.table.c.seq).where(self.table.c.id == row_id).with_for_update())

    def lock_scope(self, conn: Connection, account: str, region: str, parent: str | None = None) -> None:
        """Serialise, until `conn` commits, the writers that add rows of this table to one scope
        (account and region, and the parent when given): the lock `count` reads under."""
        lock_scope(conn, self.table.name, account, region, parent or "")


_LOCK_NAMESPACE = "qconnect-local"


def lock_scope(conn: Connection, *parts: str) -> None:
    """The lock every limit is checked under: one per thing limited, named by `parts`, until
    `conn` commits.

    Taken before the number the limit is checked against is read (`Repository.count`, and a
    resource's tag keys in `store.tags`) and in the same transaction, so that of two writers
    the second reads what the first committed. On PostgreSQL it is a transaction-level
    advisory lock on a 64-bit hash of the parts, granted before the read's statement starts
    (its snapshot is taken afterwards); every process on the database sees it. SQLite needs
    nothing, as its writers run one at a time; nor does an autocommit read, where a lock would
    end with its own statement.
    """
    if conn.dialect.name != "postgresql":
        return
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    digest = hashlib.blake2b("\x1f".join((_LOCK_NAMESPACE, *parts)).encode(), digest_size=8).digest()
    conn.execute(
        text("SELECT pg_advisory_xact_lock(:key)"), {"key": int.from_bytes(digest, "big", signed=True)}
    )
