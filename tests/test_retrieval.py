"""QueryAssistant and Retrieve over a small corpus written for the tests, where the right answer
is known: paraphrased questions find the right document first, highlights point at the
matched words, and filters keep out what they should."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from conftest import Target
from documents import create_content, wait_for_content
from qconnect_local.engine.chunking import chunk
from qconnect_local.store.search import words

CORPUS = {
    "refund-policy": (
        "Refund policy. Customers can request a refund within 30 days of purchase. Refunds are credited "
        "to the original payment method within five business days.",
        {"category": "billing", "year": "2024", "regions": "us, eu"},
        {"tier": "gold"},
    ),
    "password-reset": (
        "Resetting your password. To reset a forgotten password, open the sign-in page and choose Forgot "
        "password. A reset link is emailed to you.",
        {"category": "account", "year": "2023", "regions": '["us"]'},
        {"tier": "silver"},
    ),
    "shipping-times": (
        "Shipping times. Standard shipping takes 3 to 5 business days. Express shipping delivers the next "
        "day for orders placed before noon.",
        {"category": "orders", "year": "2024"},
        {},
    ),
    "cancel-subscription": (
        "Cancelling a subscription. You can cancel your subscription at any time from the billing settings. "
        "Cancelled subscriptions stay active until the end of the billing period.",
        {"category": "billing", "year": "2022"},
        {"tier": "silver", "vip": "yes"},
    ),
    "damaged-item": (
        "Damaged or defective items. If an item arrives damaged, photograph it and contact support. We "
        "replace damaged items free of charge.",
        {"category": "orders", "year": "2021"},
        {},
    ),
    "change-address": (
        "Changing your delivery address. Update the delivery address of an order before it ships from the "
        "order details page.",
        {"category": "orders", "year": "2023"},
        {},
    ),
    "two-factor": (
        "Two-factor authentication. Turn on two-factor authentication in the security settings to protect "
        "your account with a code sent to your phone.",
        {"category": "account", "year": "2024"},
        {},
    ),
}

PARAPHRASES = [
    ("How do I get my money refunded?", "refund-policy"),
    ("I forgot my password, how can I reset it?", "password-reset"),
    ("When will my order be delivered?", "shipping-times"),
    ("cancelling my subscription", "cancel-subscription"),
    ("the item I received arrived damaged", "damaged-item"),
    ("can I change the address for delivery", "change-address"),
    ("how to turn on two factor authentication", "two-factor"),
]


@dataclass
class Corpus:
    assistant_id: str
    kb_id: str
    association_id: str
    content_ids: dict[str, str]  # name -> content id

    def name_of(self, content_id: str) -> str:
        return next(name for name, ident in self.content_ids.items() if ident == content_id)


@pytest.fixture
def corpus(target: Target, qc: Any) -> Corpus:
    kb_id = qc.create_knowledge_base(name="help-center", knowledgeBaseType="CUSTOM")["knowledgeBase"][
        "knowledgeBaseId"
    ]
    made = {
        name: create_content(
            target, qc, kb_id, name, text.encode(), metadata=metadata, **({"tags": tags} if tags else {})
        )
        for name, (text, metadata, tags) in CORPUS.items()
    }
    return assistant_over(qc, kb_id, made)


def assistant_over(qc: Any, kb_id: str, made: dict[str, dict[str, Any]]) -> Corpus:
    """An assistant associated with the knowledge base, once its contents `made` are all ACTIVE."""
    for content in made.values():
        assert wait_for_content(qc, kb_id, content["contentId"])["status"] == "ACTIVE"
    assistant_id = qc.create_assistant(name="support", type="AGENT")["assistant"]["assistantId"]
    association = qc.create_assistant_association(
        assistantId=assistant_id, associationType="KNOWLEDGE_BASE", association={"knowledgeBaseId": kb_id}
    )["assistantAssociation"]
    return Corpus(
        assistant_id,
        kb_id,
        association["assistantAssociationId"],
        {name: content["contentId"] for name, content in made.items()},
    )


def query(qc: Any, corpus: Corpus, text: str, **extra: Any) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = qc.query_assistant(
        assistantId=corpus.assistant_id, queryText=text, **extra
    )["results"]
    return results


def names(corpus: Corpus, results: list[dict[str, Any]]) -> list[str]:
    return [corpus.name_of(r["document"]["contentReference"]["contentId"]) for r in results]


def highlighted(text_data: dict[str, Any]) -> list[str]:
    text = text_data["text"]
    return [
        text[h["beginOffsetInclusive"] : h["endOffsetExclusive"]] for h in text_data.get("highlights", [])
    ]


def test_paraphrased_questions_find_the_right_document_first(qc: Any, corpus: Corpus) -> None:
    for question, expected in PARAPHRASES:
        results = query(qc, corpus, question)
        assert names(corpus, results)[:1] == [expected], question
        assert results[0]["data"]["details"]["contentData"]["rankingData"]["relevanceLevel"] in (
            "HIGH",
            "MEDIUM",
        )


def test_a_result_is_a_document_with_its_reference_title_and_highlighted_excerpt(
    qc: Any, corpus: Corpus
) -> None:
    result = query(qc, corpus, "How do I get my money refunded?")[0]
    assert result["type"] == "KNOWLEDGE_CONTENT"
    reference = result["document"]["contentReference"]
    arn = "arn:aws:wisdom:us-east-1:123456789012"
    assert reference == {
        "knowledgeBaseArn": f"{arn}:knowledge-base/{corpus.kb_id}",
        "knowledgeBaseId": corpus.kb_id,
        "contentArn": f"{arn}:content/{corpus.kb_id}/{reference['contentId']}",
        "contentId": corpus.content_ids["refund-policy"],
        "referenceType": "KNOWLEDGE_BASE",
    }
    assert result["document"]["title"]["text"] == "refund-policy"
    excerpt = result["document"]["excerpt"]
    assert excerpt["text"].startswith("Refund policy.")
    assert [w.lower() for w in highlighted(excerpt)] == ["refund", "refund", "refunds"]
    details = result["data"]["details"]["contentData"]
    assert details["textData"]["excerpt"] == excerpt
    assert details["rankingData"]["relevanceScore"] == result["relevanceScore"]
    assert result["data"]["reference"] == {"contentReference": reference}


def test_every_highlight_points_at_a_word_of_the_query(qc: Any, corpus: Corpus) -> None:
    for question, _expected in PARAPHRASES:
        asked = set(words(question))
        for result in query(qc, corpus, question):
            for word in highlighted(result["document"]["excerpt"]):
                folded = words(word)[0]
                assert any(folded.startswith(w[:4]) or w.startswith(folded[:4]) for w in asked), (
                    question,
                    word,
                )


def test_a_document_that_covers_every_word_is_high_and_ranks_above_one_that_covers_some(
    qc: Any, corpus: Corpus
) -> None:
    results = query(qc, corpus, "billing subscription")
    assert names(corpus, results)[0] == "cancel-subscription"
    levels = [r["data"]["details"]["contentData"]["rankingData"]["relevanceLevel"] for r in results]
    assert levels[0] == "HIGH"
    scores = [r["relevanceScore"] for r in results]
    assert scores == sorted(scores, reverse=True)


def test_a_query_matching_nothing_returns_no_results(qc: Any, corpus: Corpus) -> None:
    assert query(qc, corpus, "quantum chromodynamics") == []


def test_queries_page_through_the_results_from_the_body(qc: Any, corpus: Corpus) -> None:
    everything = names(corpus, query(qc, corpus, "orders delivery shipping address"))
    assert len(everything) >= 2
    first = qc.query_assistant(
        assistantId=corpus.assistant_id, queryText="orders delivery shipping address", maxResults=1
    )
    second = qc.query_assistant(
        assistantId=corpus.assistant_id,
        queryText="orders delivery shipping address",
        maxResults=1,
        nextToken=first["nextToken"],
    )
    assert names(corpus, first["results"] + second["results"]) == everything[:2]
    with pytest.raises(qc.exceptions.ValidationException, match="nextToken"):
        qc.query_assistant(
            assistantId=corpus.assistant_id, queryText="something else", nextToken=first["nextToken"]
        )


def test_query_input_data_is_the_same_query(qc: Any, corpus: Corpus) -> None:
    as_data = qc.query_assistant(
        assistantId=corpus.assistant_id, queryInputData={"queryTextInputData": {"text": "reset my password"}}
    )["results"]
    assert names(corpus, as_data) == names(corpus, query(qc, corpus, "reset my password"))


def test_exactly_one_of_query_text_and_query_input_data_is_required(qc: Any, corpus: Corpus) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match="Exactly one"):
        qc.query_assistant(assistantId=corpus.assistant_id)
    with pytest.raises(qc.exceptions.ValidationException, match="Exactly one"):
        qc.query_assistant(
            assistantId=corpus.assistant_id,
            queryText="a",
            queryInputData={"queryTextInputData": {"text": "a"}},
        )


def test_a_result_type_condition_keeps_only_that_type(qc: Any, corpus: Corpus) -> None:
    condition = [{"single": {"field": "RESULT_TYPE", "comparator": "EQUALS", "value": "KNOWLEDGE_CONTENT"}}]
    assert query(qc, corpus, "refund", queryCondition=condition)
    assert {r["type"] for r in query(qc, corpus, "refund", queryCondition=condition)} == {"KNOWLEDGE_CONTENT"}
    intent = [{"single": {"field": "RESULT_TYPE", "comparator": "EQUALS", "value": "INTENT_ANSWER"}}]
    assert query(qc, corpus, "refund", queryCondition=intent) == []
    unknown = [{"single": {"field": "RESULT_TYPE", "comparator": "EQUALS", "value": "NOT_A_TYPE"}}]
    with pytest.raises(qc.exceptions.ValidationException):
        query(qc, corpus, "refund", queryCondition=unknown)


def test_a_session_tag_filter_limits_what_the_query_finds(qc: Any, corpus: Corpus) -> None:
    gold = {"tagCondition": {"key": "tier", "value": "gold"}}
    session_id = qc.create_session(assistantId=corpus.assistant_id, name="c", tagFilter=gold)["session"][
        "sessionId"
    ]
    assert names(corpus, query(qc, corpus, "refund subscription billing", sessionId=session_id)) == [
        "refund-policy"
    ]
    either = {
        "orConditions": [{"tagCondition": {"key": "vip"}}, {"tagCondition": {"key": "tier", "value": "gold"}}]
    }
    qc.update_session(assistantId=corpus.assistant_id, sessionId=session_id, tagFilter=either)
    found = set(names(corpus, query(qc, corpus, "refund subscription billing", sessionId=session_id)))
    assert found == {"refund-policy", "cancel-subscription"}
    both = {"andConditions": [{"key": "tier", "value": "silver"}, {"key": "vip"}]}
    qc.update_session(assistantId=corpus.assistant_id, sessionId=session_id, tagFilter=both)
    found = set(names(corpus, query(qc, corpus, "password subscription", sessionId=session_id)))
    assert found == {"cancel-subscription"}


def test_a_query_with_an_unknown_session_is_not_found(qc: Any, corpus: Corpus) -> None:
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        query(qc, corpus, "refund", sessionId="00000000-0000-4000-8000-000000000000")


def test_an_assistant_without_knowledge_bases_finds_nothing(qc: Any, corpus: Corpus) -> None:
    lonely = qc.create_assistant(name="lonely", type="AGENT")["assistant"]["assistantId"]
    assert qc.query_assistant(assistantId=lonely, queryText="refund")["results"] == []


# -- Retrieve -----------------------------------------------------------------------------------


def retrieve(qc: Any, corpus: Corpus, text: str, **configuration: Any) -> dict[str, Any]:
    result: dict[str, Any] = qc.retrieve(
        assistantId=corpus.assistant_id,
        retrievalQuery=text,
        retrievalConfiguration={
            "knowledgeSource": {"assistantAssociationIds": [corpus.association_id]},
            **configuration,
        },
    )
    return result


def retrieved(corpus: Corpus, result: dict[str, Any]) -> list[str]:
    return [corpus.name_of(r["sourceId"]) for r in result["results"]]


def test_retrieve_returns_passages_with_their_association_and_source(qc: Any, corpus: Corpus) -> None:
    result = retrieve(qc, corpus, "How do I get my money refunded?")
    first = result["results"][0]
    assert first["associationId"] == corpus.association_id
    assert first["sourceId"] == corpus.content_ids["refund-policy"]
    assert first["referenceType"] == "KNOWLEDGE_BASE"
    assert first["contentText"].startswith("Refund policy.")
    assert "errors" not in result


def test_retrieve_honours_the_number_of_results(qc: Any, corpus: Corpus) -> None:
    assert (
        len(retrieve(qc, corpus, "orders shipping address billing account", numberOfResults=2)["results"])
        == 2
    )
    with pytest.raises(qc.exceptions.ValidationException, match="numberOfResults"):
        retrieve(qc, corpus, "orders", numberOfResults=0)


BROAD = "refund password shipping subscription damaged address authentication"


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"equals": {"key": "category", "value": "billing"}}, {"refund-policy", "cancel-subscription"}),
        (
            {"notEquals": {"key": "category", "value": "orders"}},
            {"refund-policy", "password-reset", "cancel-subscription", "two-factor"},
        ),
        (
            {"greaterThanOrEquals": {"key": "year", "value": 2024}},
            {"refund-policy", "shipping-times", "two-factor"},
        ),
        ({"greaterThan": {"key": "year", "value": 2023}}, {"refund-policy", "shipping-times", "two-factor"}),
        ({"lessThan": {"key": "year", "value": 2022}}, {"damaged-item"}),
        ({"lessThanOrEquals": {"key": "year", "value": 2022}}, {"damaged-item", "cancel-subscription"}),
        (
            {"in": {"key": "category", "value": ["account", "billing"]}},
            {"refund-policy", "password-reset", "cancel-subscription", "two-factor"},
        ),
        (
            {"notIn": {"key": "category", "value": ["account", "billing"]}},
            {"shipping-times", "damaged-item", "change-address"},
        ),
        ({"listContains": {"key": "regions", "value": "eu"}}, {"refund-policy"}),
        ({"listContains": {"key": "regions", "value": "us"}}, {"refund-policy", "password-reset"}),
        ({"startsWith": {"key": "category", "value": "bill"}}, {"refund-policy", "cancel-subscription"}),
        ({"stringContains": {"key": "category", "value": "count"}}, {"password-reset", "two-factor"}),
        (
            {
                "andAll": [
                    {"equals": {"key": "category", "value": "orders"}},
                    {"greaterThanOrEquals": {"key": "year", "value": 2023}},
                ]
            },
            {"shipping-times", "change-address"},
        ),
        (
            {
                "orAll": [
                    {"equals": {"key": "category", "value": "account"}},
                    {"equals": {"key": "year", "value": "2021"}},
                ]
            },
            {"password-reset", "two-factor", "damaged-item"},
        ),
    ],
)
def test_retrieval_filters_select_by_metadata(
    qc: Any, corpus: Corpus, condition: dict[str, Any], expected: set[str]
) -> None:
    result = retrieve(qc, corpus, BROAD, filter=condition, numberOfResults=20)
    assert set(retrieved(corpus, result)) == expected


def test_an_ill_typed_filter_is_refused(qc: Any, corpus: Corpus) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match="filter"):
        retrieve(qc, corpus, "refund", filter={"greaterThan": {"key": "year", "value": "soon"}})


def test_unknown_and_bedrock_associations_are_errors_while_the_call_succeeds(qc: Any, corpus: Corpus) -> None:
    bedrock = qc.create_assistant_association(
        assistantId=corpus.assistant_id,
        associationType="EXTERNAL_BEDROCK_KNOWLEDGE_BASE",
        association={
            "externalBedrockKnowledgeBaseConfig": {
                "bedrockKnowledgeBaseArn": "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB12345678",
                "accessRoleArn": "arn:aws:iam::123456789012:role/Access",
            }
        },
    )["assistantAssociation"]["assistantAssociationId"]
    missing = "00000000-0000-4000-8000-000000000000"
    result = qc.retrieve(
        assistantId=corpus.assistant_id,
        retrievalQuery="refund",
        retrievalConfiguration={
            "knowledgeSource": {"assistantAssociationIds": [corpus.association_id, bedrock, missing]}
        },
    )
    assert retrieved(corpus, result)[0] == "refund-policy"
    errors = {e["associationId"]: e for e in result["errors"]}
    assert errors[bedrock]["code"] == "DEPENDENCY_FAILED"
    assert "Bedrock" in errors[bedrock]["message"]
    assert errors[missing]["code"] == "RESOURCE_NOT_FOUND"


def test_a_deleted_content_is_no_longer_found(qc: Any, corpus: Corpus) -> None:
    qc.delete_content(knowledgeBaseId=corpus.kb_id, contentId=corpus.content_ids["refund-policy"])
    assert "refund-policy" not in names(corpus, query(qc, corpus, "refund"))


def test_hierarchical_passages_answer_with_their_parents_text(target: Target, qc: Any) -> None:
    """With HIERARCHICAL chunking a passage is matched, but its parent's text is what a result
    shows (Retrieve's contentText, QueryAssistant's excerpt), for every result at once."""
    chunking = {
        "chunkingStrategy": "HIERARCHICAL",
        "hierarchicalChunkingConfiguration": {
            "levelConfigurations": [{"maxTokens": 40}, {"maxTokens": 10}],
            "overlapTokens": 1,
        },
    }
    kb_id = qc.create_knowledge_base(
        name="layered",
        knowledgeBaseType="CUSTOM",
        vectorIngestionConfiguration={"chunkingConfiguration": chunking},
    )["knowledgeBase"]["knowledgeBaseId"]
    texts = {
        f"doc{n}": " ".join(f"{'zebracode' if i % 37 == n else f'filler{n}x{i}'}" for i in range(120))
        for n in range(3)
    }
    made = {name: create_content(target, qc, kb_id, name, text.encode()) for name, text in texts.items()}
    corpus = assistant_over(qc, kb_id, made)
    parents = {
        name: {
            text[p.parent_start : p.parent_end] for p in chunk(text, chunking) if p.parent_start is not None
        }
        for name, text in texts.items()
    }
    results = retrieve(qc, corpus, "zebracode", numberOfResults=20)["results"]
    assert len(results) >= 6 and set(retrieved(corpus, {"results": results})) == set(texts)
    for result in results:
        shown = result["contentText"]
        assert shown in parents[corpus.name_of(result["sourceId"])]  # the whole parent, exactly
        assert "zebracode" in shown and len(shown.split()) > 10  # longer than any child passage
    for document in query(qc, corpus, "zebracode"):
        name = corpus.name_of(document["document"]["contentReference"]["contentId"])
        excerpt = document["document"]["excerpt"]["text"]
        assert any(excerpt in parent for parent in parents[name]) and len(excerpt.split()) > 10
