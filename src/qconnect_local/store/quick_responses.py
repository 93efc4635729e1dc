"""Quick-response rows and their search index, written together.

Every write keeps the full-text index (`store.search`) in step in the same transaction: bulk
inserts index their batch, updates teach typo tolerance their words (the index's own trigger
re-indexes the row).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, func, select

from qconnect_local.store.bulk import BulkInsert
from qconnect_local.store.schema import quick_responses as qr_table
from qconnect_local.store.search import index_for

_BULK = BulkInsert(qr_table, [c.name for c in qr_table.columns if c.name != "seq"])
_LAST_SEQ = select(func.coalesce(func.max(qr_table.c.seq), 0))
_TEXT_COLUMNS = ("name", "content", "description", "shortcut_key")


def _texts(rows: list[dict[str, Any]]) -> Iterator[str | None]:
    return (row[c] for row in rows for c in _TEXT_COLUMNS)


def insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert rows (every column but `seq`) and index them as one batch."""
    after_seq = int(conn.execute(_LAST_SEQ).scalar_one())
    _BULK.run(conn, rows)
    index_for(conn).rows_inserted(conn, after_seq, _texts(rows))


def learn_words(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """After an update: typo tolerance learns the rows' words."""
    index_for(conn).add_terms(conn, _texts(rows))


def names_and_shortcuts(conn: Connection, kb_id: str) -> tuple[set[str], set[str]]:
    """The names and shortcut keys already taken in knowledge base `kb_id`."""
    rows = conn.execute(
        select(qr_table.c.name, qr_table.c.shortcut_key).where(qr_table.c.knowledge_base_id == kb_id)
    )
    names: set[str] = set()
    shortcuts: set[str] = set()
    for name, shortcut in rows:
        names.add(name)
        if shortcut is not None:
            shortcuts.add(shortcut)
    return names, shortcuts
