"""Reads the console's prompt preview needs that no API operation makes: a session's `Custom`
data (what `{{$.Custom.<key>}}` reads) and its most recent turns (what `{{$.transcript}}` reads).

All reads are bounded (`limit`) and scoped to account and region; nothing is changed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from qconnect_local.store.schema import messages, sessions, transcript_turns

CUSTOM_NAMESPACE = "Custom"


def session_custom_data(
    conn: Connection, account: str, region: str, assistant_id: str, session_id: str
) -> dict[str, str]:
    """The session's `Custom` namespace (UpdateSessionData), or {} when there is none."""
    row = conn.execute(
        select(sessions.c.data).where(
            sessions.c.account == account,
            sessions.c.region == region,
            sessions.c.assistant_id == assistant_id,
            sessions.c.id == session_id,
        )
    ).first()
    if row is None or not isinstance(row[0], dict):
        return {}
    data: Any = row[0].get(CUSTOM_NAMESPACE) or {}
    return {str(key): str(value) for key, value in data.items()}


def recent_messages(
    conn: Connection, account: str, region: str, session_id: str, limit: int
) -> list[tuple[str, str]]:
    """The session's last `limit` TEXT messages (SendMessage and its answers), oldest first, as
    (participant, text)."""
    rows = conn.execute(
        select(messages.c.participant, messages.c.value)
        .where(
            messages.c.account == account,
            messages.c.region == region,
            messages.c.session_id == session_id,
            messages.c.type == "TEXT",
        )
        .order_by(messages.c.seq.desc())
        .limit(limit)
    ).all()
    turns: list[tuple[str, str]] = []
    for participant, value in reversed(rows):
        text = ((value or {}).get("text") or {}).get("value")
        if text:
            turns.append((str(participant), str(text)))
    return turns


def recent_transcript(
    conn: Connection, account: str, region: str, session_id: str, limit: int
) -> list[tuple[str, str]]:
    """The session's last `limit` contact-transcript turns (posted through the control plane),
    oldest first, as (participant, text)."""
    rows = conn.execute(
        select(transcript_turns.c.participant, transcript_turns.c.text)
        .where(
            transcript_turns.c.account == account,
            transcript_turns.c.region == region,
            transcript_turns.c.session_id == session_id,
        )
        .order_by(transcript_turns.c.seq.desc())
        .limit(limit)
    ).all()
    return [(str(participant), str(text)) for participant, text in reversed(rows)]
