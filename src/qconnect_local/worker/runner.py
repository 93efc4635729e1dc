"""The worker loop: claim a job, run it, repeat; sleep until woken or a short poll passes.

Runs as threads inside `qconnect-local serve` (and inside `mock_qconnect()`); the same code
can run in separate worker processes that share a store, because all coordination goes
through the database (claims, leases, fenced completion), never through Python memory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from datetime import timedelta

from qconnect_local.runtime import Runtime
from qconnect_local.worker import claims, jobs

log = logging.getLogger("qconnect_local.worker")

POLL_SECONDS = 0.2
LEASE = timedelta(seconds=60)


class Worker:
    def __init__(self, runtime: Runtime, threads: int = 1) -> None:
        self.runtime = runtime
        self.worker_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, name=f"qconnect-worker-{i}", daemon=True)
            for i in range(threads)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    def run_once(self) -> bool:
        """Claim and run one job; False when there was nothing to do."""
        runtime = self.runtime
        claim = claims.claim_next(runtime.store, self.worker_id, runtime.clock.now(), LEASE)
        if claim is None:
            return False
        try:
            jobs.run(runtime, claim)
        except claims.LostClaim:
            log.warning("job %s: claim lost, its work was rolled back", claim.job.id)
        except Exception as error:
            log.exception("job %s failed on an internal error", claim.job.id)
            with contextlib.suppress(claims.LostClaim):
                jobs.fail_after_error(runtime, claim, error)
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("worker error; retrying after a pause")
                busy = False
            if not busy:
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()
