"""Alembic environment: always given an open connection by `qconnect_local.store.migrate`."""

from __future__ import annotations

from alembic import context

from qconnect_local.store.schema import metadata

connection = context.config.attributes["connection"]
# Batch mode lets a later ALTER work on SQLite (table copy) as well as on PostgreSQL.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
