"""One running qconnect-local: settings, store, blobs, clock, transition controls, worker.

Shared by the HTTP server and `mock_qconnect()`, so both behave the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qconnect_local.blobs import BlobStore, open_blob_store
from qconnect_local.clock import Clock
from qconnect_local.config import Settings
from qconnect_local.store import Store
from qconnect_local.store.signals import Signals
from qconnect_local.transitions import Transitions

if TYPE_CHECKING:
    from qconnect_local.worker.runner import Worker


class Runtime:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.clock = Clock()
        self.transitions = Transitions()
        self.store = _open_store(self.settings)
        self.signals = Signals(self.store)
        self.blobs: BlobStore = open_blob_store(self.settings, self.store)
        self.worker: Worker | None = None
        if self.settings.run_worker:
            self.start_worker()

    def start_worker(self) -> None:
        from qconnect_local.worker import claims
        from qconnect_local.worker.runner import Worker

        if self.store.dialect == "sqlite":
            # An embedded store has one process: claims still held are a dead process's.
            claims.release_all(self.store)
        self.worker = Worker(self, threads=self.settings.worker_threads)
        self.worker.start()

    def wake_worker(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    def reset(self) -> None:
        """Forget every resource (the control plane's /_qconnect/reset)."""
        from qconnect_local.service.families import BLOB_FOLDERS

        self.transitions.clear()
        self.store.reset()
        for prefix in BLOB_FOLDERS:
            self.blobs.delete_prefix(prefix)
        self.clock.reset()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.blobs.close()
        self.signals.close()
        self.store.close()


def _open_store(settings: Settings) -> Store:
    if settings.database_url:
        return Store(settings.database_url)
    if settings.data_dir:
        return Store.in_dir(settings.data_dir)
    return Store.temporary()
