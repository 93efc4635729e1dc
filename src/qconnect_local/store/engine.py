"""Open a store: the engine, its connection settings, the schema, and the store's secret.

SQLite runs in WAL mode with `BEGIN IMMEDIATE` for writers, so readers never block and a
writer never fails half-way with "database is locked" on lock upgrade.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, select
from sqlalchemy.pool import NullPool

from qconnect_local.store import schema

SECRET_KEY = "signing-secret"


class Store:
    """The database of one qconnect-local deployment (and the folder its files live in, if any)."""

    def __init__(self, url: str, *, root: Path | None = None, owns_root: bool = False) -> None:
        self.url = url
        self.root = root
        self._owns_root = owns_root
        self.engine = _create_engine(url)
        schema.metadata.create_all(self.engine)
        self.secret = self._load_secret()

    @classmethod
    def in_dir(cls, data_dir: str | os.PathLike[str]) -> Store:
        root = Path(data_dir)
        root.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{root / 'qconnect.sqlite3'}", root=root)

    @classmethod
    def temporary(cls) -> Store:
        """A throw-away store in a fresh folder (in RAM under /dev/shm when the OS offers it)."""
        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        root = Path(tempfile.mkdtemp(prefix="qconnect-local-", dir=base))
        store = cls(f"sqlite:///{root / 'qconnect.sqlite3'}", root=root, owns_root=True)
        return store

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads. On SQLite no BEGIN is issued: each statement reads its own snapshot."""
        with self.engine.connect() as conn:
            yield conn.execution_options(sqlite_begin=None)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction, committed on success and rolled back on any exception."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    def reset(self) -> None:
        """Empty every table except the store's own settings (its secret keeps links valid)."""
        with self.write() as conn:
            for table in reversed(schema.metadata.sorted_tables):
                if table is not schema.settings:
                    conn.execute(table.delete())

    def close(self) -> None:
        self.engine.dispose()
        if self._owns_root and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    def _load_secret(self) -> bytes:
        with self.write() as conn:
            row = conn.execute(
                select(schema.settings.c.value).where(schema.settings.c.key == SECRET_KEY)
            ).first()
            if row is not None:
                return bytes(row[0])
            value = secrets.token_bytes(32)
            conn.execute(insert(schema.settings).values(key=SECRET_KEY, value=value))
            return value


def _create_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, poolclass=_sqlite_pool(url)
    )
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pool(url: str) -> Any:
    from sqlalchemy.pool import QueuePool

    return NullPool if url in ("sqlite://", "sqlite:///:memory:") else QueuePool


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module so BEGIN is ours to issue.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    if mode is not None:
        conn.exec_driver_sql(f"BEGIN {mode}")
