"""Ranking and filtering rules that QueryAssistant, Retrieve and GetRecommendations apply on top of
the passage index (`store.passages.search_passages`).

Pure and deterministic: no database, no I/O, and the same inputs always give the same outputs, on
either database dialect (the backend `score` is used only to break ties). A user's test can
predict every result from the rules below.

Query words (`query_terms`, `variants`, `search_text`)
-----------------------------------------------------

- A query's words are `store.search.words(text)`: runs of letters and digits, lower-cased,
  diacritics removed. Its *terms* are those words minus `STOP_WORDS`, de-duplicated, in order
  of first appearance. When every word is a stop word the words themselves are the terms
  ("how do I" searches `how`, `do`, `i`); a text without words has no terms.
- Stop words (`STOP_WORDS`): articles and determiners, personal pronouns, the forms of be, have
  and do, the modal verbs, the commonest prepositions (about, as, at, by, for, from, in, into,
  of, on, onto, to, with), conjunctions, the question words (how, what, when, where, which, who,
  whom, whose, why), greetings, politeness and assent (hi, hello, hey, please, thanks, thank,
  ok, okay, yes, yeah), a few fillers (also, just, here, there, very), the verbs of asking
  (get, got, want, wanted, need, needed, like, know, tell, let) and the letters left of
  a contraction once its apostrophe splits it (I'm -> `i`, `m`; it's -> `it`, `s`: s, t, m,
  d, ll, re, ve). `significant_words(text)` is the terms without that fallback.
  Negations (no, not, nor, never, and the `don` of don't) are *not* stop words: "not charged"
  and "charged" ask different things. Neither are particles such as up, out, off, over
  ("sign up", "log out").
- The index matches whole words only, so each term is searched in its regular English
  inflections too (`variants`): a query for `refunds` also finds `refund`, `refunded` and
  `refunding`, and the other way round. Only terms of at least 4 letters, all of them a-z, get
  variants; shorter terms, terms with a digit and terms in other scripts stand for themselves.
  The order is: the term, its base forms, the forms of each base, an -ing term's plural, the
  doubled forms; repeats and stop words are dropped, and the first `MAX_VARIANTS` (8) kept.
  - Base forms (a term matching no rule is its own base; bases shorter than 3 letters or that
    are stop words are dropped, and when none is left the term is its own base):
    - `-ies`, `-ied`: the stem + y, and the stem + ie (policies -> policy, policie;
      applied -> apply; died -> die).
    - `-es` after s, x, z, ch or sh: without -es, and without -s (boxes -> box, boxe;
      horses -> hors, horse).
    - `-s`, except after s, u or i (access, status, analysis keep theirs): without -s.
    - `-eed`: without the d, and the term itself (agreed -> agree, agreed; need -> nee, need).
    - `-ed`, `-ing`: the stem is the term without the suffix. A stem ending in a doubled
      consonant: for s, z or f the stem itself (missed -> miss); for l the stem without one l
      when that has at least 2 vowel groups, which then takes both spellings below, and the
      stem itself (cancelled -> cancel, cancell; called -> call); for any other letter the
      stem without one consonant, inflected with it doubled (stopped -> stop: stops, stopped,
      stopping), or the stem itself when that would leave fewer than 3 letters
      (added -> add). Any other stem: the stem, and the stem + e (refunded -> refund,
      refunde; charging -> charg, charge).
  - Forms of a base: plural (consonant + y -> ies; after s, x, z, ch, sh +es; else +s), past
    (after e +d; consonant + y -> ied; else +ed) and -ing form (ie -> ying; a final e dropped,
    except ee; else +ing). A base ending consonant-vowel-consonant (the last letter not w, x
    or y) whose doubling the term did not show also gets the doubled past and -ing forms,
    last (cancel -> cancelled, cancelling; stop -> stopped, stopping; order -> orderred).
  - An `-ing` term also gets its own plural, after the forms of its bases and before the
    doubled forms (setting -> settings; meeting -> meetings).
  Some variants are not words (refunde, orderred): they only widen the OR query, and passages
  do not contain them; a few are unrelated words (bring -> bred, news -> new), which count as
  the term. Irregular forms (paid, bought) are not produced.
- `search_text(terms)`: every variant of every term, de-duplicated, space-joined: the
  `PassageQuery.text` for the index.

Relevance (`relevance`, `relevance_level`, `rank`)
-------------------------------------------------

Computed from the passage's text and the terms only (never from the backend score, which differs
between SQLite and PostgreSQL):

    relevance = round((MATCH_WEIGHT * matched + DENSITY_WEIGHT * density) / len(terms), 4)
              = round(0.9 * coverage + 0.1 * density / len(terms), 4)

- `matched`: how many of the (de-duplicated) terms have at least one variant among the words of
  the text; coverage = matched / len(terms).
- `density`: the text's words that are a variant of some term, as a fraction of all its words
  (in [0, 1]): of two passages matching the same terms, the denser (typically the shorter)
  ranks first. Its weight is a tenth of one term's, so it never outweighs one more matched term.
- No terms, or a text without words: 0.0. A text matching every term scores 0.9 or more; the
  maximum 1.0 is one term and a text made only of its variants.
- Levels (`relevance_level`): HIGH from `HIGH_RELEVANCE` (0.75), MEDIUM from `MEDIUM_RELEVANCE`
  (0.45), else LOW. Because of the density bound these depend on coverage alone: HIGH when at
  least 5/6 of the terms are matched (every term, for queries of up to 5 terms), MEDIUM when at
  least half are, LOW below half (one term of four).
- `rank(hits, terms)`: the hits by relevance (descending), then backend score (descending), then
  content id and position (ascending), each with its relevance.

Excerpts (`excerpt`)
--------------------

The highlights are taken sorted, without repeats or spans outside the text; `limit` must be at
least 1 (ValueError). A text of at most `limit` characters (default `EXCERPT_LIMIT`, 500) is its
own excerpt, with its highlights. A longer one is cut to a window of at most `limit` characters:

- The window never cuts a word (`store.passages.word_spans`) or a highlight; only a word or
  highlight longer than `limit` itself may be cut.
- Candidate windows start at the beginning of the text or of a word or highlight, and each
  extends as far as it can without passing `limit` or cutting. The window with the most whole
  highlights wins; ties go to the earliest start (so a text without highlights gives its
  beginning).
- Whitespace at either end of the window is trimmed. The highlights wholly inside the window
  are returned, re-based to the excerpt's offsets; the others are dropped.

Filters (`metadata_predicate`, `tag_predicate`)
-----------------------------------------------

Both compile a filter into a predicate once, raising `FilterError` (a ValueError: the service
answers ValidationException with its message) for an ill-formed one; a well-formed filter
never raises when applied.

`metadata_predicate` takes a `RetrievalFilterConfiguration`, a union: exactly one of andAll and
orAll (a list of at least 2 filters), or a leaf operator whose operand is `{"key", "value"}`
(both required, the key a non-empty string, the value any JSON value but null). A member set to
null counts as absent. Filters nest at most `MAX_FILTER_DEPTH` (32) deep, the outermost counting
1. Applied to a content's metadata (string -> string); Bedrock knowledge-base filter semantics
adapted to string values:

- Numbers in metadata: a decimal number (optional sign, digits with an optional fraction, an
  optional exponent: `-3`, `4.50`, `1e3`), surrounding whitespace ignored; compared exactly
  (decimal arithmetic). Anything else (`inf`, `0x10`, `1_000`, an empty value) is not a number.
- equals: a string value equals the metadata value exactly (case-sensitive); a number equals it
  numerically (`"4.50"` equals 4.5; a non-numeric metadata value equals no number); a boolean
  equals `"true"` / `"false"` in any case. A missing key equals nothing. notEquals is exactly
  its negation (so a missing key is notEquals anything). Other value types: FilterError.
- greaterThan, greaterThanOrEquals, lessThan, lessThanOrEquals: the value must be a number
  (FilterError otherwise, booleans included); a missing or non-numeric metadata value is false.
- in, notIn: the value must be a non-empty list of strings and numbers (FilterError otherwise);
  in is true when the metadata value equals (the equals rule) any of them, notIn is its
  negation (a missing key: in false, notIn true).
- listContains: the value must be a string or a number. The metadata value is a list: a JSON
  array (`'["a", "b"]'`; its strings, numbers and booleans as written, other elements ignored)
  when it parses as one, else its comma-separated items, each stripped, empty ones ignored.
  True when an item equals the value (the equals rule). A missing key is false.
- startsWith, stringContains: the value must be a string; case-sensitive prefix / substring
  tests on the metadata value. A missing key is false.

`tag_predicate` takes a `TagFilter`, a union: exactly one of `tagCondition` (`{"key", "value"?}`:
the tag is present, and equal to the value, case-sensitively, when one is given),
`andConditions` (a non-empty list of tag conditions, all true) or `orConditions` (a non-empty list
of OrCondition unions, each exactly one of `andConditions` or `tagCondition`; any true).
Applied to a content's tags (string -> string).

Transcript queries (`derive_query`)
-----------------------------------

A stand-in for Contact Lens choosing what to recommend on: turns are (participant, text), oldest
first. Only CUSTOMER turns count. When the newest turn is not a CUSTOMER turn there is no query
(None). The query is the newest turn's text, whitespace runs made single spaces, ends stripped.
When it has fewer than `MIN_SIGNIFICANT_WORDS` (3) distinct non-stop words, the previous
CUSTOMER turn among the last `CONTEXT_TURNS` (4) turns (so among the 3 before the newest), if
any, is put in front of it, separated by a space ("and for shoes?" keeps its context). A query
with no non-stop word is None. A query longer than `MAX_QUERY_LENGTH` (512, QueryText's limit)
is cut at a space: the prepended turn loses its beginning first (the newest turn stays whole
when it fits alone), then the query loses its end; a single word longer than the limit is cut at
the limit.
"""

