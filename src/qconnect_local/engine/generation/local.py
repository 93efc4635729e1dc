"""The `local` backend: offline, deterministic rules per prompt type (docs/generation.md).

No randomness, no clock, no I/O: the same request always gives the same result, in well under a
millisecond for typical inputs. It reads the request's structured context (query, passages,
transcript, tools) instead of the rendered prompt, which only counts towards the token estimate.

- Answers (ANSWER_GENERATION, SELF_SERVICE_ANSWER_GENERATION, EMAIL_GENERATIVE_ANSWER,
  EMAIL_RESPONSE): extractive. The query's terms are `retrieval.query_terms(query)` (an empty query is
  replaced by the reformulated transcript query). Passages whose relevance is at least
  ANSWER_THRESHOLD are eligible, ranked by relevance (descending), then request order. Their
  sentences (text.sentence_spans, whitespace runs made single spaces, exact repeats dropped) are
  ranked by how many terms they cover (descending), then passage rank, then position; sentences
  covering no term are left out. Taken in that order up to MAX_SENTENCES, skipping any that would
  make the answer longer than MAX_ANSWER_CHARS (the first is always taken, cut at a space if too
  long); when no sentence covers a term, the best passage's first sentence is the answer. The chosen
  sentences are written in reading order (passage rank, then position), separated by one space, each
  with a Citation of its exact span. No eligible passage: NO_ANSWER, no citations. Locale ignored.
- QUERY_REFORMULATION, EMAIL_QUERY_REFORMULATION: `retrieval.derive_query` over the transcript up to
  its last CUSTOMER turn; "" when there is none.
- INTENT_LABELING_GENERATION: the last CUSTOMER turn's first MAX_INTENT_WORDS distinct non-stop
  words, as written, space-separated, the first letter upper-cased; "" when there are none.
- SELF_SERVICE_PRE_PROCESSING: a tool chosen by `classify` (ESCALATION, QUESTION, COMPLETE,
  CONVERSATION, FOLLOW_UP_QUESTION) and filled per its input_schema.
- ORCHESTRATION: escalation/complete tools, a direct answer from passages, a retrieval-like tool, or
  a canned text.
- NOTE_TAKING, CASE_SUMMARIZATION, EMAIL_OVERVIEW: fixed line formats over the transcript.
- Usage: ceil(chars / 4) of the rendered prompt and of the output; maxTokensToSample cuts a text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from qconnect_local.engine.generation.api import (
    END_TURN,
    MAX_TOKENS,
    TOOL_USE,
    Citation,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    Passage,
)
from qconnect_local.engine.generation.text import (
    cap_output,
    compact_json,
    covered_terms,
    cut_at_space,
    estimate_tokens,
    max_tokens_of,
    output_chars,
    prompt_chars,
    sentence_spans,
    single_spaced,
)
from qconnect_local.engine.retrieval import (
    MEDIUM_RELEVANCE,
    STOP_WORDS,
    derive_query,
    query_terms,
    significant_words,
)
from qconnect_local.store.passages import word_spans
from qconnect_local.store.search import words

NO_ANSWER: Final[str] = "I'm sorry, I couldn't find an answer to that in the knowledge base."
ANSWER_THRESHOLD: Final[float] = MEDIUM_RELEVANCE  # 0.45: at least half the query's terms
MAX_SENTENCES: Final = 3
MAX_ANSWER_CHARS: Final = 600
MAX_INTENT_WORDS: Final = 6
MIN_QUESTION_WORDS: Final = 2  # fewer content words and a turn is not a question
SUMMARY_LINE_CHARS: Final = 300
OVERVIEW_TURNS: Final = 5
OVERVIEW_LINE_CHARS: Final = 200

ANSWER_TYPES: Final = frozenset(
    {"ANSWER_GENERATION", "SELF_SERVICE_ANSWER_GENERATION", "EMAIL_GENERATIVE_ANSWER", "EMAIL_RESPONSE"}
)
CUSTOMER: Final = "CUSTOMER"

# --- self-service classification ----------------------------------------------------------------

QUESTION: Final = "QUESTION"
FOLLOW_UP_QUESTION: Final = "FOLLOW_UP_QUESTION"
CONVERSATION: Final = "CONVERSATION"
ESCALATION: Final = "ESCALATION"
COMPLETE: Final = "COMPLETE"

# Phrases are sequences of `store.search.words` (so "that's all" is "that s all").
ESCALATION_PHRASES: Final = (
    *("agent", "agents", "human", "humans", "representative", "representatives", "person"),
    *("operator", "supervisor", "manager", "customer service"),
    *("speak to someone", "speak with someone", "talk to someone", "talk with someone"),
)
COMPLETE_PHRASES: Final = (
    *("bye", "goodbye", "good bye", "that s all", "that is all", "that will be all", "that ll be all"),
    *("no thanks", "no thank you", "nothing else", "all set", "all good", "i m done", "i am done"),
)
CONVERSATION_PHRASES: Final = (
    *("hi", "hello", "hey", "thanks", "thank you", "thank", "cheers", "good morning"),
    *("good afternoon", "good evening", "how are you", "great", "awesome", "cool", "nice"),
    *("ok", "okay", "yes", "yeah", "sure"),
)
MESSAGES: Final[dict[str, str]] = {
    QUESTION: "Let me look that up for you.",
    FOLLOW_UP_QUESTION: "Could you tell me a bit more about what you need help with?",
    CONVERSATION: "Thanks for reaching out. How can I help you today?",
    ESCALATION: "I'll connect you with an agent who can help.",
    COMPLETE: "Thank you for contacting us. Goodbye!",
}


@dataclass(frozen=True)
class Classification:
    """What the customer's turn asks for, and the words it was decided on."""

    category: str
    content_words: tuple[str, ...]  # significant words outside the matched phrases


