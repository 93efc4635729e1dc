"""Persistent state behind one boundary: SQLAlchemy Core tables on SQLite (default) or PostgreSQL.

All SQL lives in this package. Services hold a `Connection` (a transaction from
`Store.write()`, or a reader from `Store.read()`) and pass it to the repositories here; they
never build a statement themselves.
"""

from sqlalchemy import Connection, Table

from qconnect_local.store.engine import Store

__all__ = ["Connection", "Store", "Table"]
