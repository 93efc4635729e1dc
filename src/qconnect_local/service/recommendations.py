"""Recommendations: each session's queue, filled from its live transcript, and feedback.

In AWS, Contact Lens feeds the contact's transcript and its issue detection triggers a search.
Here the control plane's `POST /_qconnect/assistants/{a}/sessions/{s}/transcript` adds a turn
(`add_turn`). A CUSTOMER turn derives a query from the last turns (`engine.retrieval.derive_query`),
searches the assistant's knowledge bases under the session's tag filter, and queues one
KNOWLEDGE_CONTENT recommendation for each of the best `PER_TRIGGER` contents whose relevance
is at least MEDIUM and that this session was not already recommended, all referenced by one
trigger (QUERY, ISSUE_DETECTION). No relevant content: no trigger. An assistant that runs an
ANSWER_RECOMMENDATION agent also gets its DETECTED_INTENT and GENERATIVE_ANSWER
recommendations, under a GENERATIVE trigger (`generative_answers.recommendations`).

GetRecommendations returns the queue, oldest first; recommendations stay in it until
NotifyRecommendationsReceived names them. With `waitTimeSeconds` and an empty queue it long-
polls: the request is suspended (`Suspend`) on the session's signal channel, woken by the
commit that queues a recommendation, in this process or (PostgreSQL) any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Final

from qconnect_local.engine import retrieval as engine
from qconnect_local.protocol.errors import not_found, validation_error
from qconnect_local.service import assistants, channels, resources, retrieval, sessions
from qconnect_local.service.context import Call, Suspend, long_poll
from qconnect_local.service.families import (
    FEEDBACK,
    QUERY_RESULT,
    RECOMMENDATION,
    RECOMMENDATION_TRIGGER,
    SESSION,
    TRANSCRIPT_TURN,
)
from qconnect_local.service.pagination import page_size
from qconnect_local.service.registry import operation
from qconnect_local.store import Connection

PARTICIPANTS: Final = ("CUSTOMER", "AGENT")
PER_TRIGGER: Final = 3  # recommendations one customer turn produces at most
RELEVANT: Final = frozenset({"HIGH", "MEDIUM"})  # relevance levels worth recommending
MAX_TURN_CHARACTERS: Final = 10_000
MAX_TURNS: Final = 1_000  # turns one session keeps; the oldest go first
KNOWLEDGE_CONTENT: Final = "KNOWLEDGE_CONTENT"


# -- the transcript (control plane) -------------------------------------------------------------


def add_turn(call: Call, assistant_id: str, session_id: str, participant: Any, text: Any) -> dict[str, Any]:
    """Add one utterance to the session's transcript; a CUSTOMER one may queue recommendations.
    Raises ValueError for a malformed turn, ServiceError for an assistant or session not found."""
    if participant not in PARTICIPANTS:
        raise ValueError(f"participant must be one of {list(PARTICIPANTS)}")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TURN_CHARACTERS:
        raise ValueError(f"text must be a non-blank string of at most {MAX_TURN_CHARACTERS} characters")
    with call.runtime.store.write() as conn:
        assistant = assistants.load(conn, call, assistant_id)
        # Locked: turns of one session are taken one at a time, so no content is recommended twice.
        session = resources.load_locked(conn, call, SESSION, session_id, assistant)
        now = call.now()
        TRANSCRIPT_TURN.repo.insert(
            conn,
            {
                "account": call.account,
                "region": call.region,
                "assistant_id": assistant.id,
                "session_id": session.id,
                "participant": participant,
                "text": text,
                "created_at": now,
            },
        )
        turns = _last_turns(conn, session, MAX_TURNS + 1)
        if len(turns) > MAX_TURNS:
            TRANSCRIPT_TURN.repo.delete_through(conn, "session_id", session.id, turns[0].seq)
        query = engine.derive_query([(t.participant, t.text) for t in turns[-engine.CONTEXT_TURNS :]])
        trigger = _recommend(conn, call, assistant, session, query) if query is not None else None
        generative = (
            _recommend_generative(conn, call, assistant, session, query, turns) if query is not None else None
        )
    return {"turns": min(len(turns), MAX_TURNS), "query": query, "trigger": trigger or generative}


def _recommend_generative(
    conn: Connection, call: Call, assistant: Any, session: Any, query: str, turns: list[Any]
) -> dict[str, Any] | None:
    """The ANSWER_RECOMMENDATION agent's recommendations (`generative_answers.recommendations`),
    under a GENERATIVE trigger of their own; none without such an agent."""
    from qconnect_local.service import generative_answers  # it builds on conversations, which build on this

    payloads = generative_answers.recommendations(
        call, assistant, session, [(t.participant, t.text) for t in turns]
    )
    if not payloads:
        return None
    return _queue(
        conn, call, assistant, session, "GENERATIVE", query, [(p["type"], None, p) for p in payloads]
    )


def _last_turns(conn: Connection, session: Any, limit: int) -> list[Any]:
    rows = TRANSCRIPT_TURN.repo.page(
        conn, session.account, session.region, session.id, after=None, limit=limit, descending=True
    )
    return list(reversed(rows))


def transcript(conn: Connection, session: Any) -> list[tuple[str, str]]:
    """The session's transcript, oldest turn first: what `{{$.transcript}}` will read in prompts."""
    return [(t.participant, t.text) for t in _last_turns(conn, session, MAX_TURNS)]