from __future__ import annotations

import json
import math
import re
import string
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

from qconnect_local.store.passages import PassageHit, word_spans
from qconnect_local.store.search import words

# --- query words ------------------------------------------------------------------------------

STOP_WORDS: Final[frozenset[str]] = frozenset(
    {
        # articles and determiners
        *("a", "an", "the", "this", "that", "these", "those", "some", "any", "each", "every"),
        # personal pronouns
        *("i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves"),
        *("you", "your", "yours", "yourself", "yourselves", "he", "him", "his", "himself"),
        *("she", "her", "hers", "herself", "it", "its", "itself"),
        *("they", "them", "their", "theirs", "themselves"),
        # be, have, do; modal verbs
        *("am", "is", "are", "was", "were", "be", "been", "being"),
        *("have", "has", "had", "having", "do", "does", "did", "doing"),
        *("can", "could", "will", "would", "shall", "should", "may", "might", "must"),
        # prepositions and conjunctions
        *("about", "as", "at", "by", "for", "from", "in", "into", "of", "on", "onto", "to", "with"),
        *("and", "or", "but", "if", "so", "than", "then", "because"),
        # question words
        *("how", "what", "when", "where", "which", "who", "whom", "whose", "why"),
        # greetings, politeness, fillers
        *("hi", "hello", "hey", "please", "thanks", "thank", "ok", "okay", "yes", "yeah"),
        *("also", "just", "here", "there", "very"),
        # the verbs of asking, which say that something is asked, not what
        *("get", "got", "want", "wanted", "need", "needed", "like", "know", "tell", "let"),
        # what a contraction leaves once its apostrophe splits it (I'm, it's, can't, we'll, ...)
        *("s", "t", "m", "d", "ll", "re", "ve"),
    }
)

