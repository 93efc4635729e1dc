"""Text helpers shared by the backends: sentences, token estimates, output caps and citations.

Pure and deterministic, so that the local backend's answers and every backend's usage figures can be
predicted from docs/generation.md.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any, Final

from qconnect_local.engine.generation.api import Citation, GenerationRequest, Passage
from qconnect_local.engine.retrieval import query_terms, variants
from qconnect_local.store.search import words

CHARS_PER_TOKEN: Final = 4
# A sentence ends at a run of . ! ? (and any closing quotes or brackets) followed by whitespace or
# the end of the text, or at a line break.
_SENTENCE_END: Final = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s|$)|\n")
CITE_MIN_COVERAGE: Final = 0.5  # remote answers: share of a sentence's terms a passage must contain


def compact_json(value: Any) -> str:
    """The one JSON spelling used for token counts and ids: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def estimate_tokens(chars: int) -> int:
    """ceil(chars / 4): a documented stand-in for a tokenizer."""
    return math.ceil(chars / CHARS_PER_TOKEN) if chars > 0 else 0


def prompt_chars(request: GenerationRequest) -> int:
    """The rendered prompt's size: system, every message's content and the tools as compact JSON."""
    size = len(request.system or "") + sum(len(m.get("content") or "") for m in request.messages)
    return size + (len(compact_json(request.tools)) if request.tools else 0)


def output_chars(text: str | None, tool_use: dict[str, Any] | None) -> int:
    """The output's size: the text, plus a tool use's name and compact JSON input."""
    size = len(text or "")
    if tool_use is not None:
        size += len(tool_use["name"]) + len(compact_json(tool_use.get("input", {})))
    return size


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(begin, end) of each sentence of `text`, surrounding whitespace excluded, empty ones dropped."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.start() if match.group() == "\n" else match.end()
        _add_span(text, start, end, spans)
        start = match.end()
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, begin: int, end: int, spans: list[tuple[int, int]]) -> None:
    while begin < end and text[begin].isspace():
        begin += 1
    while end > begin and text[end - 1].isspace():
        end -= 1
    if end > begin and words(text[begin:end]):
        spans.append((begin, end))


def single_spaced(text: str) -> str:
    return " ".join(text.split())


def cut_at_space(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at the last space (mid-word only if there is none)."""
    if len(text) <= limit:
        return text
    space = text.rfind(" ", 0, limit + 1)
    return text[:space] if space > 0 else text[:limit]


def cap_output(
    text: str, citations: Sequence[Citation], max_tokens: int | None
) -> tuple[str, tuple[Citation, ...], bool]:
    """Cut a text to `max_tokens` (x 4 characters) at a space; citations clipped to what is left."""
    if max_tokens is None or len(text) <= max_tokens * CHARS_PER_TOKEN:
        return text, tuple(citations), False
    cut = cut_at_space(text, max_tokens * CHARS_PER_TOKEN).rstrip()
    kept = tuple(Citation(c.passage, c.begin, min(c.end, len(cut))) for c in citations if c.begin < len(cut))
    return cut, kept, True


def max_tokens_of(inference: dict[str, Any]) -> int | None:
    value = inference.get("maxTokensToSample")
    return int(value) if isinstance(value, int | float) and value >= 1 else None


def covered_terms(text: str, terms: Sequence[str]) -> frozenset[str]:
    """The terms with at least one variant (engine.retrieval.variants) among the words of `text`."""
    present = set(words(text))
    return frozenset(t for t in terms if not present.isdisjoint(variants(t)))


def cite_sentences(text: str, passages: Sequence[Passage]) -> tuple[Citation, ...]:
    """Citations for a remote model's answer: each sentence cites the passage containing most of its
    terms (ties: the earlier passage), when that passage holds at least half of them."""
    citations: list[Citation] = []
    for begin, end in sentence_spans(text):
        terms = query_terms(text[begin:end])
        if not terms:
            continue
        best, best_count = -1, 0
        for index, passage in enumerate(passages):
            count = len(covered_terms(passage.text, terms))
            if count > best_count:
                best, best_count = index, count
        if best >= 0 and best_count / len(terms) >= CITE_MIN_COVERAGE:
            citations.append(Citation(best, begin, end))
    return tuple(citations)
