"""Wake-ups for long polling: a waiter sleeps until a committed write says "look again".

A request that finds nothing to answer (say, an empty recommendation queue) subscribes to a
channel (the session's id) and sleeps; a write that adds to the queue calls `notify` inside its
transaction. The wake-up is only a hint to re-read: the database stays the source of truth, so a
spurious wake-up costs one read and a missed one costs nothing worse than the waiter's timeout.

Order matters. The waiter subscribes BEFORE it reads, so a write committed between its read and
its wait still finds the subscription and marks it; `wait` then returns at once. A subscription
fires once: a caller that woke, re-read and still found nothing subscribes again (before reading
again)::

    while time_left():
        with signals.subscribe(session_id) as subscription:
            if queue := read_queue():
                return queue
            subscription.wait(time_left())

SQLite serves one process, so `notify` just queues a `Store.after_commit` callback that wakes the
local subscriptions. PostgreSQL may be shared by several processes (replicas), so `notify` runs
`pg_notify` in the transaction: PostgreSQL delivers it on commit, to every listening session
(including this process's own), and never for a rollback. Each `Signals` has one listener
thread, started by the first `subscribe`, holding a dedicated autocommit connection that
`LISTEN`s on one fixed channel; the payload names the subscription channel.

Waiters hold no thread: `wait_async` parks a future on the caller's event loop, resolved from
the listener (or writer) thread with `call_soon_threadsafe`, so thousands can wait in one
process. Memory follows live subscriptions only: a channel nobody is subscribed to keeps nothing.

If the listener's connection drops, notifications sent meanwhile are lost; once it listens again
it wakes every subscription that might have missed one (all those registered while it was not
listening), and each waiter simply re-checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from types import TracebackType

from sqlalchemy import Connection, make_url, text

from qconnect_local.store.engine import Store

PG_CHANNEL = "qconnect_signals"
# PostgreSQL refuses payloads of 8000 bytes or more; channels are short ids, so stay well below.
MAX_CHANNEL_BYTES = 256
_POLL_SECONDS = 0.2  # how often the listener looks up from its socket to notice close()
_READY_SECONDS = 2.0  # how long the first subscribe waits for the listener's first connection
_CONNECT_TIMEOUT = 5  # seconds; libpq's connect_timeout (whole seconds)
_BACKOFF_SECONDS = (0.1, 5.0)  # first and longest pause between reconnection attempts

log = logging.getLogger("qconnect_local.store.signals")


class Subscription:
    """Interest in one channel, registered BEFORE the caller reads the state it waits on, so that a
    notification committed between that read and the wait is never lost."""

    def __init__(self, signals: Signals, channel: str) -> None:
        self.channel = channel
        self._signals = signals
        self._event = threading.Event()  # set once notified; thread waiters block on it
        # Async waiters, guarded by the Signals' lock: each future is resolved on its own loop.
        self._futures: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._closed = False

    def notified(self) -> bool:
        """Whether a notification arrived since subscribing."""
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """Block this thread until notified or `timeout` seconds pass; True if notified."""
        return self._event.wait(max(timeout, 0.0))

    async def wait_async(self, timeout: float) -> bool:
        """`wait` on the running event loop, holding no thread; True if notified."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (loop, future)
        with self._signals._lock:
            if self._event.is_set():
                return True
            self._futures.append(entry)
        try:
            async with asyncio.timeout(max(timeout, 0.0)):
                await future
        except TimeoutError:
            pass
        finally:
            with self._signals._lock:
                if entry in self._futures:
                    self._futures.remove(entry)
        return self._event.is_set()

    def close(self) -> None:
        """Stop listening (idempotent). Waiters still blocked on it sleep until their timeout."""
        self._signals._unregister(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _fire(self) -> list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]:
        """Mark notified (with the Signals' lock held); the futures to resolve once it is released."""
        self._event.set()
        futures, self._futures = self._futures, []
        return futures


