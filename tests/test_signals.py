"""Signals: a committed write wakes the long polls waiting on its channel, in every process sharing
the database; a rolled-back one wakes no one."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from qconnect_local.store import Store
from qconnect_local.store import signals as signals_module
from qconnect_local.store.signals import Signals
from qconnect_local.testing import postgres

SHORT = 0.3  # how long a wait that must time out is given


class Boom(Exception):
    pass


def new_channel() -> str:
    return f"session-{uuid.uuid4()}"


def commit_notify(store: Store, signals: Signals, channel: str) -> None:
    with store.write() as conn:
        signals.notify(conn, channel)


def notify_later(store: Store, signals: Signals, channel: str, delay: float = 0.05) -> threading.Thread:
    def later() -> None:
        time.sleep(delay)
        commit_notify(store, signals, channel)

    thread = threading.Thread(target=later)
    thread.start()
    return thread


@pytest.fixture
def postgres_url(postgres_database: str | None) -> str:
    if postgres_database is None:
        postgres.skip_or_fail(postgres.unreachable_reason() or "PostgreSQL unreachable")
    assert postgres_database is not None
    return postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "sqlite":
        opened = Store.temporary()
    else:
        opened = Store(request.getfixturevalue("postgres_url"))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def signals(store: Store) -> Iterator[Signals]:
    opened = Signals(store)
    try:
        yield opened
    finally:
        opened.close()


def test_a_committed_write_wakes_a_waiting_subscription(store: Store, signals: Signals) -> None:
    channel = new_channel()
    with signals.subscribe(channel) as subscription:
        writer = notify_later(store, signals, channel)
        started = time.monotonic()
        assert subscription.wait(5)
        assert time.monotonic() - started < 1
        assert subscription.notified()
        writer.join()


def test_a_rolled_back_write_wakes_no_one(store: Store, signals: Signals) -> None:
    channel = new_channel()
    with signals.subscribe(channel) as subscription:
        with pytest.raises(Boom), store.write() as conn:
            signals.notify(conn, channel)
            raise Boom
        assert not subscription.wait(SHORT)
        assert not subscription.notified()


def test_a_notification_committed_after_subscribing_but_before_waiting_is_not_lost(
    store: Store, signals: Signals
) -> None:
    channel = new_channel()
    with signals.subscribe(channel) as thread_waiter, signals.subscribe(channel) as async_waiter:
        commit_notify(store, signals, channel)  # as if it landed between the caller's read and its wait
        assert thread_waiter.wait(2)
        assert asyncio.run(async_waiter.wait_async(2))


def test_a_subscription_to_another_channel_is_not_woken(store: Store, signals: Signals) -> None:
    notified, other = new_channel(), new_channel()
    with signals.subscribe(notified) as woken, signals.subscribe(other) as left_asleep:
        commit_notify(store, signals, notified)
        assert woken.wait(2)
        assert not left_asleep.wait(SHORT)


def test_two_thousand_async_waiters_on_one_loop_wake_only_on_their_channel(
    store: Store, signals: Signals
) -> None:
    hot, cold = new_channel(), new_channel()
    subscriptions = [signals.subscribe(hot if i % 2 else cold) for i in range(2000)]
    timeout = 2.0  # far above a wake-up's latency, even on a loaded machine

    async def waiter(subscription: signals_module.Subscription) -> tuple[str, bool, float]:
        woke = await subscription.wait_async(timeout)
        return subscription.channel, woke, time.monotonic()

    async def main() -> tuple[float, float, list[tuple[str, bool, float]]]:
        started = time.monotonic()
        tasks = [asyncio.create_task(waiter(s)) for s in subscriptions]
        await asyncio.sleep(0.1)  # every waiter is parked on the loop
        sent = time.monotonic()
        await asyncio.to_thread(commit_notify, store, signals, hot)  # the write commits on another thread
        return started, sent, await asyncio.gather(*tasks)

    started, sent, results = asyncio.run(main())
    hot_results = [(woke, at) for channel, woke, at in results if channel == hot]
    cold_results = [(woke, at) for channel, woke, at in results if channel == cold]
    assert len(hot_results) == len(cold_results) == 1000
    assert all(woke and at - sent < 1.5 for woke, at in hot_results)
    assert all(not woke and at - started >= timeout * 0.9 for woke, at in cold_results)
    for subscription in subscriptions:
        subscription.close()
    assert signals.subscribers(hot) == signals.subscribers(cold) == 0


def test_a_closed_subscription_is_no_longer_registered(store: Store, signals: Signals) -> None:
    channel = new_channel()
    subscription = signals.subscribe(channel)
    assert signals.subscribers(channel) == 1
    subscription.close()
    subscription.close()  # idempotent
    assert signals.subscribers(channel) == 0
    assert signals._channels == {}  # nothing is kept for a channel nobody listens on
    commit_notify(store, signals, channel)
    assert not subscription.wait(SHORT)


def test_channels_too_long_for_a_notification_payload_are_refused(store: Store, signals: Signals) -> None:
    too_long = "x" * (signals_module.MAX_CHANNEL_BYTES + 1)
    with pytest.raises(ValueError):
        signals.subscribe(too_long)
    with pytest.raises(ValueError), store.write() as conn:
        signals.notify(conn, too_long)
    with pytest.raises(ValueError):
        signals.subscribe("")


def test_a_notification_committed_on_one_replica_wakes_subscriptions_on_every_replica(
    postgres_url: str,
) -> None:
    replica_a, replica_b = Store(postgres_url), Store(postgres_url)
    signals_a, signals_b = Signals(replica_a), Signals(replica_b)
    try:
        channel = new_channel()
        with signals_b.subscribe(channel) as remote, signals_a.subscribe(channel) as local:
            started = time.monotonic()
            commit_notify(replica_a, signals_a, channel)
            assert remote.wait(1)
            assert local.wait(1)
            assert time.monotonic() - started < 1
    finally:
        signals_a.close()
        signals_b.close()
        replica_a.close()
        replica_b.close()


def test_after_the_listener_reconnects_every_subscription_is_woken_to_recheck(postgres_url: str) -> None:
    store = Store(postgres_url)
    signals = Signals(store)
    try:
        with signals.subscribe(new_channel()) as before:
            with store.write() as conn:
                killed = conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND application_name = 'qconnect-signals'"
                    )
                ).scalar_one()
            assert killed == 1
            assert before.wait(3)  # anything sent while it was down went unheard: look again
        channel = new_channel()
        with signals.subscribe(channel) as after:  # and it listens again
            assert not after.notified()
            commit_notify(store, signals, channel)
            assert after.wait(2)
    finally:
        signals.close()
        store.close()


def test_close_stops_the_listener_promptly(postgres_url: str) -> None:
    store = Store(postgres_url)
    signals = Signals(store)
    try:
        signals.subscribe(new_channel())
        listener = signals._thread
        assert listener is not None and listener.is_alive()
        started = time.monotonic()
        signals.close()
        assert time.monotonic() - started < 1.5
        assert not listener.is_alive()
        with pytest.raises(RuntimeError):
            signals.subscribe(new_channel())
    finally:
        store.close()


def test_close_returns_promptly_when_postgresql_does_not_answer(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signals_module, "_READY_SECONDS", 0.2)
    store = Store(postgres_url)
    # A socket that accepts connections but never speaks: connecting hangs as if the server were gone.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        signals = Signals(store)
        signals._conninfo = f"postgresql://postgres@127.0.0.1:{silent.getsockname()[1]}/postgres"
        try:
            started = time.monotonic()
            subscription = signals.subscribe(new_channel())
            assert time.monotonic() - started < 1
            assert not subscription.wait(0.1)
            started = time.monotonic()
            signals.close()
            assert time.monotonic() - started < 1.5
        finally:
            store.close()
