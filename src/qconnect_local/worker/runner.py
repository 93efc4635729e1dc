"""The worker loop: claim a job, run it, repeat; sleep until woken or a short poll passes.

Runs as threads inside `qconnect-local serve` (and inside `mock_qconnect()`), or alone as
`qconnect-local worker` processes sharing a PostgreSQL store: all coordination goes through
the database (claims, leases, fenced completion), never through Python memory. A worker in
another process is not woken by `wake()`; it finds new jobs by polling every POLL_SECONDS.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

from qconnect_local.runtime import Runtime
from qconnect_local.worker import claims, kinds

log = logging.getLogger("qconnect_local.worker")

POLL_SECONDS = 0.2


RENEWED_ON_SQLITE = frozenset({"conversation-turn"})


class Worker:
    def __init__(self, runtime: Runtime, threads: int = 1) -> None:
        self.runtime = runtime
        self.worker_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.lease = timedelta(seconds=runtime.settings.job_lease_seconds)
        # `wake()` wakes one waiting thread: each of a conversation's turns is one job, and
        # waking every thread made the others look for it too (a claim query each, about
        # 0.6 ms). A thread that finishes a job looks for the next one before it waits.
        self._signal = threading.Condition()
        self._woken = False
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, name=f"qconnect-worker-{i}", daemon=True)
            for i in range(threads)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wake(self) -> None:
        """A job may be ready: one waiting thread looks now (one per call to `wake`)."""
        with self._signal:
            self._woken = True
            self._signal.notify()

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop claiming; wait up to `timeout` for running jobs. True if every thread ended."""
        self._stop.set()
        with self._signal:
            self._signal.notify_all()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)
        return not any(thread.is_alive() for thread in self._threads)

    def abandon(self) -> int:
        """Give up the jobs still running (after `stop` timed out) so another worker takes them now.

        Their transactions can no longer commit (completion is fenced on the claim) and roll
        back when this process exits.
        """
        return claims.release_worker(self.runtime.store, self.worker_id)

    def run_once(self) -> bool:
        """Claim and run one job; False when there was nothing to do."""
        runtime = self.runtime
        claim = claims.claim_next(runtime.store, self.worker_id, runtime.clock.now(), self.lease)
        if claim is None:
            return False
        with self.keep_claimed(claim):
            try:
                kinds.run(runtime, claim)
            except claims.LostClaim:
                log.warning("job %s: claim lost, its work was rolled back", claim.job.id)
            except Exception as error:
                log.exception("job %s failed on an internal error", claim.job.id)
                with contextlib.suppress(claims.LostClaim):
                    kinds.fail_after_error(runtime, claim, error)
        return True

    @contextlib.contextmanager
    def keep_claimed(self, claim: claims.Claim) -> Iterator[None]:
        """Renew the claim's lease every third of it while the job runs (shared stores only).

        SQLite has one process whose writers run one at a time: a renewal would wait for the
        job's own transaction, and claims of a dead process are voided at start-up instead. A
        conversation turn holds no transaction while its model calls run (which may take longer
        than a lease), so it is renewed there too: no other thread may claim it meanwhile.
        """
        if self.runtime.store.dialect == "sqlite" and claim.family.key not in RENEWED_ON_SQLITE:
            yield
            return
        done = threading.Event()
        beat = threading.Thread(
            target=self._renew_until, args=(claim, done), name=f"{threading.current_thread().name}-lease"
        )
        beat.daemon = True
        beat.start()
        try:
            yield
        finally:
            done.set()
            beat.join()

    def _renew_until(self, claim: claims.Claim, done: threading.Event) -> None:
        while not done.wait(self.lease.total_seconds() / 3):
            try:
                held = claims.renew(self.runtime.store, claim, self.runtime.clock.now(), self.lease)
            except Exception:
                log.exception("job %s: renewing its lease failed; retrying", claim.job.id)
                continue
            if not held:
                # Another worker has it (or it was deleted): the job's fenced completion fails.
                log.warning("job %s: claim lost while running", claim.job.id)
                return

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("worker error; retrying after a pause")
                busy = False
            if not busy:
                with self._signal:
                    # A wake that came since the last look counts too: it is never lost.
                    if not self._woken and not self._stop.is_set():
                        self._signal.wait(POLL_SECONDS)
                    self._woken = False
