"""One running qconnect-local: settings, store, clock. Shared by the server, the worker and the mock."""

from __future__ import annotations

from qconnect_local.clock import Clock
from qconnect_local.config import Settings
from qconnect_local.store import Store


class Runtime:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.clock = Clock()
        self.store = _open_store(self.settings)

    def reset(self) -> None:
        """Forget every resource (the control plane's /_qconnect/reset)."""
        self.store.reset()
        self.clock.reset()

    def close(self) -> None:
        self.store.close()


def _open_store(settings: Settings) -> Store:
    if settings.database_url:
        return Store(settings.database_url)
    if settings.data_dir:
        return Store.in_dir(settings.data_dir)
    return Store.temporary()
