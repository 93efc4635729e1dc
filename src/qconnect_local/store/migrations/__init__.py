"""Alembic migrations of the store, run at start-up by `qconnect_local.store.migrate`."""
