"""Persistent state behind one boundary: SQLAlchemy Core tables on SQLite (default) or PostgreSQL."""

from qconnect_local.store import search  # noqa: F401  (installs the search index with the schema)
from qconnect_local.store.engine import Store

__all__ = ["Store"]
