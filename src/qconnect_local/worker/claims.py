"""Which worker runs which job: claims with a lease, fenced completion, for every kind of job.

A job is a row of a family with asynchronous work (`service.families.JOB_FAMILIES`) whose job
status column holds one of its job statuses. It is claimable when it is not held by the
control plane and either unclaimed or its lease has run out. Completion updates the row only
while this worker still holds the claim, in the same transaction as the job's effects; a
worker that lost its claim (lease expired, job deleted) has its whole transaction rolled back,
so no job's effects are ever committed twice.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Update, and_, bindparam, or_, select, update

from qconnect_local.service.families import FAMILIES, JOB_FAMILIES, Family
from qconnect_local.store import Store
from qconnect_local.store.types import UtcDateTime


class LostClaim(Exception):
    """This worker no longer holds the job: abandon (roll back) everything it did."""


@dataclass(frozen=True)
class Claim:
    family: Family
    job: Any  # the row as claimed
    token: str  # this claim's own, `<worker id>#<n>`: what `claimed_by` holds while it lasts

    @property
    def status(self) -> str:
        return str(getattr(self.job, self.family.job_status_column))


_NOW = bindparam("now", type_=UtcDateTime())


def _claimable(family: Family, status: str) -> tuple[ColumnElement[bool], ...]:
    c = family.table.c
    return (
        c[family.job_status_column] == status,
        or_(c.claimed_by.is_(None), c.lease_until < _NOW),
        or_(c.hold_until.is_(None), c.hold_until <= _NOW),
    )


@functools.cache
def _claim_statements(family: Family, status: str, skip_locked: bool) -> tuple[Select[Any], Update]:
    """The oldest claimable job in `status`, and the claim of it: built once (building costs more
    than running them). One status at a time, so an index on (status, seq) answers in order."""
    table = family.table
    oldest = select(table).where(*_claimable(family, status)).order_by(table.c.seq).limit(1)
    if skip_locked:
        oldest = oldest.with_for_update(skip_locked=True)
    claim = (
        update(table)
        .where(table.c.seq == bindparam("row_seq"), *_claimable(family, status))
        .values(
            claimed_by=bindparam("worker"),
            lease_until=bindparam("until", type_=UtcDateTime()),
            attempts=table.c.attempts + 1,
        )
    )
    return oldest, claim


_KNOBS: tuple[tuple[Family, str], ...] = tuple((f, status) for f in JOB_FAMILIES for status in f.job_statuses)
_turn = itertools.count()


_claims = itertools.count(1)


def claim_token(worker_id: str) -> str:
    """A token no other claim has: each claim is fenced on its own, so a job that re-entered the
    same status meanwhile (a new file while the old one was read) is not mistaken for this one,
    even by another thread of the same worker."""
    return f"{worker_id}#{next(_claims)}"


def claim_next(store: Store, worker_id: str, now: datetime, lease: timedelta) -> Claim | None:
    """Claim the oldest claimable job of one kind and status, trying them in turn so none starves."""
    start = next(_turn)
    token = claim_token(worker_id)
    with store.write() as conn:
        for offset in range(len(_KNOBS)):
            family, status = _KNOBS[(start + offset) % len(_KNOBS)]
            oldest, claim = _claim_statements(family, status, store.dialect == "postgresql")
            row = conn.execute(oldest, {"now": now}).first()
            if row is None:
                continue
            values = {"row_seq": row.seq, "now": now, "worker": token, "until": now + lease}
            if conn.execute(claim, values).rowcount:
                fresh = conn.execute(select(family.table).where(family.table.c.seq == row.seq)).one()
                return Claim(family, fresh, token)
    return None


def _fence(family: Family) -> tuple[ColumnElement[bool], ...]:
    """The row is still the claimed job: same row, same claim, same status."""
    c = family.table.c
    return (
        c.seq == bindparam("held_seq"),
        c.claimed_by == bindparam("held_by"),
        c[family.job_status_column] == bindparam("held_status"),
    )


def _fence_values(claim: Claim) -> dict[str, Any]:
    return {"held_seq": claim.job.seq, "held_by": claim.token, "held_status": claim.status}


@functools.cache
def _finish_statement(family: Family) -> Update:
    """The fenced completion, built once; the columns it sets are the execution's parameters."""
    return update(family.table).where(*_fence(family))


@functools.cache
def _held_statement(family: Family) -> Select[Any]:
    return select(family.table.c.seq).where(*_fence(family))


def update_held(conn: Connection, claim: Claim, **values: Any) -> bool:
    """Set `values` on the job only while this claim holds it (same row, claim and status);
    whether it did. Every write of a claimed job is fenced so."""
    return bool(conn.execute(_finish_statement(claim.family), {**values, **_fence_values(claim)}).rowcount)


def finish(conn: Connection, claim: Claim, **values: Any) -> None:
    """Move the claimed job to its next state, or raise LostClaim if the claim is gone."""
    released = {"claimed_by": None, "lease_until": None, "hold_until": None}
    if not update_held(conn, claim, **released, **values):
        raise LostClaim(claim.job.id)


def check_held(conn: Connection, claim: Claim) -> None:
    """Raise LostClaim unless this worker still holds the job (for jobs that commit in steps)."""
    if conn.execute(_held_statement(claim.family), _fence_values(claim)).first() is None:
        raise LostClaim(claim.job.id)


def renew(store: Store, claim: Claim, now: datetime, lease: timedelta) -> bool:
    table = claim.family.table
    with store.write() as conn:
        renewed = conn.execute(
            update(table)
            .where(table.c.seq == claim.job.seq, table.c.claimed_by == claim.token)
            .values(lease_until=now + lease)
        ).rowcount
    return bool(renewed)


def release_worker(store: Store, worker_id: str) -> int:
    """Void the claims of one worker that is shutting down, so others need not wait for the lease."""
    return _void(store, worker_id)


def release_all(store: Store) -> int:
    """Void every claim: for a store only this process uses (SQLite), claims of a dead process."""
    return _void(store, None)


def _void(store: Store, worker_id: str | None) -> int:
    released = 0
    with store.write() as conn:
        for family in JOB_FAMILIES:
            c = family.table.c
            # A worker's claims are `<worker id>#<n>`: the range of keys starting `<worker id>#`.
            held = (
                c.claimed_by.is_not(None)
                if worker_id is None
                else and_(c.claimed_by > f"{worker_id}#", c.claimed_by < f"{worker_id}$")
            )
            released += conn.execute(
                update(family.table).where(held).values(claimed_by=None, lease_until=None)
            ).rowcount
    return released


ALL_KNOBS: tuple[tuple[str, str], ...] = tuple((family.key, status) for family, status in _KNOBS)


def release_held(store: Store, knobs: Sequence[tuple[str, str]]) -> int:
    """Let held jobs of these (kind, status) knobs proceed now; returns how many were released."""
    released = 0
    with store.write() as conn:
        for kind, status in knobs:
            family = FAMILIES[kind]
            c = family.table.c
            released += conn.execute(
                update(family.table)
                .where(c[family.job_status_column] == status, c.hold_until.is_not(None))
                .values(hold_until=None)
            ).rowcount
    return released