def _phrase_table() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    table: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for category, phrases in (
        (ESCALATION, ESCALATION_PHRASES),
        (COMPLETE, COMPLETE_PHRASES),
        (CONVERSATION, CONVERSATION_PHRASES),
    ):
        for phrase in phrases:
            seq = tuple(phrase.split())
            table.setdefault(seq[0], []).append((seq, category))
    for entries in table.values():
        entries.sort(key=lambda entry: -len(entry[0]))  # longest first
    return table


_PHRASES: Final = _phrase_table()


def classify(text: str) -> Classification:
    """The self-service category of one customer turn (rules in docs/generation.md)."""
    found = words(text)
    matched: set[str] = set()
    rest: list[str] = []
    i = 0
    while i < len(found):
        for seq, category in _PHRASES.get(found[i], ()):
            if tuple(found[i : i + len(seq)]) == seq:
                matched.add(category)
                i += len(seq)
                break
        else:
            rest.append(found[i])
            i += 1
    content = tuple(dict.fromkeys(w for w in rest if w not in STOP_WORDS))
    if ESCALATION in matched:
        category = ESCALATION
    elif len(content) >= MIN_QUESTION_WORDS:
        category = QUESTION
    elif COMPLETE in matched:
        category = COMPLETE
    elif CONVERSATION in matched and not content:
        category = CONVERSATION
    else:
        category = FOLLOW_UP_QUESTION
    return Classification(category, content)


# --- the backend ---------------------------------------------------------------------------------


class LocalBackend:
    """Deterministic rules instead of a model (see the module docstring)."""

    name = "local"

    def generate(self, request: GenerationRequest) -> GenerationResult:
        handler = _HANDLERS.get(request.prompt_type)
        if handler is None:
            raise GenerationError(
                "ValidationException", f"unknown prompt type {request.prompt_type!r} for the local backend"
            )
        text, citations, tool_use = handler(request)
        finish = TOOL_USE if tool_use is not None else END_TURN
        if text is not None:
            text, citations, cut = cap_output(text, citations, max_tokens_of(request.inference))
            if cut:
                finish = MAX_TOKENS
        return GenerationResult(
            text=text,
            tool_use=tool_use,
            citations=tuple(citations),
            input_tokens=estimate_tokens(prompt_chars(request)),
            output_tokens=estimate_tokens(output_chars(text, tool_use)),
            model_id=request.model_id,
            finish_reason=finish,
        )


_Output = tuple[str | None, tuple[Citation, ...], dict[str, Any] | None]


# --- answers ---------------------------------------------------------------------------------------


def answer(query: str, passages: Sequence[Passage]) -> tuple[str, tuple[Citation, ...]]:
    """The extractive answer to `query` from `passages`, with one citation per sentence."""
    ranked = sorted(
        (i for i, p in enumerate(passages) if p.relevance >= ANSWER_THRESHOLD),
        key=lambda i: (-passages[i].relevance, i),
    )
    if not ranked:
        return NO_ANSWER, ()
    terms = query_terms(query)
    candidates: list[tuple[int, int, int, str, int]] = []  # (-covered, rank, position, sentence, passage)
    seen: set[str] = set()
    for rank, index in enumerate(ranked):
        text = passages[index].text
        for position, (begin, end) in enumerate(sentence_spans(text)):
            sentence = single_spaced(text[begin:end])
            if sentence in seen:
                continue
            seen.add(sentence)
            candidates.append((-len(covered_terms(sentence, terms)), rank, position, sentence, index))
    useful = sorted(c for c in candidates if c[0] < 0)
    if not useful:
        useful = [c for c in candidates if c[1] == 0][:1]
    chosen: list[tuple[int, int, int, str, int]] = []
    length = -1
    for candidate in useful:
        if len(chosen) == MAX_SENTENCES:
            break
        sentence = candidate[3]
        if not chosen:
            sentence = cut_at_space(sentence, MAX_ANSWER_CHARS)
            chosen.append((*candidate[:3], sentence, candidate[4]))
            length = len(sentence)
        elif length + 1 + len(sentence) <= MAX_ANSWER_CHARS:
            chosen.append(candidate)
            length += 1 + len(sentence)
    chosen.sort(key=lambda c: (c[1], c[2]))
    parts: list[str] = []
    citations: list[Citation] = []
    offset = 0
    for _, _, _, sentence, index in chosen:
        citations.append(Citation(index, offset, offset + len(sentence)))
        parts.append(sentence)
        offset += len(sentence) + 1
    return " ".join(parts), tuple(citations)


