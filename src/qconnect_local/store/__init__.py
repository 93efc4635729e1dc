"""Persistent state behind one boundary: SQLAlchemy Core tables on SQLite (default) or PostgreSQL."""

from qconnect_local.store.engine import Store

__all__ = ["Store"]
