"""AI guardrails: compile a stored guardrail configuration once, then check inputs and outputs.

Pure and deterministic (no database, no I/O); the rules users can rely on are in
docs/guardrails.md. The configuration is the CreateAIGuardrail body (model member names);
unknown members (name, description, ids...) are ignored.

Order of a check: every configured policy is evaluated; when any policy blocks (a word, a denied
topic, a content filter, a BLOCK sensitive-information entity or regex, a grounding score below
its threshold), the action is BLOCKED and the text passed on is the blocked messaging.
Otherwise ANONYMIZE entities and regexes are masked (`{EMAIL}`, `{<regex name>}`): MASKED.
Otherwise NONE and the text unchanged.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

import regex

from qconnect_local.engine import guardrail_pii as pii
from qconnect_local.engine.guardrail_lexicon import (
    LEVEL_NAMES,
    LEXICONS,
    Cue,
    PhraseIndex,
    content_index,
    literal_slots,
)
from qconnect_local.engine.guardrail_profanity import PROFANITY
from qconnect_local.engine.retrieval import STOP_WORDS, query_terms, significant_words, variants
from qconnect_local.store.search import words

# Model enums (service-2.json).
ACTION_NONE, ACTION_MASKED, ACTION_BLOCKED = "NONE", "MASKED", "BLOCKED"
CONTENT_TYPES: Final = frozenset(LEXICONS)
STRENGTHS: Final = {"NONE": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}
PII_TYPES: Final = pii.DETECTED_TYPES  # all 31 GuardrailPiiEntityType values
SENSITIVE_ACTIONS: Final = frozenset({"BLOCK", "ANONYMIZE"})
GROUNDING_TYPES: Final = frozenset({"GROUNDING", "RELEVANCE"})

# A custom regex gets this long (seconds) per check; a pattern that takes longer blocks the text.
REGEX_TIMEOUT: Final = 0.05
MAX_MASK_PASSES: Final = 3  # masking repeats while it uncovers new values (bounded)
UNSETTLED: Final = "masking did not settle"  # the finding when values are still found after that
MAX_SPAN_POLICIES: Final = 50  # GuardrailPolicyResultList max
TOPIC_EXAMPLE_SHARE: Final = 2 / 3
TOPIC_DEFINITION_SHARE: Final = 0.5
TOPIC_DEFINITION_MIN_WORDS: Final = 2
_SENTENCE_END: Final = re.compile(r"[.!?;\n]+")
_SENTENCE_MARK: Final = "\ue000"  # a private-use character: a word of its own to store.search.words


class GuardrailConfigError(ValueError):
    """A guardrail configuration that cannot be compiled; the message names the field."""


@dataclass(frozen=True)
class Finding:
    """One policy's intervention: which policy, what it did, and a detail for traces."""

    policy_type: str  # GuardrailPolicyType
    action: str  # BLOCKED | MASKED
    detail: str

    def to_span(self) -> dict[str, Any]:
        """The model's GuardrailPolicyResult."""
        return {"policyType": self.policy_type, "action": self.action, "details": self.detail}


@dataclass(frozen=True)
class Assessment:
    """The outcome of one check: what to pass on, and why."""

    source: str  # INPUT | OUTPUT
    action: str  # NONE | MASKED | BLOCKED (GuardrailAction)
    text: str
    findings: tuple[Finding, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)  # GROUNDING / RELEVANCE, when computed

    @property
    def blocked(self) -> bool:
        return self.action == ACTION_BLOCKED

    def to_span(self, *, guardrail_id: str, guardrail_name: str) -> dict[str, Any]:
        """A SpanAttributes.guardrailAssessments entry (SpanGuardrailAssessment)."""
        span: dict[str, Any] = {
            "guardrailId": guardrail_id,
            "guardrailName": guardrail_name,
            "source": self.source,
            "action": self.action,
        }
        if self.findings:
            span["policies"] = [finding.to_span() for finding in self.findings[:MAX_SPAN_POLICIES]]
        return span

    def to_message(self) -> dict[str, bool]:
        """The TextMessage.aiGuardrailAssessment value."""
        return {"blocked": self.blocked}


# --- configuration helpers -----------------------------------------------------------------------