def _recommend(
    conn: Connection, call: Call, assistant: Any, session: Any, query: str
) -> dict[str, Any] | None:
    types = retrieval.searchable_knowledge_bases(conn, call, assistant)
    found = retrieval.search(conn, call, list(types), query, keep=retrieval.tag_filter_of(session))
    already = {row.content_id for row in RECOMMENDATION.repo.where(conn, session_id=session.id)}
    chosen = [
        item
        for item in retrieval.best_per_content(found)
        if engine.relevance_level(item.relevance) in RELEVANT and item.content.id not in already
    ][:PER_TRIGGER]
    if not chosen:
        return None
    terms = retrieval.highlight_words(query)
    items = []
    for item in chosen:
        data = retrieval.content_data(call, item, terms, types[item.content.knowledge_base_id])
        payload = {
            **data,
            "relevanceLevel": engine.relevance_level(item.relevance),
            "type": KNOWLEDGE_CONTENT,
        }
        items.append((KNOWLEDGE_CONTENT, item.content.id, payload))
    return _queue(conn, call, assistant, session, "QUERY", query, items)


def _queue(
    conn: Connection,
    call: Call,
    assistant: Any,
    session: Any,
    trigger_type: str,
    query: str,
    items: Sequence[tuple[str, str | None, dict[str, Any]]],
) -> dict[str, Any]:
    """Queue recommendations (type, content id, payload) under one new trigger; wake the polls."""
    now = call.now()
    trigger_id = str(uuid.uuid4())
    scope = {
        "account": call.account,
        "region": call.region,
        "assistant_id": assistant.id,
        "session_id": session.id,
    }
    RECOMMENDATION_TRIGGER.repo.insert(
        conn,
        {
            **scope,
            "id": trigger_id,
            "type": trigger_type,
            "source": "ISSUE_DETECTION",
            "query_text": query,
            "created_at": now,
        },
    )
    ids = []
    for recommendation_type, content_id, payload in items:
        recommendation_id = str(uuid.uuid4())
        RECOMMENDATION.repo.insert(
            conn,
            {
                **scope,
                "id": recommendation_id,
                "trigger_id": trigger_id,
                "type": recommendation_type,
                "content_id": content_id,
                "payload": payload,
                "received": 0,
                "created_at": now,
            },
        )
        ids.append(recommendation_id)
    call.runtime.signals.notify(conn, channels.recommendations(session.id))
    return _trigger(trigger_id, trigger_type, "ISSUE_DETECTION", query, ids)


def _trigger(
    trigger_id: str, trigger_type: str, source: str, query: str, ids: Sequence[str]
) -> dict[str, Any]:
    return {
        "id": trigger_id,
        "type": trigger_type,
        "source": source,
        "data": {"query": {"text": query}},
        "recommendationIds": list(ids),
    }


# -- GetRecommendations -------------------------------------------------------------------------


