"""The local generation backend, as docs/generation.md specifies it: a small known corpus, exact outputs."""

from __future__ import annotations

import math
import time

import pytest

from qconnect_local.engine.generation import (
    ANSWER_THRESHOLD,
    NO_ANSWER,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    LocalBackend,
    Passage,
    backend_for,
)
from qconnect_local.engine.generation.local import MESSAGES, classify
from qconnect_local.engine.prompt_templates import parse_prompt
from qconnect_local.engine.retrieval import query_terms, relevance
from qconnect_local.engine.system_prompts import system_prompt

CORPUS = {
    "c-reset": (
        "Reset your password",
        "To reset your password, open Settings and choose Security. Then select Reset password and"
        " follow the link we email you. The link expires after 24 hours.",
    ),
    "c-refund": (
        "Refunds",
        "Refunds are issued to the original payment method within 5 business days. You can request a"
        " refund from the Orders page.\nGift cards cannot be refunded.",
    ),
    "c-ship": (
        "Shipping",
        "Standard shipping takes 3 to 5 days.  Express shipping arrives the next day.",
    ),
}
SELF_SERVICE_TOOLS = list(
    parse_prompt(
        system_prompt("SELF_SERVICE_PRE_PROCESSING").text,
        prompt_type="SELF_SERVICE_PRE_PROCESSING",
        api_format="MESSAGES",
    ).tools
)
BACKEND = LocalBackend()


def passages(query: str) -> tuple[Passage, ...]:
    terms = query_terms(query)
    return tuple(
        Passage(cid, "kb-1", title, f"https://example.com/{cid}", text, relevance(text, terms))
        for cid, (title, text) in CORPUS.items()
    )


def request(prompt_type: str = "ANSWER_GENERATION", **changes: object) -> GenerationRequest:
    fields: dict[str, object] = {
        "prompt_type": prompt_type,
        "model_id": "us.amazon.nova-pro-v1:0",
        "system": None,
        "messages": [{"role": "user", "content": "rendered prompt"}],
        "tools": [],
        "inference": {},
    }
    fields.update(changes)
    return GenerationRequest(**fields)  # type: ignore[arg-type]


def ask(query: str, prompt_type: str = "ANSWER_GENERATION", **changes: object) -> GenerationResult:
    return BACKEND.generate(request(prompt_type, query=query, passages=passages(query), **changes))


def cited(result: GenerationResult, query: str) -> list[tuple[str, str]]:
    """(content id, cited text) of each citation, checking that the text is in the passage."""
    found = []
    for c in result.citations:
        assert result.text is not None
        span = result.text[c.begin : c.end]
        passage = passages(query)[c.passage]
        assert span in " ".join(passage.text.split())
        found.append((passage.content_id, span))
    return found


# --- answers -----------------------------------------------------------------------------------------


def test_answer_cites_the_right_content_with_exact_offsets() -> None:
    query = "How do I reset my password?"
    result = ask(query)
    assert result.text == (
        "To reset your password, open Settings and choose Security."
        " Then select Reset password and follow the link we email you."
    )
    assert [(c.passage, c.begin, c.end) for c in result.citations] == [(0, 0, 58), (0, 59, 119)]
    assert cited(result, query) == [
        ("c-reset", "To reset your password, open Settings and choose Security."),
        ("c-reset", "Then select Reset password and follow the link we email you."),
    ]
    assert result.finish_reason == "end_turn"
    assert result.tool_use is None
    assert result.model_id == "us.amazon.nova-pro-v1:0"


def test_sentences_by_coverage_then_reading_order_and_whitespace_made_single() -> None:
    query = "express shipping"
    result = ask(query)
    # "Express shipping ..." covers both terms, "Standard shipping ..." one; written in passage order.
    assert result.text == "Standard shipping takes 3 to 5 days. Express shipping arrives the next day."
    assert cited(result, query) == [
        ("c-ship", "Standard shipping takes 3 to 5 days."),
        ("c-ship", "Express shipping arrives the next day."),
    ]


def test_line_breaks_split_sentences_and_variants_match() -> None:
    query = "refund gift cards"
    result = ask(query)
    assert cited(result, query)[0] == (
        "c-refund",
        "Refunds are issued to the original payment method within 5 business days.",
    )
    assert ("c-refund", "Gift cards cannot be refunded.") in cited(result, query)


def test_nothing_relevant_gives_no_answer() -> None:
    for query in ("cancel my subscription", "how long do refunds take"):  # the second: 1 term of 3
        result = ask(query)
        assert result.text == NO_ANSWER
        assert result.citations == ()
        assert result.finish_reason == "end_turn"
    assert BACKEND.generate(request(query="anything")).text == NO_ANSWER  # no passages at all