MIN_VARIANT_LENGTH: Final = 4  # shorter terms get no variants
MIN_BASE_LENGTH: Final = 3  # shorter base forms are not used
MAX_VARIANTS: Final = 8  # per term, the term itself included

_ENGLISH_WORD: Final = re.compile("[a-z]+")
_VOWELS: Final = frozenset("aeiou")
_VOWEL_GROUP: Final = re.compile("[aeiou]+")
_SIBILANT_ENDINGS: Final = ("s", "x", "z", "ch", "sh")
_KEEPS_FINAL_S: Final = ("ss", "us", "is")  # -s after these is not an inflection
_DOUBLED_IN_BASE: Final = frozenset("szf")  # missed -> miss, buzzed -> buzz, staffed -> staff

# How a base is inflected: regularly, with its final consonant doubled (the term showed it), or
# both ways when it ends consonant-vowel-consonant (the term did not tell).
_REGULAR: Final = "regular"
_DOUBLED: Final = "doubled"
_EITHER: Final = "either"


def query_terms(text: str) -> list[str]:
    """The words of a query worth searching for: stop words out, unless nothing else is left."""
    found = list(dict.fromkeys(words(text)))
    return [w for w in found if w not in STOP_WORDS] or found


def significant_words(text: str) -> list[str]:
    """The distinct non-stop words of `text`, in order (no fallback to the stop words)."""
    return [w for w in dict.fromkeys(words(text)) if w not in STOP_WORDS]


