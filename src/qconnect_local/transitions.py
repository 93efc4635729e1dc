"""Control-plane knobs that make every transitional status observable on demand.

A knob is keyed by (kind, status): the kind is a family that has asynchronous work
(`import-job`, `content`, `knowledge-base`; see `service.families`) and the status one of its
job statuses. `hold` keeps new jobs entering that status there for N seconds of service time,
or until released; `failNext` makes the next N such jobs end in their failure status
(FAILED, DELETE_FAILED, CREATE_FAILED, UPDATE_FAILED, SYNC_FAILED). The knobs are stamped
onto each job row as it enters the status (`hold_until`, `force_failure`), so whichever worker
runs the job honours them. Without `kind`, a status means the import job's (the original form).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

UNTIL_RELEASED = datetime(9999, 1, 1, tzinfo=UTC)
MAX_HOLD_SECONDS = 100 * 366 * 86400  # a century: any test's need, and now + hold stays a datetime
DEFAULT_KIND = "import-job"

Knob = tuple[str, str]  # (kind, status)


def _job_statuses() -> dict[str, tuple[str, ...]]:
    from qconnect_local.service.families import JOB_FAMILIES

    return {family.key: family.job_statuses for family in JOB_FAMILIES}


class Transitions:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hold: dict[Knob, float | None] = {}  # seconds (None: until released)
        self._fail_next: dict[Knob, int] = {}

    def for_new_job(self, kind: str, status: str, now: datetime) -> dict[str, Any]:
        """Column values for a job of `kind` entering `status`."""
        knob = (kind, status)
        with self._lock:
            hold_until = None
            if knob in self._hold:
                seconds = self._hold[knob]
                hold_until = UNTIL_RELEASED if seconds is None else now + timedelta(seconds=seconds)
            fail = self._fail_next.get(knob, 0) > 0
            if fail:
                self._fail_next[knob] -= 1
            return {"hold_until": hold_until, "force_failure": int(fail)}

    def configure(self, body: dict[str, Any]) -> None:
        """Apply a control request; raises ValueError on anything malformed."""
        with self._lock:
            if "hold" in body:
                hold = body["hold"]
                knob = _knob(hold)
                seconds = hold.get("seconds")
                if seconds is not None and not 0 <= float(seconds) <= MAX_HOLD_SECONDS:
                    raise ValueError(f"hold.seconds must be between 0 and {MAX_HOLD_SECONDS}")
                self._hold[knob] = None if seconds is None else float(seconds)
            if "failNext" in body:
                spec = body["failNext"]
                self._fail_next[_knob(spec)] = int(spec.get("count", 1))

    def release(self, which: Any) -> list[Knob]:
        """Stop holding new jobs: all of them (`True`), one status (a string) or one knob (a dict)."""
        with self._lock:
            if which is True:
                knobs = list(self._hold)
            elif isinstance(which, str):
                knobs = [_knob({"status": which})]
            else:
                knobs = [_knob(which)]
            for knob in knobs:
                self._hold.pop(knob, None)
            return knobs

    def clear(self) -> None:
        with self._lock:
            self._hold.clear()
            self._fail_next.clear()

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "hold": [{"kind": k, "status": s, "seconds": n} for (k, s), n in self._hold.items()],
                "failNext": [
                    {"kind": k, "status": s, "count": n} for (k, s), n in self._fail_next.items() if n
                ],
            }


def _knob(spec: Any) -> Knob:
    kind = spec.get("kind", DEFAULT_KIND)
    statuses = _job_statuses()
    if kind not in statuses:
        raise ValueError(f"kind must be one of {sorted(statuses)}")
    status = spec.get("status")
    if status not in statuses[kind]:
        raise ValueError(f"status must be one of {list(statuses[kind])} for kind {kind}")
    return kind, status