def _answer(request: GenerationRequest) -> _Output:
    query = request.query.strip() or reformulate(request.transcript)
    text, citations = answer(query, request.passages) if query else (NO_ANSWER, ())
    return text, citations, None


# --- transcript rules ------------------------------------------------------------------------------


def _turns(transcript: Sequence[dict[str, str]]) -> list[tuple[str, str]]:
    return [(t.get("participant", ""), t.get("text", "") or "") for t in transcript]


def last_customer_text(transcript: Sequence[dict[str, str]]) -> str:
    """The newest CUSTOMER turn's text, whitespace runs made single spaces ("" when none)."""
    for participant, text in reversed(_turns(transcript)):
        if participant == CUSTOMER:
            return single_spaced(text)
    return ""


def reformulate(transcript: Sequence[dict[str, str]]) -> str:
    """derive_query over the transcript up to its last CUSTOMER turn ("" when there is no query)."""
    turns = _turns(transcript)
    while turns and turns[-1][0] != CUSTOMER:
        turns.pop()
    return derive_query(turns) or ""


def _reformulation(request: GenerationRequest) -> _Output:
    return reformulate(request.transcript), (), None


def intent_label(text: str) -> str:
    """The first MAX_INTENT_WORDS distinct non-stop words of `text`, as written, first letter capital."""
    picked: list[str] = []
    seen: set[str] = set()
    for begin, end, word in word_spans(text):
        if word in STOP_WORDS or word in seen:
            continue
        seen.add(word)
        picked.append(text[begin:end])
        if len(picked) == MAX_INTENT_WORDS:
            break
    label = " ".join(picked)
    return label[:1].upper() + label[1:]


def _intent(request: GenerationRequest) -> _Output:
    return intent_label(last_customer_text(request.transcript)), (), None


def _substantive(transcript: Sequence[dict[str, str]], participants: frozenset[str]) -> list[str]:
    return [
        single_spaced(text)
        for participant, text in _turns(transcript)
        if participant in participants and significant_words(text)
    ]


_AGENT_SIDE: Final = frozenset({"AGENT", "BOT"})


def _notes(request: GenerationRequest) -> _Output:
    turns = _turns(request.transcript)
    if not turns:
        return "", (), None
    customer = _substantive(request.transcript, frozenset({CUSTOMER}))
    agent = _substantive(request.transcript, _AGENT_SIDE)
    issue = customer[0] if customer else "None"
    actions = " ".join(agent[-3:]) if agent else "None"
    last = single_spaced(turns[-1][1])
    next_steps = last if turns[-1][0] == CUSTOMER and customer and last != customer[0] else "None"
    lines = [("Issue", issue), ("Actions taken", actions), ("Next steps", next_steps)]
    return "\n".join(f"{h}: {cut_at_space(v, SUMMARY_LINE_CHARS)}" for h, v in lines), (), None


def _case_summary(request: GenerationRequest) -> _Output:
    turns = _turns(request.transcript)
    if not turns:
        return "", (), None
    customer = _substantive(request.transcript, frozenset({CUSTOMER}))
    agent = _substantive(request.transcript, _AGENT_SIDE)
    status = "Waiting on the agent" if turns[-1][0] == CUSTOMER else "Waiting on the customer"
    lines = [
        ("Problem", customer[0] if customer else "None"),
        ("Progress", agent[-1] if agent else "None"),
        ("Status", status),
    ]
    return "\n".join(f"{h}: {cut_at_space(v, SUMMARY_LINE_CHARS)}" for h, v in lines), (), None


def _overview(request: GenerationRequest) -> _Output:
    lines = []
    for participant, text in _turns(request.transcript)[-OVERVIEW_TURNS:]:
        spans = sentence_spans(text)
        if not spans:
            continue
        first = single_spaced(text[spans[0][0] : spans[0][1]])
        lines.append(f"- {participant.capitalize()}: {cut_at_space(first, OVERVIEW_LINE_CHARS)}")
    return "\n".join(lines), (), None