@lru_cache(maxsize=4096)
def variants(term: str) -> tuple[str, ...]:
    """`term` and its regular English inflections, because the index matches whole words only."""
    if len(term) < MIN_VARIANT_LENGTH or not _ENGLISH_WORD.fullmatch(term):
        return (term,)
    bases = [
        (base, doubling)
        for base, doubling in _bases(term)
        if len(base) >= MIN_BASE_LENGTH and base not in STOP_WORDS
    ] or [(term, _EITHER)]
    candidates = [base for base, _ in bases]
    for base, doubling in bases:
        if doubling == _DOUBLED:
            candidates += [_plural(base), base + base[-1] + "ed", base + base[-1] + "ing"]
        else:
            candidates += [_plural(base), _past(base), _gerund(base)]
    if term.endswith("ing"):  # an -ing word is often a noun too: setting -> settings
        candidates.append(_plural(term))
    for base, doubling in bases:
        if doubling == _EITHER and _ends_consonant_vowel_consonant(base):
            candidates += [base + base[-1] + "ed", base + base[-1] + "ing"]
    found = [term]
    for candidate in candidates:
        if candidate not in found and candidate not in STOP_WORDS:
            found.append(candidate)
    return tuple(found[:MAX_VARIANTS])


def _bases(term: str) -> list[tuple[str, str]]:
    """The base forms `term` may be an inflection of, each with how it inflects (module docstring)."""
    if term.endswith(("ies", "ied")):
        stem = term[:-3]
        return [(stem + "y", _REGULAR), (stem + "ie", _REGULAR)]
    if term.endswith("es") and term[:-2].endswith(_SIBILANT_ENDINGS):
        return [(term[:-2], _REGULAR), (term[:-1], _REGULAR)]
    if term.endswith("s") and not term.endswith(_KEEPS_FINAL_S):
        return [(term[:-1], _EITHER)]
    if term.endswith("eed"):
        return [(term[:-1], _REGULAR), (term, _EITHER)]
    for suffix in ("ed", "ing"):
        if term.endswith(suffix):
            return _bases_of_stem(term[: -len(suffix)])
    return [(term, _EITHER)]


def _bases_of_stem(stem: str) -> list[tuple[str, str]]:
    """The base forms of what is left of a word without its -ed or -ing."""
    last = stem[-1]
    if len(stem) < 2 or last != stem[-2] or last in _VOWELS:
        return [(stem, _EITHER), (stem + "e", _REGULAR)]
    single = stem[:-1]
    if last in _DOUBLED_IN_BASE:
        return [(stem, _REGULAR)]
    if last == "l":
        # travelled/traveled, cancelled/canceled: both spellings; one-syllable words keep the ll.
        if len(_VOWEL_GROUP.findall(single)) >= 2:
            return [(single, _EITHER), (stem, _REGULAR)]
        return [(stem, _REGULAR)]
    if len(single) < MIN_BASE_LENGTH:
        return [(stem, _REGULAR)]
    return [(single, _DOUBLED)]


def _ends_consonant_y(base: str) -> bool:
    return len(base) >= 2 and base[-1] == "y" and base[-2] not in _VOWELS


def _ends_consonant_vowel_consonant(base: str) -> bool:
    return (
        len(base) >= 3
        and base[-3] not in _VOWELS
        and base[-2] in _VOWELS
        and base[-1] not in _VOWELS
        and base[-1] not in "wxy"
    )


def _plural(base: str) -> str:
    if _ends_consonant_y(base):
        return base[:-1] + "ies"
    if base.endswith(_SIBILANT_ENDINGS):
        return base + "es"
    return base + "s"


def _past(base: str) -> str:
    if base.endswith("e"):
        return base + "d"
    if _ends_consonant_y(base):
        return base[:-1] + "ied"
    return base + "ed"


def _gerund(base: str) -> str:
    if base.endswith("ie"):
        return base[:-2] + "ying"
    if base.endswith("e") and not base.endswith("ee"):
        return base[:-1] + "ing"
    return base + "ing"


def search_text(terms: Sequence[str]) -> str:
    """The index query for `terms`: every variant of every term, since the index has no stemming."""
    return " ".join(dict.fromkeys(v for term in terms for v in variants(term)))


# --- relevance --------------------------------------------------------------------------------

MATCH_WEIGHT: Final = 0.9  # of each term's share of the score, for being matched
DENSITY_WEIGHT: Final = 0.1  # of one term's share, for how dense the matched words are
HIGH_RELEVANCE: Final = 0.75
MEDIUM_RELEVANCE: Final = 0.45
HIGH: Final = "HIGH"
MEDIUM: Final = "MEDIUM"
LOW: Final = "LOW"