def test_threshold_is_inclusive_and_the_best_passage_comes_first() -> None:
    low = Passage("c-low", "kb", "Low", None, "Passwords expire yearly.", ANSWER_THRESHOLD - 0.0001)
    edge = Passage("c-edge", "kb", "Edge", None, "Passwords can be reset.", ANSWER_THRESHOLD)
    best = Passage("c-best", "kb", "Best", None, "Reset a password in Settings.", 0.95)
    result = BACKEND.generate(request(query="reset password", passages=(low, edge, best)))
    assert result.text == "Reset a password in Settings. Passwords can be reset."
    assert [c.passage for c in result.citations] == [2, 1]


def test_at_most_three_sentences_and_600_characters() -> None:
    text = " ".join(f"Sentence {n} is about billing." for n in range(6))
    many = Passage("c-many", "kb", "Billing", None, text, 0.99)
    result = BACKEND.generate(request(query="billing", passages=(many,)))
    assert (
        result.text
        == "Sentence 0 is about billing. Sentence 1 is about billing. Sentence 2 is about billing."
    )
    long_sentence = "Billing " + "word " * 200 + "end."
    long = Passage("c-long", "kb", "Long", None, long_sentence + " Billing is monthly.", 0.99)
    result = BACKEND.generate(request(query="billing", passages=(long,)))
    assert result.text is not None and len(result.text) <= 600
    assert result.text.startswith("Billing word")
    assert result.citations[0].begin == 0 and result.citations[0].end == len(
        result.text.split(" Billing is")[0]
    )


def test_repeated_sentences_are_cited_once() -> None:
    same = "Reset a password in Settings."
    a = Passage("c-a", "kb", "A", None, same, 0.95)
    b = Passage("c-b", "kb", "B", None, same, 0.95)
    result = BACKEND.generate(request(query="reset password", passages=(a, b)))
    assert result.text == same
    assert [c.passage for c in result.citations] == [0]


def test_empty_query_uses_the_transcript() -> None:
    transcript = ({"participant": "CUSTOMER", "text": "I forgot my password, how do I reset it?"},)
    query = "I forgot my password, how do I reset it?"
    result = BACKEND.generate(request(passages=passages(query), transcript=transcript))
    assert cited(result, query)[0][0] == "c-reset"


@pytest.mark.parametrize(
    "prompt_type", ["SELF_SERVICE_ANSWER_GENERATION", "EMAIL_GENERATIVE_ANSWER", "EMAIL_RESPONSE"]
)
def test_every_answer_type_answers_the_same_way(prompt_type: str) -> None:
    assert ask("reset password", prompt_type).text == ask("reset password").text
    assert ask("cancel subscription", prompt_type).text == NO_ANSWER


def test_locale_is_ignored() -> None:
    assert ask("reset password", locale="fr_FR") == ask("reset password")


def test_max_tokens_cuts_the_text_and_clips_citations() -> None:
    result = ask("How do I reset my password?", inference={"maxTokensToSample": 10})
    assert result.finish_reason == "max_tokens"
    assert result.text == "To reset your password, open Settings"  # 40 chars at most, cut at a space
    assert [(c.begin, c.end) for c in result.citations] == [(0, len(result.text))]
    assert result.output_tokens == 10


def test_token_estimates() -> None:
    req = request(
        system="s" * 10,
        messages=[{"role": "user", "content": "u" * 13}],
        query="reset password",
        passages=passages("reset password"),
    )
    result = BACKEND.generate(req)
    assert result.input_tokens == math.ceil(23 / 4)
    assert result.text is not None and result.output_tokens == math.ceil(len(result.text) / 4)


def test_deterministic_and_fast() -> None:
    req = request(query="How do I reset my password?", passages=passages("How do I reset my password?"))
    first = BACKEND.generate(req)
    assert all(BACKEND.generate(req) == first for _ in range(50))
    start = time.perf_counter()
    for _ in range(200):
        BACKEND.generate(req)
    assert (time.perf_counter() - start) / 200 < 0.001


# --- transcript rules ----------------------------------------------------------------------------------


def turns(*pairs: tuple[str, str]) -> tuple[dict[str, str], ...]:
    return tuple({"participant": p, "text": t} for p, t in pairs)


def test_query_reformulation_uses_derive_query_up_to_the_last_customer_turn() -> None:
    transcript = turns(
        ("CUSTOMER", "I ordered running shoes last week"),
        ("AGENT", "Sure, what is the problem?"),
        ("CUSTOMER", "  they are too   small"),
        ("AGENT", "Let me check."),
    )
    for prompt_type in ("QUERY_REFORMULATION", "EMAIL_QUERY_REFORMULATION"):
        result = BACKEND.generate(request(prompt_type, transcript=transcript))
        # "they are too small" has 2 significant words: the previous customer turn goes first.
        assert result.text == "I ordered running shoes last week they are too small"
        assert result.citations == () and result.finish_reason == "end_turn"
    alone = turns(("CUSTOMER", "How do I change my delivery address?"))
    assert BACKEND.generate(request("QUERY_REFORMULATION", transcript=alone)).text == (
        "How do I change my delivery address?"
    )
    assert BACKEND.generate(request("QUERY_REFORMULATION", transcript=turns(("AGENT", "Hi")))).text == ""
    assert BACKEND.generate(request("QUERY_REFORMULATION", transcript=turns(("CUSTOMER", "hi")))).text == ""


