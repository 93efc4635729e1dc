"""Passages of a document's text, as a knowledge base's `chunkingConfiguration` asks for them.

Pure and deterministic: the same text and configuration always give the same passages. Bedrock counts
model tokens; here a token is a documented approximation (`tokens`), so a user's test can predict
every passage boundary. The user-facing specification is `docs/content-ingestion.md`; keep both in
step.

The text is tokenised once, with one compiled pattern, into arrays of token start and end offsets,
and every strategy works on token indexes: a 5 MB text chunks in a fraction of a second (SEMANTIC,
which compares every sentence with the next, takes about a second).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, partial
from itertools import accumulate, pairwise
from math import sqrt
from typing import Any, Final, NamedTuple

# Bedrock's defaults: a knowledge base without a chunkingConfiguration gets FIXED_SIZE 300 / 20 %;
# a strategy whose settings object is absent gets the Bedrock console's defaults for it.
DEFAULT_SETTINGS: Final[dict[str, dict[str, Any]]] = {
    "fixedSizeChunkingConfiguration": {"maxTokens": 300, "overlapPercentage": 20},
    "hierarchicalChunkingConfiguration": {
        "levelConfigurations": [{"maxTokens": 1500}, {"maxTokens": 300}],
        "overlapTokens": 60,
    },
    "semanticChunkingConfiguration": {"maxTokens": 300, "bufferSize": 0, "breakpointPercentileThreshold": 95},
}
DEFAULT_CONFIGURATION: Final = {
    "chunkingStrategy": "FIXED_SIZE",
    "fixedSizeChunkingConfiguration": DEFAULT_SETTINGS["fixedSizeChunkingConfiguration"],
}

# Chinese and Japanese are written without spaces; a model tokenises them about one character per
# token, so each such character is a token by itself.
_CJK_RANGES: Final = (
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK unified ideographs extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # halfwidth Katakana
    (0x20000, 0x3FFFF),  # CJK ideographs, planes 2 and 3
)
_WORD_CATEGORIES: Final = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc"})


@dataclass(frozen=True, slots=True)
class Passage:
    start: int
    end: int
    parent_start: int | None = None
    parent_end: int | None = None


def _class(ranges: Iterable[tuple[int, int]]) -> str:
    """The body of a regex character class holding these inclusive code point ranges."""
    return "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in ranges)


def _word_ranges() -> list[tuple[int, int]]:
    """Letters, marks, numbers and connector punctuation (Unicode categories L*, M*, N*, Pc) of the
    Basic Multilingual Plane outside the CJK ranges: the characters of a word. Stdlib `\\w` lacks
    marks, which would cut Devanagari, Thai or decomposed accents apart. The BMP only: `re` tests
    BMP classes with a bitmap but characters beyond it range by range, which would make every word's
    end cost hundreds of comparisons."""
    category = unicodedata.category
    flags = bytearray([87 if category(chr(code)) in _WORD_CATEGORIES else 32 for code in range(0x10000)])
    for low, high in _CJK_RANGES:
        flags[low : high + 1] = b" " * len(flags[low : high + 1])
    return [(run.start(), run.end() - 1) for run in re.finditer(b"W+", flags)]


class _Tokenizers(NamedTuple):
    token: re.Pattern[str]  # a CJK character, a run of word characters, or one other non-space
    token_split: re.Pattern[str]  # the same, captured: split() alternates gaps and tokens
    words: re.Pattern[str]  # CJK characters and words only


@cache
def _tokenizers() -> _Tokenizers:
    """Built on first use, not at import: classifying the 65,536 BMP code points takes about
    15 ms, which every start-up would pay for a server that may never chunk anything."""
    cjk, word = _class(_CJK_RANGES), _class(_word_ranges())
    return _Tokenizers(
        re.compile(f"[{cjk}]|[{word}]+|\\S"),
        re.compile(f"([{cjk}]|[{word}]+|\\S)"),
        re.compile(f"[{cjk}]|[{word}]+"),
    )


# A sentence ends at . ! ? (then any closing quotes or brackets) before whitespace, at the CJK full
# stop, exclamation or question mark, or at a blank line (headings and list items rarely end in
# punctuation). The closing quotes are " ' U+201D U+2019.
# (The leading lookahead lets the matcher skip quickly to the few characters that can end one.)
_SENTENCE_END = re.compile(
    r"""(?=[.!?\u3002\uff01\uff1f\n])(?:[.!?]+["'\u201d\u2019)\]]*(?=\s|\Z)|[\u3002\uff01\uff1f]+|\n\s*\n)"""
)


class _Spans:
    """Token offsets: token k is text[starts[k]:ends[k]]."""

    def __init__(self, text: str) -> None:
        # split() alternates whitespace gaps and tokens; cumulative lengths give every offset in C.
        offsets = list(accumulate(map(len, _tokenizers().token_split.split(text))))
        self.starts = offsets[0:-1:2]
        self.ends = offsets[1::2]
        self.count = len(self.ends)

    def passage(self, i: int, j: int, parent: Passage | None = None) -> Passage:
        """Tokens i..j-1 (j > i)."""
        if parent is None:
            return Passage(self.starts[i], self.ends[j - 1])
        return Passage(self.starts[i], self.ends[j - 1], parent.start, parent.end)


def tokens(text: str) -> list[str]:
    """The tokens of `text`, as chunking counts them."""
    return _tokenizers().token.findall(text)


def chunk(text: str, config: Mapping[str, Any] | None) -> list[Passage]:
    """The passages of `text` for a `chunkingConfiguration` (None: Bedrock's default, FIXED_SIZE 300/20 %).

    ValueError when the configuration is malformed (the API rejects such a one before it is stored),
    whatever the text."""
    cut = _strategy(DEFAULT_CONFIGURATION if config is None else config)
    spans = _Spans(text)
    return cut(text, spans) if spans.count else []


_Cut = Callable[[str, _Spans], list[Passage]]


def _strategy(config: Mapping[str, Any]) -> _Cut:
    """The configuration, checked, as the function that cuts a tokenised text."""
    strategy = config.get("chunkingStrategy")
    if strategy == "FIXED_SIZE":
        settings = _section(config, "fixedSizeChunkingConfiguration")
        size = _setting(settings, "maxTokens", 1)
        overlap = size * _setting(settings, "overlapPercentage", 1, 99) // 100
        return partial(_fixed, size=size, overlap=overlap)
    if strategy == "NONE":
        return _whole
    if strategy == "HIERARCHICAL":
        settings = _section(config, "hierarchicalChunkingConfiguration")
        levels = settings.get("levelConfigurations")
        if (
            not isinstance(levels, list)
            or len(levels) != 2
            or not all(isinstance(x, Mapping) for x in levels)
        ):
            raise ValueError("levelConfigurations must be a list of two objects")
        return partial(
            _hierarchical,
            parent_size=_setting(levels[0], "maxTokens", 1, 8192),
            child_size=_setting(levels[1], "maxTokens", 1, 8192),
            overlap=_setting(settings, "overlapTokens", 1),
        )
    if strategy == "SEMANTIC":
        settings = _section(config, "semanticChunkingConfiguration")
        return partial(
            _semantic,
            size=_setting(settings, "maxTokens", 1),
            buffer=_setting(settings, "bufferSize", 0, 1),
            percentile=_setting(settings, "breakpointPercentileThreshold", 50, 99),
        )
    raise ValueError(f"unknown chunkingStrategy {strategy!r}")


def _section(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = config.get(name)
    if section is None:
        return DEFAULT_SETTINGS[name]
    if not isinstance(section, Mapping):
        raise ValueError(f"{name} must be an object")
    return section


def _setting(section: Mapping[str, Any], name: str, low: int, high: int | None = None) -> int:
    """A required setting within the model's range (botocore's min/max for the member)."""
    value = section.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high and value > high):
        limit = f"{low}-{high}" if high else f"at least {low}"
        raise ValueError(f"{name} must be an integer {limit}, not {value!r}")
    return value


def _windows(low: int, high: int, size: int, overlap: int) -> Iterator[tuple[int, int]]:
    """Token windows [i, j) of at most `size` tokens covering [low, high), each after the first starting
    `overlap` tokens before the previous one ended, yet always at least one token later."""
    step = max(1, size - overlap)
    i = low
    while i < high:
        j = min(i + size, high)
        yield i, j
        if j == high:
            return
        i += step


def _fixed(text: str, spans: _Spans, size: int, overlap: int) -> list[Passage]:
    return [spans.passage(i, j) for i, j in _windows(0, spans.count, size, overlap)]


def _whole(text: str, spans: _Spans) -> list[Passage]:
    return [spans.passage(0, spans.count)]


def _hierarchical(text: str, spans: _Spans, parent_size: int, child_size: int, overlap: int) -> list[Passage]:
    """Parents of levelConfigurations[0].maxTokens, children of [1].maxTokens within each parent;
    overlapTokens repeat between consecutive chunks of each layer (the model: "the number of tokens
    to repeat across chunks in the same layer")."""
    passages = []
    for pi, pj in _windows(0, spans.count, parent_size, overlap):
        parent = spans.passage(pi, pj)
        passages += [spans.passage(i, j, parent) for i, j in _windows(pi, pj, child_size, overlap)]
    return passages


def _semantic(text: str, spans: _Spans, size: int, buffer: int, percentile: int) -> list[Passage]:
    """Sentences, grouped until the next topic change, then cut to `size` tokens without overlap.

    A topic change follows sentence s when the dissimilarity of its group and the next sentence's
    group (`_distances`) is non-zero and at or above the `percentile`-th percentile of all of them."""
    bounds = _sentence_bounds(text, spans)  # sentence s is tokens bounds[s]..bounds[s+1]-1
    starts, ends = spans.starts, spans.ends
    sentences = [text[starts[i] : ends[j - 1]].lower() for i, j in pairwise(bounds)]
    # map() keeps the per-sentence work in C: a 5 MB text can hold 100,000 sentences.
    distances = _distances(list(map(set, map(_tokenizers().words.findall, sentences))), buffer)
    threshold = _percentile(distances, percentile) if distances else 0.0
    breaks = [bounds[s + 1] for s, d in enumerate(distances) if d > 0 and d >= threshold]
    cuts = [0, *breaks, spans.count]
    return [spans.passage(i, j) for low, high in pairwise(cuts) for i, j in _windows(low, high, size, 0)]


def _distances(words: list[set[str]], buffer: int) -> list[float]:
    """1 - cosine similarity of consecutive sentence groups, where a group is a sentence and `buffer`
    sentences each side, and its vector counts, for each word, the group's sentences holding it.

    As Bedrock embeds the group's joined text, counting (not a set union) keeps proportions: at a
    topic change between sentences of two topics the groups differ most, not a sentence earlier.
    Every dot product of group vectors is a sum of sentence-set intersection sizes, which C computes."""
    empty: set[str] = set()
    padded = [empty] * buffer + words + [empty] * buffer  # group x is padded[x : x + width]
    width = 2 * buffer + 1
    # shared[k][x] = |padded[x] & padded[x + k]|, for every lag two neighbouring groups span
    shared = [list(map(len, map(set.intersection, padded, padded[k:]))) for k in range(width + 1)]

    def dot(x: int, y: int) -> int:
        return sum(shared[abs(y + q - x - p)][min(x + p, y + q)] for p in range(width) for q in range(width))

    squares = [dot(x, x) for x in range(len(words))]
    # sqrt of the product, not a product of square roots: identical groups then give exactly 0.
    return [
        1 - dot(x, x + 1) / sqrt(squares[x] * squares[x + 1]) if squares[x] and squares[x + 1] else 0.0
        for x in range(len(words) - 1)
    ]


def _sentence_bounds(text: str, spans: _Spans) -> list[int]:
    """The first token of every sentence, then the token count."""
    ends = [match.end() for match in _SENTENCE_END.finditer(text)]
    return sorted({0, spans.count, *map(partial(bisect_left, spans.starts), ends)})


def _percentile(values: list[float], percentile: int) -> float:
    """Linear interpolation between the closest ranks (numpy's default method)."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * percentile / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
