"""`engine.retrieval.excerpt` counts only a few windows and builds its masks a byte per offset at
once for ASCII text: it must choose exactly what trying every window does (the reference below,
the rule of the module docstring written out plainly), on texts of any script; and
`store.search.words`' quick way with ASCII text must split as its Unicode word class does."""

from __future__ import annotations

import random
from bisect import bisect_left

import pytest

from qconnect_local.engine.retrieval import excerpt
from qconnect_local.store.passages import word_spans
from qconnect_local.store.search import WORD, words

PIECES = ("a", "b", "ab", " ", "  ", ".", "\n", "1", "é", "ß", "Ω", "e\u0301", "\u212a", "Z9", "x-y")


def reference_excerpt(
    text: str, highlights: list[tuple[int, int]], limit: int
) -> tuple[str, list[tuple[int, int]]]:
    """Every candidate window tried in turn: the most whole highlights, ties to the earliest."""
    spans = sorted({(b, e) for b, e in highlights if 0 <= b < e <= len(text)})
    if len(text) <= limit:
        return text, spans
    protected = [(b, e) for b, e, _ in word_spans(text)] + spans
    blocked = bytearray(len(text) + 1)
    for b, e in protected:
        if e - b <= limit:
            blocked[b + 1 : e] = b"\x01" * (e - b - 1)
    begins = [b for b, _ in spans]
    best = None
    for start in sorted({0, *(b for b, _ in protected)}):
        if blocked[start]:
            continue
        end = max(p for p in range(min(start + limit, len(text)) + 1) if not blocked[p])
        if end <= start:
            continue
        index, count = bisect_left(begins, start), 0
        while index < len(spans) and spans[index][0] < end:
            count += spans[index][1] <= end
            index += 1
        if best is None or count > best[0]:
            best = (count, start, end)
    _, start, end = best if best is not None else (0, 0, limit)
    while start < end and text[start].isspace() and not blocked[start + 1]:
        start += 1
    while end > start and text[end - 1].isspace() and not blocked[end - 1]:
        end -= 1
    return text[start:end], [(b - start, e - start) for b, e in spans if start <= b and e <= end]


def random_case(rng: random.Random) -> tuple[str, list[tuple[int, int]], int]:
    if rng.random() < 0.5:
        text = "".join(rng.choice("abc  ") for _ in range(rng.choice([5, 40, 200, 700])))
    else:
        text = "".join(rng.choice(PIECES) * rng.choice([1, 1, 2, 9]) for _ in range(rng.randint(1, 120)))
    highlights = []
    for _ in range(rng.choice([0, 1, 3, 12])):
        begin = rng.randint(-2, len(text) + 2)
        highlights.append((begin, begin + rng.randint(-1, 30)))
    spans = word_spans(text)
    highlights += [(b, e) for b, e, _ in rng.sample(spans, min(len(spans), rng.randint(0, 6)))]
    return text, highlights, rng.choice([1, 3, 8, 25, 60, 500])


@pytest.mark.parametrize("seed", range(4))
def test_excerpt_is_the_best_of_every_window(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(400):
        text, highlights, limit = random_case(rng)
        assert excerpt(text, highlights, limit) == reference_excerpt(text, highlights, limit), (
            text,
            highlights,
            limit,
        )


def test_words_of_ascii_text_are_those_of_the_unicode_word_class() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        text = "".join(rng.choice((*PIECES, "A", "_", "\u00b2", "ﬁ")) for _ in range(rng.randint(0, 30)))
        if text.lower().isascii():  # words' quick way (the Kelvin sign K lowers to ASCII k)
            assert words(text) == WORD.findall(text.lower()), text
