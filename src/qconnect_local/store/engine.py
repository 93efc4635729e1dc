"""Open a store: the engine, its connection settings, the schema, and the store's secret.

SQLite runs in WAL mode with `BEGIN IMMEDIATE` for writers, so readers never block and a
writer never fails half-way with "database is locked" on lock upgrade.

Reads keep one connection per thread open between calls: checking a connection out of
SQLAlchemy's pool and back in (and, on PostgreSQL, pinging it and wrapping the read in
BEGIN/ROLLBACK) costs more than the primary-key lookup most reads are (see docs/benchmarks.md).
Such a connection runs in autocommit, so between statements it holds no lock and no snapshot,
and it is only ever used by its own thread. A kept connection the database dropped fails one
read and is replaced on the next.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, make_url, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import NullPool

from qconnect_local.store import integrity, migrate, schema
from qconnect_local.store.errors import StoreConflict
from qconnect_local.store.integrity import StoreUnusable

SECRET_KEY = "signing-secret"
RESET_ATTEMPTS = 3  # a reset that lost a deadlock runs again (see Store.reset)
_AFTER_COMMIT = "qconnect_after_commit"  # Connection.info key: callbacks to run once it commits

log = logging.getLogger("qconnect_local.store")


class Store:
    """The database of one qconnect-local deployment (and the folder its files live in, if any)."""

    def __init__(self, url: str, *, root: Path | None = None, owns_root: bool = False) -> None:
        self.url = url
        self.root = root
        self._owns_root = owns_root
        database = _sqlite_file(url)
        if database is not None:
            # Before the engine touches it: a file we cannot use stops the start in one line,
            # and a new one is created 0600 (it will hold the signing secret).
            integrity.prepare_sqlite_file(database)
        self.engine = _create_engine(url)
        # Per-thread kept read connections; only for file SQLite, whose pool grows as needed.
        self._keep_readers = not _is_memory(url)
        self._local = threading.local()
        self._readers: list[_Reader] = []
        self._readers_lock = threading.Lock()
        try:
            migrate.upgrade(self.engine)
            self.secret = self._load_secret()
        except DBAPIError as error:
            self.engine.dispose()
            if database is None:
                raise
            # Passed the check yet failed (a full disk while migrating, a read-only folder).
            raise StoreUnusable(database, integrity.describe_sqlite_error(error.orig or error)) from error
        except BaseException:
            self.engine.dispose()
            raise

    @classmethod
    def in_dir(cls, data_dir: str | os.PathLike[str]) -> Store:
        root = Path(data_dir)
        integrity.make_private_folder(root)
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

    def read(self) -> AbstractContextManager[Connection]:
        """A connection for reads. On SQLite no BEGIN is issued: each statement reads its own snapshot.

        Re-entrant within a thread (a nested read gets the same connection).
        """
        if not self._keep_readers:
            return self._pooled_read()
        reader: _Reader | None = getattr(self._local, "reader", None)
        return reader if reader is not None else self._new_reader()

    @contextmanager
    def _pooled_read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn.execution_options(sqlite_begin=None)

    def _new_reader(self) -> _Reader:
        with self._readers_lock:
            # A thread that has ended leaves its connection here: close those now.
            for ended in [r for r in self._readers if not r.thread.is_alive()]:
                ended.close()
                self._readers.remove(ended)
            reader = _Reader(self.engine, threading.current_thread())
            self._readers.append(reader)
        self._local.reader = reader
        return reader

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction, committed on success and rolled back on any exception.

        A unique constraint that refuses a write raises `StoreConflict`. Callbacks queued with
        `after_commit` run once the transaction has committed (never if it rolled back): work
        outside the database, such as deleting blobs, must not happen for a write that is undone.

        On SQLite, where one writer runs at a time, the writers of this process queue for the
        lock in arrival order (`_WriteQueue`) instead of polling SQLite's busy handler, so a
        write waits for the transactions ahead of it and no longer. Every long job writes in
        short transactions (the import stages its rows batch by batch, see `worker.jobs`), so
        the wait stays short; one that still lasts `WRITE_WAIT_SECONDS`, or a lock another
        process holds that long, raises `StoreBusy` (a retryable ConflictException on the
        wire), never "database is locked".
        """
        callbacks: list[Callable[[], None]] = []
        queue = _write_queue(self) if self.dialect == "sqlite" else None
        if queue is not None and not queue.acquire(WRITE_WAIT_SECONDS):
            raise StoreBusy(f"no write turn within {WRITE_WAIT_SECONDS} s")
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
                conn.info[_AFTER_COMMIT] = callbacks
                try:
                    with conn.begin():
                        yield conn
                finally:
                    conn.info.pop(_AFTER_COMMIT, None)
        except IntegrityError as error:
            raise StoreConflict(str(error.orig)) from error
        except OperationalError as error:
            if _sqlite_busy(error):
                raise StoreBusy(str(error.orig)) from error
            raise
        finally:
            if queue is not None:
                queue.release()
        for callback in callbacks:
            try:
                callback()
            except Exception:  # the write has committed: a failed cleanup must not undo the answer
                log.exception("after-commit work failed")

    @staticmethod
    def after_commit(conn: Connection, callback: Callable[[], None]) -> None:
        """Run `callback` once `conn`'s write transaction (from `write()`) commits."""
        conn.info[_AFTER_COMMIT].append(callback)

    def reset(self) -> None:
        """Empty every table except the store's own settings (its secret keeps links valid).

        On PostgreSQL a job still writing when the reset starts can deadlock with its deletes
        (they take every table in turn); the database then aborts one of the two, and a reset
        that lost is simply run again: it is the same work whatever came before it.
        """
        for attempt in range(RESET_ATTEMPTS):
            try:
                with self.write() as conn:
                    for table in reversed(schema.metadata.sorted_tables):
                        if table is not schema.settings:
                            conn.execute(table.delete())
                return
            except OperationalError as error:
                if attempt + 1 == RESET_ATTEMPTS or not _deadlocked(error):
                    raise

    def close(self) -> None:
        with self._readers_lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
        self.engine.dispose()
        if self._owns_root and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    def _load_secret(self) -> bytes:
        try:
            return self._read_or_create_secret()
        except StoreConflict:  # another process sharing the database created it first
            return self._read_or_create_secret()

    def _read_or_create_secret(self) -> bytes:
        with self.write() as conn:
            row = conn.execute(
                select(schema.settings.c.value).where(schema.settings.c.key == SECRET_KEY)
            ).first()
            if row is not None:
                return bytes(row[0])
            value = secrets.token_bytes(32)
            conn.execute(insert(schema.settings).values(key=SECRET_KEY, value=value))
            return value


