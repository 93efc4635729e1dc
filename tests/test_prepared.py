"""`Prepared` and `PreparedJoin` skip SQLAlchemy's per-execution work on hot reads; the rows
they give must be exactly those of SQLAlchemy's own execution of the same statement."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, bindparam, insert, select

from qconnect_local.store import Store
from qconnect_local.store.prepared import Prepared, PreparedJoin
from qconnect_local.store.types import UtcDateTime

metadata = MetaData()
things = Table(
    "prepared_things",
    metadata,
    Column("seq", Integer, primary_key=True),
    Column("name", String),
    Column("doc", JSON),
    Column("at", UtcDateTime),
)
# Every kind of JSON value, including those SQLite's NUMERIC affinity stores as numbers.
DOCS: list[Any] = [{"a": [1, "x"]}, 5, 1.5, -3, "text", "5", [1, 2], True, False, None, {}, 0]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.in_dir(tmp_path / "data")
    with opened.write() as conn:
        metadata.create_all(conn)
        conn.execute(
            insert(things),
            [
                {
                    "seq": i + 1,
                    "name": None if i % 3 else f"n{i}",
                    "doc": doc,
                    "at": datetime(2026, 1, 1, tzinfo=UTC),
                }
                for i, doc in enumerate(DOCS)
            ],
        )
    yield opened
    opened.close()


def test_prepared_rows_equal_sqlalchemys_for_every_json_value(store: Store) -> None:
    stmt = select(things).where(things.c.seq >= bindparam("low")).order_by(things.c.seq)
    with store.read() as conn:
        expected = [tuple(row) for row in conn.execute(stmt, {"low": 1}).all()]
        got = [tuple(row) for row in Prepared(stmt).all(conn, low=1)]
    assert got == expected
    assert [row[2] for row in got] == DOCS
    assert [type(row[2]) for row in got] == [type(doc) for doc in DOCS]


def test_a_joined_read_splits_into_each_tables_row(store: Store) -> None:
    other = things.alias("other")
    stmt = (
        select(things, other)
        .select_from(
            things.outerjoin(other, (other.c.seq == things.c.seq) & (other.c.name == bindparam("name")))
        )
        .where(things.c.seq == bindparam("seq"))
    )
    joined = PreparedJoin(stmt, (len(things.c), len(other.c)))
    with store.read() as conn:
        first, paired = joined.first(conn, seq=1, name="n0") or (None, None)
        alone, unpaired = joined.first(conn, seq=1, name="none such") or (None, None)
        assert joined.first(conn, seq=999, name="n0") is None
    assert first is not None and paired is not None and first == paired
    assert (first.seq, first.doc, first.at) == (1, DOCS[0], datetime(2026, 1, 1, tzinfo=UTC))
    assert alone == first and unpaired is not None and set(unpaired) == {None}  # nothing to pair
