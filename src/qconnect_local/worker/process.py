"""`qconnect-local worker`: a process that only runs jobs, until SIGTERM or SIGINT.

On a signal it stops claiming, lets running jobs finish for a grace period, then abandons the
rest: their claims are voided so another worker takes them at once, and their transactions,
which can no longer complete (completion is fenced on the claim), roll back as the process ends.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from qconnect_local import __version__
from qconnect_local.config import Settings
from qconnect_local.runtime import Runtime
from qconnect_local.worker.runner import Worker

log = logging.getLogger("qconnect_local.worker")


def run_worker_process(settings: Settings, *, threads: int, grace_seconds: float) -> None:
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    runtime = Runtime(settings)
    try:
        worker = Worker(runtime, threads=threads)
        worker.start()
        print(
            f"qconnect-local {__version__} worker {worker.worker_id} ({threads} thread(s), "
            f"store: {runtime.store.dialect}) ready",
            flush=True,
        )
        while not stopping.wait(1.0):
            pass
        if not worker.stop(timeout=grace_seconds):
            abandoned = worker.abandon()
            log.warning("stopped with %d job(s) unfinished: abandoned, another worker takes them", abandoned)
    finally:
        runtime.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
