"""`Store.read()` on SQLite: one kept connection per thread, and still the semantics of a fresh one.

Reads keep their connection open between calls (checking one out of the pool cost more than
the lookup itself). These tests pin down what must not change because of that: every read
sees what was committed before it started, never a write still in progress; threads never
share a connection; nested reads work; an error leaves the next read unaffected; and
connections are given back when their thread ends or the store closes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import Connection, func, insert, select, text

from qconnect_local.store import Store
from qconnect_local.store.schema import settings

T = TypeVar("T")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.in_dir(tmp_path / "data")
    yield opened
    opened.close()


def count(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(settings)).scalar_one())


def add(store: Store, key: str) -> None:
    with store.write() as conn:
        conn.execute(insert(settings).values(key=key, value=b"x"))


def in_thread(work: Callable[[], T]) -> T:
    """Run `work` on a new thread (which then ends) and return its result."""
    result: list[T] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join(10)
    return result[0]


def test_each_read_sees_every_write_committed_before_it(store: Store) -> None:
    before = count(store)
    add(store, "from-this-thread")
    in_thread(lambda: add(store, "from-another-thread"))
    assert count(store) == before + 2


def test_a_read_never_sees_a_write_still_in_progress_and_is_not_blocked_by_it(store: Store) -> None:
    before = count(store)
    writing, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with store.write() as conn:
            conn.execute(insert(settings).values(key="pending", value=b"x"))
            writing.set()
            release.wait(10)

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert writing.wait(10)
    try:
        assert count(store) == before
    finally:
        release.set()
        writer.join(10)
    assert count(store) == before + 1


def test_nested_reads_share_the_connection_and_the_outer_one_stays_usable(store: Store) -> None:
    with store.read() as outer:
        with store.read() as inner:
            assert inner is outer
            assert inner.execute(text("SELECT 1")).scalar_one() == 1
        assert outer.execute(text("SELECT 2")).scalar_one() == 2


def test_threads_never_share_a_read_connection(store: Store) -> None:
    with store.read() as mine:
        theirs = in_thread(lambda: _connection_of(store))
        assert theirs is not mine


def _connection_of(store: Store) -> Connection:
    with store.read() as conn:
        return conn


def test_a_read_ends_its_transaction_so_the_next_read_starts_clean(store: Store) -> None:
    with store.read() as conn:
        conn.execute(text("SELECT 1"))
        assert conn.in_transaction()
    with store.read() as conn:
        assert not conn.in_transaction()


def test_an_error_inside_a_read_leaves_later_reads_working(store: Store) -> None:
    with pytest.raises(Exception, match="no such table"), store.read() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))
    with pytest.raises(RuntimeError), store.read():
        raise RuntimeError("handler failed")
    assert count(store) >= 1


def test_many_threads_can_hold_reads_at_once(store: Store) -> None:
    """More readers than SQLAlchemy's default pool allows (5 + 10 overflow) must not wait."""
    threads = 24
    all_inside = threading.Barrier(threads, timeout=10)
    failures: list[BaseException] = []

    def reader() -> None:
        try:
            with store.read() as conn:
                conn.execute(text("SELECT 1"))
                all_inside.wait()
        except BaseException as error:
            failures.append(error)

    workers = [threading.Thread(target=reader) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(20)
    assert failures == []


def test_connections_of_ended_threads_and_of_a_closed_store_are_given_back(store: Store) -> None:
    pool = store.engine.pool
    for _ in range(5):
        in_thread(lambda: count(store))
    count(store)  # a new reader in this thread closes those whose threads have ended
    assert pool.checkedout() == 1  # this thread's own
    store.close()
    assert pool.checkedout() == 0
