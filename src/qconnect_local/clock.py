"""The service clock: real time unless a test froze or advanced it through the control plane.

Link and upload expiry, job leases and every timestamp read this clock, so moving it back
would make an expired link valid again. The changes the control plane may make are bounded
to keep that from happening:

- the clock never goes back past a time it has already shown: `advance` takes 0 to
  `MAX_ADVANCE_SECONDS` (a year) at a time, never a negative step;
- `resume_real_time` (the control plane's `{"reset": true}`) unfreezes and returns to real
  time only as far as that goes forward: a clock ahead of real time keeps its lead and ticks
  on from where it is;
- `freeze` stops it (nothing expires meanwhile) and `unfreeze` resumes from the frozen instant.

Only `reset`, the whole server's reset (`POST /_qconnect/reset`, which deletes every resource,
upload and file that a link or a timestamp could name), returns to real time unconditionally.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

LATEST = datetime(9000, 1, 1, tzinfo=UTC)
MAX_ADVANCE_SECONDS = 366 * 86400  # one step: a year, leap day included


def advance_step(seconds: object) -> float:
    """`seconds` as a step the clock may take: a number from 0 to MAX_ADVANCE_SECONDS, else ValueError."""
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 <= seconds <= MAX_ADVANCE_SECONDS
    ):
        raise ValueError(
            f"advanceSeconds must be a number of seconds from 0 to {MAX_ADVANCE_SECONDS} (366 days):"
            " the service clock never goes back, so that no expired link or signature is valid again"
        )
    return float(seconds)


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
        """Move forward by 0 to MAX_ADVANCE_SECONDS; ValueError otherwise (nothing changes)."""
        seconds = advance_step(seconds)
        with self._lock:
            step = timedelta(seconds=seconds)
            target = (self._frozen or datetime.now(UTC) + self._offset) + step
            if target > LATEST:
                raise ValueError(f"advancing the clock by {seconds} seconds goes past {LATEST.year}")
            if self._frozen is not None:
                self._frozen = target
            else:
                self._offset += step
        return self.now()

    def freeze(self, at: datetime | None = None) -> datetime:
        """Stop the clock at `at` (default: now); ValueError if `at` is earlier than now."""
        with self._lock:
            current = self._frozen or datetime.now(UTC) + self._offset
            if at is not None and at < current:
                raise ValueError("the service clock cannot be frozen at an earlier time than it shows")
            self._frozen = at or current
            return self._frozen

    def unfreeze(self) -> datetime:
        """Resume ticking from the frozen instant (time never jumps backwards for the service)."""
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - datetime.now(UTC)
                self._frozen = None
        return self.now()

    def resume_real_time(self) -> datetime:
        """Unfreeze and return to real time, never backwards: a lead over real time is kept."""
        with self._lock:
            real = datetime.now(UTC)
            current = self._frozen or real + self._offset
            self._offset = max(current - real, timedelta())
            self._frozen = None
        return self.now()

    def reset(self) -> None:
        """Real time again, even backwards: only for the server's reset, which deletes everything."""
        with self._lock:
            self._offset = timedelta()
            self._frozen = None

    def state(self) -> dict[str, object]:
        return {
            "now": self.now().isoformat(),
            "frozen": self._frozen is not None,
            "offsetSeconds": self._offset.total_seconds(),
        }