class _Reader:
    """One thread's kept read connection, opened on first use and reopened if it was invalidated."""

    __slots__ = ("_conn", "_depth", "_engine", "thread")

    def __init__(self, engine: Engine, thread: threading.Thread) -> None:
        self._engine = engine
        self.thread = thread
        self._conn: Connection | None = None
        self._depth = 0

    def __enter__(self) -> Connection:
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self._engine.connect()
            # No transaction around reads: SQLite reads its own snapshot per statement, and
            # PostgreSQL in autocommit skips the BEGIN/ROLLBACK round trips.
            options: dict[str, Any] = {"sqlite_begin": None}
            if conn.dialect.name != "sqlite":
                options["isolation_level"] = "AUTOCOMMIT"
            conn = self._conn = conn.execution_options(**options)
        self._depth += 1
        return conn

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._depth -= 1
        conn = self._conn
        if self._depth or conn is None:
            return
        if conn.invalidated:
            self.close()
        elif conn.in_transaction():
            # Statements run through `conn.execute` open SQLAlchemy's (empty) transaction; end
            # it as closing a pooled connection would.
            try:
                conn.rollback()
            except Exception:
                self.close()
                raise

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _is_memory(url: str) -> bool:
    return url in ("sqlite://", "sqlite:///:memory:")


def _sqlite_file(url: str) -> Path | None:
    """The database file of a file SQLite URL; None for PostgreSQL, memory and `uri=true` forms."""
    if not url.startswith("sqlite") or _is_memory(url):
        return None
    parsed = make_url(url)
    if not parsed.database or parsed.database == ":memory:" or "uri" in parsed.query:
        return None
    return Path(parsed.database)


def _create_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        parsed = make_url(url)
        if parsed.drivername == "postgresql":  # SQLAlchemy's default driver would be psycopg2
            parsed = parsed.set(drivername="postgresql+psycopg")
        # The API's threads and the worker share the pool; a server restart is survived by
        # testing a connection before handing it out.
        return create_engine(parsed, pool_size=10, max_overflow=20, pool_pre_ping=True, pool_recycle=1800)
    pool: dict[str, Any] = {"poolclass": NullPool} if _is_memory(url) else {"max_overflow": -1}
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


# --- SQLite's one writer ------------------------------------------------------------------------

# How long a write waits for its turn (behind this process's other writers, then for a lock held
# by another process) before it is refused with `StoreBusy`. Far above what a write waits in
# practice (see `bench/bench_write_wait.py`): only a transaction that is itself huge (deleting a
# knowledge base of a million quick responses, say) can hold the lock this long.
WRITE_WAIT_SECONDS = 30


