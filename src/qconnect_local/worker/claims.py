"""Which worker runs which job: claims with a lease, fenced completion.

A job is claimable when it is in a transitional status, not held by the control plane, and
either unclaimed or its lease has run out. Completion updates the job only while this worker
still holds the claim, in the same transaction as the job's effects; a worker that lost its
claim (lease expired, job deleted) has its whole transaction rolled back, so no job's effects
are ever committed twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, or_, select, update

from qconnect_local.service.import_jobs import DELETE_IN_PROGRESS, START_IN_PROGRESS
from qconnect_local.store import Store
from qconnect_local.store.schema import import_jobs as job_table

TRANSITIONAL = (START_IN_PROGRESS, DELETE_IN_PROGRESS)


class LostClaim(Exception):
    """This worker no longer holds the job: abandon (roll back) everything it did."""


@dataclass(frozen=True)
class Claim:
    job: Any  # the job row as claimed
    worker_id: str


def _claimable(now: datetime) -> Any:
    return (
        job_table.c.status.in_(TRANSITIONAL),
        or_(job_table.c.claimed_by.is_(None), job_table.c.lease_until < now),
        or_(job_table.c.hold_until.is_(None), job_table.c.hold_until <= now),
    )


def claim_next(store: Store, worker_id: str, now: datetime, lease: timedelta) -> Claim | None:
    with store.write() as conn:
        query = select(job_table).where(*_claimable(now)).order_by(job_table.c.seq).limit(1)
        if store.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = conn.execute(query).first()
        if row is None:
            return None
        claimed = conn.execute(
            update(job_table)
            .where(job_table.c.seq == row.seq, *_claimable(now))
            .values(claimed_by=worker_id, lease_until=now + lease, attempts=job_table.c.attempts + 1)
        ).rowcount
        if not claimed:
            return None
        return Claim(conn.execute(select(job_table).where(job_table.c.seq == row.seq)).one(), worker_id)


def finish(conn: Connection, claim: Claim, now: datetime, **values: Any) -> None:
    """Move the claimed job to its final state, or raise LostClaim if the claim is gone."""
    done = conn.execute(
        update(job_table)
        .where(
            job_table.c.seq == claim.job.seq,
            job_table.c.claimed_by == claim.worker_id,
            job_table.c.status == claim.job.status,
        )
        .values(claimed_by=None, lease_until=None, hold_until=None, modified_at=now, **values)
    ).rowcount
    if not done:
        raise LostClaim(claim.job.id)


def renew(store: Store, claim: Claim, now: datetime, lease: timedelta) -> bool:
    with store.write() as conn:
        renewed = conn.execute(
            update(job_table)
            .where(job_table.c.seq == claim.job.seq, job_table.c.claimed_by == claim.worker_id)
            .values(lease_until=now + lease)
        ).rowcount
    return bool(renewed)


def release_worker(store: Store, worker_id: str) -> int:
    """Void the claims of one worker that is shutting down, so others need not wait for the lease."""
    with store.write() as conn:
        released: int = conn.execute(
            update(job_table)
            .where(job_table.c.claimed_by == worker_id)
            .values(claimed_by=None, lease_until=None)
        ).rowcount
    return released


def release_all(store: Store) -> int:
    """Void every claim: for a store only this process uses (SQLite), claims of a dead process."""
    with store.write() as conn:
        released: int = conn.execute(
            update(job_table)
            .where(job_table.c.claimed_by.is_not(None))
            .values(claimed_by=None, lease_until=None)
        ).rowcount
    return released