def _member(config: Mapping[str, Any], name: str, path: str, kind: type | tuple[type, ...]) -> Any:
    value = config.get(name)
    if not isinstance(value, kind) or (isinstance(value, (str, list)) and not value):
        raise GuardrailConfigError(f"{path}{name} is required and must be a non-empty {_kind_name(kind)}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names: dict[type, str] = {str: "string", list: "list", dict: "structure"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _enum(config: Mapping[str, Any], name: str, path: str, allowed: Iterable[str]) -> str:
    value = _member(config, name, path, str)
    if value not in allowed:
        raise GuardrailConfigError(f"{path}{name} must be one of {', '.join(sorted(allowed))}, not {value!r}")
    return str(value)


def _items(config: Mapping[str, Any], name: str, path: str) -> list[tuple[str, Mapping[str, Any]]]:
    """A list member's structures, each with its path (`topicPolicyConfig.topicsConfig[0].`)."""
    values = _member(config, name, path, list)
    items = []
    for index, item in enumerate(values):
        item_path = f"{path}{name}[{index}]"
        if not isinstance(item, Mapping):
            raise GuardrailConfigError(f"{item_path} must be a structure")
        items.append((item_path + ".", item))
    return items


def _policy(config: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = config.get(name)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise GuardrailConfigError(f"{name} must be a structure")
    return value


# --- compiled policies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _WordPolicy:
    """Custom words and the managed list: whole words and phrases, any case."""

    phrases: PhraseIndex[str]
    punctuated: _Punctuated | None  # entries with punctuation ("c++"), matched as text

    def find(self, tokens: Sequence[str], text: str) -> list[str]:
        found = dict.fromkeys(hit.payload for hit in self.phrases.find(tokens))
        if self.punctuated is not None:
            found.update(dict.fromkeys(self.punctuated.find(text)))
        return list(found)


_TOKEN: Final = re.compile(r"\w+|[^\w\s]")  # where an entry may start: a word, or one other character


def _first_token(entry: str) -> str:
    return _TOKEN.match(entry).group(0).lower()  # type: ignore[union-attr]  # entries are stripped, non-empty


class _Punctuated:
    """Entries with punctuation, each a pattern (`_literal_pattern`), filed under its first token
    (its leading word, or its first other character): a check tries at each token of the text only
    the entries that start with it, so it costs what the text's length does, not the list's."""

    def __init__(self, entries: Sequence[str]) -> None:
        self.by_token: dict[str, list[re.Pattern[str]]] = {}
        for entry in dict.fromkeys(entries):
            pattern = re.compile(_literal_pattern(entry), re.I)
            self.by_token.setdefault(_first_token(entry), []).append(pattern)

    def find(self, text: str) -> list[str]:
        found: list[str] = []
        for token in _TOKEN.finditer(text):
            for pattern in self.by_token.get(token.group(0).lower(), ()):
                match = pattern.match(text, token.start())
                if match is not None:
                    found.append(match.group(0).lower())
        return found


def _word_policy(config: Mapping[str, Any]) -> _WordPolicy | None:
    policy = _policy(config, "wordPolicyConfig")
    if policy is None:
        return None
    path = "wordPolicyConfig."
    entries: list[str] = []
    if policy.get("wordsConfig") is not None:
        entries += [
            _member(item, "text", item_path, str) for item_path, item in _items(policy, "wordsConfig", path)
        ]
    if policy.get("managedWordListsConfig") is not None:
        for item_path, item in _items(policy, "managedWordListsConfig", path):
            _enum(item, "type", item_path, {"PROFANITY"})
            entries += PROFANITY
    phrases: PhraseIndex[str] = PhraseIndex()
    punctuated = []
    for entry in entries:
        if regex.fullmatch(r"[\p{L}\p{N}\p{Co}\s]+", entry):
            phrases.add(literal_slots(entry), " ".join(words(entry)))
        elif entry.strip():
            punctuated.append(entry.strip())
    return _WordPolicy(phrases, _Punctuated(punctuated) if punctuated else None)


def _literal_pattern(entry: str) -> str:
    """An entry with punctuation as a regex: exact text, whitespace runs free, word edges kept."""
    body = r"\s+".join(re.escape(part) for part in entry.split())
    start = r"(?<!\w)" if entry[0].isalnum() else ""
    end = r"(?!\w)" if entry[-1].isalnum() else ""
    return f"{start}{body}{end}"


@dataclass(frozen=True)
class _Topic:
    name: str
    name_words: tuple[frozenset[str], ...]  # each significant word of the name, with its variants
    examples: tuple[tuple[frozenset[str], ...], ...]
    definition: frozenset[str]  # every variant of every significant word of the definition


def _word_forms(text: str) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(variants(word)) for word in significant_words(text))


def _topics(config: Mapping[str, Any]) -> tuple[_Topic, ...]:
    policy = _policy(config, "topicPolicyConfig")
    if policy is None:
        return ()
    topics = []
    for item_path, item in _items(policy, "topicsConfig", "topicPolicyConfig."):
        name = _member(item, "name", item_path, str)
        definition = _member(item, "definition", item_path, str)
        _enum(item, "type", item_path, {"DENY"})
        examples = item.get("examples") or []
        if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
            raise GuardrailConfigError(f"{item_path}examples must be a list of strings")
        topics.append(
            _Topic(
                name=name,
                name_words=_word_forms(name),
                examples=tuple(forms for forms in map(_word_forms, examples) if forms),
                definition=frozenset(form for forms in _word_forms(definition) for form in forms),
            )
        )
    return tuple(topics)


def _content_filters(config: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Per category, the input and output strengths (0 for NONE or unconfigured)."""
    policy = _policy(config, "contentPolicyConfig")
    inputs: dict[str, int] = {}
    outputs: dict[str, int] = {}
    if policy is None:
        return inputs, outputs
    for item_path, item in _items(policy, "filtersConfig", "contentPolicyConfig."):
        category = _enum(item, "type", item_path, CONTENT_TYPES)
        if category in inputs:
            raise GuardrailConfigError(f"{item_path}type {category} is configured more than once")
        inputs[category] = STRENGTHS[_enum(item, "inputStrength", item_path, STRENGTHS)]
        outputs[category] = STRENGTHS[_enum(item, "outputStrength", item_path, STRENGTHS)]
    outputs["PROMPT_ATTACK"] = 0  # prompt attacks are an input concern only (as in Bedrock)
    return inputs, outputs


@dataclass(frozen=True)
class _Regex:
    name: str
    pattern: Any  # regex.Pattern
    action: str


def _sensitive(config: Mapping[str, Any]) -> tuple[dict[str, str], tuple[_Regex, ...]]:
    policy = _policy(config, "sensitiveInformationPolicyConfig")
    if policy is None:
        return {}, ()
    path = "sensitiveInformationPolicyConfig."
    entities: dict[str, str] = {}
    if policy.get("piiEntitiesConfig") is not None:
        for item_path, item in _items(policy, "piiEntitiesConfig", path):
            entity = _enum(item, "type", item_path, PII_TYPES)
            action = _enum(item, "action", item_path, SENSITIVE_ACTIONS)
            if entities.get(entity) != "BLOCK":  # BLOCK wins over ANONYMIZE for a repeated type
                entities[entity] = action
    regexes = []
    if policy.get("regexesConfig") is not None:
        for item_path, item in _items(policy, "regexesConfig", path):
            name = _member(item, "name", item_path, str)
            source = _member(item, "pattern", item_path, str)
            action = _enum(item, "action", item_path, SENSITIVE_ACTIONS)
            try:
                compiled = regex.compile(source)
            except (regex.error, ValueError, OverflowError) as error:
                raise GuardrailConfigError(
                    f"{item_path}pattern is not a valid regular expression: {error}"
                ) from None
            regexes.append(_Regex(name, compiled, action))
    return entities, tuple(regexes)


def _grounding(config: Mapping[str, Any]) -> dict[str, float]:
    policy = _policy(config, "contextualGroundingPolicyConfig")
    if policy is None:
        return {}
    thresholds: dict[str, float] = {}
    for item_path, item in _items(policy, "filtersConfig", "contextualGroundingPolicyConfig."):
        kind = _enum(item, "type", item_path, GROUNDING_TYPES)
        threshold = item.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold >= 0:
            raise GuardrailConfigError(f"{item_path}threshold must be a number of at least 0")
        if not math.isfinite(threshold):
            raise GuardrailConfigError(f"{item_path}threshold must be finite")
        thresholds[kind] = float(threshold)
    return thresholds


# --- the guardrail -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Masking:
    text: str
    findings: list[Finding]
    blocked: bool


class Guardrail:
    """A compiled guardrail: immutable, safe to share and reuse across threads and checks."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.blocked_input_messaging: str = _member(config, "blockedInputMessaging", "", str)
        self.blocked_outputs_messaging: str = _member(config, "blockedOutputsMessaging", "", str)
        self._words = _word_policy(config)
        self._topics = _topics(config)
        self._topic_vocabulary = frozenset(
            form
            for topic in self._topics
            for forms in (*topic.name_words, *(f for example in topic.examples for f in example))
            for form in forms
        ).union(*(topic.definition for topic in self._topics))
        self._input_strengths, self._output_strengths = _content_filters(config)
        self._content = content_index(frozenset(self._input_strengths))
        self._entities, self._regexes = _sensitive(config)
        self._entity_types = frozenset(self._entities)
        self._grounding = _grounding(config)

    def check_input(self, text: str) -> Assessment:
        """Assess a customer's (or agent's) message before the model sees it."""
        findings, blocked = self._policies(text, self._input_strengths)
        return self._finish("INPUT", text, findings, blocked, self.blocked_input_messaging, {})

    def check_output(self, text: str, *, sources: Sequence[str] = (), query: str = "") -> Assessment:
        """Assess a model response; grounding compares it with `sources` and `query`."""
        findings, blocked = self._policies(text, self._output_strengths)
        scores: dict[str, float] = {}
        if self._grounding:
            scores = grounding_scores(text, sources, query)
            for kind, threshold in sorted(self._grounding.items()):
                if scores[kind] < threshold:
                    blocked = True
                    detail = f"{kind} score {scores[kind]:.2f} is below the threshold {threshold:g}"
                    findings.append(Finding("CONTEXTUAL_GROUNDING", ACTION_BLOCKED, detail))
        return self._finish("OUTPUT", text, findings, blocked, self.blocked_outputs_messaging, scores)

    # -- policies --

    def _policies(self, text: str, strengths: Mapping[str, int]) -> tuple[list[Finding], bool]:
        # One tokenization serves every word-based policy; sentence ends become a marker word.
        marked = words(_SENTENCE_END.sub(f" {_SENTENCE_MARK} ", text)) if self._topics else words(text)
        tokens = [token for token in marked if token != _SENTENCE_MARK] if self._topics else marked
        findings: list[Finding] = []
        if self._words is not None:
            for word in self._words.find(tokens, text):
                findings.append(Finding("WORD", ACTION_BLOCKED, f"word filter matched {word!r}"))
        findings += [
            Finding("TOPIC", ACTION_BLOCKED, f"denied topic {topic!r}")
            for topic in self._denied_topics(marked)
        ]
        findings += self._content_findings(tokens, strengths)
        return findings, bool(findings)

    def _denied_topics(self, marked: Sequence[str]) -> list[str]:
        if not self._topics:
            return []
        sentences = []
        for sentence in _split(marked, _SENTENCE_MARK):
            present = frozenset(sentence)
            if not present.isdisjoint(self._topic_vocabulary):  # most sentences share no topic word
                sentences.append((present, [w for w in dict.fromkeys(sentence) if w not in STOP_WORDS]))
        return [
            topic.name
            for topic in self._topics
            if any(_on_topic(topic, present, terms) for present, terms in sentences)
        ]

    def _content_findings(self, tokens: Sequence[str], strengths: Mapping[str, int]) -> list[Finding]:
        strongest: dict[str, Cue] = {}
        for hit in self._content.find(tokens):
            cue = hit.payload
            if strengths.get(cue.category, 0) and cue.level > getattr(
                strongest.get(cue.category), "level", 0
            ):
                strongest[cue.category] = cue
        findings = []
        for category in sorted(strongest):
            cue = strongest[category]
            if blocks(strengths[category], cue.level):
                confidence = LEVEL_NAMES[cue.level]
                findings.append(
                    Finding("CONTENT_FILTER", ACTION_BLOCKED, f"{category} confidence {confidence}")
                )
        return findings

    def _finish(
        self,
        source: str,
        text: str,
        findings: list[Finding],
        blocked: bool,
        messaging: str,
        scores: Mapping[str, float],
    ) -> Assessment:
        masking = self._mask(text)
        findings = findings + masking.findings
        if blocked or masking.blocked:
            return Assessment(source, ACTION_BLOCKED, messaging, tuple(findings), scores)
        if masking.text != text or masking.findings:
            return Assessment(source, ACTION_MASKED, masking.text, tuple(findings), scores)
        return Assessment(source, ACTION_NONE, text, (), scores)

    # -- sensitive information --

    def _mask(self, text: str) -> _Masking:
        """Find entities and regex matches; BLOCK ones block, ANONYMIZE ones are masked."""
        counts: dict[tuple[str, str, str], int] = {}
        blocked = False
        for _ in range(MAX_MASK_PASSES):
            spans, timed_out = self._sensitive_spans(text)
            if timed_out:
                blocked = True
                for name in timed_out:
                    counts[("SENSITIVE_INFORMATION_REGEX", ACTION_BLOCKED, f"regex {name!r} timed out")] = 1
            masked = []
            for policy, kind, action, span in spans:
                key = (policy, ACTION_BLOCKED if action == "BLOCK" else ACTION_MASKED, kind)
                counts[key] = counts.get(key, 0) + 1
                if action == "BLOCK":
                    blocked = True
                else:
                    masked.append((span, kind))
            if not masked or blocked:
                break
            text = _apply_masks(text, masked)
        else:
            # Each pass uncovered more (values glued together): rather than pass a text on that
            # may still hold one, fail closed.
            if self._sensitive_spans(text)[0]:
                blocked = True
                counts[("SENSITIVE_INFORMATION_PII", ACTION_BLOCKED, UNSETTLED)] = 1
        findings = [
            Finding(
                policy, action, kind if kind.startswith(("regex ", UNSETTLED)) else f"{kind} ({count} found)"
            )
            for (policy, action, kind), count in counts.items()
        ]
        return _Masking(text, findings, blocked)

    def _sensitive_spans(self, text: str) -> tuple[list[tuple[str, str, str, tuple[int, int]]], list[str]]:
        spans = [
            ("SENSITIVE_INFORMATION_PII", found.type, self._entities[found.type], (found.start, found.end))
            for found in pii.find(text, self._entity_types)
        ]
        timed_out = []
        for custom in self._regexes:
            try:
                for match in custom.pattern.finditer(text, timeout=REGEX_TIMEOUT):
                    if match.end() > match.start():
                        spans.append(
                            ("SENSITIVE_INFORMATION_REGEX", custom.name, custom.action, match.span())
                        )
            except TimeoutError:
                timed_out.append(custom.name)
        return spans, timed_out


def _split(tokens: Sequence[str], mark: str) -> Iterable[list[str]]:
    sentence: list[str] = []
    for token in tokens:
        if token == mark:
            if sentence:
                yield sentence
            sentence = []
        else:
            sentence.append(token)
    if sentence:
        yield sentence


def _apply_masks(text: str, masked: list[tuple[tuple[int, int], str]]) -> str:
    """Replace values with `{TYPE}`: earliest first, the longest of those starting together."""
    masked.sort(key=lambda item: (item[0][0], -item[0][1]))
    parts = []
    position = 0
    for (start, end), kind in masked:
        if start < position:
            continue  # overlaps a value already masked
        parts += [text[position:start], "{" + kind + "}"]
        position = end
    parts.append(text[position:])
    return "".join(parts)


def blocks(strength: int, confidence: int) -> bool:
    """A filter of `strength` blocks content of `confidence`: HIGH blocks LOW+, LOW only HIGH."""
    return strength > 0 and confidence > 0 and confidence >= 4 - strength


def _on_topic(topic: _Topic, sentence_words: frozenset[str], terms: Sequence[str]) -> bool:
    """The word-overlap rule for one sentence (docs/guardrails.md, Denied topics)."""

    def has(forms: frozenset[str]) -> bool:
        return not forms.isdisjoint(sentence_words)

    if topic.name_words and all(has(forms) for forms in topic.name_words):
        return True
    for example in topic.examples:
        if sum(has(forms) for forms in example) >= max(1, math.ceil(TOPIC_EXAMPLE_SHARE * len(example))):
            return True
    in_definition = sum(1 for term in terms if not topic.definition.isdisjoint(variants(term)))
    return in_definition >= TOPIC_DEFINITION_MIN_WORDS and in_definition >= TOPIC_DEFINITION_SHARE * len(
        terms
    )


def grounding_scores(answer: str, sources: Sequence[str], query: str) -> dict[str, float]:
    """GROUNDING: share of the answer's words found in the sources; RELEVANCE: of the query's terms
    found in the answer. Both with variants, rounded to 4 places; 1.0 when there is nothing to check."""
    source_words = frozenset(word for source in sources for word in words(source))
    answer_terms = significant_words(answer)
    answer_words = frozenset(words(answer))
    grounded = sum(1 for term in answer_terms if not source_words.isdisjoint(variants(term)))
    terms = query_terms(query)
    relevant = sum(1 for term in terms if not answer_words.isdisjoint(variants(term)))
    return {
        "GROUNDING": round(grounded / len(answer_terms), 4) if answer_terms else 1.0,
        "RELEVANCE": round(relevant / len(terms), 4) if terms else 1.0,
    }


@lru_cache(maxsize=128)
def _compile_cached(canonical: str) -> Guardrail:
    return Guardrail(json.loads(canonical))


def compile_guardrail(config: Mapping[str, Any]) -> Guardrail:
    """Compile a guardrail configuration (cached by content); GuardrailConfigError names the field."""
    if not isinstance(config, Mapping):
        raise GuardrailConfigError("the guardrail configuration must be a structure")
    try:
        canonical = json.dumps(config, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return Guardrail(config)
    return _compile_cached(canonical)
