"""The service clock: real time unless a test froze or advanced it through the control plane."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


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
        """ValueError if service time would leave 1970-9000 (beyond, adding a duration overflows)."""
        with self._lock:
            try:
                step = timedelta(seconds=seconds)
                target = (self._frozen or datetime.now(UTC) + self._offset) + step
            except OverflowError:
                target = None
            if target is None or not EARLIEST <= target <= LATEST:
                raise ValueError(
                    f"advancing the clock by {seconds} seconds leaves {EARLIEST.year}-{LATEST.year}"
                )
            if self._frozen is not None:
                self._frozen = target
            else:
                self._offset += step
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