def test_intent_label() -> None:
    transcript = turns(("CUSTOMER", "I want to change my Delivery address please"), ("AGENT", "Sure."))
    assert BACKEND.generate(request("INTENT_LABELING_GENERATION", transcript=transcript)).text == (
        "Change Delivery address"
    )
    long = turns(("CUSTOMER", "one two three four five six seven eight one"))
    assert BACKEND.generate(request("INTENT_LABELING_GENERATION", transcript=long)).text == (
        "One two three four five six"
    )
    assert (
        BACKEND.generate(request("INTENT_LABELING_GENERATION", transcript=turns(("CUSTOMER", "hi")))).text
        == ""
    )


# --- self-service tool choice ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("I want to talk to a human", "ESCALATION"),
        ("Can I speak with someone?", "ESCALATION"),
        ("get me a representative, my refund is late", "ESCALATION"),
        ("How do I reset my password?", "QUESTION"),
        ("thanks! how do I reset my password", "QUESTION"),
        ("no thanks, that's all", "COMPLETE"),
        ("bye", "COMPLETE"),
        ("Hello!", "CONVERSATION"),
        ("thank you", "CONVERSATION"),
        ("refund", "FOLLOW_UP_QUESTION"),
        ("hi, billing", "FOLLOW_UP_QUESTION"),
        ("", "FOLLOW_UP_QUESTION"),
    ],
)
def test_self_service_tool_choice(text: str, tool: str) -> None:
    assert classify(text).category == tool
    transcript = turns(("BOT", "How can I help?"), ("CUSTOMER", text))
    result = BACKEND.generate(
        request("SELF_SERVICE_PRE_PROCESSING", transcript=transcript, tools=SELF_SERVICE_TOOLS)
    )
    assert result.text is None and result.finish_reason == "tool_use" and result.citations == ()
    assert result.tool_use is not None
    assert result.tool_use["name"] == tool
    assert result.tool_use["toolUseId"].startswith("tooluse_")
    expected: dict[str, str] = {"message": MESSAGES[tool]}
    if tool == "QUESTION":
        expected = {"query": " ".join(text.split()), "message": MESSAGES[tool]}
    assert result.tool_use["input"] == expected


def test_self_service_question_query_is_reformulated() -> None:
    transcript = turns(
        ("CUSTOMER", "My package from the spring sale never arrived"),
        ("CUSTOMER", "where is my package now?"),
    )
    result = BACKEND.generate(
        request("SELF_SERVICE_PRE_PROCESSING", transcript=transcript, tools=SELF_SERVICE_TOOLS)
    )
    assert result.tool_use is not None
    assert (
        result.tool_use["input"]["query"]
        == "My package from the spring sale never arrived where is my package now?"
    )


def test_self_service_only_offered_tools_are_chosen() -> None:
    only = [t for t in SELF_SERVICE_TOOLS if t["name"] in ("QUESTION", "CONVERSATION")]
    transcript = turns(("CUSTOMER", "I want an agent"))
    result = BACKEND.generate(request("SELF_SERVICE_PRE_PROCESSING", transcript=transcript, tools=only))
    assert result.tool_use is not None and result.tool_use["name"] == "QUESTION"  # the fallback
    custom = [
        {
            "name": "LOOKUP",
            "description": "d",
            "input_schema": {
                "type": "object",
                "properties": {
                    "topic": {"type": "string", "enum": ["a", "b"]},
                    "note": {"type": "string"},
                    "lang": {"type": "string", "default": "en"},
                    "other": {"type": "string"},
                },
                "required": ["note"],
            },
        }
    ]
    result = BACKEND.generate(request("SELF_SERVICE_PRE_PROCESSING", transcript=transcript, tools=custom))
    assert result.tool_use is not None and result.tool_use["name"] == "LOOKUP"  # the first tool
    assert result.tool_use["input"] == {"topic": "a", "note": "", "lang": "en"}
    none = BACKEND.generate(request("SELF_SERVICE_PRE_PROCESSING", transcript=transcript))
    assert none.text == "ESCALATION" and none.tool_use is None


