"""Bring a store's schema to this release's revision at start-up (Alembic, both dialects).

A store written by a newer release names a revision this one does not know: it is refused
(`StoreTooNew`) before anything is written, never "repaired". Several processes may open one
PostgreSQL database at once (replicas, workers): the upgrade runs under an advisory lock, so
one of them migrates and the others find the store at head.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest revision in migrations/versions (a test keeps the two equal). Knowing it without
# Alembic lets the usual start — a store already at head — skip importing Alembic (~0.2 s).
HEAD_REVISION = "0008"
_LOCK_ID = 0x71636F6E  # "qcon": the advisory lock taken while migrating on PostgreSQL


class StoreTooNew(Exception):
    """The store's schema is from a release newer than this one."""

    def __init__(self, found: str, head: str) -> None:
        super().__init__(
            f"this store was written by a newer qconnect-local (revision {found}); "
            f"this release knows up to {head}"
        )
        self.found = found
        self.head = head


def alembic_config(conn: Connection | None = None) -> Config:
    """Alembic's configuration, built in code; migrations run on `conn` (its transaction)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


@cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


@cache
def known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())


def head() -> str:
    found = _scripts().get_current_head()
    assert found is not None
    return found


def current_revision(conn: Connection) -> str | None:
    """The store's revision; None for an empty database or one made before migrations."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    found: str | None = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return found


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the store to `revision` in one transaction, or raise StoreTooNew."""
    with engine.connect() as conn, conn.execution_options(sqlite_begin="IMMEDIATE").begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        found = current_revision(conn)
        if found == HEAD_REVISION and revision == "head":
            return  # the usual start: nothing to do, and no need to load Alembic at all
        if found is not None and found not in known_revisions():
            raise StoreTooNew(found, head())
        if found is None and revision == "head" and _is_empty_sqlite(conn):
            _create_at_head(conn)
            return
        from alembic import command

        command.upgrade(alembic_config(conn), revision)


def _is_empty_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite" and not inspect(conn).get_table_names()


# Alembic's own bookkeeping table, as Alembic creates it.
_ALEMBIC_VERSION_TABLE = (
    "CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n\t"
    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)"
)


def _create_at_head(conn: Connection) -> None:
    """A brand-new SQLite store: the declared schema straight from `schema.py`, stamped at head.

    The result is the schema the migrations build (a test compares the two), without importing
    Alembic and replaying every revision: every `--in-memory` start and every test store is new.
    """
    from qconnect_local.store import passages, schema, search

    schema.metadata.create_all(conn)
    search.install_sqlite_index(conn)
    passages.install(conn)
    conn.execute(text(_ALEMBIC_VERSION_TABLE))
    conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": HEAD_REVISION})