def relevance(text: str, terms: Sequence[str]) -> float:
    """How well `text` answers the query `terms`, in [0, 1], the same on every database dialect."""
    return _Scorer(terms).score(text)


class _Scorer:
    """The terms' variants, worked out once for scoring many passages."""

    def __init__(self, terms: Sequence[str]) -> None:
        self.forms_of_terms = [frozenset(variants(t)) for t in dict.fromkeys(terms)]
        self.all_forms: frozenset[str] = frozenset().union(*self.forms_of_terms)

    def score(self, text: str) -> float:
        found = words(text)
        if not self.forms_of_terms or not found:
            return 0.0
        present = set(found)
        matched = sum(1 for forms in self.forms_of_terms if not forms.isdisjoint(present))
        density = sum(map(self.all_forms.__contains__, found)) / len(found)
        return round((MATCH_WEIGHT * matched + DENSITY_WEIGHT * density) / len(self.forms_of_terms), 4)


def relevance_level(score: float) -> str:
    """The coarse level ("HIGH", "MEDIUM", "LOW") that a response reports for a relevance score."""
    if score >= HIGH_RELEVANCE:
        return HIGH
    if score >= MEDIUM_RELEVANCE:
        return MEDIUM
    return LOW


def rank(hits: Sequence[PassageHit], terms: Sequence[str]) -> list[tuple[PassageHit, float]]:
    """`hits` by relevance, ties broken by the backend's score then position: one order everywhere."""
    scorer = _Scorer(terms)
    scored = [(hit, scorer.score(hit.text)) for hit in hits]
    scored.sort(key=lambda pair: (-pair[1], -pair[0].score, pair[0].content_id, pair[0].position))
    return scored


# --- excerpts ---------------------------------------------------------------------------------

EXCERPT_LIMIT: Final = 500


