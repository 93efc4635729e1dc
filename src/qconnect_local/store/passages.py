"""The passage index: full-text retrieval over the passages of documents, ranked BM25-style.

The ingestion worker cuts each content's extracted text into passages (`replace_passages`);
QueryAssistant, Retrieve, recommendations and answer generation rank over them with
`search_passages`, which returns each passage with the offsets of the query's words in it.

Storage: the `passages` table (store.schema) plus its full-text index `passages_fts`, which
`install` creates for the connection's dialect, kept in step by triggers so that every write
path (`Store.reset` included) updates it in the same transaction:

- SQLite: an FTS5 external-content table over `passages.text`, keyed by `passages.seq`.
- PostgreSQL: a table of each passage's words as a stored `tsvector` (`PG_VECTOR`), keyed by
  `passages.seq` (deleted with the passage), with a GIN index `ix_passages_text`. Ranking reads
  the stored vectors: computing them again for each match (a GIN index on the expression alone)
  costs about 50 µs per passage, seconds for a query whose words are in 40,000 passages. The
  words are those of `to_tsvector('simple', ...)` of the text folded by `qconnect_fold` (lower
  case, accents removed; migration 0003), with ASCII punctuation turned into spaces first:
  PostgreSQL's parser would otherwise keep `example.com`, `3.14`, `v1.2` or `a@b.com` whole,
  which `example` or `14` then finds on SQLite but not on PostgreSQL.

Query semantics (`search_passages`):

- The query's words are `search.words(text)`: runs of letters and digits, without case or
  diacritics. A query without words returns [] (so do an empty `knowledge_base_ids` or an
  empty, not None, `content_ids`). No stop words, no stemming, no prefixes: `refund` does not
  find `refunds`. A script written without spaces (Chinese, Japanese, Thai) is one word per
  run, so only the whole run matches.
- A passage matches when it contains ANY query word (OR), and only passages of the query's
  account, region and knowledge bases (and contents, when `content_ids` is given) are found;
  at most `top_k` (>= 1) are returned.
- Folding: besides its words() form each query word is also searched as written, folded by the
  index's own rule, because the indexes keep a few letters words() folds: SQLite's FTS5 keeps
  non-Latin diacritics (Greek tonos, Cyrillic й), ß, ligatures and full-width letters as
  written; PostgreSQL's unaccent keeps й. So a query word written as in the passage always
  finds it; `strasse` finds `Straße` on PostgreSQL only.
- Ranking, higher `score` first, then content_id and position (so equal scores come out in a
  stable order):
  - SQLite: BM25 (FTS5 `bm25()`, k1 = 1.2, b = 0.75), negated so that higher is better. Its
    statistics (passage count, average length, how many passages have a word) are over the
    whole index, every account and knowledge base: a score is comparable within one result
    list, not across stores.
  - PostgreSQL: `ts_rank(vector, query, 1 | 32)`. Each query word in the passage adds
    0.1 * (1 + 1/4 + 1/9 + ..., one term per occurrence) / 1.645, so repeats count less and less
    (as BM25's k1 makes them); the sum is divided by the number of query words, then by
    log2(1 + the passage's length in words) (normalisation 1), and scaled into [0, 1) as
    rank / (rank + 1) (normalisation 32). No corpus statistics: a rare word weighs what a
    common one does. (ts_rank_cd, cover density, costs three times as much per match and
    counts a word's repeats in full.)
  On both, a passage with a query word twice outranks one of the same length with it once,
  and of two passages with it once the shorter ranks first.
- Highlights: (begin, end) offsets into the hit's `text` of every occurrence of a query word,
  computed in Python from the text with words() folding (so "Café" is found by "CAFE" and its
  offsets cover the original characters, a decomposed accent included), sorted.
- Performance: the candidates come from the full-text index, never from a scan of the
  passages, and a query costs in proportion to the passages that contain any of its words
  (with no stop words, a common word is in most). On SQLite the matches, in every knowledge
  base, drive the join to `passages` (CROSS JOIN), so the knowledge-base filter is checked once
  per match instead of the match being run once per passage of the knowledge base. On
  PostgreSQL the index's matches are narrowed to the knowledge bases as they are read (the id
  is stored next to the vector) and ranked before anything else is joined.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from sqlalchemy import Connection, text

from qconnect_local.store import schema
from qconnect_local.store.bulk import BulkInsert
from qconnect_local.store.search import ASCII_WORD, WORD, words

FTS: Final = "passages_fts"
PG_INDEX: Final = "ix_passages_text"

SQLITE_DDL: Final[tuple[str, ...]] = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(text, content='passages', "
    "content_rowid='seq', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS passages_fts_insert AFTER INSERT ON passages BEGIN "
    "INSERT INTO passages_fts(rowid, text) VALUES (new.seq, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS passages_fts_delete AFTER DELETE ON passages BEGIN "
    "INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.seq, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS passages_fts_update AFTER UPDATE OF text ON passages BEGIN "
    "INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.seq, old.text); "
    "INSERT INTO passages_fts(rowid, text) VALUES (new.seq, new.text); END",
)

# What PostgreSQL indexes of a passage. The pattern is the 32 ASCII punctuation characters
# (! to /, : to @, [ to `, { to ~); regexp_replace is 50 times faster than translate() here.
PG_VECTOR: Final = "to_tsvector('simple', regexp_replace(qconnect_fold(text), '[!-/:-@[-`{-~]+', ' ', 'g'))"
POSTGRESQL_DDL: Final[tuple[str, ...]] = (
    # The knowledge base is copied so that the index's matches are narrowed to it on the spot.
    "CREATE TABLE IF NOT EXISTS passages_fts ("
    "seq bigint PRIMARY KEY REFERENCES passages (seq) ON DELETE CASCADE, "
    "knowledge_base_id varchar(36) NOT NULL, vector tsvector NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_passages_text ON passages_fts USING gin (vector)",
    # One statement per batch (COPY included) through the transition table, not one per row.
    "CREATE OR REPLACE FUNCTION passages_fts_index() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"INSERT INTO passages_fts (seq, knowledge_base_id, vector) SELECT seq, knowledge_base_id, {PG_VECTOR} "
    "FROM changed_passages ON CONFLICT (seq) DO UPDATE "
    "SET knowledge_base_id = excluded.knowledge_base_id, vector = excluded.vector; "
    "RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS passages_fts_insert ON passages",
    "CREATE TRIGGER passages_fts_insert AFTER INSERT ON passages REFERENCING NEW TABLE AS changed_passages "
    "FOR EACH STATEMENT EXECUTE FUNCTION passages_fts_index()",
    "DROP TRIGGER IF EXISTS passages_fts_update ON passages",
    "CREATE TRIGGER passages_fts_update AFTER UPDATE ON passages REFERENCING NEW TABLE AS changed_passages "
    "FOR EACH STATEMENT EXECUTE FUNCTION passages_fts_index()",
)


@dataclass(frozen=True, slots=True)
class PassageRow:
    """One passage as the ingestion worker stores it: offsets into the content's extracted text."""

    position: int
    start: int
    end: int
    text: str
    parent_start: int | None = None
    parent_end: int | None = None