def test_tool_use_ids_are_deterministic() -> None:
    transcript = turns(("CUSTOMER", "bye"))
    req = request("SELF_SERVICE_PRE_PROCESSING", transcript=transcript, tools=SELF_SERVICE_TOOLS)
    assert BACKEND.generate(req) == BACKEND.generate(req)
    other = request(
        "SELF_SERVICE_PRE_PROCESSING", transcript=turns(("CUSTOMER", "goodbye")), tools=SELF_SERVICE_TOOLS
    )
    assert BACKEND.generate(req).tool_use != BACKEND.generate(other).tool_use


# --- orchestration --------------------------------------------------------------------------------------

ORCHESTRATION_TOOLS = [
    {
        "name": "Retrieve",
        "description": "Search the knowledge base",
        "input_schema": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    },
    {
        "name": "Escalate",
        "description": "Hand over",
        "input_schema": {
            "type": "object",
            "properties": {"message": {"type": "string"}},
            "required": ["message"],
        },
    },
    {
        "name": "Complete",
        "description": "End",
        "input_schema": {"type": "object", "properties": {}, "required": []},
    },
]


def orchestrate(text: str, **changes: object) -> GenerationResult:
    return BACKEND.generate(
        request("ORCHESTRATION", transcript=turns(("CUSTOMER", text)), tools=ORCHESTRATION_TOOLS, **changes)
    )


def test_orchestration_rules() -> None:
    question = orchestrate("How do I reset my password?")
    assert question.tool_use is not None and question.tool_use["name"] == "Retrieve"
    assert question.tool_use["input"] == {"query": "How do I reset my password?"}
    escalate = orchestrate("let me talk to a supervisor")
    assert escalate.tool_use is not None and escalate.tool_use["name"] == "Escalate"
    assert escalate.tool_use["input"] == {"message": MESSAGES["ESCALATION"]}
    done = orchestrate("that's all, goodbye")
    assert done.tool_use is not None and done.tool_use["name"] == "Complete" and done.tool_use["input"] == {}
    assert orchestrate("hello").text == MESSAGES["CONVERSATION"]
    assert orchestrate("billing").text == MESSAGES["FOLLOW_UP_QUESTION"]


def test_orchestration_answers_from_passages_once_retrieved() -> None:
    query = "How do I reset my password?"
    answered = orchestrate(query, passages=passages(query), retrieved=True)
    assert answered.tool_use is None and answered.text == ask(query).text
    assert answered.citations == ask(query).citations
    assert orchestrate(query, retrieved=True).text == NO_ANSWER  # retrieval found nothing
    no_tools = BACKEND.generate(request("ORCHESTRATION", transcript=turns(("CUSTOMER", query))))
    assert no_tools.text == NO_ANSWER
    assert (
        BACKEND.generate(request("ORCHESTRATION", transcript=turns(("CUSTOMER", "I need a human")))).text
        == (MESSAGES["ESCALATION"])
    )


# --- notes and summaries --------------------------------------------------------------------------------

CALL = turns(
    ("CUSTOMER", "Hi"),
    ("CUSTOMER", "My router keeps   dropping the connection."),
    ("AGENT", "Ok"),
    ("AGENT", "I restarted the line from our side."),
    ("CUSTOMER", "It still drops every hour. What now?"),
)


def test_note_taking() -> None:
    assert BACKEND.generate(request("NOTE_TAKING", transcript=CALL)).text == (
        "Issue: My router keeps dropping the connection.\n"
        "Actions taken: I restarted the line from our side.\n"
        "Next steps: It still drops every hour. What now?"
    )
    assert BACKEND.generate(request("NOTE_TAKING")).text == ""


def test_case_summarization() -> None:
    assert BACKEND.generate(request("CASE_SUMMARIZATION", transcript=CALL)).text == (
        "Problem: My router keeps dropping the connection.\n"
        "Progress: I restarted the line from our side.\n"
        "Status: Waiting on the agent"
    )


def test_email_overview() -> None:
    thread = turns(
        ("CUSTOMER", "Hello team. My invoice is wrong.\nPlease fix it."), ("AGENT", "We are on it. Thanks.")
    )
    assert BACKEND.generate(request("EMAIL_OVERVIEW", transcript=thread)).text == (
        "- Customer: Hello team.\n- Agent: We are on it."
    )


def test_unknown_prompt_type_and_backend_for() -> None:
    with pytest.raises(GenerationError) as caught:
        BACKEND.generate(request("NOT_A_TYPE"))
    assert caught.value.error_code == "ValidationException"

    class Settings:
        model_backend = "local"

    assert isinstance(backend_for(Settings()), LocalBackend)
    Settings.model_backend = "nope"
    with pytest.raises(ValueError, match="unknown model backend"):
        backend_for(Settings())
    Settings.model_backend = "openai"
    with pytest.raises(ValueError, match="model-endpoint"):
        backend_for(Settings())
    Settings.model_backend = "scripted"
    with pytest.raises(ValueError, match="queue"):
        backend_for(Settings())