def excerpt(
    text: str, highlights: Sequence[tuple[int, int]], limit: int = EXCERPT_LIMIT
) -> tuple[str, list[tuple[int, int]]]:
    """The part of `text` (at most `limit` characters) to show, with the most highlights in it."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    spans = sorted({(b, e) for b, e in highlights if 0 <= b < e <= len(text)})
    if len(text) <= limit:
        return text, spans
    blocked, starts = _cut_masks(text, spans, limit)
    best = _best_window(blocked, starts, spans, limit)
    # No window without a cut only when highlights overlap words into a chain longer than limit.
    _, start, end = best if best is not None else (0, 0, limit)
    while start < end and text[start].isspace() and not blocked[start + 1]:
        start += 1
    while end > start and text[end - 1].isspace() and not blocked[end - 1]:
        end -= 1
    inside = [(b - start, e - start) for b, e in spans if start <= b and e <= end]
    return text[start:end], inside


# 1 for the bytes of the characters that make ASCII words (`store.search.words`), else 0.
_ASCII_WORD_BYTES: Final = bytes(int(chr(i) in string.ascii_lowercase + string.digits) for i in range(256))


def _cut_masks(text: str, spans: Sequence[tuple[int, int]], limit: int) -> tuple[bytearray, bytearray]:
    """(blocked, starts), one byte per offset of `text` and one past it: blocked[p] when a cut at
    p would split a word or highlight (only those that fit in a window); starts[p] when a window
    may start at p (the text's start, a word's or a highlight's)."""
    lowered = text.lower()
    masks = _ascii_word_masks(lowered, limit) if lowered.isascii() and len(lowered) == len(text) else None
    if masks is None:
        masks = bytearray(len(text) + 1), bytearray(len(text) + 1)
        for b, e, _ in word_spans(text):
            _protect(masks, b, e, limit)
    for b, e in spans:
        _protect(masks, b, e, limit)
    masks[1][0] = 1
    return masks


def _ascii_word_masks(lowered: str, limit: int) -> tuple[bytearray, bytearray] | None:
    """`_cut_masks` for the words of lower-case ASCII text, a byte per offset at once rather
    than a word at a time (None when a word is longer than `limit`: it blocks nothing)."""
    is_word = lowered.encode().translate(_ASCII_WORD_BYTES)
    if b"\x01" * (limit + 1) in is_word:
        return None
    word = int.from_bytes(is_word, "little")
    after_word = word << 8  # byte p: whether the character before p is a word's
    size = len(lowered) + 1
    inside = (word & after_word).to_bytes(size, "little")
    first = (word & ~after_word).to_bytes(size, "little")
    return bytearray(inside), bytearray(first)


def _protect(masks: tuple[bytearray, bytearray], begin: int, end: int, limit: int) -> None:
    """Mark [begin, end) in `_cut_masks`'s masks: a window may start at it, and not cut it."""
    blocked, starts = masks
    starts[begin] = 1
    if end - begin <= limit:
        blocked[begin + 1 : end] = b"\x01" * (end - begin - 1)


def _best_window(
    blocked: bytearray, starts: bytearray, spans: Sequence[tuple[int, int]], limit: int
) -> tuple[int, int, int] | None:
    """(highlights, start, end) of the window with the most whole `spans`, the earliest of those.

    Only a few of the candidate `starts` need counting: the earliest best window is the first
    window of all, or the first to reach the end of some span (a window that reaches no new end
    holds no more than the one before it, which starts no later and ends no later)."""
    windows = [_first_window_reaching(blocked, starts, 0, 0, limit)]
    windows += [_first_window_reaching(blocked, starts, e - limit, e, limit) for _, e in spans]
    begins = [b for b, _ in spans]
    best: tuple[int, int, int] | None = None
    for start, end in sorted({w for w in windows if w is not None}):
        count = _count_within(spans, begins, start, end)
        if best is None or count > best[0]:
            best = (count, start, end)
    return best


def _first_window_reaching(
    blocked: bytearray, starts: bytearray, earliest: int, reach: int, limit: int
) -> tuple[int, int] | None:
    """(start, end) of the first window starting at `earliest` or later (where `starts` allows)
    whose end is at `reach` or beyond (None: no such window)."""
    start = starts.find(1, max(earliest, 0))
    while start != -1:
        if not blocked[start]:
            end = _last_cut(blocked, min(start + limit, len(blocked) - 1))
            if end > start and end >= reach:
                return start, end
        start = starts.find(1, start + 1)
    return None


def _last_cut(blocked: bytearray, offset: int) -> int:
    """The last offset at or before `offset` where a cut is allowed (offset 0 always is)."""
    return blocked.rfind(0, 0, offset + 1)


def _count_within(spans: Sequence[tuple[int, int]], begins: Sequence[int], start: int, end: int) -> int:
    """How many of `spans` (sorted, their begins in `begins`) lie wholly within [start, end)."""
    count = 0
    index = bisect_left(begins, start)
    while index < len(spans) and spans[index][0] < end:
        if spans[index][1] <= end:
            count += 1
        index += 1
    return count


# --- filters ----------------------------------------------------------------------------------

MAX_FILTER_DEPTH: Final = 32  # far past any real filter; bounds the recursion

Predicate = Callable[[Mapping[str, str]], bool]
_TextTest = Callable[[str], bool]

_COMBINATIONS: Final = ("andAll", "orAll")
_COMPARISONS: Final[dict[str, Callable[[Decimal, Decimal], bool]]] = {
    "greaterThan": lambda found, wanted: found > wanted,
    "greaterThanOrEquals": lambda found, wanted: found >= wanted,
    "lessThan": lambda found, wanted: found < wanted,
    "lessThanOrEquals": lambda found, wanted: found <= wanted,
}
_LEAF_OPERATORS: Final = (
    "equals",
    "notEquals",
    *_COMPARISONS,
    "in",
    "notIn",
    "listContains",
    "startsWith",
    "stringContains",
)
_FILTER_MEMBERS: Final = (*_COMBINATIONS, *_LEAF_OPERATORS)
_TAG_FILTER_MEMBERS: Final = ("tagCondition", "andConditions", "orConditions")
_OR_CONDITION_MEMBERS: Final = ("andConditions", "tagCondition")

# A number as metadata writes it: optional sign, digits with an optional fraction, optional exponent.
_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class FilterError(ValueError):
    """An ill-formed retrieval or tag filter; the message says where and why."""


def metadata_predicate(filter: Mapping[str, Any]) -> Predicate:
    """A `RetrievalFilterConfiguration` as a test of a content's metadata; checked here, once."""
    return _compile_filter(filter, "filter", 1)


def _compile_filter(node: Any, where: str, depth: int) -> Predicate:
    if depth > MAX_FILTER_DEPTH:
        raise FilterError(f"{where}: filters may nest at most {MAX_FILTER_DEPTH} deep")
    operator, operand = _only_member(node, _FILTER_MEMBERS, where)
    where = f"{where}.{operator}"
    if operator in _COMBINATIONS:
        if not _is_list(operand) or len(operand) < 2:
            raise FilterError(f"{where} must be a list of at least 2 filters")
        members = [_compile_filter(m, f"{where}[{i}]", depth + 1) for i, m in enumerate(operand)]
        if operator == "andAll":
            return lambda metadata: all(member(metadata) for member in members)
        return lambda metadata: any(member(metadata) for member in members)
    key, value = _leaf(operand, where)
    if operator in ("equals", "notEquals"):
        return _on_value(key, _equality_test(value, where), missing=False, negate=operator == "notEquals")
    if operator in _COMPARISONS:
        return _on_value(key, _comparison_test(operator, value, where), missing=False)
    if operator in ("in", "notIn"):
        return _on_value(key, _membership_test(value, where), missing=False, negate=operator == "notIn")
    if operator == "listContains":
        return _on_value(key, _list_contains_test(value, where), missing=False)
    if not isinstance(value, str):
        raise FilterError(f"{where}.value must be a string")
    if operator == "startsWith":
        return _on_value(key, lambda found: found.startswith(value), missing=False)
    return _on_value(key, lambda found: value in found, missing=False)  # stringContains


def _only_member(node: Any, members: Sequence[str], where: str) -> tuple[str, Any]:
    """The one member a union sets (null members count as absent)."""
    if not isinstance(node, Mapping):
        raise FilterError(f"{where} must be an object")
    present = [(name, value) for name, value in node.items() if value is not None]
    for name, _ in present:
        if name not in members:
            raise FilterError(f"{where}: unknown member {name!r}; expected one of {', '.join(members)}")
    if len(present) != 1:
        raise FilterError(f"{where} must have exactly one of {', '.join(members)} (it has {len(present)})")
    return present[0]


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _leaf(operand: Any, where: str) -> tuple[str, Any]:
    if not isinstance(operand, Mapping):
        raise FilterError(f"{where} must be an object with a key and a value")
    key, value = operand.get("key"), operand.get("value")
    if not isinstance(key, str) or not key:
        raise FilterError(f"{where}.key must be a non-empty string")
    if value is None:
        raise FilterError(f"{where}.value is required")
    return key, value


def _on_value(key: str, test: _TextTest, missing: bool, negate: bool = False) -> Predicate:
    """A predicate applying `test` to the metadata value of `key` (`missing` when it is absent)."""

    def predicate(metadata: Mapping[str, str]) -> bool:
        found = metadata.get(key)
        result = missing if found is None else test(found)
        return result != negate

    return predicate


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_decimal(value: int | float, where: str) -> Decimal:
    if isinstance(value, float) and not math.isfinite(value):
        raise FilterError(f"{where}.value must be a finite number")
    return Decimal(str(value))


def _parse_number(text: str) -> Decimal | None:
    """`text` as a number, or None when it is not written as one (see the module docstring)."""
    stripped = text.strip()
    return Decimal(stripped) if _NUMBER.fullmatch(stripped) else None


def _equality_test(value: Any, where: str) -> _TextTest:
    """The equals rule: strings exactly, numbers numerically, booleans as true/false in any case."""
    if isinstance(value, bool):
        wanted_text = "true" if value else "false"
        return lambda found: found.lower() == wanted_text
    if _is_number(value):
        wanted = _as_decimal(value, where)
        return lambda found: _parse_number(found) == wanted
    if isinstance(value, str):
        return lambda found: found == value
    raise FilterError(f"{where}.value must be a string, a number or a boolean")


def _comparison_test(operator: str, value: Any, where: str) -> _TextTest:
    if not _is_number(value):
        raise FilterError(f"{where}.value must be a number")
    wanted = _as_decimal(value, where)
    compare = _COMPARISONS[operator]

    def test(found: str) -> bool:
        number = _parse_number(found)
        return number is not None and compare(number, wanted)

    return test


def _membership_test(value: Any, where: str) -> _TextTest:
    if not _is_list(value) or not value or not all(isinstance(v, str) or _is_number(v) for v in value):
        raise FilterError(f"{where}.value must be a non-empty list of strings and numbers")
    tests = [_equality_test(v, where) for v in value]
    return lambda found: any(test(found) for test in tests)


def _list_contains_test(value: Any, where: str) -> _TextTest:
    if not (isinstance(value, str) or _is_number(value)):
        raise FilterError(f"{where}.value must be a string or a number")
    test = _equality_test(value, where)
    return lambda found: any(test(item) for item in _list_items(found))


def _list_items(text: str) -> list[str]:
    """A metadata value read as a list: a JSON array if it is one, else comma-separated items."""
    if text.lstrip().startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [_json_item_text(item) for item in parsed if isinstance(item, str | int | float)]
    return [item.strip() for item in text.split(",") if item.strip()]


def _json_item_text(item: str | int | float) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, bool):
        return "true" if item else "false"
    return json.dumps(item)