class Signals:
    """Channels that committed writes notify and long polls wait on, across every process sharing
    the store's database."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._postgres = store.dialect == "postgresql"
        self._lock = threading.Lock()
        self._channels: dict[str, set[Subscription]] = {}
        self._closed = False
        # PostgreSQL listener state (all guarded by _lock except the events).
        self._conninfo = _conninfo(store.url) if self._postgres else ""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._first_attempt = threading.Event()  # set once the listener first connected or failed
        self._listening = False
        self._missed = False  # a subscription registered while not listening must be woken later

    def subscribe(self, channel: str) -> Subscription:
        """Register interest in `channel`; call it before reading the state to wait on.

        On PostgreSQL the very first call starts the listener and waits (briefly) until it
        listens, so that call's read cannot race a notification the listener would not yet see.
        """
        _check(channel)
        subscription = Subscription(self, channel)
        with self._lock:
            if self._closed:
                raise RuntimeError("Signals is closed")
            self._channels.setdefault(channel, set()).add(subscription)
            if self._postgres and self._thread is None:
                self._thread = threading.Thread(target=self._listen, name="qconnect-signals", daemon=True)
                self._thread.start()
        if not self._postgres:
            return subscription
        self._first_attempt.wait(_READY_SECONDS)
        with self._lock:
            if not self._listening:
                # Notifications may go unheard until the listener connects: it wakes us then.
                self._missed = True
        return subscription

    def notify(self, conn: Connection, channel: str) -> None:
        """Within a write transaction on `conn`: once it commits, every subscription to `channel` in
        every process sharing the database is notified; a rolled-back transaction notifies no one."""
        _check(channel)
        if self._postgres:
            conn.execute(text("SELECT pg_notify(:name, :channel)"), {"name": PG_CHANNEL, "channel": channel})
        else:
            Store.after_commit(conn, lambda: self._dispatch(channel))

    def subscribers(self, channel: str) -> int:
        """How many live subscriptions `channel` has (for tests and diagnostics)."""
        with self._lock:
            return len(self._channels.get(channel, ()))

    def close(self) -> None:
        """Stop the listener and close its connection, waiting a second at most."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._stop.set()
        if thread is not None:
            # The thread closes its own connection (closing it from here could free it under the
            # thread's feet). One stuck connecting to an unreachable server is a daemon: it
            # closes its connection and ends once connect_timeout passes.
            thread.join(1.0)

    def _unregister(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription._closed:
                return
            subscription._closed = True
            subscriptions = self._channels.get(subscription.channel)
            if subscriptions is not None:
                subscriptions.discard(subscription)
                if not subscriptions:
                    del self._channels[subscription.channel]

    def _dispatch(self, channel: str | None) -> None:
        """Wake the subscriptions of `channel` (of every channel for None), from any thread."""
        with self._lock:
            if channel is None:
                subscriptions = [s for group in self._channels.values() for s in group]
            else:
                subscriptions = list(self._channels.get(channel, ()))
            futures = [entry for s in subscriptions for entry in s._fire()]
        for loop, future in futures:
            # A loop that has closed raises RuntimeError: nobody is awaiting its future any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, future)

    def _listen(self) -> None:
        """The listener thread: LISTEN, dispatch payloads, reconnect with backoff until close()."""
        import psycopg  # here, not at the top: a SQLite store never loads it (70 ms of start-up)

        backoff = _BACKOFF_SECONDS[0]
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self._conninfo, autocommit=True, connect_timeout=_CONNECT_TIMEOUT
                ) as conn:
                    conn.execute(f"LISTEN {PG_CHANNEL}")
                    self._now_listening()
                    backoff = _BACKOFF_SECONDS[0]
                    while not self._stop.is_set():
                        for notify in conn.notifies(timeout=_POLL_SECONDS):
                            self._dispatch(notify.payload)
            except Exception as error:
                if not self._stop.is_set():
                    log.warning("signal listener lost its connection (retrying in %.1fs): %s", backoff, error)
            finally:
                with self._lock:
                    if self._listening:
                        self._listening = False
                        self._missed = True  # anything sent until we listen again went unheard
                self._first_attempt.set()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, _BACKOFF_SECONDS[1])

    def _now_listening(self) -> None:
        with self._lock:
            self._listening = True
            missed, self._missed = self._missed, False
        self._first_attempt.set()
        if missed:
            self._dispatch(None)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # it may have timed out or been cancelled meanwhile
        future.set_result(None)


def _check(channel: str) -> None:
    if not channel or len(channel.encode()) > MAX_CHANNEL_BYTES:
        raise ValueError(f"a signal channel is 1 to {MAX_CHANNEL_BYTES} bytes long: {channel[:40]!r}")


def _conninfo(url: str) -> str:
    """The store's SQLAlchemy URL as a libpq URL (no `+psycopg`): named in pg_stat_activity, and
    with keepalives so that a silently vanished server is noticed and the listener reconnects."""
    parsed = make_url(url).set(drivername="postgresql")
    query = {
        "application_name": "qconnect-signals",
        "keepalives": "1",
        "keepalives_idle": "30",
        "keepalives_interval": "10",
        "keepalives_count": "3",
    }
    return parsed.update_query_dict({**query, **parsed.query}).render_as_string(hide_password=False)
