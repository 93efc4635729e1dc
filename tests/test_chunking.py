"""Passage chunking (docs/content-ingestion.md), as executable examples.

A passage is `text[p.start:p.end]`. Every strategy's passages start and end on token boundaries,
carry no surrounding whitespace and respect their token limits; the examples below pin the exact
boundaries a user can predict from the documented token rule.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qconnect_local.engine.chunking import Passage, chunk, tokens
from qconnect_local.spec import service_model


def fixed(max_tokens: int, overlap: int) -> dict[str, Any]:
    return {
        "chunkingStrategy": "FIXED_SIZE",
        "fixedSizeChunkingConfiguration": {"maxTokens": max_tokens, "overlapPercentage": overlap},
    }


def hierarchical(parent: int, child: int, overlap: int) -> dict[str, Any]:
    return {
        "chunkingStrategy": "HIERARCHICAL",
        "hierarchicalChunkingConfiguration": {
            "levelConfigurations": [{"maxTokens": parent}, {"maxTokens": child}],
            "overlapTokens": overlap,
        },
    }


def semantic(max_tokens: int = 300, buffer: int = 0, percentile: int = 95) -> dict[str, Any]:
    return {
        "chunkingStrategy": "SEMANTIC",
        "semanticChunkingConfiguration": {
            "maxTokens": max_tokens,
            "bufferSize": buffer,
            "breakpointPercentileThreshold": percentile,
        },
    }


def texts(text: str, passages: list[Passage]) -> list[str]:
    return [text[p.start : p.end] for p in passages]


def token_offsets(text: str) -> list[tuple[int, int]]:
    """Where each token of `tokens(text)` stands (only whitespace lies between tokens)."""
    offsets, position = [], 0
    for token in tokens(text):
        start = text.index(token, position)
        assert not text[position:start].strip()
        offsets.append((start, start + len(token)))
        position = start + len(token)
    assert not text[position:].strip()
    return offsets


def token_indexes(text: str, passage: Passage) -> tuple[int, int]:
    """The passage as token indexes [i, j), asserting it starts and ends on token boundaries."""
    offsets = token_offsets(text)
    starts = [start for start, _ in offsets]
    ends = [end for _, end in offsets]
    assert passage.start in starts and passage.end in ends, "a passage cuts a token"
    return starts.index(passage.start), ends.index(passage.end) + 1


WORDS = " ".join(f"w{i}" for i in range(20))  # 20 tokens: w0 … w19
HINDI = "\u0939\u093f\u0928\u094d\u0926\u0940"  # "Hindi": 3 letters, 3 combining marks, 1 word


# -- the token rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Don't panic!", ["Don", "'", "t", "panic", "!"]),
        ("e-mail: a.b@example.com", ["e", "-", "mail", ":", "a", ".", "b", "@", "example", ".", "com"]),
        ("Version 3.14, snake_case", ["Version", "3", ".", "14", ",", "snake_case"]),
        ("na\u00efve cafe\u0301 " + HINDI, ["na\u00efve", "cafe\u0301", HINDI]),  # marks stay in words
        ("\u6f22\u5b57\u304b\u306a abc", ["\u6f22", "\u5b57", "\u304b", "\u306a", "abc"]),
        ("\u20ac5 \U0001f600\U0001f600", ["\u20ac", "5", "\U0001f600", "\U0001f600"]),
        ("  \n\t ", []),
    ],
)
def test_tokens(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


# -- FIXED_SIZE and the default ------------------------------------------------------------------


def test_fixed_size_windows_overlap_by_a_percentage_of_max_tokens() -> None:
    # maxTokens 5, 40 % overlap: 2 tokens repeat, so each passage starts 3 tokens after the last.
    assert texts(WORDS, chunk(WORDS, fixed(5, 40))) == [
        "w0 w1 w2 w3 w4",
        "w3 w4 w5 w6 w7",
        "w6 w7 w8 w9 w10",
        "w9 w10 w11 w12 w13",
        "w12 w13 w14 w15 w16",
        "w15 w16 w17 w18 w19",
    ]


def test_overlap_is_rounded_down() -> None:
    # 3 tokens x 50 % = 1.5: 1 token repeats.
    assert texts(WORDS, chunk(WORDS, fixed(3, 50)))[:3] == ["w0 w1 w2", "w2 w3 w4", "w4 w5 w6"]
    # 1 token x 99 % = 0.99: nothing repeats, and chunking still advances.
    assert texts(WORDS, chunk(WORDS, fixed(1, 99))) == WORDS.split()


def test_the_last_passage_ends_with_the_text() -> None:
    passages = chunk(WORDS, fixed(7, 10))  # 0 tokens overlap (7 x 10 % = 0.7)
    assert texts(WORDS, passages) == [
        "w0 w1 w2 w3 w4 w5 w6",
        "w7 w8 w9 w10 w11 w12 w13",
        "w14 w15 w16 w17 w18 w19",
    ]


def test_passages_never_cut_words_and_keep_punctuation_as_tokens() -> None:
    text = "Refunds: within 14 days.\n\nExchanges — any time!"
    assert texts(text, chunk(text, fixed(4, 25))) == [
        "Refunds: within 14",
        "14 days.\n\nExchanges",
        "Exchanges — any time",
        "time!",
    ]


def test_no_configuration_is_bedrock_default_fixed_300_tokens_20_percent() -> None:
    text = " ".join(f"t{i}" for i in range(1000))
    passages = chunk(text, None)
    assert passages == chunk(text, fixed(300, 20))
    assert [token_indexes(text, p) for p in passages] == [(0, 300), (240, 540), (480, 780), (720, 1000)]


def test_a_strategy_without_its_settings_gets_bedrock_defaults() -> None:
    text = " ".join(f"t{i}" for i in range(2000))
    assert chunk(text, {"chunkingStrategy": "FIXED_SIZE"}) == chunk(text, fixed(300, 20))
    assert chunk(text, {"chunkingStrategy": "HIERARCHICAL"}) == chunk(text, hierarchical(1500, 300, 60))
    assert chunk(text, {"chunkingStrategy": "SEMANTIC"}) == chunk(text, semantic(300, 0, 95))


def test_a_text_shorter_than_max_tokens_is_one_passage_without_surrounding_whitespace() -> None:
    text = "\n\n  Short answer.  \n"
    assert chunk(text, None) == [Passage(4, 17)]


# -- NONE ----------------------------------------------------------------------------------------


def test_none_gives_the_whole_text_as_one_passage() -> None:
    text = "  " + " ".join(["word"] * 5000) + "\n"
    assert chunk(text, {"chunkingStrategy": "NONE"}) == [Passage(2, len(text) - 1)]


@pytest.mark.parametrize(
    "config", [None, {"chunkingStrategy": "NONE"}, fixed(5, 20), hierarchical(10, 5, 1), semantic()]
)
@pytest.mark.parametrize("text", ["", " \n\t  "])
def test_a_text_without_tokens_has_no_passages(text: str, config: dict[str, Any] | None) -> None:
    assert chunk(text, config) == []


# -- HIERARCHICAL --------------------------------------------------------------------------------


def test_hierarchical_children_carry_their_parent_range() -> None:
    passages = chunk(WORDS, hierarchical(parent=8, child=3, overlap=2))
    parents = sorted({(p.parent_start, p.parent_end) for p in passages})
    assert [WORDS[s:e] for s, e in parents] == [  # 8 tokens, 2 repeated from the previous parent
        "w0 w1 w2 w3 w4 w5 w6 w7",
        "w6 w7 w8 w9 w10 w11 w12 w13",
        "w12 w13 w14 w15 w16 w17 w18 w19",
    ]
    first_parent_children = [p for p in passages if p.parent_start == 0]
    assert texts(WORDS, first_parent_children) == [  # 3 tokens, 2 repeated from the previous child
        "w0 w1 w2",
        "w1 w2 w3",
        "w2 w3 w4",
        "w3 w4 w5",
        "w4 w5 w6",
        "w5 w6 w7",
    ]


def test_hierarchical_children_stay_within_and_cover_their_parent() -> None:
    text = " ".join(f"t{i}" for i in range(500))
    passages = chunk(text, hierarchical(parent=100, child=30, overlap=10))
    by_parent: dict[tuple[int, int], list[Passage]] = {}
    for p in passages:
        assert p.parent_start is not None and p.parent_end is not None
        assert p.parent_start <= p.start < p.end <= p.parent_end
        assert len(tokens(text[p.start : p.end])) <= 30
        by_parent.setdefault((p.parent_start, p.parent_end), []).append(p)
    for (start, end), children in by_parent.items():
        assert len(tokens(text[start:end])) <= 100
        assert children[0].start == start and children[-1].end == end


def test_a_child_layer_larger_than_its_parents_gives_one_child_per_parent() -> None:
    passages = chunk(WORDS, hierarchical(parent=10, child=50, overlap=1))
    assert [(p.start, p.end) for p in passages] == [(p.parent_start, p.parent_end) for p in passages]


# -- SEMANTIC ------------------------------------------------------------------------------------

CATS = "The cat sat on the mat. The cat slept on the mat. The cat purred on the warm mat."
STOCKS = "Stock markets fell today. Stock prices and markets dropped sharply. Investors sold stock."
TOPICS = f"{CATS} {STOCKS}"


@pytest.mark.parametrize("buffer", [0, 1])
def test_semantic_breaks_at_a_topic_change(buffer: int) -> None:
    assert texts(TOPICS, chunk(TOPICS, semantic(buffer=buffer, percentile=80))) == [CATS, STOCKS]


def test_semantic_passages_never_exceed_max_tokens() -> None:
    # Each topic is cut into passages of 7 tokens without overlap; no passage spans the change.
    assert texts(TOPICS, chunk(TOPICS, semantic(max_tokens=7, percentile=80))) == [
        "The cat sat on the mat.",
        "The cat slept on the mat.",
        "The cat purred on the warm mat",
        ".",
        "Stock markets fell today. Stock prices",
        "and markets dropped sharply. Investors sold",
        "stock.",
    ]


@pytest.mark.parametrize("sentence", ["Same words here. ", "Two words. ", "Five different words in here! "])
def test_semantic_never_breaks_between_identical_sentences(sentence: str) -> None:
    text = sentence * 10
    assert chunk(text, semantic(percentile=50)) == [Passage(0, len(text) - 1)]


def test_semantic_sentences_end_at_punctuation_or_a_blank_line() -> None:
    # Every sentence shares no word with the next, so every sentence boundary is a break.
    text = "Alpha beta? Gamma delta! \u201cEpsilon zeta.\u201d Eta theta\n\nIota kappa 3.14 lambda"
    assert texts(text, chunk(text, semantic(percentile=50))) == [
        "Alpha beta?",
        "Gamma delta!",
        "\u201cEpsilon zeta.\u201d",
        "Eta theta",
        "Iota kappa 3.14 lambda",
    ]


# -- determinism, validation, speed --------------------------------------------------------------


@pytest.mark.parametrize("config", [None, fixed(50, 30), hierarchical(100, 20, 5), semantic(40, 1, 60)])
def test_the_same_text_and_configuration_give_the_same_passages(config: dict[str, Any] | None) -> None:
    text = (TOPICS + "\n\n") * 50
    assert chunk(text, config) == chunk(text, config)


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"chunkingStrategy": "PARAGRAPH"},
        fixed(0, 20),
        fixed(300, 100),
        fixed(300, 0),
        {
            "chunkingStrategy": "FIXED_SIZE",
            "fixedSizeChunkingConfiguration": {"maxTokens": True, "overlapPercentage": 20},
        },
        {"chunkingStrategy": "FIXED_SIZE", "fixedSizeChunkingConfiguration": "300"},
        hierarchical(8193, 300, 60),
        hierarchical(1500, 300, 0),
        {
            "chunkingStrategy": "HIERARCHICAL",
            "hierarchicalChunkingConfiguration": {
                "levelConfigurations": [{"maxTokens": 9}],
                "overlapTokens": 1,
            },
        },
        semantic(0),
        semantic(buffer=2),
        semantic(percentile=49),
        semantic(percentile=100),
    ],
)
def test_a_configuration_outside_the_model_is_a_value_error(config: dict[str, Any]) -> None:
    for text in ("some text", ""):  # checked before the text is looked at
        with pytest.raises(ValueError):
            chunk(text, config)


@pytest.mark.parametrize(
    ("shape", "member"),
    [
        ("FixedSizeChunkingConfiguration", "maxTokens"),
        ("FixedSizeChunkingConfiguration", "overlapPercentage"),
        ("HierarchicalChunkingLevelConfiguration", "maxTokens"),
        ("HierarchicalChunkingConfiguration", "overlapTokens"),
        ("SemanticChunkingConfiguration", "maxTokens"),
        ("SemanticChunkingConfiguration", "bufferSize"),
        ("SemanticChunkingConfiguration", "breakpointPercentileThreshold"),
    ],
)
def test_chunking_accepts_exactly_the_model_ranges(shape: str, member: str) -> None:
    metadata = service_model().shape_for(shape).members[member].metadata
    base = {
        "FixedSizeChunkingConfiguration": fixed(300, 20),
        "HierarchicalChunkingLevelConfiguration": hierarchical(1500, 300, 60),
        "HierarchicalChunkingConfiguration": hierarchical(1500, 300, 60),
        "SemanticChunkingConfiguration": semantic(),
    }[shape]

    def with_value(value: int) -> dict[str, Any]:
        config = {key: value for key, value in base.items()}
        section_name = next(key for key in config if key != "chunkingStrategy")
        section = dict(config[section_name])
        if shape == "HierarchicalChunkingLevelConfiguration":
            section["levelConfigurations"] = [{"maxTokens": value}, {"maxTokens": 300}]
        else:
            section[member] = value
        config[section_name] = section
        return config

    chunk(WORDS, with_value(metadata["min"]))
    with pytest.raises(ValueError):
        chunk(WORDS, with_value(metadata["min"] - 1))
    if "max" in metadata:
        chunk(WORDS, with_value(metadata["max"]))
        with pytest.raises(ValueError):
            chunk(WORDS, with_value(metadata["max"] + 1))


# -- properties over any text and configuration --------------------------------------------------

TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("abc xyz  \n\n\t.!?,'\u201d-")),
        st.characters(codec="utf-8"),
    ),
    max_size=400,
)
CONFIG = st.one_of(
    st.none(),
    st.just({"chunkingStrategy": "NONE"}),
    st.builds(fixed, st.integers(1, 40), st.integers(1, 99)),
    st.builds(hierarchical, st.integers(1, 60), st.integers(1, 30), st.integers(1, 70)),
    st.builds(semantic, st.integers(1, 40), st.integers(0, 1), st.integers(50, 99)),
)


def _limit(config: dict[str, Any] | None) -> int | None:
    if config is None:
        return 300
    if config["chunkingStrategy"] == "HIERARCHICAL":
        return config["hierarchicalChunkingConfiguration"]["levelConfigurations"][1]["maxTokens"]
    section = config.get("fixedSizeChunkingConfiguration") or config.get("semanticChunkingConfiguration")
    return section["maxTokens"] if section else None


@settings(max_examples=300, deadline=None)
@given(text=TEXT, config=CONFIG)
def test_passages_are_stripped_token_aligned_bounded_and_cover_the_text(
    text: str, config: dict[str, Any] | None
) -> None:
    passages = chunk(text, config)
    assert passages == chunk(text, config)
    offsets = token_offsets(text)
    if not offsets:
        assert passages == []
        return
    covered: set[int] = set()
    limit = _limit(config)
    for p in passages:
        body = text[p.start : p.end]
        assert body and body == body.strip()
        i, j = token_indexes(text, p)
        covered.update(range(i, j))
        assert limit is None or j - i <= limit
        assert len(tokens(body)) == j - i
        if config and config["chunkingStrategy"] == "HIERARCHICAL":
            assert p.parent_start is not None and p.parent_end is not None
            assert p.parent_start <= p.start < p.end <= p.parent_end
        else:
            assert p.parent_start is None and p.parent_end is None
    assert covered == set(range(len(offsets)))
    # In text order; HIERARCHICAL children come parent by parent (consecutive parents overlap).
    order = [(p.parent_start or 0, p.start) for p in passages]
    assert order == sorted(order)
    if config and config["chunkingStrategy"] == "SEMANTIC":  # a partition: no overlap
        assert sum(token_indexes(text, p)[1] - token_indexes(text, p)[0] for p in passages) == len(offsets)
