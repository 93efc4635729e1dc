"""Blobs as rows: chunks in `blob_chunks`, made visible by one row in `blob_objects`.

The default backend when the store is PostgreSQL, so replicas and workers share uploads and
reports with no extra service. A writer sends each full chunk in its own short transaction
under a private staging key, and `commit()` renames the chunks to the real key and inserts the
object row in one transaction: a reader sees the whole blob or none of it, a replaced blob is
swapped atomically, and a writer that died mid-way leaves only staging rows (beside the blob, so
deleting its folder removes them) instead of rows that would collide with a retry.

On SQLite the rows live in a database file of their own beside the store's: SQLite has one
writer per file, and blobs are written in their own transactions while callers (the worker's
import, a knowledge base delete) hold the store's write transaction.
"""

from __future__ import annotations

import io
import logging
import secrets
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

from sqlalchemy import ColumnElement, Engine, and_, create_engine, delete, event, insert, or_, select, update
from sqlalchemy.engine import make_url

from qconnect_local.store import Store, schema
from qconnect_local.store.integrity import prepare_sqlite_file

CHUNK_SIZE = 1024 * 1024
STAGING = ".partial-"

log = logging.getLogger("qconnect_local.blobs")

objects = schema.blob_objects
chunk_rows = schema.blob_chunks


class _DatabaseWriter:
    def __init__(self, blobs: DatabaseBlobStore, key: str) -> None:
        self._blobs = blobs
        self._key = key
        folder, slash, _ = key.rpartition("/")
        self._staging = f"{folder}{slash}{STAGING}{secrets.token_hex(8)}"
        self._buffer = bytearray()
        self._chunks = 0
        self._size = 0
        self._open = True

    def write(self, data: bytes) -> int:
        if not self._open:
            raise ValueError("write to a committed or aborted blob writer")
        self._buffer += data
        self._size += len(data)
        size = self._blobs.chunk_size
        try:
            while len(self._buffer) >= size:
                self._insert(bytes(self._buffer[:size]))
                del self._buffer[:size]
        except BaseException:  # a full disk, a lost connection: leave no staging rows behind
            self.abort()
            raise
        return len(data)

    def _insert(self, data: bytes) -> None:
        with self._blobs.engine.begin() as conn:
            conn.execute(insert(chunk_rows).values(key=self._staging, chunk=self._chunks, data=data))
        self._chunks += 1

    def commit(self) -> None:
        if not self._open:
            raise ValueError("commit of a committed or aborted blob writer")
        try:
            if self._buffer:
                self._insert(bytes(self._buffer))
                self._buffer.clear()
            with self._blobs.engine.begin() as conn:
                conn.execute(delete(objects).where(objects.c.key == self._key))
                conn.execute(delete(chunk_rows).where(chunk_rows.c.key == self._key))
                conn.execute(
                    update(chunk_rows).where(chunk_rows.c.key == self._staging).values(key=self._key)
                )
                conn.execute(
                    insert(objects).values(
                        key=self._key, size=self._size, chunks=self._chunks, created_at=datetime.now(UTC)
                    )
                )
        except BaseException:  # rolled back: the staging rows are still ours to remove
            self.abort()
            raise
        self._open = False

    def abort(self) -> None:
        """Remove the staging rows; never raises (it runs while another error is on its way)."""
        if not self._open:
            return
        self._open = False
        self._buffer.clear()
        if self._chunks:
            try:
                with self._blobs.engine.begin() as conn:
                    conn.execute(delete(chunk_rows).where(chunk_rows.c.key == self._staging))
            except Exception as error:  # deleting the folder, or a later delete of it, removes them
                log.warning("could not remove the staging rows of blob %s: %s", self._key, error)


class _ChunkReader(io.RawIOBase):
    """A committed blob read one chunk (one short query) at a time."""

    def __init__(self, engine: Engine, key: str, chunks: int) -> None:
        super().__init__()
        self._engine = engine
        self._key = key
        self._chunks = chunks
        self._next = 0
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._current:
            if self._next >= self._chunks:
                return 0
            self._current = memoryview(self._fetch(self._next))
            self._next += 1
        count = min(len(buffer), len(self._current))
        buffer[:count] = self._current[:count]
        self._current = self._current[count:]
        return count

    def _fetch(self, chunk: int) -> bytes:
        with self._engine.connect() as conn:
            data = conn.execute(
                select(chunk_rows.c.data).where(chunk_rows.c.key == self._key, chunk_rows.c.chunk == chunk)
            ).scalar()
        if data is None:
            raise FileNotFoundError(f"blob {self._key!r} was deleted while being read")
        return bytes(data)


