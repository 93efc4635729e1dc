"""Retrieval over an assistant's knowledge bases: QueryAssistant and Retrieve, and the search that
recommendations run.

One pipeline (docs/behaviour.md, "Retrieval"): the query's significant words and their
inflections (`engine.retrieval`) go to the passage index (`store.passages`) for up to
`CANDIDATES` passages of the knowledge bases searched, optionally only of the contents a
metadata filter or a session's tag filter lets through; the candidates are ranked again by the
engine's relevance, which depends only on the passage and the query (the same on SQLite and
PostgreSQL); passages of contents being deleted are dropped. QueryAssistant keeps each
content's best passage (results are documents); Retrieve returns passages.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from qconnect_local.engine import retrieval as engine
from qconnect_local.protocol.errors import ServiceError, not_found, validation_error
from qconnect_local.service import assistant_associations, assistants, knowledge_bases, resources, sessions
from qconnect_local.service.context import Call
from qconnect_local.service.families import CONTENT, KNOWLEDGE_BASE, QUERY_RESULT
from qconnect_local.service.pagination import decode_token, encode_token, page_size
from qconnect_local.service.registry import operation
from qconnect_local.spec import service_model
from qconnect_local.store import Connection
from qconnect_local.store import retrieval as retrieval_store
from qconnect_local.store import tags as tag_store
from qconnect_local.store.passages import PassageHit, PassageQuery, highlights, search_passages

CANDIDATES: Final = 100  # passages read from the index before ranking them again
RETRIEVABLE: Final = frozenset({"ACTIVE", "UPDATE_IN_PROGRESS"})  # content statuses that are found
KNOWLEDGE_CONTENT: Final = "KNOWLEDGE_CONTENT"
DEFAULT_NUMBER_OF_RESULTS: Final = 5  # Retrieve without numberOfResults (as Bedrock's default)
MAX_NUMBER_OF_RESULTS: Final = 100
GENERATIVE_ANSWER: Final = "GENERATIVE_ANSWER"
RESULT_RETENTION: Final = timedelta(days=1)  # how long a QueryAssistant result can get feedback
NO_BEDROCK: Final = (
    "No Amazon Bedrock knowledge base is reachable from qconnect-local: "
    "EXTERNAL_BEDROCK_KNOWLEDGE_BASE associations are stored but not searched"
)

ContentFilter = Callable[[Any, Mapping[str, str]], bool]  # (content fields, tags) -> kept


@dataclass(frozen=True, slots=True)
class Found:
    """One passage found: the hit, its relevance, its content, and the text retrieval returns
    (a hierarchical passage's parent, else the passage)."""

    hit: PassageHit
    relevance: float
    content: Any  # (id, knowledge_base_id, title, source_url, status)
    text: str


def search(
    conn: Connection,
    call: Call,
    kb_ids: Sequence[str],
    query: str,
    *,
    keep: ContentFilter | None = None,
) -> list[Found]:
    """The passages of these knowledge bases best matching `query`, best first (module docstring)."""
    terms = engine.query_terms(query)
    if not terms or not kb_ids:
        return []
    content_ids = _kept_contents(conn, call, kb_ids, keep) if keep is not None else None
    passage_query = PassageQuery(
        engine.search_text(terms),
        call.account,
        call.region,
        kb_ids,
        top_k=CANDIDATES,
        content_ids=content_ids,
        highlight=False,  # only the results shown get highlights (`document`)
    )
    ranked = engine.rank(search_passages(conn, passage_query), terms)
    cards = retrieval_store.content_cards(conn, {hit.content_id for hit, _ in ranked})
    ranked = [
        (hit, score)
        for hit, score in ranked
        if getattr(cards.get(hit.content_id), "status", None) in RETRIEVABLE
    ]
    spans = {hit: span for hit, _ in ranked if (span := _parent_span(hit)) is not None}
    parents = retrieval_store.text_spans(conn, set(spans.values()))
    found = []
    for hit, score in ranked:
        text = parents.get(spans[hit], hit.text) if hit in spans else hit.text
        found.append(Found(hit, score, cards[hit.content_id], text))
    return found


def _parent_span(hit: PassageHit) -> retrieval_store.Span | None:
    """Where a hierarchical passage's parent is in its content's text (what retrieval returns)."""
    if hit.parent_start is None or hit.parent_end is None:
        return None
    return hit.content_id, hit.parent_start, hit.parent_end


def _kept_contents(conn: Connection, call: Call, kb_ids: Sequence[str], keep: ContentFilter) -> set[str]:
    kept: set[str] = set()
    for kb_id in kb_ids:
        tags = tag_store.tags_under(conn, resources.arn_for(call, CONTENT, kb_id) + "/")
        for row in retrieval_store.content_fields(conn, call.account, call.region, [kb_id]):
            if keep(row, tags.get(resources.arn_for(call, CONTENT, kb_id, row.id), {})):
                kept.add(row.id)
    return kept


def tag_filter_of(session: Any | None) -> ContentFilter | None:
    """The session's `tagFilter` as a content filter (None: the session filters nothing)."""
    tag_filter = session.config.get("tagFilter") if session is not None else None
    if not tag_filter:
        return None
    allowed = engine.tag_predicate(tag_filter)
    return lambda _row, tags: allowed(tags)


def searchable_knowledge_bases(conn: Connection, call: Call, assistant: Any) -> dict[str, str]:
    """The assistant's associated knowledge bases that still exist, oldest association first:
    id -> the referenceType of their contents."""
    types = {}
    for association in assistant_associations.of_assistant(conn, assistant):
        kb_type = _reference_type_of(conn, call, association.knowledge_base_id)
        if kb_type is not None:
            types[association.knowledge_base_id] = kb_type
    return types


def _reference_type_of(conn: Connection, call: Call, kb_id: str | None) -> str | None:
    """The referenceType of a knowledge base's contents; None for none (Bedrock) or one deleted."""
    kb = KNOWLEDGE_BASE.repo.find(conn, call.account, call.region, kb_id) if kb_id is not None else None
    return reference_type(kb) if kb is not None else None


# -- what a result looks like -------------------------------------------------------------------


def reference_type(kb: Any) -> str:
    return "WEB_CRAWLER" if kb.type == "MANAGED" else "KNOWLEDGE_BASE"


def content_reference(call: Call, found: Found, kb_type: str) -> dict[str, Any]:
    content = found.content
    return {
        "knowledgeBaseArn": knowledge_bases.kb_arn(call, content.knowledge_base_id),
        "knowledgeBaseId": content.knowledge_base_id,
        "contentArn": resources.arn_for(call, CONTENT, content.knowledge_base_id, content.id),
        "contentId": content.id,
        "sourceURL": content.source_url,
        "referenceType": kb_type,
    }


def document(call: Call, found: Found, terms: Collection[str], kb_type: str) -> dict[str, Any]:
    """Document: the content's reference, its title and an excerpt, each with the query's words."""
    excerpt, marks = engine.excerpt(found.text, highlights(found.text, terms))
    title = found.content.title
    return {
        "contentReference": content_reference(call, found, kb_type),
        "title": _document_text(title, highlights(title, terms)),
        "excerpt": _document_text(excerpt, marks),
    }


def _document_text(text: str, marks: Sequence[tuple[int, int]]) -> dict[str, Any]:
    return {
        "text": text,
        "highlights": [{"beginOffsetInclusive": begin, "endOffsetExclusive": end} for begin, end in marks],
    }


def content_data(call: Call, found: Found, terms: Collection[str], kb_type: str) -> dict[str, Any]:
    """The members shared by a KNOWLEDGE_CONTENT result and recommendation: document, score, data."""
    doc = document(call, found, terms, kb_type)
    level = engine.relevance_level(found.relevance)
    return {
        "document": doc,
        "relevanceScore": found.relevance,
        "data": {
            "reference": {"contentReference": doc["contentReference"]},
            "details": {
                "contentData": {
                    "textData": {"title": doc["title"], "excerpt": doc["excerpt"]},
                    "rankingData": {"relevanceScore": found.relevance, "relevanceLevel": level},
                }
            },
        },
    }


def highlight_words(query: str) -> frozenset[str]:
    """The folded words whose occurrences a result highlights: the query's terms and inflections."""
    return frozenset(word for term in engine.query_terms(query) for word in engine.variants(term))


def best_per_content(found: Sequence[Found]) -> list[Found]:
    """Each content's best passage, in the order of the first (best) passage of each."""
    seen: set[str] = set()
    best = []
    for item in found:
        if item.content.id not in seen:
            seen.add(item.content.id)
            best.append(item)
    return best


# -- QueryAssistant ---------------------------------------------------------------------------


def _query_text(params: dict[str, Any]) -> str:
    """`queryText` or `queryInputData.queryTextInputData.text`: exactly one of the two members."""
    given = [member for member in ("queryText", "queryInputData") if member in params]
    if len(given) != 1:
        raise validation_error("Exactly one of queryText and queryInputData is required")
    if "queryText" in params:
        return str(params["queryText"])
    data = params["queryInputData"]
    if "intentInputData" in data:
        intent = data["intentInputData"]["intentId"]
        raise not_found(f"Intent not found: {intent} (no intent was detected in this assistant)", intent)
    if "caseSummarizationInputData" in data:
        raise validation_error(
            "caseSummarizationInputData needs an Amazon Connect Cases domain; qconnect-local has none"
        )
    return str(data["queryTextInputData"]["text"])


def _wanted_types(params: dict[str, Any]) -> set[str] | None:
    """The result types `queryCondition` allows (None: every type)."""
    conditions = params.get("queryCondition") or []
    if not conditions:
        return None
    allowed = set(service_model().shape_for("QueryResultType").enum)
    wanted: set[str] = set()
    for condition in conditions:
        value = condition["single"]["value"]
        if value not in allowed:
            raise validation_error(f"queryCondition value must be one of {sorted(allowed)}, not {value}")
        wanted.add(value)
    return wanted


def _page_scope(call: Call, assistant: Any, params: dict[str, Any]) -> str:
    """What a QueryAssistant token is bound to: the assistant and everything but the paging."""
    asked = {k: v for k, v in params.items() if k not in ("nextToken", "maxResults")}
    digest = hashlib.sha256(json.dumps(asked, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return f"{call.operation}|{call.account}|{call.region}|{assistant.id}|{digest}"


@operation("QueryAssistant")
def query_assistant(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    text = _query_text(params)
    wanted = _wanted_types(params)
    generative = None
    if wanted is not None and GENERATIVE_ANSWER in wanted and "nextToken" not in params:
        from qconnect_local.service import generative_answers  # it builds on this module

        # Produced before the write below, which holds the store's write lock: a model may be slow.
        with call.runtime.store.read() as conn:
            assistant = assistants.load(conn, call, params["assistantId"])
            session = (
                sessions.load(conn, call, assistant, params["sessionId"]) if "sessionId" in params else None
            )
        generative = generative_answers.answer(call, assistant, session, text)
    with call.runtime.store.write() as conn:
        assistant = assistants.load(conn, call, params["assistantId"])
        session = sessions.load(conn, call, assistant, params["sessionId"]) if "sessionId" in params else None
        scope = _page_scope(call, assistant, params)
        start = decode_token(call, params["nextToken"], scope) if "nextToken" in params else 0
        found: list[Found] = []
        types = searchable_knowledge_bases(conn, call, assistant)
        if wanted is None or KNOWLEDGE_CONTENT in wanted:
            found = best_per_content(search(conn, call, list(types), text, keep=tag_filter_of(session)))
        size = page_size(call, params)
        page = found[start : start + size]
        terms = highlight_words(text)
        results = []
        now = call.now()
        _forget_old_results(conn, assistant, now)
        result_ids = [str(uuid.uuid4()) for _ in page]
        remembered = result_ids + ([generative["resultId"]] if generative is not None else [])
        if generative is not None:
            results.append(generative)
        owner = {"account": call.account, "region": call.region, "assistant_id": assistant.id}
        QUERY_RESULT.repo.insert_many(conn, [{"id": rid, **owner, "created_at": now} for rid in remembered])
        for result_id, item in zip(result_ids, page, strict=True):
            data = content_data(call, item, terms, types[item.content.knowledge_base_id])
            results.append({"resultId": result_id, "type": KNOWLEDGE_CONTENT, **data})
    more = start + size < len(found)
    return {"results": results, "nextToken": encode_token(call, start + size, scope) if more else None}


def _forget_old_results(conn: Connection, assistant: Any, now: Any) -> None:
    QUERY_RESULT.repo.delete_before(conn, "assistant_id", assistant.id, "created_at", now - RESULT_RETENTION)


# -- Retrieve -----------------------------------------------------------------------------------


def _metadata_filter(configuration: dict[str, Any]) -> ContentFilter | None:
    spec = configuration.get("filter")
    if spec is None:
        return None
    try:
        allowed = engine.metadata_predicate(spec)
    except engine.FilterError as error:
        raise validation_error(f"Invalid retrievalConfiguration: {error}") from None
    return lambda row, _tags: allowed(row.metadata)


def _number_of_results(configuration: dict[str, Any]) -> int:
    number = configuration.get("numberOfResults", DEFAULT_NUMBER_OF_RESULTS)
    if not 1 <= number <= MAX_NUMBER_OF_RESULTS:
        raise validation_error(f"numberOfResults must be between 1 and {MAX_NUMBER_OF_RESULTS}, not {number}")
    return int(number)


def _retrieve_error(association_id: str, code: str, message: str) -> dict[str, Any]:
    return {"associationId": association_id, "code": code, "message": message[:1024]}


@operation("Retrieve")
def retrieve(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    configuration = params["retrievalConfiguration"]
    keep = _metadata_filter(configuration)
    number = _number_of_results(configuration)
    errors: list[dict[str, Any]] = []
    searched: dict[str, str] = {}  # knowledge base id -> association id
    types: dict[str, str] = {}  # knowledge base id -> referenceType
    with call.runtime.store.read() as conn:
        assistant = assistants.load(conn, call, params["assistantId"])
        for given in configuration["knowledgeSource"]["assistantAssociationIds"]:
            try:
                association = assistant_associations.load(conn, call, assistant, given)
            except ServiceError:
                message = f"Assistant association not found: {given}"
                errors.append(_retrieve_error(resources.named_id(given), "RESOURCE_NOT_FOUND", message))
                continue
            kb_id = association.knowledge_base_id
            kb_type = _reference_type_of(conn, call, kb_id)
            if kb_id is None:
                errors.append(_retrieve_error(association.id, "DEPENDENCY_FAILED", NO_BEDROCK))
            elif kb_type is None:
                message = f"Knowledge base {kb_id} of this association no longer exists"
                errors.append(_retrieve_error(association.id, "RESOURCE_NOT_FOUND", message))
            else:
                searched.setdefault(kb_id, association.id)
                types[kb_id] = kb_type
        found = search(conn, call, list(searched), params["retrievalQuery"], keep=keep)[:number]
    results = [
        {
            "associationId": searched[item.content.knowledge_base_id],
            "sourceId": item.content.source_url or item.content.id,
            "referenceType": types[item.content.knowledge_base_id],
            "contentText": item.text,
        }
        for item in found
    ]
    return {"results": results, "errors": errors or None}
