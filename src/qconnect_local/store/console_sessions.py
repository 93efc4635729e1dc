"""Reads the console's session pages need that no API operation makes, none of which changes anything.

- A page of sessions shows their names: SearchSessions answers only ids and ARNs (`session_names`).
- A session's `Custom` data (UpdateSessionData) and its timestamps (`session_extras`).
- The transcript the control plane fed (`transcript_page`) and the recommendation queue with its
  triggers (`trigger_page`), read without taking anything off the queue (GetRecommendations
  is what a client uses; a page must not).
- Which SendMessage turn each message belongs to (`message_turns`, `turn_of_message`) and that
  turn's spans (`turn_spans`): ListSpans answers every span of the session, with no filter.
- Which passage of a content a citation quotes (`cited_passage`), for a link to that passage.

Every read is scoped by account and region (and assistant or session) and bounded by `limit`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from qconnect_local.store.passages import passages_of
from qconnect_local.store.schema import (
    contents,
    conversation_turns,
    messages,
    recommendation_triggers,
    recommendations,
    sessions,
    spans,
    transcript_turns,
)


@dataclass(frozen=True)
class SessionName:
    name: str
    description: str | None
    created_at: datetime


def session_names(
    conn: Connection, account: str, region: str, assistant_id: str, session_ids: Collection[str]
) -> dict[str, SessionName]:
    """The name, description and creation time of each of these sessions of the assistant."""
    if not session_ids:
        return {}
    query = select(sessions.c.id, sessions.c.name, sessions.c.description, sessions.c.created_at).where(
        sessions.c.account == account,
        sessions.c.region == region,
        sessions.c.assistant_id == assistant_id,
        sessions.c.id.in_(list(session_ids)),
    )
    return {row.id: SessionName(row.name, row.description, row.created_at) for row in conn.execute(query)}


@dataclass(frozen=True)
class SessionExtras:
    data: dict[str, dict[str, str]]  # namespace -> key -> value
    contact_arn: str | None
    created_at: datetime
    modified_at: datetime


def session_extras(
    conn: Connection, account: str, region: str, assistant_id: str, session_id: str
) -> SessionExtras | None:
    query = select(sessions.c.data, sessions.c.config, sessions.c.created_at, sessions.c.modified_at).where(
        sessions.c.account == account,
        sessions.c.region == region,
        sessions.c.assistant_id == assistant_id,
        sessions.c.id == session_id,
    )
    row = conn.execute(query).first()
    if row is None:
        return None
    return SessionExtras(
        dict(row.data or {}), (row.config or {}).get("contactArn"), row.created_at, row.modified_at
    )


@dataclass(frozen=True)
class Turn:
    seq: int
    participant: str
    text: str
    created_at: datetime


def transcript_page(
    conn: Connection, account: str, region: str, session_id: str, *, before: int | None, limit: int
) -> tuple[list[Turn], int | None]:
    """Up to `limit` transcript turns before the turn `before` (a seq; None: the latest), oldest
    first; and the seq to ask for the page of earlier turns (None when there are none)."""
    t = transcript_turns.c
    query = select(t.seq, t.participant, t.text, t.created_at).where(
        t.account == account, t.region == region, t.session_id == session_id
    )
    if before is not None:
        query = query.where(t.seq < before)
    rows = conn.execute(query.order_by(t.seq.desc()).limit(limit + 1)).all()
    earlier = rows[limit - 1].seq if len(rows) > limit else None
    turns = [Turn(r.seq, r.participant, r.text, r.created_at) for r in rows[:limit]]
    return list(reversed(turns)), earlier


@dataclass(frozen=True)
class Recommendation:
    id: str
    type: str
    content_id: str | None
    payload: dict[str, Any]
    received: bool
    created_at: datetime


@dataclass(frozen=True)
class Trigger:
    seq: int
    id: str
    type: str
    source: str
    query_text: str
    created_at: datetime
    recommendations: list[Recommendation]


def trigger_page(
    conn: Connection, account: str, region: str, session_id: str, *, before: int | None, limit: int
) -> tuple[list[Trigger], int | None]:
    """Up to `limit` of the session's recommendation triggers before `before` (a seq; None: the
    latest), newest first, each with the recommendations it queued (still queued or already
    acknowledged); and the seq to ask for the page of older ones (None when there are none)."""
    t = recommendation_triggers.c
    query = select(t.seq, t.id, t.type, t.source, t.query_text, t.created_at).where(
        t.account == account, t.region == region, t.session_id == session_id
    )
    if before is not None:
        query = query.where(t.seq < before)
    rows = conn.execute(query.order_by(t.seq.desc()).limit(limit + 1)).all()
    older = rows[limit - 1].seq if len(rows) > limit else None
    rows = rows[:limit]
    r = recommendations.c
    queued: dict[str, list[Recommendation]] = {row.id: [] for row in rows}
    if rows:
        found = conn.execute(
            select(r.id, r.trigger_id, r.type, r.content_id, r.payload, r.received, r.created_at)
            .where(
                r.account == account,
                r.region == region,
                r.session_id == session_id,
                r.trigger_id.in_(list(queued)),
            )
            .order_by(r.seq)
        )
        for rec in found:
            queued[rec.trigger_id].append(
                Recommendation(
                    rec.id, rec.type, rec.content_id, rec.payload, bool(rec.received), rec.created_at
                )
            )
    triggers = [
        Trigger(row.seq, row.id, row.type, row.source, row.query_text, row.created_at, queued[row.id])
        for row in rows
    ]
    return triggers, older


def message_turns(
    conn: Connection, account: str, region: str, session_id: str, message_ids: Collection[str]
) -> dict[str, tuple[str, str]]:
    """For each of these messages of the session: its turn's id and the turn's request message id
    (the customer's message that SendMessage stored)."""
    if not message_ids:
        return {}
    m, c = messages.c, conversation_turns.c
    query = (
        select(m.id, m.turn_id, c.request_message_id)
        .join(conversation_turns, c.id == m.turn_id)
        .where(
            m.account == account,
            m.region == region,
            m.session_id == session_id,
            m.id.in_(list(message_ids)),
        )
    )
    return {row.id: (row.turn_id, row.request_message_id) for row in conn.execute(query)}


@dataclass(frozen=True)
class ConversationTurn:
    id: str
    request_message_id: str
    status: str
    request: dict[str, Any]
    outcome: dict[str, Any] | None
    created_at: datetime
    modified_at: datetime


def turn_of_message(
    conn: Connection, account: str, region: str, session_id: str, message_id: str
) -> ConversationTurn | None:
    """The SendMessage turn a message of the session belongs to (its request or an answer)."""
    m, c = messages.c, conversation_turns.c
    query = (
        select(c.id, c.request_message_id, c.status, c.request, c.outcome, c.created_at, c.modified_at)
        .join(messages, m.turn_id == c.id)
        .where(m.account == account, m.region == region, m.session_id == session_id, m.id == message_id)
    )
    row = conn.execute(query).first()
    if row is None:
        return None
    return ConversationTurn(
        row.id, row.request_message_id, row.status, row.request, row.outcome, row.created_at, row.modified_at
    )


@dataclass(frozen=True)
class Message:
    id: str
    participant: str
    type: str
    value: dict[str, Any]
    created_at: datetime


def turn_messages(
    conn: Connection, account: str, region: str, session_id: str, turn_id: str, *, limit: int
) -> list[Message]:
    """The turn's messages (the request, then the answers), oldest first."""
    m = messages.c
    query = (
        select(m.id, m.participant, m.type, m.value, m.created_at)
        .where(m.account == account, m.region == region, m.session_id == session_id, m.turn_id == turn_id)
        .order_by(m.seq)
        .limit(limit)
    )
    return [Message(r.id, r.participant, r.type, r.value, r.created_at) for r in conn.execute(query)]


@dataclass(frozen=True)
class SpanRow:
    id: str
    assistant_id: str
    session_id: str
    payload: dict[str, Any]  # the Span members but spanId, timestamps as epoch seconds


def turn_spans(
    conn: Connection, account: str, region: str, session_id: str, turn_id: str, *, limit: int
) -> list[SpanRow]:
    """The spans of one turn, in the order they were recorded (a parent before its children)."""
    s = spans.c
    query = (
        select(s.id, s.assistant_id, s.session_id, s.payload)
        .where(s.account == account, s.region == region, s.session_id == session_id, s.turn_id == turn_id)
        .order_by(s.seq)
        .limit(limit)
    )
    return [SpanRow(r.id, r.assistant_id, r.session_id, r.payload) for r in conn.execute(query)]


def _squeezed(text: str) -> str:
    return " ".join(text.split())


def cited_passage(
    conn: Connection,
    account: str,
    region: str,
    content_id: str,
    quoted: str,
    known: dict[str, list[tuple[int, str]]] | None = None,
) -> int | None:
    """The position of the first passage of the content (in this scope) whose text holds the
    quoted text, whitespace runs counted as one space (as answers quote sentences); else None.
    `known` keeps each content's passages read, for the next citation of the same content."""
    wanted = _squeezed(quoted)
    if not wanted:
        return None
    known = {} if known is None else known
    if content_id not in known:
        owner = conn.execute(
            select(contents.c.id).where(
                contents.c.account == account, contents.c.region == region, contents.c.id == content_id
            )
        ).first()
        cuts = passages_of(conn, content_id) if owner is not None else []
        known[content_id] = [(cut.position, _squeezed(cut.text)) for cut in cuts]
    for position, text in known[content_id]:
        if wanted in text:
            return position
    return None
