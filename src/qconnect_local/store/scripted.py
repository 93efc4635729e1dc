"""The scripted generation backend's queue, in the store so that every replica and worker
shares it: entries for one session, for one assistant (any of its sessions), or for any."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select

from qconnect_local.store.engine import Store
from qconnect_local.store.schema import scripted_responses as table


class Queue:
    """`engine.generation.ScriptedQueue` over the store: each entry is taken once, in its own
    transaction (a turn that fails afterwards does not put it back)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def push(
        self,
        account: str,
        assistant_id: str | None,
        session_id: str | None,
        entries: list[Any],
        now: datetime,
    ) -> int:
        rows = [
            {
                "account": account,
                "assistant_id": assistant_id,
                "session_id": session_id,
                "entry": e,
                "created_at": now,
            }
            for e in entries
        ]
        with self.store.write() as conn:
            if rows:
                conn.execute(insert(table), rows)
        return len(rows)

    def pop(self, account: str, assistant_id: str, session_id: str | None) -> dict[str, Any] | None:
        """The oldest entry for this session, else for this assistant, else for any."""
        with self.store.write() as conn:
            candidates = conn.execute(
                select(table.c.seq, table.c.assistant_id, table.c.session_id, table.c.entry)
                .where(
                    table.c.account == account,
                    or_(table.c.assistant_id.is_(None), table.c.assistant_id == assistant_id),
                    or_(table.c.session_id.is_(None), table.c.session_id == session_id),
                )
                .order_by(table.c.seq)
            ).all()
            if not candidates:
                return None
            best = min(candidates, key=lambda r: (r.session_id is None, r.assistant_id is None, r.seq))
            conn.execute(delete(table).where(table.c.seq == best.seq))
            entry: dict[str, Any] = best.entry
            return entry