def tag_predicate(tag_filter: Mapping[str, Any]) -> Predicate:
    """A `TagFilter` as a test of a content's tags; checked here, once."""
    where = "tagFilter"
    operator, operand = _only_member(tag_filter, _TAG_FILTER_MEMBERS, where)
    where = f"{where}.{operator}"
    if operator == "tagCondition":
        return _tag_condition(operand, where)
    if operator == "andConditions":
        return _all_tags(operand, where)
    alternatives: list[Predicate] = []
    for index, member in enumerate(_non_empty_list(operand, where)):
        member_where = f"{where}[{index}]"
        kind, condition = _only_member(member, _OR_CONDITION_MEMBERS, member_where)
        if kind == "tagCondition":
            alternatives.append(_tag_condition(condition, f"{member_where}.tagCondition"))
        else:
            alternatives.append(_all_tags(condition, f"{member_where}.andConditions"))
    return lambda tags: any(alternative(tags) for alternative in alternatives)


def _non_empty_list(value: Any, where: str) -> Sequence[Any]:
    if not _is_list(value) or not value:
        raise FilterError(f"{where} must be a non-empty list of conditions")
    return value


def _all_tags(operand: Any, where: str) -> Predicate:
    conditions = [_tag_condition(c, f"{where}[{i}]") for i, c in enumerate(_non_empty_list(operand, where))]
    return lambda tags: all(condition(tags) for condition in conditions)