class DatabaseBlobStore:
    def __init__(self, store: Store, *, chunk_size: int = CHUNK_SIZE) -> None:
        self.chunk_size = chunk_size
        sqlite = store.dialect == "sqlite"
        self.engine = _sqlite_engine(store) if sqlite else _postgresql_engine(store)
        if sqlite:
            schema.metadata.create_all(self.engine, tables=[objects, chunk_rows])
            self.sweep()

    def sweep(self) -> int:
        """Remove the staging rows of writers that died (SQLite only); how many.

        An SQLite store has one process (as the worker's claims assume), so at its start every
        staging row is a dead writer's. On PostgreSQL a replica or worker may be writing right
        now: there, a dead writer's rows go with its blob's folder (`delete_prefix`).
        """
        with self.engine.begin() as conn:
            removed = conn.execute(
                delete(chunk_rows).where(chunk_rows.c.key.contains(STAGING, autoescape=True))
            ).rowcount
        if removed:
            log.info("removed %d staging chunk(s) left by interrupted blob writes", removed)
        return int(removed or 0)

    def writer(self, key: str) -> _DatabaseWriter:
        return _DatabaseWriter(self, key)

    def open(self, key: str) -> BinaryIO:
        with self.engine.connect() as conn:
            count = conn.execute(select(objects.c.chunks).where(objects.c.key == key)).scalar()
        if count is None:
            raise FileNotFoundError(f"no blob {key!r}")
        return cast(BinaryIO, io.BufferedReader(_ChunkReader(self.engine, key, count), self.chunk_size))

    def chunks(self, key: str, size: int = 64 * 1024) -> Iterator[bytes]:
        with self.open(key) as handle:
            while chunk := handle.read(size):
                yield chunk

    def exists(self, key: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(objects.c.key).where(objects.c.key == key)).first() is not None

    def delete(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(objects).where(objects.c.key == key))
            conn.execute(delete(chunk_rows).where(chunk_rows.c.key == key))

    def delete_prefix(self, prefix: str) -> None:
        with self.engine.begin() as conn:
            for table in (objects, chunk_rows):
                conn.execute(delete(table).where(self._in_folder(table.c.key, prefix.rstrip("/"))))

    def keys(self, prefix: str = "", *, page: int = 1000) -> Iterator[str]:
        # Keyset pages in code-point order: no transaction or cursor is held between pages.
        key = objects.c.key.collate("C") if self.engine.dialect.name == "postgresql" else objects.c.key
        after = None
        while True:
            query = select(objects.c.key).order_by(key).limit(page)
            if prefix:
                query = query.where(key >= prefix)
            if after is not None:
                query = query.where(key > after)
            with self.engine.connect() as conn:
                found = list(conn.execute(query).scalars())
            for value in found:
                if not value.startswith(prefix):
                    return
                yield value
            if len(found) < page:
                return
            after = found[-1]

    def _in_folder(self, column: Any, folder: str) -> ColumnElement[bool]:
        """`folder` itself or a key under `folder/`: a range in code-point order, not LIKE.

        LIKE treats `_` and `%` as patterns (and is case-blind on SQLite); PostgreSQL compares
        with the database's collation, so the range is taken in the "C" (code point) collation.
        """
        if not folder:
            return column.is_not(None)
        ranged = column.collate("C") if self.engine.dialect.name == "postgresql" else column
        # '0' is the character right after '/': every key starting with `folder/` sorts before it.
        return or_(column == folder, and_(ranged >= folder + "/", ranged < folder + "0"))

    def close(self) -> None:
        self.engine.dispose()


def _postgresql_engine(store: Store) -> Engine:
    """A pool of the blob store's own on the store's database. Never the store's pool: a service
    transaction that checks an upload's file while it holds a store connection (and perhaps a
    lock other transactions queue on, each holding a connection) would otherwise wait for a
    connection that only those queued transactions can give back."""
    return create_engine(
        store.engine.url, pool_size=4, max_overflow=12, pool_pre_ping=True, pool_recycle=1800
    )


def _sqlite_engine(store: Store) -> Engine:
    database = make_url(store.url).database
    if store.root is not None:
        path = Path(store.root) / "blobs.sqlite3"
    elif database and database != ":memory:":
        path = Path(f"{database}-blobs")
    else:
        path = Path(tempfile.mkdtemp(prefix="qconnect-blobs-")) / "blobs.sqlite3"
    prepare_sqlite_file(path)  # checked like the store's own file, and created 0600
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _sqlite_connect)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