@dataclass(frozen=True, slots=True)
class PassageQuery:
    """What to look for (`text`, split into words) and where: one account, region and its
    knowledge bases, optionally only some of their contents."""

    text: str
    account: str
    region: str
    knowledge_base_ids: Sequence[str]
    top_k: int = 10
    # Restrict to these contents (the service computes them from tag and metadata filters).
    content_ids: Collection[str] | None = None
    # Compute each hit's highlights (False: () for all; a caller that ranks many hits and shows
    # a few computes them for those).
    highlight: bool = True


@dataclass(frozen=True, slots=True)
class PassageHit:
    """One passage found, with its relevance and where the query's words are in it."""

    knowledge_base_id: str
    content_id: str
    position: int
    start: int  # the passage's offsets in the content's extracted text
    end: int
    parent_start: int | None
    parent_end: int | None
    text: str
    score: float  # higher is better
    highlights: tuple[tuple[int, int], ...]  # (begin, end) offsets into `text` of the query's words


def install(conn: Connection) -> None:
    """Create the passage index for `conn`'s dialect; harmless when it exists.

    A new index is built from the passages already there. PostgreSQL needs `qconnect_fold`
    (migration 0003).
    """
    dialect = conn.dialect.name
    if dialect == "sqlite":
        is_new = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = ?", (FTS,)).first() is None
        for statement in SQLITE_DDL:
            conn.exec_driver_sql(statement)
        if is_new:
            conn.exec_driver_sql(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")
    elif dialect == "postgresql":
        is_new = conn.exec_driver_sql(f"SELECT to_regclass('{FTS}')").scalar() is None
        for statement in POSTGRESQL_DDL:
            conn.exec_driver_sql(statement)
        if is_new:
            conn.exec_driver_sql(
                f"INSERT INTO {FTS} (seq, knowledge_base_id, vector) "
                f"SELECT seq, knowledge_base_id, {PG_VECTOR} FROM passages"
            )
    else:
        raise NotImplementedError(f"no passage index for {dialect}")


_insert = BulkInsert(
    schema.passages,
    (
        "account",
        "region",
        "knowledge_base_id",
        "content_id",
        "position",
        "start_offset",
        "end_offset",
        "parent_start",
        "parent_end",
        "text",
    ),
)


def replace_passages(
    conn: Connection,
    *,
    account: str,
    region: str,
    knowledge_base_id: str,
    content_id: str,
    passages: Iterable[PassageRow],
) -> None:
    """Make `passages` the content's only passages (its earlier ones are no longer found)."""
    delete_content_passages(conn, (content_id,))
    scope = {
        "account": account,
        "region": region,
        "knowledge_base_id": knowledge_base_id,
        "content_id": content_id,
    }
    _insert.run(
        conn,
        [
            {
                **scope,
                "position": p.position,
                "start_offset": p.start,
                "end_offset": p.end,
                "parent_start": p.parent_start,
                "parent_end": p.parent_end,
                "text": p.text,
            }
            for p in passages
        ],
    )


def delete_content_passages(conn: Connection, content_ids: Collection[str]) -> None:
    if content_ids:
        conn.execute(
            text(f"DELETE FROM passages WHERE content_id {_member(conn.dialect.name, 'ids')}"),
            {"ids": _list_param(conn, content_ids)},
        )


def search_passages(conn: Connection, query: PassageQuery) -> list[PassageHit]:
    """The best `query.top_k` passages containing any of the query's words (module docstring)."""
    if query.top_k < 1:
        raise ValueError(f"top_k must be at least 1, not {query.top_k}")
    terms = list(dict.fromkeys(words(query.text)))
    if not terms or not query.knowledge_base_ids or (query.content_ids is not None and not query.content_ids):
        return []
    dialect = conn.dialect.name
    params: dict[str, Any] = {
        "account": query.account,
        "region": query.region,
        "kbs": _list_param(conn, query.knowledge_base_ids),
        "top_k": query.top_k,
    }
    contents = ""
    if query.content_ids is not None:
        contents = f" AND p.content_id {_member(dialect, 'contents')}"
        params["contents"] = _list_param(conn, query.content_ids)
    if dialect == "sqlite":
        params["match"] = " OR ".join(f'"{t}"' for t in terms + _as_written_for_fts(query.text, terms))
        sql = _SQLITE_SEARCH + contents + _SQLITE_ORDER
    else:
        # The words as written, not the punctuation (nor a NUL, which PostgreSQL's text refuses).
        params["query"] = " ".join([*terms, *WORD.findall(query.text)])
        sql = _PG_SEARCH + contents + _PG_ORDER
    wanted = frozenset(terms)
    return [
        PassageHit(
            knowledge_base_id=row.knowledge_base_id,
            content_id=row.content_id,
            position=row.position,
            start=row.start_offset,
            end=row.end_offset,
            parent_start=row.parent_start,
            parent_end=row.parent_end,
            text=row.text,
            score=float(row.score),
            highlights=highlights(row.text, wanted) if query.highlight else (),
        )
        for row in conn.execute(text(sql), params)
    ]


_COLUMNS = (
    "p.knowledge_base_id, p.content_id, p.position, p.start_offset, p.end_offset, "
    "p.parent_start, p.parent_end, p.text"
)
# The FTS5 matches drive the join (CROSS JOIN keeps SQLite from walking a knowledge base's
# passages and running the match once per passage instead); bm25() is lower-is-better. Words
# are letters and digits only (see words()), so quoting them makes them plain FTS5 terms.
_SQLITE_SEARCH: Final = (
    f"SELECT {_COLUMNS}, -m.bm25_rank AS score "
    f"FROM (SELECT rowid AS seq, bm25({FTS}) AS bm25_rank FROM {FTS} WHERE {FTS} MATCH :match) AS m "
    "CROSS JOIN passages AS p ON p.seq = m.seq "
    "WHERE p.account = :account AND p.region = :region "
    "AND p.knowledge_base_id IN (SELECT value FROM json_each(:kbs))"
)
_SQLITE_ORDER: Final = " ORDER BY m.bm25_rank, p.content_id, p.position, p.seq LIMIT :top_k"
# The query's words and its words as written, folded and split as passages are, each once (the
# lexemes of a tsvector, its text without positions), as an OR query. Lexemes hold no ASCII
# punctuation, so the text needs no escaping.
_PG_QUERY: Final = (
    "CAST(replace(regexp_replace(CAST(to_tsvector('simple', "
    "regexp_replace(qconnect_fold(:query), '[!-/:-@[-`{-~]+', ' ', 'g')) AS text), "
    "':[0-9,]+', '', 'g'), ''' ''', ''' | ''') AS tsquery)"
)
# Two steps, each on its own (MATERIALIZED), so that the plan is the same whatever the words,
# and as good when psycopg has prepared the statement (after five runs; PostgreSQL then plans
# once for any parameters): the query is computed once, not once per passage; then the index's
# matches in the knowledge bases are ranked, and only those joined. Left free, the planner may
# read every stored vector in rank order until enough pass the filter, or every passage of a
# large knowledge base: tens or hundreds of milliseconds where the index takes one or two.
_PG_SEARCH: Final = (
    f"WITH q AS MATERIALIZED (SELECT {_PG_QUERY} AS query), "
    "matched AS MATERIALIZED (SELECT f.seq, ts_rank(f.vector, q.query, 1 | 32) AS score "
    "FROM q, passages_fts AS f "
    "WHERE f.vector @@ q.query AND f.knowledge_base_id = ANY(CAST(:kbs AS text[]))) "
    f"SELECT {_COLUMNS}, m.score FROM matched AS m JOIN passages AS p ON p.seq = m.seq "
    "WHERE p.account = :account AND p.region = :region"
)
_PG_ORDER: Final = ' ORDER BY m.score DESC, p.content_id COLLATE "C", p.position, p.seq LIMIT :top_k'


def _member(dialect: str, name: str) -> str:
    """A test that a value is in the list parameter `name`: one parameter for any length,
    unlike IN (...), which needs one per value and has a limit."""
    if dialect == "sqlite":
        return f"IN (SELECT value FROM json_each(:{name}))"
    return f"= ANY(CAST(:{name} AS text[]))"


def _list_param(conn: Connection, values: Collection[str]) -> Any:
    return json.dumps(list(values)) if conn.dialect.name == "sqlite" else list(values)


def _fts_fold(word: str) -> str:
    """How FTS5's unicode61 tokenizer (remove_diacritics 2) folds a word, closely enough to tell
    whether it differs from words(): simple case folding, Latin diacritics removed."""
    folded = []
    for ch in word:
        lowered = ch.casefold()
        if len(lowered) != 1:  # a full folding (ß -> ss): FTS5 only folds one to one
            lowered = ch.lower()
        decomposed = unicodedata.normalize("NFD", lowered)
        base, marks = decomposed[0], decomposed[1:]
        folded.append(base if base.isascii() and all(unicodedata.combining(m) for m in marks) else lowered)
    return "".join(folded)


def _as_written_for_fts(query: str, terms: Sequence[str]) -> list[str]:
    """The query's words as written that FTS5 folds otherwise than words(), for it to fold itself
    (the others would count twice in bm25())."""
    known = set(terms)
    found = (w for w in WORD.findall(query) if _fts_fold(w) not in known)
    return list(dict.fromkeys(found))


# --- highlights -------------------------------------------------------------------------------


def _fold_char(ch: str) -> str:
    """One character as words() folds text that is not all ASCII (casefold, NFKD, no marks)."""
    decomposed = unicodedata.normalize("NFKD", ch.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()  # as words() does


def word_spans(value: str) -> list[tuple[int, int, str]]:
    """(begin, end, word) of each word of `value`: the words are exactly `words(value)`, the
    offsets those of the original characters (folding can change a text's length: ß -> ss)."""
    lowered = value.lower()
    if lowered.isascii() and len(lowered) == len(value):  # words() folds this by lower() alone
        return [(m.start(), m.end(), m.group()) for m in ASCII_WORD.finditer(lowered)]
    pieces = [_fold_char(ch) for ch in value]
    origin = [index for index, piece in enumerate(pieces) for _ in piece]
    spans = []
    for m in WORD.finditer("".join(pieces)):
        end = origin[m.end() - 1] + 1
        while end < len(value) and not pieces[end]:  # the accents that follow the last letter
            end += 1
        spans.append((origin[m.start()], end, m.group()))
    return spans


def highlights(value: str, terms: Collection[str]) -> tuple[tuple[int, int], ...]:
    """(begin, end) offsets into `value` of every word that is one of `terms` (folded words)."""
    lowered = value.lower()
    if lowered.isascii() and len(lowered) == len(value):
        # The usual case in one pass of the regex engine, several times faster than word_spans:
        # in ASCII text a word is a run of [a-z0-9], and only ASCII terms can occur.
        pattern = _ascii_terms_pattern(terms if isinstance(terms, frozenset) else frozenset(terms))
        return tuple(m.span() for m in pattern.finditer(lowered)) if pattern is not None else ()
    return tuple(sorted({(begin, end) for begin, end, word in word_spans(value) if word in terms}))


@lru_cache(maxsize=256)
def _ascii_terms_pattern(terms: frozenset[str]) -> re.Pattern[str] | None:
    """The whole-word pattern of the ASCII `terms`, made once per query rather than per passage."""
    wanted = "|".join(sorted(re.escape(t) for t in terms if t.isascii()))
    return re.compile(f"(?<![a-z0-9])(?:{wanted})(?![a-z0-9])") if wanted else None


def passages_of(conn: Connection, content_id: str) -> list[PassageRow]:
    """A content's passages in order, as the index holds them (for inspection, not retrieval)."""
    rows = conn.execute(
        text(
            "SELECT position, start_offset, end_offset, text, parent_start, parent_end FROM passages "
            "WHERE content_id = :content ORDER BY position"
        ),
        {"content": content_id},
    )
    return [
        PassageRow(r.position, r.start_offset, r.end_offset, r.text, r.parent_start, r.parent_end)
        for r in rows
    ]
