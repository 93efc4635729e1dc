"""Read-modify-write operations called at once keep every caller's change (on PostgreSQL each is a
separate connection; on SQLite writers already take turns)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from conftest import Target
from documents import create_content, wait_for_content

PARALLEL = 5


def at_once(target: Target, calls: list[Any]) -> list[Any]:
    """Run each `call(client)` on a client of its own, all at once."""
    clients = [target.client() for _ in calls]
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda pair: pair[0](pair[1]), zip(calls, clients, strict=True)))


def test_replica_keys_registered_at_once_are_all_kept(target: Target, qc: Any) -> None:
    assistant_id = qc.create_assistant(name="a", type="AGENT")["assistant"]["assistantId"]
    kb_id = qc.create_knowledge_base(name="kb", knowledgeBaseType="CUSTOM")["knowledgeBase"][
        "knowledgeBaseId"
    ]
    keys = [f"arn:aws:kms:eu-west-1:123456789012:key/k{n}" for n in range(PARALLEL)]
    at_once(
        target,
        [
            lambda c, k=k: c.register_assistant_replica_key(
                assistantId=assistant_id, replicaKmsKey={"arn": k}
            )
            for k in keys
        ]
        + [
            lambda c, k=k: c.register_knowledge_base_replica_key(
                knowledgeBaseId=kb_id, replicaKmsKey={"arn": k}
            )
            for k in keys
        ],
    )
    assistant = qc.get_assistant(assistantId=assistant_id)["assistant"]
    kb = qc.get_knowledge_base(knowledgeBaseId=kb_id)["knowledgeBase"]
    for resource in (assistant, kb):
        kept = {k["arn"] for k in resource["serverSideEncryptionConfiguration"]["replicaKmsKeys"]}
        assert kept == set(keys)


def update_at_once(target: Target, assistant_id: str, session_id: str, tag_filter: dict[str, Any]) -> None:
    ids = {"assistantId": assistant_id, "sessionId": session_id}
    at_once(
        target,
        [
            lambda c: c.update_session(**ids, description="new"),
            lambda c: c.update_session(**ids, tagFilter=tag_filter),
            lambda c: c.update_session_data(**ids, data=[{"key": "a", "value": {"stringValue": "1"}}]),
            lambda c: c.update_session_data(**ids, data=[{"key": "b", "value": {"stringValue": "2"}}]),
        ],
    )


def test_session_updates_at_once_each_keep_their_member(target: Target, qc: Any) -> None:
    assistant_id = qc.create_assistant(name="a", type="AGENT")["assistant"]["assistantId"]
    tag_filter = {"tagCondition": {"key": "tier"}}
    for round_ in range(5):
        session_id = qc.create_session(assistantId=assistant_id, name=f"s{round_}")["session"]["sessionId"]
        update_at_once(target, assistant_id, session_id, tag_filter)
        session = qc.get_session(assistantId=assistant_id, sessionId=session_id)["session"]
        assert (session["description"], session["tagFilter"]) == ("new", tag_filter)
        data = qc.update_session_data(assistantId=assistant_id, sessionId=session_id, data=[])["data"]
        assert {d["key"] for d in data} == {"a", "b"}


def test_turns_said_at_once_recommend_a_content_once_and_feedback_at_once_is_one(
    target: Target, qc: Any
) -> None:
    kb_id = qc.create_knowledge_base(name="kb", knowledgeBaseType="CUSTOM")["knowledgeBase"][
        "knowledgeBaseId"
    ]
    content = create_content(target, qc, kb_id, "refunds", b"Refund policy: refunds for a damaged order.")
    assert wait_for_content(qc, kb_id, content["contentId"])["status"] == "ACTIVE"
    assistant_id = qc.create_assistant(name="a", type="AGENT")["assistant"]["assistantId"]
    qc.create_assistant_association(
        assistantId=assistant_id, associationType="KNOWLEDGE_BASE", association={"knowledgeBaseId": kb_id}
    )
    session_id = qc.create_session(assistantId=assistant_id, name="s")["session"]["sessionId"]
    path = f"assistants/{assistant_id}/sessions/{session_id}/transcript"
    turn = {"participant": "CUSTOMER", "text": "refund for a damaged order"}
    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(lambda _n: target.control(path, turn), range(PARALLEL)))
    [recommendation] = qc.get_recommendations(assistantId=assistant_id, sessionId=session_id)[
        "recommendations"
    ]
    feedback = {"generativeContentFeedbackData": {"relevance": "HELPFUL"}}
    answers = at_once(
        target,
        [
            lambda c: c.put_feedback(
                assistantId=assistant_id,
                targetId=recommendation["recommendationId"],
                targetType="RECOMMENDATION",
                contentFeedback=feedback,
            )
            for _ in range(PARALLEL)
        ],
    )
    assert [a["contentFeedback"] for a in answers] == [feedback] * PARALLEL