def _tag_condition(condition: Any, where: str) -> Predicate:
    if not isinstance(condition, Mapping):
        raise FilterError(f"{where} must be an object with a key")
    key, value = condition.get("key"), condition.get("value")
    if not isinstance(key, str) or not key:
        raise FilterError(f"{where}.key must be a non-empty string")
    if value is not None and not isinstance(value, str):
        raise FilterError(f"{where}.value must be a string")
    if value is None:
        return lambda tags: key in tags
    return lambda tags: tags.get(key) == value


# --- transcript queries -----------------------------------------------------------------------

CUSTOMER: Final = "CUSTOMER"
MIN_SIGNIFICANT_WORDS: Final = 3  # fewer, and the previous customer turn is prepended
CONTEXT_TURNS: Final = 4  # the newest turn and the 3 before it
MAX_QUERY_LENGTH: Final = 512  # QueryText's limit


def derive_query(turns: Sequence[tuple[str, str]]) -> str | None:
    """What to recommend on after the newest turn of a conversation (None: nothing to ask)."""
    if not turns or turns[-1][0] != CUSTOMER:
        return None
    newest = _single_spaced(turns[-1][1])
    query = newest
    if len(significant_words(newest)) < MIN_SIGNIFICANT_WORDS:
        previous = _previous_customer_text(turns[-CONTEXT_TURNS:-1])
        room = MAX_QUERY_LENGTH - len(newest) - 1  # the separating space
        context = _keep_end(previous, room) if previous and room > 0 else ""
        if context:
            query = f"{context} {newest}" if newest else context
    query = _keep_start(query, MAX_QUERY_LENGTH)
    return query if significant_words(query) else None


def _previous_customer_text(turns: Iterable[tuple[str, str]]) -> str:
    for participant, text in reversed(list(turns)):
        if participant == CUSTOMER:
            return _single_spaced(text)
    return ""


def _single_spaced(text: str) -> str:
    return " ".join(text.split())


def _keep_start(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a space (mid-word only for a too-long word)."""
    if len(text) <= limit:
        return text
    space = text.rfind(" ", 0, limit + 1)
    return text[:space] if space > 0 else text[:limit]


def _keep_end(text: str, limit: int) -> str:
    """The end of `text`, at most `limit` characters, starting after a space ("" when none fits)."""
    if len(text) <= limit:
        return text
    space = text.find(" ", len(text) - limit - 1)
    return text[space + 1 :] if space != -1 else ""