class StoreBusy(StoreConflict):
    """The write could not get the database's write lock in time; nothing was written.

    A `StoreConflict` so the API answers it as ConflictException (409, "retry it"): modeled for
    the writes that can wait behind an import, and a client's usual answer to it is to retry.
    """


class _WriteQueue:
    """A fair (first come, first served) lock for the writers of one SQLite store in this process.

    SQLite's busy handler lets a waiting writer poll with growing sleeps (up to 100 ms), so a
    writer that keeps committing and beginning again (an import's batches) can win the lock over
    and over. Queued here, each writer gets the lock as soon as the one before it commits.
    Re-entrant within a thread (a nested write then waits on SQLite, as it always did).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._waiting: deque[object] = deque()
        self._owner: int | None = None
        self._depth = 0

    def acquire(self, timeout: float) -> bool:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            ticket = object()
            self._waiting.append(ticket)
            deadline = time.monotonic() + timeout
            while self._owner is not None or self._waiting[0] is not ticket:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._waiting.remove(ticket)
                    self._cond.notify_all()  # the next in line may be free to go now
                    return False
                self._cond.wait(remaining)
            self._waiting.popleft()
            self._owner, self._depth = me, 1
            return True

    def release(self) -> None:
        with self._cond:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()


_QUEUES_LOCK = threading.Lock()


def _write_queue(store: Store) -> _WriteQueue:
    """The store's write queue, made on first use (kept in the instance's dict)."""
    queue: _WriteQueue | None = store.__dict__.get("_write_queue")
    if queue is None:
        with _QUEUES_LOCK:
            queue = store.__dict__.setdefault("_write_queue", _WriteQueue())
    return queue


def _deadlocked(error: OperationalError) -> bool:
    """PostgreSQL aborted this transaction to break a deadlock (SQLSTATE 40P01)."""
    return getattr(error.orig, "sqlstate", None) == "40P01"


def _sqlite_busy(error: OperationalError) -> bool:
    """SQLite's "database is locked" / "database table is locked" (SQLITE_BUSY, SQLITE_LOCKED)."""
    code = getattr(error.orig, "sqlite_errorcode", None)
    if code is not None:
        return int(code) & 0xFF in (5, 6)
    return "database is locked" in str(error.orig) or "database table is locked" in str(error.orig)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module so BEGIN is ours to issue.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 32 MiB of page cache per connection: an import keeps its indexes hot without holding much.
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Locks held by another process (the queue above only orders this one's writers).
    cursor.execute(f"PRAGMA busy_timeout={WRITE_WAIT_SECONDS * 1000}")
    # Read pages straight from the OS cache, shared by every connection, instead of copying them
    # into each connection's small page cache: large stores (search over 100,000 rows) need it.
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    if mode is not None:
        conn.exec_driver_sql(f"BEGIN {mode}")


# Page cache of a connection while the import reads through it (`unmapped(reading=True)`): its
# checks walk the whole staging area once, which would only fill a larger cache to no use.
READ_CACHE_KIB = 2048


@contextmanager
def unmapped(conn: Connection, *, reading: bool = False) -> Iterator[Connection]:
    """On SQLite, `conn` without its memory map of the database file while an import uses it (worker.jobs).

    Every connection maps up to 256 MiB of the file (`store.engine`), and a page once read
    through the map stays resident and counts in the process's memory: an import touches all of
    a large table and its indexes (the batches, the checks and the move of the publish), which
    filled the map of each connection it used (a 1,000,000-row import peaked at 720 MB, two
    full maps). Its reads go through the connection's page cache instead; the map is back when
    the import's use of the connection ends (pages come back into it only as they are read).
    `reading`: the connection only reads (the publish's checks), with a small page cache too.
    """
    if conn.dialect.name != "sqlite":
        yield conn
        return
    size = conn.exec_driver_sql("PRAGMA mmap_size").scalar()
    cache = conn.exec_driver_sql("PRAGMA cache_size").scalar() if reading else None
    conn.exec_driver_sql("PRAGMA mmap_size=0")
    if reading:
        conn.exec_driver_sql(f"PRAGMA cache_size={-READ_CACHE_KIB}")
    try:
        yield conn
    finally:
        with suppress(Exception):  # a broken connection is thrown away anyway
            conn.exec_driver_sql(f"PRAGMA mmap_size={int(size or 0)}")
            if cache is not None:
                conn.exec_driver_sql(f"PRAGMA cache_size={int(cache)}")
