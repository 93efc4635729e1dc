"""Control-plane knobs that make every ImportJobStatus observable on demand.

`hold` keeps new jobs in START_IN_PROGRESS (imports) or DELETE_IN_PROGRESS (deletes) for N
seconds of service time, or until released; `failNext` makes the next N imports end FAILED or
deletes end DELETE_FAILED. The knobs are stamped onto each job row when it is created or
deleted (`hold_until`, `force_failure`), so whichever worker runs the job honours them.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

KINDS = {"START_IN_PROGRESS": "import", "DELETE_IN_PROGRESS": "delete"}
UNTIL_RELEASED = datetime(9999, 1, 1, tzinfo=UTC)
MAX_HOLD_SECONDS = 100 * 366 * 86400  # a century: any test's need, and now + hold stays a datetime


class Transitions:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hold: dict[str, float | None] = {}  # kind -> seconds (None: until released)
        self._fail_next: dict[str, int] = {}

    def for_new_job(self, kind: str, now: datetime) -> dict[str, Any]:
        """Column values for a job entering the transitional status of `kind`."""
        with self._lock:
            hold_until = None
            if kind in self._hold:
                seconds = self._hold[kind]
                hold_until = UNTIL_RELEASED if seconds is None else now + timedelta(seconds=seconds)
            fail = self._fail_next.get(kind, 0) > 0
            if fail:
                self._fail_next[kind] -= 1
            return {"hold_until": hold_until, "force_failure": int(fail)}

    def configure(self, body: dict[str, Any]) -> None:
        """Apply a control request; raises ValueError on anything malformed."""
        with self._lock:
            if "hold" in body:
                hold = body["hold"]
                kind = _kind(hold.get("status"))
                seconds = hold.get("seconds")
                if seconds is not None and not 0 <= float(seconds) <= MAX_HOLD_SECONDS:
                    raise ValueError(f"hold.seconds must be between 0 and {MAX_HOLD_SECONDS}")
                self._hold[kind] = None if seconds is None else float(seconds)
            if "failNext" in body:
                spec = body["failNext"]
                kind = _kind(spec.get("status"))
                self._fail_next[kind] = int(spec.get("count", 1))

    def release(self, status: str | None) -> list[str]:
        """Stop holding new jobs (of one kind, or all); returns the kinds released."""
        with self._lock:
            kinds = [_kind(status)] if status else list(self._hold)
            for kind in kinds:
                self._hold.pop(kind, None)
            return kinds

    def clear(self) -> None:
        with self._lock:
            self._hold.clear()
            self._fail_next.clear()

    def state(self) -> dict[str, Any]:
        with self._lock:
            status_of = {kind: status for status, kind in KINDS.items()}
            return {
                "hold": [{"status": status_of[k], "seconds": s} for k, s in self._hold.items()],
                "failNext": [{"status": status_of[k], "count": n} for k, n in self._fail_next.items() if n],
            }


def _kind(status: Any) -> str:
    if status not in KINDS:
        raise ValueError(f"status must be one of {sorted(KINDS)}")
    return KINDS[status]