# --- tools -----------------------------------------------------------------------------------------


def _tool_names(request: GenerationRequest) -> list[str]:
    return [str(tool.get("name", "")) for tool in request.tools]


def _tool(request: GenerationRequest, name: str) -> dict[str, Any]:
    return next(tool for tool in request.tools if tool.get("name") == name)


def tool_input(tool: dict[str, Any], query: str, message: str) -> dict[str, Any]:
    """A tool's input from its input_schema: `query` and `message` filled, others from their default,
    first enum value, or "" when required (an optional property without either is left out)."""
    schema = tool.get("input_schema") or {}
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    values: dict[str, Any] = {}
    for prop, spec in properties.items():
        spec = spec if isinstance(spec, dict) else {}
        lowered = prop.lower()
        if "query" in lowered:
            values[prop] = query
        elif "message" in lowered:
            values[prop] = message
        elif "default" in spec:
            values[prop] = spec["default"]
        elif spec.get("enum"):
            values[prop] = spec["enum"][0]
        elif prop in required:
            values[prop] = ""
    return values


def tool_use_id(request: GenerationRequest, name: str, arguments: dict[str, Any]) -> str:
    """A deterministic id: the same request and choice give the same id."""
    key = compact_json([request.prompt_type, name, arguments, list(request.transcript), request.messages])
    return "tooluse_" + hashlib.sha256(key.encode()).hexdigest()[:24]


def _use(request: GenerationRequest, name: str, query: str, message: str) -> dict[str, Any]:
    arguments = tool_input(_tool(request, name), query, message)
    return {"toolUseId": tool_use_id(request, name, arguments), "name": name, "input": arguments}


def _turn_text(request: GenerationRequest) -> str:
    """The turn to classify: the last CUSTOMER turn; without one, the query; else the last user message."""
    if any(t.get("participant") == CUSTOMER for t in request.transcript):
        return last_customer_text(request.transcript)
    if request.query.strip():
        return single_spaced(request.query)
    users = [m.get("content", "") for m in request.messages if m.get("role") == "user"]
    return single_spaced(users[-1]) if users else ""


def _search_query(request: GenerationRequest, turn: str) -> str:
    return reformulate(request.transcript) or turn


def _self_service(request: GenerationRequest) -> _Output:
    turn = _turn_text(request)
    category = classify(turn).category
    names = _tool_names(request)
    if not names:
        return category, (), None
    if category not in names:
        category = QUESTION if QUESTION in names else names[0]
    message = MESSAGES.get(category, MESSAGES[QUESTION])
    return None, (), _use(request, category, _search_query(request, turn), message)


def _normal(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


RETRIEVAL_HINTS: Final = ("retrieve", "retrieval", "search", "knowledge", "question", "lookup")
ESCALATION_HINTS: Final = ("escalat", "handoff", "transfer", "human")
COMPLETE_HINTS: Final = ("complete", "endconversation", "goodbye")


def _find_tool(names: Sequence[str], hints: Sequence[str]) -> str | None:
    return next((n for n in names if any(h in _normal(n) for h in hints)), None)


def _orchestration(request: GenerationRequest) -> _Output:
    turn = _turn_text(request)
    category = classify(turn).category
    names = _tool_names(request)
    for wanted, hints in ((ESCALATION, ESCALATION_HINTS), (COMPLETE, COMPLETE_HINTS)):
        if category == wanted:
            found = _find_tool(names, hints)
            if found is not None:
                return None, (), _use(request, found, _search_query(request, turn), MESSAGES[wanted])
            return MESSAGES[wanted], (), None
    if request.passages or request.retrieved:
        text, citations = answer(request.query.strip() or _search_query(request, turn), request.passages)
        return text, citations, None
    if category == QUESTION:
        found = _find_tool(names, RETRIEVAL_HINTS)
        if found is None:
            return NO_ANSWER, (), None
        query = _search_query(request, turn)
        use = _use(request, found, query, MESSAGES[QUESTION])
        if not use["input"]:
            use["input"] = {"query": query}
        return None, (), use
    return MESSAGES[category], (), None


_HANDLERS: Final = {
    **{prompt_type: _answer for prompt_type in ANSWER_TYPES},
    "QUERY_REFORMULATION": _reformulation,
    "EMAIL_QUERY_REFORMULATION": _reformulation,
    "INTENT_LABELING_GENERATION": _intent,
    "SELF_SERVICE_PRE_PROCESSING": _self_service,
    "ORCHESTRATION": _orchestration,
    "NOTE_TAKING": _notes,
    "CASE_SUMMARIZATION": _case_summary,
    "EMAIL_OVERVIEW": _overview,
}
