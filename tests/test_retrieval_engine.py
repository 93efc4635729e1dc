"""The retrieval rules (engine.retrieval) as executable examples: query terms and their variants,
relevance and its levels, ranking, excerpts, metadata and tag filters, transcript queries.

Every expected value here follows from the module docstring's rules, so a user can predict it.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from qconnect_local.engine.retrieval import (
    EXCERPT_LIMIT,
    HIGH_RELEVANCE,
    MAX_FILTER_DEPTH,
    MAX_QUERY_LENGTH,
    MAX_VARIANTS,
    MEDIUM_RELEVANCE,
    STOP_WORDS,
    FilterError,
    derive_query,
    excerpt,
    metadata_predicate,
    query_terms,
    rank,
    relevance,
    relevance_level,
    search_text,
    significant_words,
    tag_predicate,
    variants,
)
from qconnect_local.store.passages import PassageHit, highlights, word_spans
from qconnect_local.store.search import words

# --- query terms ------------------------------------------------------------------------------


def test_query_terms_are_the_significant_words_in_order() -> None:
    assert query_terms("How do I get a refund for my order?") == ["refund", "order"]


def test_query_terms_are_folded_and_de_duplicated() -> None:
    assert query_terms("Café CAFE cafe, Crème brûlée") == ["cafe", "creme", "brulee"]


def test_a_query_of_only_stop_words_searches_its_words() -> None:
    assert query_terms("How do I? how DO i") == ["how", "do", "i"]


def test_a_query_without_words_has_no_terms() -> None:
    assert query_terms("") == []
    assert query_terms("  ?! -- ") == []


def test_negations_and_particles_are_not_stop_words() -> None:
    assert query_terms("I was not charged") == ["not", "charged"]
    assert query_terms("no refund, never again") == ["no", "refund", "never", "again"]
    assert query_terms("how do I sign up or log out") == ["sign", "up", "log", "out"]


def test_what_a_contraction_leaves_is_a_stop_word_except_a_negation() -> None:
    assert query_terms("I'm sure it's broken") == ["sure", "broken"]
    assert query_terms("I don't see it") == ["don", "see"]


def test_politeness_question_words_and_the_verbs_of_asking_are_stop_words() -> None:
    assert query_terms("Hello, please tell me why and when the parcel arrives. Thanks!") == [
        "parcel",
        "arrives",
    ]
    assert query_terms("I need to know if I can get a new card") == ["new", "card"]


def test_stop_words_are_folded_words() -> None:
    assert all(words(word) == [word] for word in STOP_WORDS)


def test_significant_words_have_no_stop_word_fallback() -> None:
    assert significant_words("how do I") == []
    assert significant_words("How do I return it, return it?") == ["return"]


# --- variants ---------------------------------------------------------------------------------


def test_a_query_for_refunds_also_finds_refund() -> None:
    assert variants("refunds") == ("refunds", "refund", "refunded", "refunding")


def test_a_query_for_refund_also_finds_refunds_refunded_and_refunding() -> None:
    assert variants("refund") == ("refund", "refunds", "refunded", "refunding")


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("refunded", {"refund", "refunds", "refunding"}),
        ("refunding", {"refund", "refunds", "refunded", "refundings"}),
        ("policy", {"policies"}),
        ("policies", {"policy"}),
        ("replied", {"reply", "replies", "replying"}),
        ("cookies", {"cookie"}),
        ("died", {"die", "dies", "dying"}),
        ("boxes", {"box", "boxed", "boxing"}),
        ("addresses", {"address", "addressed", "addressing"}),
        ("horses", {"horse"}),
        ("charged", {"charge", "charges", "charging"}),
        ("charging", {"charge", "charges", "charged"}),
        ("used", {"use", "uses", "using"}),
        ("stopped", {"stop", "stops", "stopping"}),
        ("shipping", {"ship", "ships", "shipped", "shippings"}),
        ("setting", {"set", "sets", "settings"}),
        ("logged", {"log", "logs", "logging"}),
        ("added", {"add", "adds", "adding"}),
        ("missed", {"miss", "misses", "missing"}),
        ("called", {"call", "calls", "calling"}),
        ("installed", {"install", "installs", "installing"}),
        ("cancel", {"cancels", "canceled", "canceling", "cancelled", "cancelling"}),
        ("cancelled", {"cancel", "cancels", "canceled", "canceling", "cancelling"}),
        ("canceled", {"cancel", "cancels", "canceling", "cancelled", "cancelling"}),
        ("agreed", {"agree", "agrees", "agreeing"}),
        ("heed", {"heeds", "heeded", "heeding"}),
        ("upgrade", {"upgrades", "upgraded", "upgrading"}),
        ("meeting", {"meet", "meets", "meetings"}),
        ("status", {"statuses"}),
        ("access", {"accesses", "accessed", "accessing"}),
        ("process", {"processes", "processed", "processing"}),
    ],
)
def test_regular_inflections_are_variants(term: str, expected: set[str]) -> None:
    found = variants(term)
    assert found[0] == term
    assert expected <= set(found)


def test_words_that_keep_a_final_s_are_not_stripped() -> None:
    assert "acces" not in variants("access")
    assert "statu" not in variants("status")
    assert "analysi" not in variants("analysis")


def test_variants_are_the_term_its_bases_then_their_forms_in_a_fixed_order() -> None:
    assert variants("charged") == ("charged", "charg", "charge", "chargs", "charging", "charges")
    assert variants("stop") == ("stop", "stops", "stoped", "stoping", "stopped", "stopping")
    assert variants("cancelled") == (
        "cancelled",
        "cancel",
        "cancell",
        "cancels",
        "canceled",
        "canceling",
        "cancells",
        "cancelling",
    )


def test_terms_shorter_than_four_letters_get_no_variants() -> None:
    assert variants("tax") == ("tax",)
    assert variants("box") == ("box",)
    assert variants("a") == ("a",)


def test_terms_with_digits_or_other_scripts_get_no_variants() -> None:
    assert variants("mp3s") == ("mp3s",)
    assert variants("2024") == ("2024",)
    assert variants("возврат") == ("возврат",)
    assert variants("返金ポリシー") == ("返金ポリシー",)


def test_a_variant_is_never_a_stop_word() -> None:
    assert "the" not in variants("thing")
    assert variants("thing") == ("thing", "things", "thinged", "thinging")
    assert "doing" not in variants("does")


def test_a_base_shorter_than_three_letters_is_not_used() -> None:
    assert "us" not in variants("using")
    assert variants("ring") == ("ring", "rings", "ringed", "ringing")


@given(st.text(min_size=1, max_size=20))
@example("\U0001d63c")  # U+1D63C, a compatibility decomposition that gives a capital: words() folds it too
@settings(max_examples=300)
def test_variants_are_at_most_eight_folded_words_the_term_first(text: str) -> None:
    for term in words(text):
        found = variants(term)
        assert found[0] == term
        assert 1 <= len(found) <= MAX_VARIANTS
        assert len(set(found)) == len(found)
        assert all(words(v) == [v] for v in found)
        assert all(v not in STOP_WORDS for v in found[1:])


def test_search_text_is_every_variant_of_every_term_once() -> None:
    assert search_text(["refunds", "tax"]) == "refunds refund refunded refunding tax"
    assert search_text(["refund", "refunds"]) == "refund refunds refunded refunding"
    assert search_text([]) == ""


def test_search_text_finds_what_the_index_would_only_find_by_another_inflection() -> None:
    query = search_text(query_terms("Refunds for cancelled orders"))
    assert {"refund", "canceled", "cancel", "order", "ordered"} <= set(query.split())


# --- relevance --------------------------------------------------------------------------------


def test_relevance_is_coverage_plus_a_tenth_of_a_term_for_density() -> None:
    # 1 of 1 term; 1 of the 2 words matches: (0.9 * 1 + 0.1 * 0.5) / 1
    assert relevance("Refund policy", ["refund"]) == 0.95
    # 1 of 2 terms (via refunds); 1 of 4 words: (0.9 * 1 + 0.1 * 0.25) / 2
    assert relevance("We issued refunds today", ["refund", "policy"]) == 0.4625
    # a text made only of its one term's variants scores the maximum
    assert relevance("Refund, refunds, REFUNDED!", ["refund"]) == 1.0


def test_a_query_for_refunds_matches_a_passage_about_a_refund() -> None:
    assert relevance("How to request a refund", ["refunds"]) > 0
    assert relevance("How to request a refund", ["rebates"]) == 0.0


def test_relevance_ignores_case_and_diacritics() -> None:
    assert relevance("CRÈME BRÛLÉE recipe", ["creme", "brulee"]) == relevance(
        "creme brulee recipe", ["creme", "brulee"]
    )


def test_relevance_without_terms_or_words_is_zero() -> None:
    assert relevance("anything at all", []) == 0.0
    assert relevance("", ["refund"]) == 0.0
    assert relevance("?!", ["refund"]) == 0.0


def test_relevance_counts_a_repeated_term_once() -> None:
    assert relevance("refund policy", ["refund", "refund"]) == relevance("refund policy", ["refund"])


def test_the_denser_passage_ranks_higher_at_equal_coverage() -> None:
    short = relevance("Refunds take five days.", ["refund"])
    long = relevance("Refunds take five days, " + "and other words follow here " * 20, ["refund"])
    assert short > long


def test_density_never_outweighs_one_more_matched_term() -> None:
    terms = [f"w{i}" for i in range(10)]
    nine_only = " ".join(terms[:9])  # density 1
    all_ten_diluted = " ".join(terms) + " filler" * 1000  # density ~0.01
    assert relevance(all_ten_diluted, terms) > relevance(nine_only, terms)


@pytest.mark.parametrize("count", range(1, 13))
def test_levels_depend_on_coverage_alone(count: int) -> None:
    terms = [f"t{i}" for i in range(count)]
    for matched in range(count + 1):
        if matched * 6 >= count * 5:
            expected = "HIGH"
        elif matched * 2 >= count:
            expected = "MEDIUM"
        else:
            expected = "LOW"
        dense = " ".join(terms[:matched]) or "nothing"
        diluted = dense + " filler" * 500
        assert relevance_level(relevance(dense, terms)) == expected, (matched, count)
        assert relevance_level(relevance(diluted, terms)) == expected, (matched, count)


def test_every_term_is_high_half_is_medium_a_quarter_is_low() -> None:
    terms = ["refund", "policy", "shoes", "receipt"]
    assert relevance_level(relevance("refund policy for shoes without a receipt", terms)) == "HIGH"
    assert relevance_level(relevance("our refund policy", terms)) == "MEDIUM"
    assert relevance_level(relevance("three of them: refund, policy, shoes", terms)) == "MEDIUM"
    assert relevance_level(relevance("refund", terms)) == "LOW"


def test_relevance_level_thresholds() -> None:
    assert (HIGH_RELEVANCE, MEDIUM_RELEVANCE) == (0.75, 0.45)
    assert relevance_level(1.0) == "HIGH"
    assert relevance_level(0.75) == "HIGH"
    assert relevance_level(0.7499) == "MEDIUM"
    assert relevance_level(0.45) == "MEDIUM"
    assert relevance_level(0.4499) == "LOW"
    assert relevance_level(0.0) == "LOW"


@given(st.text(max_size=300), st.lists(st.text(min_size=1, max_size=12), max_size=8))
@settings(max_examples=300)
def test_relevance_is_always_within_0_and_1_and_rounded(text: str, queries: list[str]) -> None:
    terms = [t for q in queries for t in query_terms(q)]
    score = relevance(text, terms)
    assert 0.0 <= score <= 1.0
    assert score == round(score, 4)


# --- ranking ----------------------------------------------------------------------------------


def hit(text: str, score: float, content_id: str = "c1", position: int = 0) -> PassageHit:
    return PassageHit("kb", content_id, position, 0, len(text), None, None, text, score, ())


def test_rank_orders_by_relevance_then_backend_score_then_content_and_position() -> None:
    terms = ["refund", "policy"]
    both = hit("refund policy", score=0.1, content_id="z")
    one_low = hit("refund", score=0.2, content_id="a")
    one_high = hit("refund", score=0.9, content_id="b")
    same_a1 = hit("policy", score=0.5, content_id="a", position=1)
    same_a0 = hit("policy", score=0.5, content_id="a", position=0)
    same_b0 = hit("policy", score=0.5, content_id="b", position=0)
    ranked = rank([one_low, same_b0, same_a1, both, one_high, same_a0], terms)
    assert [h for h, _ in ranked] == [both, one_high, same_a0, same_a1, same_b0, one_low]
    assert [r for _, r in ranked] == [0.95, 0.5, 0.5, 0.5, 0.5, 0.5]


def test_rank_of_nothing_is_empty() -> None:
    assert rank([], ["refund"]) == []


def test_rank_ignores_the_backend_score_when_relevance_differs() -> None:
    weak = hit("refund", score=100.0)
    strong = hit("refund policy", score=-100.0)
    assert [h for h, _ in rank([weak, strong], ["refund", "policy"])] == [strong, weak]


# --- excerpts ---------------------------------------------------------------------------------


def test_a_text_that_fits_is_its_own_excerpt() -> None:
    text = "  Refunds take five days.  "
    assert excerpt(text, [(2, 9)], limit=len(text)) == (text, [(2, 9)])
    assert excerpt("short", [], limit=EXCERPT_LIMIT) == ("short", [])


def test_the_default_limit_is_500_characters() -> None:
    text = "word " * 200
    found, _ = excerpt(text, [])
    assert len(found) <= 500
    assert EXCERPT_LIMIT == 500


def test_the_excerpt_is_the_window_with_the_most_highlights() -> None:
    text = "refund alpha beta gamma delta epsilon refund refund zeta"
    marks = highlights(text, {"refund"})
    assert excerpt(text, marks, limit=20) == ("refund refund zeta", [(0, 6), (7, 13)])


def test_ties_go_to_the_earliest_window() -> None:
    text = "alpha beta refund gamma delta epsilon refund zeta"
    marks = highlights(text, {"refund"})
    assert excerpt(text, marks, limit=20) == ("alpha beta refund", [(11, 17)])


def test_a_text_without_highlights_gives_its_beginning() -> None:
    assert excerpt("one two three four five six", [], limit=12) == ("one two", [])


def test_the_window_never_cuts_a_word() -> None:
    # "one two three" is 13 characters: the window stops before "three".
    assert excerpt("one two three four", [], limit=12) == ("one two", [])


def test_whitespace_at_the_cut_is_trimmed_and_highlights_re_based() -> None:
    text = "  refund policy   " + "filler " * 20
    found, marks = excerpt(text, highlights(text, {"refund"}), limit=16)
    assert (found, marks) == ("refund policy", [(0, 6)])


def test_punctuation_after_the_last_word_stays_when_it_fits() -> None:
    text = "Refunds take days. More text follows here and goes on."
    assert excerpt(text, highlights(text, {"refunds"}), limit=19) == ("Refunds take days.", [(0, 7)])


def test_highlights_outside_the_window_are_dropped() -> None:
    text = "refund " + "x " * 50 + "refund"
    found, marks = excerpt(text, highlights(text, {"refund"}), limit=20)
    assert found.startswith("refund")
    assert marks == [(0, 6)]


def test_a_word_longer_than_the_limit_may_be_cut() -> None:
    assert excerpt("y" * 30, [], limit=10) == ("y" * 10, [])
    text = "x" * 30 + " refund"
    assert excerpt(text, [(31, 37)], limit=10) == ("refund", [(0, 6)])


def test_a_text_written_without_spaces_is_cut_between_its_words() -> None:
    text = "返金について。" * 20  # words separated by the ideographic full stop
    found, _ = excerpt(text, [], limit=16)
    assert found == "返金について。返金について。"


def test_excerpt_offsets_cover_the_original_characters() -> None:
    text = "Crème brûlée: the café's special. " * 30
    marks = highlights(text, {"cafe"})
    found, inside = excerpt(text, marks, limit=40)
    assert inside
    assert all(found[b:e] == "café" for b, e in inside)


def test_excerpt_rejects_a_limit_below_one() -> None:
    with pytest.raises(ValueError):
        excerpt("text", [], limit=0)


_WORDS = st.sampled_from(["refund", "policy", "café", "x", "Straße", "返金", "a", "ab-cd", "q1", "lorem"])
_GAPS = st.sampled_from([" ", "  ", ", ", ". ", "\n", "-", " (", ") "])


@st.composite
def texts_with_highlights(draw: st.DrawFn) -> tuple[str, tuple[tuple[int, int], ...]]:
    pieces = draw(st.lists(st.tuples(_WORDS, _GAPS), min_size=1, max_size=60))
    text = draw(_GAPS) + "".join(word + gap for word, gap in pieces)
    terms = draw(st.sets(st.sampled_from(["refund", "policy", "cafe", "strasse", "返金", "x", "q1"])))
    return text, highlights(text, terms)


@given(texts_with_highlights(), st.integers(min_value=1, max_value=80))
@settings(max_examples=400)
def test_excerpt_never_cuts_a_highlight_and_re_based_highlights_slice_the_same_words(
    case: tuple[str, tuple[tuple[int, int], ...]], limit: int
) -> None:
    text, marks = case
    found, inside = excerpt(text, marks, limit=limit)
    assert len(found) <= limit
    assert found == found.strip() or len(text) <= limit
    # Where the excerpt is in the text: some start at which every rule holds.
    fitting = [(b, e) for b, e in marks if e - b <= limit]
    words_fitting = [(b, e) for b, e, _ in word_spans(text) if e - b <= limit]

    def consistent(start: int) -> bool:
        end = start + len(found)
        if found and any(b < start < e or b < end < e for b, e in fitting + words_fitting):
            return False
        expected = [(b - start, e - start) for b, e in marks if start <= b and e <= end]
        return inside == expected

    starts = [s for s in range(len(text) - len(found) + 1) if text.startswith(found, s)]
    assert any(consistent(s) for s in starts)
    assert all(len(words(found[b:e])) == 1 for b, e in inside)
    assert len(inside) == len(set(inside))


# --- metadata filters -------------------------------------------------------------------------

METADATA = {
    "category": "billing",
    "priority": "3",
    "price": " 4.50 ",
    "big": "12345678901234567891",
    "active": "TRUE",
    "code": "007",
    "labels": '["refunds", "Returns", 7, true]',
    "colors": "red, green , ,blue",
    "title": "Refund Policy",
    "version": "v2",
}


def matches(filter: dict[str, Any], metadata: dict[str, str] = METADATA) -> bool:
    return metadata_predicate(filter)(metadata)


def leaf(operator: str, key: str, value: Any) -> dict[str, Any]:
    return {operator: {"key": key, "value": value}}


def test_equals_compares_a_string_exactly() -> None:
    assert matches(leaf("equals", "category", "billing"))
    assert not matches(leaf("equals", "category", "Billing"))
    assert not matches(leaf("equals", "code", "7"))


def test_equals_compares_a_number_numerically() -> None:
    assert matches(leaf("equals", "priority", 3))
    assert matches(leaf("equals", "priority", 3.0))
    assert matches(leaf("equals", "price", 4.5))
    assert matches(leaf("equals", "code", 7))
    assert not matches(leaf("equals", "big", 12345678901234567890))
    assert matches(leaf("equals", "big", 12345678901234567891))
    assert not matches(leaf("equals", "category", 3))  # not a number: equal to none
    assert not matches(leaf("equals", "version", 2))


def test_equals_compares_a_boolean_with_true_or_false_in_any_case() -> None:
    assert matches(leaf("equals", "active", True))
    assert not matches(leaf("equals", "active", False))
    assert matches(leaf("equals", "flag", False), {"flag": "False"})
    assert not matches(leaf("equals", "flag", True), {"flag": "1"})


def test_a_missing_key_equals_nothing_and_is_not_equal_to_anything() -> None:
    assert not matches(leaf("equals", "missing", "x"))
    assert matches(leaf("notEquals", "missing", "x"))
    assert matches(leaf("notEquals", "missing", 1))


def test_not_equals_is_the_negation_of_equals() -> None:
    assert not matches(leaf("notEquals", "category", "billing"))
    assert matches(leaf("notEquals", "category", "sales"))
    assert matches(leaf("notEquals", "category", 3))
    assert not matches(leaf("notEquals", "priority", 3))
    assert not matches(leaf("notEquals", "active", True))


@pytest.mark.parametrize("value", [None, [1], {"a": 1}])
def test_equals_with_a_list_object_or_null_is_an_error(value: Any) -> None:
    with pytest.raises(FilterError):
        metadata_predicate(leaf("equals", "category", value))


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("greaterThan", 2, True),
        ("greaterThan", 3, False),
        ("greaterThanOrEquals", 3, True),
        ("greaterThanOrEquals", 3.5, False),
        ("lessThan", 4, True),
        ("lessThan", 3, False),
        ("lessThanOrEquals", 3, True),
        ("lessThanOrEquals", 2.99, False),
    ],
)
def test_comparisons_read_the_metadata_as_a_number(operator: str, value: float, expected: bool) -> None:
    assert matches(leaf(operator, "priority", value)) is expected


def test_comparisons_parse_decimals_and_exponents() -> None:
    assert matches(leaf("greaterThan", "price", 4.49))
    assert matches(leaf("lessThan", "price", 4.51))
    assert matches(leaf("greaterThan", "n", 999), {"n": "1e3"})
    assert matches(leaf("lessThan", "n", 0), {"n": "-.5"})


@pytest.mark.parametrize("operator", ["greaterThan", "greaterThanOrEquals", "lessThan", "lessThanOrEquals"])
def test_comparisons_with_a_missing_or_non_numeric_value_are_false(operator: str) -> None:
    for metadata in ({}, {"n": "high"}, {"n": ""}, {"n": "inf"}, {"n": "NaN"}, {"n": "1_000"}, {"n": "0x10"}):
        assert not matches(leaf(operator, "n", 0), metadata)


@pytest.mark.parametrize("operator", ["greaterThan", "greaterThanOrEquals", "lessThan", "lessThanOrEquals"])
@pytest.mark.parametrize("value", ["3", True, [3], {"n": 3}, float("inf"), float("nan")])
def test_comparisons_need_a_finite_number(operator: str, value: Any) -> None:
    with pytest.raises(FilterError, match="number"):
        metadata_predicate(leaf(operator, "priority", value))


def test_in_is_membership_by_the_equals_rule() -> None:
    assert matches(leaf("in", "category", ["sales", "billing"]))
    assert not matches(leaf("in", "category", ["sales", "Billing"]))
    assert matches(leaf("in", "priority", [1, 3]))
    assert matches(leaf("in", "priority", ["x", 3.0]))
    assert not matches(leaf("in", "missing", ["x"]))


def test_not_in_is_the_negation_of_in() -> None:
    assert not matches(leaf("notIn", "category", ["sales", "billing"]))
    assert matches(leaf("notIn", "category", ["sales"]))
    assert matches(leaf("notIn", "missing", ["x"]))


@pytest.mark.parametrize("operator", ["in", "notIn"])
@pytest.mark.parametrize("value", [[], "billing", 3, [True], [["x"]], [None], [{"a": 1}]])
def test_in_needs_a_non_empty_list_of_strings_and_numbers(operator: str, value: Any) -> None:
    with pytest.raises(FilterError, match="non-empty list"):
        metadata_predicate(leaf(operator, "category", value))


def test_list_contains_reads_a_json_array() -> None:
    assert matches(leaf("listContains", "labels", "refunds"))
    assert not matches(leaf("listContains", "labels", "returns"))  # case-sensitive
    assert matches(leaf("listContains", "labels", 7))
    assert matches(leaf("listContains", "labels", "true"))
    assert matches(leaf("listContains", "n", 2.5), {"n": "[1, 2.50]"})
    assert not matches(leaf("listContains", "n", "x"), {"n": '[["x"], {"x": 1}, null]'})


def test_list_contains_reads_comma_separated_items_otherwise() -> None:
    assert matches(leaf("listContains", "colors", "green"))
    assert matches(leaf("listContains", "colors", "blue"))
    assert not matches(leaf("listContains", "colors", ""))
    assert not matches(leaf("listContains", "colors", "gre"))
    assert matches(leaf("listContains", "category", "billing"))  # one item
    assert matches(leaf("listContains", "n", 4), {"n": "1, 4.0"})
    # not a valid JSON array: comma-separated after all
    assert matches(leaf("listContains", "n", "[a"), {"n": "[a, b]"})


def test_list_contains_with_a_missing_key_is_false() -> None:
    assert not matches(leaf("listContains", "missing", "x"))


@pytest.mark.parametrize("value", [True, ["x"], {"a": 1}])
def test_list_contains_needs_a_string_or_a_number(value: Any) -> None:
    with pytest.raises(FilterError, match="string or a number"):
        metadata_predicate(leaf("listContains", "labels", value))


def test_starts_with_and_string_contains_are_case_sensitive_string_tests() -> None:
    assert matches(leaf("startsWith", "title", "Refund"))
    assert not matches(leaf("startsWith", "title", "refund"))
    assert not matches(leaf("startsWith", "title", "Policy"))
    assert matches(leaf("stringContains", "title", "und Pol"))
    assert not matches(leaf("stringContains", "title", "policy"))
    assert matches(leaf("startsWith", "title", ""))


def test_starts_with_and_string_contains_with_a_missing_key_are_false() -> None:
    assert not matches(leaf("startsWith", "missing", ""))
    assert not matches(leaf("stringContains", "missing", ""))


@pytest.mark.parametrize("operator", ["startsWith", "stringContains"])
@pytest.mark.parametrize("value", [3, True, ["x"], {"a": "b"}])
def test_starts_with_and_string_contains_need_a_string(operator: str, value: Any) -> None:
    with pytest.raises(FilterError, match="must be a string"):
        metadata_predicate(leaf(operator, "title", value))


def test_and_all_needs_every_member_and_or_all_any() -> None:
    billing = leaf("equals", "category", "billing")
    urgent = leaf("greaterThan", "priority", 5)
    assert not matches({"andAll": [billing, urgent]})
    assert matches({"andAll": [billing, leaf("lessThan", "priority", 5)]})
    assert matches({"orAll": [billing, urgent]})
    assert not matches({"orAll": [urgent, leaf("equals", "category", "sales")]})


def test_filters_nest_up_to_the_depth_limit() -> None:
    node: dict[str, Any] = leaf("equals", "category", "billing")
    for _ in range(MAX_FILTER_DEPTH - 1):
        node = {"andAll": [node, leaf("notEquals", "category", "sales")]}
    assert matches(node)  # MAX_FILTER_DEPTH levels
    with pytest.raises(FilterError, match=f"nest at most {MAX_FILTER_DEPTH}"):
        metadata_predicate({"orAll": [node, leaf("equals", "category", "billing")]})


def test_a_very_deep_filter_is_refused_without_recursing_through_it() -> None:
    node: dict[str, Any] = leaf("equals", "k", "v")
    for _ in range(5000):
        node = {"andAll": [node, node]}
    with pytest.raises(FilterError):
        metadata_predicate(node)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({}, "exactly one"),
        ({"equals": None}, "exactly one"),
        (
            {"equals": {"key": "a", "value": "b"}, "notEquals": {"key": "a", "value": "c"}},
            "exactly one",
        ),
        ({"matches": {"key": "a", "value": "b"}}, "unknown member 'matches'"),
        ({"andAll": [{"equals": {"key": "a", "value": "b"}}]}, "at least 2"),
        ({"orAll": []}, "at least 2"),
        ({"orAll": "ab"}, "at least 2"),
        ({"equals": {"value": "b"}}, "key must be a non-empty string"),
        ({"equals": {"key": "", "value": "b"}}, "key must be a non-empty string"),
        ({"equals": {"key": 1, "value": "b"}}, "key must be a non-empty string"),
        ({"equals": {"key": "a"}}, "value is required"),
        ({"equals": "a=b"}, "object with a key and a value"),
        ("equals", "must be an object"),
        ({"andAll": [{"equals": {"key": "a", "value": "b"}}, {}]}, r"filter\.andAll\[1\]"),
    ],
)
def test_an_ill_formed_filter_is_a_filter_error_saying_where(bad: Any, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        metadata_predicate(bad)


def test_a_filter_error_is_a_value_error() -> None:
    assert issubclass(FilterError, ValueError)


# --- tag filters ------------------------------------------------------------------------------

TAGS = {"team": "billing", "tier": "Gold", "beta": ""}


def tags_match(tag_filter: dict[str, Any], tags: dict[str, str] = TAGS) -> bool:
    return tag_predicate(tag_filter)(tags)


def test_a_tag_condition_without_a_value_needs_the_key_only() -> None:
    assert tags_match({"tagCondition": {"key": "team"}})
    assert tags_match({"tagCondition": {"key": "beta"}})
    assert not tags_match({"tagCondition": {"key": "region"}})


def test_a_tag_condition_with_a_value_needs_it_equal_case_sensitively() -> None:
    assert tags_match({"tagCondition": {"key": "tier", "value": "Gold"}})
    assert not tags_match({"tagCondition": {"key": "tier", "value": "gold"}})
    assert not tags_match({"tagCondition": {"key": "region", "value": "Gold"}})


def test_and_conditions_need_every_condition() -> None:
    assert tags_match({"andConditions": [{"key": "team", "value": "billing"}, {"key": "tier"}]})
    assert not tags_match({"andConditions": [{"key": "team", "value": "billing"}, {"key": "region"}]})


def test_or_conditions_need_any_alternative() -> None:
    either = {
        "orConditions": [
            {"andConditions": [{"key": "team", "value": "sales"}, {"key": "tier"}]},
            {"tagCondition": {"key": "tier", "value": "Gold"}},
        ]
    }
    assert tags_match(either)
    assert not tags_match(either, {"team": "sales"})
    assert tags_match(either, {"team": "sales", "tier": "Silver"})
    assert not tags_match({"orConditions": [{"tagCondition": {"key": "region"}}]})


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({}, "exactly one"),
        ({"tagCondition": {"key": "a"}, "andConditions": [{"key": "b"}]}, "exactly one"),
        ({"tagConditions": {"key": "a"}}, "unknown member"),
        ({"tagCondition": {"value": "x"}}, "key must be a non-empty string"),
        ({"tagCondition": {"key": "a", "value": 3}}, "value must be a string"),
        ({"tagCondition": "a"}, "object with a key"),
        ({"andConditions": []}, "non-empty list"),
        ({"andConditions": {"key": "a"}}, "non-empty list"),
        ({"orConditions": []}, "non-empty list"),
        ({"orConditions": [{}]}, r"orConditions\[0\] must have exactly one"),
        (
            {"orConditions": [{"tagCondition": {"key": "a"}, "andConditions": [{"key": "b"}]}]},
            "exactly one",
        ),
        ({"orConditions": [{"orConditions": []}]}, "unknown member"),
        ({"orConditions": [{"andConditions": [{"key": ""}]}]}, r"andConditions\[0\]\.key"),
    ],
)
def test_an_ill_formed_tag_filter_is_a_filter_error(bad: Any, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        tag_predicate(bad)


# --- transcript queries -----------------------------------------------------------------------


def test_the_query_is_the_newest_customer_turn() -> None:
    turns = [
        ("CUSTOMER", "Hello"),
        ("AGENT", "Hi, how can I help?"),
        ("CUSTOMER", "I was charged twice for my subscription"),
    ]
    assert derive_query(turns) == "I was charged twice for my subscription"


def test_a_short_follow_up_keeps_the_previous_customer_turn_as_context() -> None:
    turns = [
        ("CUSTOMER", "What is the return policy for jackets?"),
        ("AGENT", "Thirty days with a receipt."),
        ("CUSTOMER", "and for shoes?"),
    ]
    assert derive_query(turns) == "What is the return policy for jackets? and for shoes?"


def test_the_context_is_looked_for_among_the_three_turns_before_the_newest() -> None:
    within = [
        ("CUSTOMER", "return policy for jackets"),
        ("AGENT", "a"),
        ("AGENT", "b"),
        ("CUSTOMER", "shoes?"),
    ]
    beyond = [("CUSTOMER", "return policy for jackets"), ("AGENT", "a"), ("AGENT", "b"), ("AGENT", "c")]
    assert derive_query(within) == "return policy for jackets shoes?"
    assert derive_query([*beyond, ("CUSTOMER", "shoes?")]) == "shoes?"


def test_only_the_nearest_previous_customer_turn_is_used() -> None:
    turns = [("CUSTOMER", "jackets"), ("CUSTOMER", "return policy"), ("CUSTOMER", "shoes")]
    assert derive_query(turns) == "return policy shoes"


def test_three_distinct_significant_words_need_no_context() -> None:
    turns = [("CUSTOMER", "return policy for jackets"), ("CUSTOMER", "how do I track my parcel delivery")]
    assert derive_query(turns) == "how do I track my parcel delivery"
    repeated = [("CUSTOMER", "return policy"), ("CUSTOMER", "shoes shoes shoes")]
    assert derive_query(repeated) == "return policy shoes shoes shoes"


def test_there_is_no_query_after_an_agent_turn_or_without_turns() -> None:
    assert derive_query([]) is None
    assert derive_query([("CUSTOMER", "return policy for jackets"), ("AGENT", "One moment")]) is None
    assert derive_query([("CUSTOMER", "return policy for jackets"), ("SYSTEM", "transfer")]) is None


def test_there_is_no_query_without_a_significant_word() -> None:
    assert derive_query([("CUSTOMER", "How do I?")]) is None
    assert derive_query([("CUSTOMER", "   ")]) is None
    assert derive_query([("CUSTOMER", "thanks"), ("AGENT", "You're welcome"), ("CUSTOMER", "ok?")]) is None


def test_a_stop_word_follow_up_takes_its_meaning_from_the_previous_turn() -> None:
    turns = [("CUSTOMER", "My parcel never arrived"), ("AGENT", "Sorry to hear that"), ("CUSTOMER", "why?")]
    assert derive_query(turns) == "My parcel never arrived why?"


def test_whitespace_runs_become_single_spaces() -> None:
    assert derive_query([("CUSTOMER", "  where   is\nmy \t parcel  ")]) == "where is my parcel"


def test_a_long_turn_is_cut_at_a_space_to_512_characters() -> None:
    text = " ".join(f"word{i}" for i in range(200))
    query = derive_query([("CUSTOMER", text)])
    assert query is not None
    assert len(query) <= MAX_QUERY_LENGTH == 512
    assert text.startswith(query + " ")


def test_a_long_context_loses_its_beginning_and_the_follow_up_stays_whole() -> None:
    previous = " ".join(f"word{i}" for i in range(200))
    query = derive_query([("CUSTOMER", previous), ("AGENT", "ok"), ("CUSTOMER", "and for shoes?")])
    assert query is not None
    assert len(query) <= MAX_QUERY_LENGTH
    context = query.removesuffix(" and for shoes?")
    assert context.endswith(" word199")
    assert previous.endswith(" " + context)  # starts with a whole word of the previous turn


def test_a_word_longer_than_the_limit_is_cut_at_the_limit() -> None:
    assert derive_query([("CUSTOMER", "x" * 600)]) == "x" * 512
