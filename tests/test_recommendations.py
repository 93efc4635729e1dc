"""Recommendations: the live transcript fills a session's queue, GetRecommendations reads it (short
or long poll), NotifyRecommendationsReceived empties it, and PutFeedback rates what was shown."""

from __future__ import annotations

import threading
import time
import urllib.parse
from typing import Any

import pytest

from conftest import Target
from documents import create_content, wait_for_content

ARTICLES = {
    "refund-policy": "Refund policy. Customers can request a refund within 30 days of purchase.",
    "password-reset": "Resetting your password. To reset a forgotten password, choose Forgot password.",
    "shipping-times": "Shipping times. Standard shipping takes 3 to 5 business days.",
}


@pytest.fixture
def session(target: Target, qc: Any) -> dict[str, str]:
    kb_id = qc.create_knowledge_base(name="help", knowledgeBaseType="CUSTOM")["knowledgeBase"][
        "knowledgeBaseId"
    ]
    ids = {
        name: create_content(target, qc, kb_id, name, text.encode())["contentId"]
        for name, text in ARTICLES.items()
    }
    for content_id in ids.values():
        assert wait_for_content(qc, kb_id, content_id)["status"] == "ACTIVE"
    assistant_id = qc.create_assistant(name="support", type="AGENT")["assistant"]["assistantId"]
    qc.create_assistant_association(
        assistantId=assistant_id, associationType="KNOWLEDGE_BASE", association={"knowledgeBaseId": kb_id}
    )
    session_id = qc.create_session(assistantId=assistant_id, name="contact")["session"]["sessionId"]
    return {
        "assistantId": assistant_id,
        "sessionId": session_id,
        **{f"content:{k}": v for k, v in ids.items()},
    }


def say(target: Target, session: dict[str, str], participant: str, text: str) -> dict[str, Any]:
    path = f"assistants/{session['assistantId']}/sessions/{session['sessionId']}/transcript"
    return target.control(path, {"participant": participant, "text": text})


def ids_of(session: dict[str, str]) -> dict[str, str]:
    return {"assistantId": session["assistantId"], "sessionId": session["sessionId"]}


def test_a_customer_question_queues_a_recommendation_for_the_relevant_article(
    target: Target, qc: Any, session: dict[str, str]
) -> None:
    assert qc.get_recommendations(**ids_of(session))["recommendations"] == []
    said = say(target, session, "CUSTOMER", "Hi, I forgot my password and need to reset it")
    assert said["trigger"] is not None
    answer = qc.get_recommendations(**ids_of(session))
    [recommendation] = answer["recommendations"]
    assert recommendation["type"] == "KNOWLEDGE_CONTENT"
    assert recommendation["document"]["contentReference"]["contentId"] == session["content:password-reset"]
    assert recommendation["relevanceLevel"] in ("HIGH", "MEDIUM")
    [trigger] = answer["triggers"]
    assert trigger["type"] == "QUERY"
    assert trigger["source"] == "ISSUE_DETECTION"
    assert trigger["data"]["query"]["text"] == "Hi, I forgot my password and need to reset it"
    assert trigger["recommendationIds"] == [recommendation["recommendationId"]]


def test_agent_turns_and_small_talk_produce_nothing(target: Target, qc: Any, session: dict[str, str]) -> None:
    assert say(target, session, "AGENT", "How can I help you with your password today?")["trigger"] is None
    assert say(target, session, "CUSTOMER", "Thanks, that is all, goodbye")["trigger"] is None
    assert qc.get_recommendations(**ids_of(session))["recommendations"] == []


def test_recommendations_stay_queued_until_notified_received(
    target: Target, qc: Any, session: dict[str, str]
) -> None:
    say(target, session, "CUSTOMER", "How long does standard shipping take?")
    first = qc.get_recommendations(**ids_of(session))["recommendations"]
    again = qc.get_recommendations(**ids_of(session))["recommendations"]
    assert [r["recommendationId"] for r in again] == [r["recommendationId"] for r in first]
    unknown = "not-a-recommendation"
    notified = qc.notify_recommendations_received(
        **ids_of(session), recommendationIds=[first[0]["recommendationId"], unknown]
    )
    assert notified["recommendationIds"] == [first[0]["recommendationId"]]
    assert [e["recommendationId"] for e in notified["errors"]] == [unknown]
    assert qc.get_recommendations(**ids_of(session))["recommendations"] == []


def test_an_article_is_recommended_once_per_session(target: Target, qc: Any, session: dict[str, str]) -> None:
    say(target, session, "CUSTOMER", "I want a refund for my purchase")
    assert say(target, session, "CUSTOMER", "How do I request a refund for a purchase?")["trigger"] is None
    assert len(qc.get_recommendations(**ids_of(session))["recommendations"]) == 1


def test_a_short_follow_up_keeps_the_context_of_the_previous_question(
    target: Target, qc: Any, session: dict[str, str]
) -> None:
    say(target, session, "CUSTOMER", "I need to reset my forgotten password")
    said = say(target, session, "CUSTOMER", "and shipping?")
    assert said["query"] == "I need to reset my forgotten password and shipping?"


def test_max_results_limits_the_recommendations_returned(
    target: Target, qc: Any, session: dict[str, str]
) -> None:
    say(target, session, "CUSTOMER", "shipping or refund")
    answer = qc.get_recommendations(**ids_of(session), maxResults=1)
    assert len(answer["recommendations"]) == 1
    assert answer["triggers"][0]["recommendationIds"] == [answer["recommendations"][0]["recommendationId"]]


