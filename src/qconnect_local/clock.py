"""The service clock: real time unless a test froze or advanced it through the control plane."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta()
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        frozen = self._frozen
        if frozen is not None:
            return frozen
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            if self._frozen is not None:
                self._frozen += timedelta(seconds=seconds)
            else:
                self._offset += timedelta(seconds=seconds)
        return self.now()

    def freeze(self, at: datetime | None = None) -> datetime:
        with self._lock:
            self._frozen = at or self.now()
        return self._frozen

    def unfreeze(self) -> datetime:
        """Resume ticking from the frozen instant (time never jumps backwards for the service)."""
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - datetime.now(UTC)
                self._frozen = None
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta()
            self._frozen = None

    def state(self) -> dict[str, object]:
        return {
            "now": self.now().isoformat(),
            "frozen": self._frozen is not None,
            "offsetSeconds": self._offset.total_seconds(),
        }