@operation("GetRecommendations")
def get_recommendations(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    if "nextChunkToken" in params:
        # Chunked recommendations (generative answers) come with the AI agents: none exist yet.
        raise validation_error(
            f"Invalid nextChunkToken: no chunked recommendation has it: {params['nextChunkToken'][:64]}"
        )
    wait = params.get("waitTimeSeconds", 0)
    channel = channels.recommendations(resources.named_id(params["sessionId"]))
    rows, triggers = long_poll(
        call, channel, lambda subscription: _queued(call, params, subscription, wait), waits=wait > 0
    )
    referenced: dict[str, list[str]] = {}
    for row in rows:
        referenced.setdefault(row.trigger_id, []).append(row.id)
    return {
        "recommendations": [{"recommendationId": row.id, **row.payload} for row in rows],
        "triggers": [
            _trigger(t.id, t.type, t.source, t.query_text, referenced[t.id])
            for t in sorted(triggers.values(), key=lambda t: t.seq)
        ],
    }


def _queued(call: Call, params: dict[str, Any], subscription: Any, wait: float) -> tuple[Any, dict[str, Any]]:
    """The session's queue now and the triggers it names; an empty one waits (`Suspend`)."""
    with call.runtime.store.read() as conn:
        _assistant, session = sessions.load_with_assistant(conn, call, params)
        where: dict[str, Any] = {"received": 0}
        if "recommendationType" in params:
            where["type"] = params["recommendationType"]
        rows = RECOMMENDATION.repo.page(
            conn,
            call.account,
            call.region,
            session.id,
            after=None,
            limit=page_size(call, params),
            where=where,
        )
        triggers = {
            t.id: t for t in RECOMMENDATION_TRIGGER.repo.where_in(conn, "id", {r.trigger_id for r in rows})
        }
    if not rows and subscription is not None and subscription.channel == channels.recommendations(session.id):
        raise Suspend(subscription, wait)
    return rows, triggers


# -- NotifyRecommendationsReceived --------------------------------------------------------------


@operation("NotifyRecommendationsReceived")
def notify_recommendations_received(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    acknowledged: list[str] = []
    errors: list[dict[str, str]] = []
    with call.runtime.store.write() as conn:
        _assistant, session = sessions.load_with_assistant(conn, call, params)
        for recommendation_id in dict.fromkeys(params["recommendationIds"]):
            row = RECOMMENDATION.repo.find(conn, call.account, call.region, recommendation_id, session.id)
            if row is None:
                errors.append(
                    {
                        "recommendationId": recommendation_id,
                        "message": f"Recommendation not found in session {session.id}",
                    }
                )
                continue
            if not row.received:
                RECOMMENDATION.repo.update(conn, row.seq, {"received": 1})
            acknowledged.append(recommendation_id)
    return {"recommendationIds": acknowledged, "errors": errors}


# -- PutFeedback --------------------------------------------------------------------------------

TARGETS: Final = {"RECOMMENDATION": RECOMMENDATION, "RESULT": QUERY_RESULT}


@operation("PutFeedback")
def put_feedback(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    target_id = params["targetId"]
    target_type = params["targetType"]
    with call.runtime.store.write() as conn:
        assistant = assistants.load(conn, call, params["assistantId"])
        family = TARGETS.get(target_type)  # MESSAGE targets come with conversations: none exist yet
        target = family.repo.find_any(conn, target_id) if family is not None else None
        if (
            family is None
            or target is None
            or target.assistant_id != assistant.id
            or target.account != call.account
        ):
            raise not_found(
                f"{target_type.capitalize()} not found in assistant {assistant.id}: {target_id}", target_id
            )
        family.repo.lock(conn, target_id)  # one feedback row per target, however many write at once
        values = {
            "target_type": target_type,
            "content_feedback": params["contentFeedback"],
            "modified_at": call.now(),
        }
        existing = FEEDBACK.repo.find_any(conn, target_id)
        if existing is None:
            FEEDBACK.repo.insert(
                conn,
                {
                    "id": target_id,
                    "account": call.account,
                    "region": call.region,
                    "assistant_id": assistant.id,
                    **values,
                },
            )
        else:
            FEEDBACK.repo.update(conn, existing.seq, values)
    return {
        "assistantId": assistant.id,
        "assistantArn": assistants.assistant_arn(call, assistant.id),
        "targetId": target_id,
        "targetType": target_type,
        "contentFeedback": params["contentFeedback"],
    }