def test_the_transcript_endpoint_refuses_bad_turns(target: Target, session: dict[str, str]) -> None:
    path = f"assistants/{session['assistantId']}/sessions/{session['sessionId']}/transcript"
    if target.mock is not None:
        response = target.mock.request(
            "POST", f"http://local/_qconnect/{path}", data=b'{"participant": "BOT", "text": "x"}'
        )
        assert response.status == 400
    missing = f"assistants/{session['assistantId']}/sessions/00000000-0000-4000-8000-000000000000/transcript"
    if target.mock is not None:
        response = target.mock.request(
            "POST", f"http://local/_qconnect/{missing}", data=b'{"participant": "CUSTOMER", "text": "x"}'
        )
        assert response.status == 404


# -- long polling -------------------------------------------------------------------------------


def test_a_long_poll_returns_as_soon_as_a_recommendation_arrives(
    target: Target, qc: Any, session: dict[str, str]
) -> None:
    answers: list[dict[str, Any]] = []

    def wait() -> None:
        started = time.monotonic()
        answers.append(
            {
                **qc.get_recommendations(**ids_of(session), waitTimeSeconds=10),
                "took": time.monotonic() - started,
            }
        )

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.5)
    say(target, session, "CUSTOMER", "I forgot my password")
    waiter.join(timeout=15)
    [answer] = answers
    assert len(answer["recommendations"]) == 1
    assert 0.4 < answer["took"] < 5


def test_a_long_poll_with_nothing_to_say_returns_empty_when_the_wait_ends(
    qc: Any, session: dict[str, str]
) -> None:
    started = time.monotonic()
    answer = qc.get_recommendations(**ids_of(session), waitTimeSeconds=1)
    took = time.monotonic() - started
    assert answer["recommendations"] == []
    assert 0.9 < took < 4


def test_a_long_poll_answers_at_once_when_recommendations_are_queued(
    target: Target, qc: Any, session: dict[str, str]
) -> None:
    say(target, session, "CUSTOMER", "I forgot my password")
    started = time.monotonic()
    assert qc.get_recommendations(**ids_of(session), waitTimeSeconds=20)["recommendations"]
    assert time.monotonic() - started < 2


# -- feedback -----------------------------------------------------------------------------------


def test_feedback_on_a_recommendation_is_stored_and_overwritten(
    target: Target, qc: Any, session: dict[str, str]
) -> None:
    say(target, session, "CUSTOMER", "I forgot my password")
    recommendation_id = qc.get_recommendations(**ids_of(session))["recommendations"][0]["recommendationId"]
    for relevance in ("HELPFUL", "NOT_HELPFUL"):
        echoed = qc.put_feedback(
            assistantId=session["assistantId"],
            targetId=recommendation_id,
            targetType="RECOMMENDATION",
            contentFeedback={"generativeContentFeedbackData": {"relevance": relevance}},
        )
        assert echoed["targetId"] == recommendation_id
        assert echoed["assistantId"] == session["assistantId"]
        assert echoed["contentFeedback"] == {"generativeContentFeedbackData": {"relevance": relevance}}


def test_feedback_on_a_query_result_names_its_result_id(qc: Any, session: dict[str, str]) -> None:
    result = qc.query_assistant(assistantId=session["assistantId"], queryText="refund")["results"][0]
    echoed = qc.put_feedback(
        assistantId=session["assistantId"],
        targetId=result["resultId"],
        targetType="RESULT",
        contentFeedback={"generativeContentFeedbackData": {"relevance": "HELPFUL"}},
    )
    assert echoed["targetType"] == "RESULT"


def test_feedback_on_an_unknown_target_is_not_found(qc: Any, session: dict[str, str]) -> None:
    for target_type in ("RECOMMENDATION", "RESULT", "MESSAGE"):
        with pytest.raises(qc.exceptions.ResourceNotFoundException):
            qc.put_feedback(
                assistantId=session["assistantId"],
                targetId="00000000-0000-4000-8000-000000000000",
                targetType=target_type,
                contentFeedback={"generativeContentFeedbackData": {"relevance": "HELPFUL"}},
            )


def test_a_session_of_a_deleted_assistant_has_no_recommendations(qc: Any, session: dict[str, str]) -> None:
    qc.delete_assistant(assistantId=session["assistantId"])
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.get_recommendations(**ids_of(session))


def test_a_long_poll_on_a_session_whose_assistant_is_deleted_answers_not_found_at_once(
    target: Target, qc: Any, session: dict[str, str]
) -> None:
    outcome: list[tuple[float, str]] = []

    def wait() -> None:
        started = time.monotonic()
        try:
            qc.get_recommendations(**ids_of(session), waitTimeSeconds=15)
            outcome.append((time.monotonic() - started, "answered"))
        except qc.exceptions.ResourceNotFoundException:
            outcome.append((time.monotonic() - started, "not found"))

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.5)
    target.client().delete_assistant(assistantId=session["assistantId"])
    waiter.join(timeout=20)
    [(took, what)] = outcome
    assert what == "not found"
    assert took < 5


def test_the_transcript_endpoint_takes_a_percent_encoded_session_arn(
    target: Target, qc: Any, session: dict[str, str]
) -> None:
    arn = qc.get_session(**ids_of(session))["session"]["sessionArn"]
    path = f"assistants/{session['assistantId']}/sessions/{urllib.parse.quote(arn, safe='')}/transcript"
    assert (
        target.control(path, {"participant": "CUSTOMER", "text": "I forgot my password"})["trigger"]
        is not None
    )
