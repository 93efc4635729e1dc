"""Full-text matching for SearchQuickResponses, behind one small interface: `TextIndex`.

`index_for(conn)` picks the implementation for the connection's dialect:

- SQLite: `FtsIndex`, an FTS5 external-content table `quick_responses_fts` over the columns
  name, content, description and shortcut_key, keyed by `quick_responses.seq`, plus a
  vocabulary table for typo tolerance, both kept in step in the writing transaction. Inserts
  are indexed in batches by `rows_inserted` (one INSERT ... SELECT per batch, called by
  `store.quick_responses.insert`, the one insert path: CreateQuickResponse and the import
  worker alike); there is no insert trigger (the one older stores had is dropped by migration
  0001 and by `install_sqlite_index`). Deletes (DeleteQuickResponse, a knowledge base's
  deletion, Store.reset) and updates of the indexed columns are followed by the triggers
  `quick_responses_fts_delete` and `quick_responses_fts_update`. Index, vocabulary and
  triggers are created by the store's first migration (or, for a new store, by
  `install_sqlite_index`), which builds an index missing from an older database from its
  rows. A search reads only the rows that match its words, so its cost grows with the
  matches (BM25 is computed for each), not with the table: `bench/bench_search.py` measures
  it over 100,000 rows. A search in relevance order asks the index itself for its best rows
  (`FtsIndex.top`: BM25 and the limit in the one index query), so only those are joined to
  their rows. The vocabulary is only ever added to: a word no longer in any row
  costs a fuzzy lookup a spelling that matches nothing, never a wrong result.
- PostgreSQL: `PgIndex`, the database's own full-text search: a GIN index per column on
  `to_tsvector('simple', qconnect_fold(column))` (`qconnect_fold`: lower case, accents
  removed by the `unaccent` extension), queried with `to_tsquery` (`:*` for a prefix) and
  ranked with `ts_rank`; typo tolerance uses the same vocabulary table as SQLite. Created by
  migration 0003 (`install_postgresql_index`). PostgreSQL's parser splits text into words
  nearly as the rules below do (it keeps e.g. an e-mail address whole as well).
- Any other dialect: `ScanIndex`, portable LIKE predicates with no index (substring matching,
  no typo tolerance): correct enough to run, slow at scale.

Matching rules (what `FtsIndex` implements):

- Text is split into words: runs of letters and digits, compared without case or diacritics.
- A query value matches a field when every word of the value is a word of the field (in any
  order). With `prefix` (CONTAINS_AND_PREFIX) the value's last word may also begin a word
  (`refu` finds `refund`), for search-as-you-type.
- With `fuzzy` (allowFuzziness), a word of 4 to 7 characters also matches words at most 1 edit
  away, and a word of 8 or more characters words at most 2 edits away (an edit inserts,
  deletes or replaces a character, or swaps two adjacent ones). The first letter must be right,
  as with OpenSearch's fuzzy `prefix_length` 1: typos are rarely there, and it keeps the
  lookup small. Words under 4 characters match exactly.
- A query matches when any of its values matches; a quick response is found when any query
  matches. Relevance is BM25 over the matched fields, each field weighted by the highest
  priority among the queries on it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import regex
from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Join,
    and_,
    case,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Boolean

from qconnect_local.store import schema

FTS: Final = "quick_responses_fts"
TERMS: Final = "quick_responses_fts_terms"
COLUMNS: Final = ("name", "content", "description", "shortcut_key")
PG_INDEX_PREFIX: Final = "ix_quick_responses_text_"  # one GIN index per column on PostgreSQL
LIST_SEPARATOR: Final = "\x1f"
MAX_VARIANTS: Final = 32  # fuzzy spellings tried per word, closest first

WORD = regex.compile(r"[\p{L}\p{N}\p{Co}]+")


@dataclass(frozen=True, slots=True)
class TextQuery:
    """One SearchQuickResponses query, in store terms."""

    column: str  # one of COLUMNS
    values: tuple[str, ...]
    prefix: bool
    fuzzy: bool
    weight: float


class TextIndex(Protocol):
    def matching(
        self, conn: Connection, queries: Sequence[TextQuery]
    ) -> tuple[FromClause, ColumnElement[float]] | None:
        """`quick_responses` joined to the rows any query matches, and their relevance (higher: better).

        Select from the first, order by the second. None when no query can match anything
        (every value is without words).
        """

    def add_terms(self, conn: Connection, texts: Iterable[str | None]) -> None:
        """Make the words of `texts` known to typo tolerance (called by every write of rows)."""

    def rows_inserted(self, conn: Connection, after_seq: int, texts: Iterable[str | None]) -> None:
        """Index the rows just inserted (every `seq` above `after_seq`) and their words."""


def words(value: str) -> list[str]:
    """The words of `value`, folded the way the index folds them (case, diacritics)."""
    folded = value.lower()
    if folded.isascii():  # the usual case, about three times faster in the re engine
        return ASCII_WORD.findall(folded)
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    # Lower case again: a compatibility decomposition may give capitals (U+1D63C -> A).
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return WORD.findall(folded)


ASCII_WORD: Final = re.compile("[a-z0-9]+")  # WORD on lower-case ASCII text, in the faster re engine


def words_of(texts: Iterable[str | None]) -> set[str]:
    """The distinct words of all `texts`, as `words` finds them: ASCII texts in one pass over
    them all (a space between two texts is no word's), any other text one by one."""
    found: set[str] = set()
    plain: list[str] = []
    for value in texts:
        if value:
            if value.isascii():
                plain.append(value)
            else:
                found.update(words(value))
    if plain:
        found.update(ASCII_WORD.findall(" ".join(plain).lower()))
    return found


def list_text(values: Sequence[str] | None) -> str | None:
    """A list as one delimited text value, so list filters work as substring tests on any dialect."""
    if not values:
        return None
    return LIST_SEPARATOR + LIST_SEPARATOR.join(values) + LIST_SEPARATOR


class has_substring(FunctionElement[bool]):
    """`needle` occurs in `haystack`, case-sensitively: instr() on SQLite, strpos() elsewhere."""

    type = Boolean()
    inherit_cache = True


@compiles(has_substring)
def _has_substring_default(element: has_substring, compiler: Any, **kw: Any) -> str:
    haystack, needle = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(strpos({haystack}, {needle}) > 0)"


@compiles(has_substring, "sqlite")
def _has_substring_sqlite(element: has_substring, compiler: Any, **kw: Any) -> str:
    haystack, needle = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(instr({haystack}, {needle}) > 0)"


def index_for(conn: Connection) -> TextIndex:
    dialect = conn.dialect.name
    return _FTS if dialect == "sqlite" else _PG if dialect == "postgresql" else _SCAN


# --- SQLite FTS5 ------------------------------------------------------------------------------


def within_edits(a: str, b: str, limit: int) -> bool:
    """`a` becomes `b` in at most `limit` edits (insert, delete, replace, swap two neighbours).

    Strips the common ends and branches on the first difference: at most 4**limit slices, each
    compared in C, which beats a dynamic-programming table in Python for the short words here.
    """
    if abs(len(a) - len(b)) > limit:
        return False
    start = 0
    shortest = min(len(a), len(b))
    while start < shortest and a[start] == b[start]:
        start += 1
    a, b = a[start:], b[start:]
    while a and b and a[-1] == b[-1]:
        a, b = a[:-1], b[:-1]
    if not a or not b:
        return max(len(a), len(b)) <= limit
    if limit == 0:
        return False
    rest = limit - 1
    return (
        within_edits(a[1:], b[1:], rest)
        or within_edits(a[1:], b, rest)
        or within_edits(a, b[1:], rest)
        or (len(a) > 1 and len(b) > 1 and a[0] == b[1] and a[1] == b[0] and within_edits(a[2:], b[2:], rest))
    )


def allowed_edits(word: str) -> int:
    return 2 if len(word) >= 8 else 1 if len(word) >= 4 else 0


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class _DrivenBy(Join):
    """A join SQLite runs left side first (CROSS JOIN): the text matches drive the lookups.

    Without statistics SQLite's planner may otherwise walk every row of the knowledge base and
    run the full-text match once per row, which is thousands of times slower.
    """

    inherit_cache = True


@compiles(_DrivenBy, "sqlite")
def _driven_by_sqlite(join: _DrivenBy, compiler: Any, **kw: Any) -> str:
    # "<left> JOIN <right> ON <on>"; the right side is a table and the ON clause an equality.
    left, _, rest = compiler.visit_join(join, **kw).rpartition(" JOIN ")
    return f"{left} CROSS JOIN {rest}"


class FtsIndex:
    _fts = table(FTS, column("rowid"))

    # The index ranks by itself (`top`): SearchQuickResponses asks it for the best rows first.
    ranks_itself: bool = True

    def _expression(self, conn: Connection, queries: Sequence[TextQuery]) -> tuple[str, list[float]] | None:
        """The MATCH expression of `queries` and BM25's column weights; None if nothing can match."""
        weights = dict.fromkeys(COLUMNS, 0.0)
        clauses: list[str] = []
        for query in queries:
            values = [e for e in (self._value(conn, v, query) for v in query.values) if e is not None]
            if values:
                clauses.append(f"{query.column} : ({' OR '.join(values)})")
                weights[query.column] = max(weights[query.column], query.weight)
        if not clauses:
            return None
        return " OR ".join(clauses), [weights[c] for c in COLUMNS]

    def matching(
        self, conn: Connection, queries: Sequence[TextQuery]
    ) -> tuple[FromClause, ColumnElement[float]] | None:
        found = self._expression(conn, queries)
        if found is None:
            return None
        expression, weights = found
        fts: ColumnElement[Any] = literal_column(FTS)
        score = -func.bm25(fts, *weights)
        matched = (
            select(self._fts.c.rowid.label("seq"), score.label("score"))
            .where(fts.op("MATCH")(expression))
            .subquery("matched")
        )
        qr = schema.quick_responses
        return _DrivenBy(matched, qr, matched.c.seq == qr.c.seq), matched.c.score

    def top(self, conn: Connection, queries: Sequence[TextQuery], count: int) -> list[int] | None:
        """The `seq`s of the `count` most relevant rows any query matches, in every knowledge base
        (and staging area), most relevant first, ties oldest first: the order `matching` gives.
        None when no query can match anything.

        The limit is the index query's own: SQLite keeps the best `count` while BM25 is computed,
        instead of joining every match to its row and sorting them all.
        """
        found = self._expression(conn, queries)
        if found is None:
            return None
        expression, weights = found
        rows = conn.exec_driver_sql(_TOP, (*weights, expression, count))
        return [seq for seq, _score in rows]

    # The query language: how a term is written (exactly, or as a prefix) and the operators.
    ANY, ALL = " OR ", " AND "

    @staticmethod
    def _term(term: str, prefix: bool = False) -> str:
        return _quoted(term) + (" *" if prefix else "")

    def _value(self, conn: Connection, value: str, query: TextQuery) -> str | None:
        """One query value in the index's language: every word, in any allowed spelling."""
        terms = words(value)
        if not terms:
            return None
        parts = []
        for position, term in enumerate(terms):
            spellings = [self._term(term)]
            if query.prefix and position == len(terms) - 1:
                spellings.append(self._term(term, prefix=True))
            if query.fuzzy:
                spellings += [self._term(t) for t in self._near(conn, term)]
            parts.append(spellings[0] if len(spellings) == 1 else f"({self.ANY.join(spellings)})")
        return "(" + self.ALL.join(parts) + ")"

    def _near(self, conn: Connection, term: str) -> list[str]:
        limit = allowed_edits(term)
        if not limit:
            return []
        candidates = conn.execute(
            text(
                f"SELECT term FROM {TERMS} WHERE term >= :low AND term < :high "
                "AND length(term) BETWEEN :shortest AND :longest"
            ),
            {
                "low": term[0],
                "high": chr(ord(term[0]) + 1),
                "shortest": len(term) - limit,
                "longest": len(term) + limit,
            },
        ).scalars()
        near = [
            (1 if limit == 1 or within_edits(term, candidate, 1) else 2, candidate)
            for candidate in candidates
            if candidate != term and within_edits(term, candidate, limit)
        ]
        return [t for _, t in sorted(near)[:MAX_VARIANTS]]

    def rows_inserted(self, conn: Connection, after_seq: int, texts: Iterable[str | None]) -> None:
        # One INSERT ... SELECT per batch: FTS5 indexes a batch about five times faster than
        # row by row from an AFTER INSERT trigger (measured: 105,000 vs 20,000 rows/s).
        conn.exec_driver_sql(_INDEX_NEW_ROWS, (after_seq,))
        self.add_terms(conn, texts)

    def add_terms(self, conn: Connection, texts: Iterable[str | None]) -> None:
        found = words_of(texts)
        if found:
            # In order: each insert lands next to the previous one in the vocabulary's B-tree.
            conn.exec_driver_sql(
                f"INSERT OR IGNORE INTO {TERMS}(term) VALUES (?)", [(t,) for t in sorted(found)]
            )


_column_list = ", ".join(COLUMNS)
# BM25 ascending is relevance descending (FTS5's bm25() is the negated score).
_TOP: Final = (
    f"SELECT rowid, bm25({FTS}, ?, ?, ?, ?) AS score FROM {FTS} WHERE {FTS} MATCH ? "
    "ORDER BY score, rowid LIMIT ?"
)
_new_values = ", ".join(f"new.{c}" for c in COLUMNS)
_old_values = ", ".join(f"old.{c}" for c in COLUMNS)
_INDEX_NEW_ROWS: Final = (
    f"INSERT INTO {FTS}(rowid, {_column_list}) SELECT seq, {_column_list} FROM quick_responses WHERE seq > ?"
)
_SQLITE_DDL: Final = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5({_column_list}, content='quick_responses', "
    "content_rowid='seq', tokenize='unicode61 remove_diacritics 2')",
    f"CREATE TABLE IF NOT EXISTS {TERMS} (term TEXT PRIMARY KEY) WITHOUT ROWID",
    # Inserts are indexed in batches by `rows_inserted`; stores made before that had a trigger.
    f"DROP TRIGGER IF EXISTS {FTS}_insert",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_delete AFTER DELETE ON quick_responses BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, {_column_list}) VALUES ('delete', old.seq, {_old_values}); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_update AFTER UPDATE OF {_column_list} ON quick_responses BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, {_column_list}) VALUES ('delete', old.seq, {_old_values}); "
    f"INSERT INTO {FTS}(rowid, {_column_list}) VALUES (new.seq, {_new_values}); END",
)


def install_sqlite_index(conn: Connection) -> None:
    """Create the SQLite index next to the tables; build it from the rows if it is new.

    Run when a brand-new SQLite store is created at the head revision (`store.migrate`);
    revision 0001 holds a frozen copy of this SQL for stores that are migrated instead.
    """
    existed = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = ?", (FTS,)).first()
    for statement in _SQLITE_DDL:
        conn.exec_driver_sql(statement)
    if existed is None:
        conn.exec_driver_sql(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")
        qr = schema.quick_responses
        rows = conn.execute(select(*(qr.c[c] for c in COLUMNS)))
        _FTS.add_terms(conn, (value for row in rows for value in row))


# --- PostgreSQL full-text search -------------------------------------------------------------

_PG_DDL: Final = (
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    # unaccent() itself is only STABLE (its dictionary could change); an index needs IMMUTABLE.
    "CREATE OR REPLACE FUNCTION qconnect_fold(value text) RETURNS text "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE "
    "AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, value)) $$",
    f"CREATE TABLE IF NOT EXISTS {TERMS} (term text PRIMARY KEY)",
    *(
        f"CREATE INDEX IF NOT EXISTS {PG_INDEX_PREFIX}{c} ON quick_responses "
        f"USING gin (to_tsvector('simple', qconnect_fold({c})))"
        for c in COLUMNS
    ),
)


def install_postgresql_index(conn: Connection) -> None:
    """Create PostgreSQL's search index and vocabulary; learn the words of the rows already there."""
    for statement in _PG_DDL:
        conn.exec_driver_sql(statement)
    qr = schema.quick_responses
    rows = conn.execute(select(*(qr.c[c] for c in COLUMNS)))
    _PG.add_terms(conn, (value for row in rows for value in row))


class PgIndex(FtsIndex):
    """Same query rules as FtsIndex (its fuzzy lookup included), answered by PostgreSQL."""

    ANY, ALL = " | ", " & "
    ranks_itself = False

    @staticmethod
    def _term(term: str, prefix: bool = False) -> str:
        # Words are letters and digits only (see `words`): quoting them is enough.
        return f"'{term}'" + (":*" if prefix else "")

    def matching(
        self, conn: Connection, queries: Sequence[TextQuery]
    ) -> tuple[FromClause, ColumnElement[float]] | None:
        matched: list[tuple[ColumnElement[bool], ColumnElement[float]]] = []
        for query in queries:
            values = [e for e in (self._value(conn, v, query) for v in query.values) if e is not None]
            if not values:
                continue
            vector: ColumnElement[Any] = literal_column(
                f"to_tsvector('simple', qconnect_fold(quick_responses.{query.column}))"
            )
            tsquery = func.to_tsquery(literal_column("'simple'"), self.ANY.join(values))
            matched.append((vector.op("@@")(tsquery), func.ts_rank(vector, tsquery) * query.weight))
        return _scored(matched)

    def rows_inserted(self, conn: Connection, after_seq: int, texts: Iterable[str | None]) -> None:
        self.add_terms(conn, texts)  # the GIN indexes follow the table by themselves

    def add_terms(self, conn: Connection, texts: Iterable[str | None]) -> None:
        found = words_of(texts)
        if found:
            conn.execute(
                text(
                    f"INSERT INTO {TERMS} (term) SELECT unnest(CAST(:terms AS text[])) ON CONFLICT DO NOTHING"
                ),
                {"terms": sorted(found)},
            )


# --- any dialect, no index --------------------------------------------------------------------


def _scored(
    matched: Sequence[tuple[ColumnElement[bool], Any]],
) -> tuple[FromClause, ColumnElement[float]] | None:
    """Rows matching any (condition, score) pair, joined back to the table, scored by the sum of
    the scores of the conditions they meet."""
    if not matched:
        return None
    qr = schema.quick_responses
    score = sum((case((condition, rank), else_=0.0) for condition, rank in matched), literal(0.0))
    subquery = (
        select(qr.c.seq.label("seq"), score.label("score"))
        .where(or_(*(condition for condition, _ in matched)))
        .subquery("matched")
    )
    return subquery.join(qr, subquery.c.seq == qr.c.seq), subquery.c.score


class ScanIndex:
    def matching(
        self, conn: Connection, queries: Sequence[TextQuery]
    ) -> tuple[FromClause, ColumnElement[float]] | None:
        qr = schema.quick_responses
        matched: list[tuple[ColumnElement[bool], float]] = []
        for query in queries:
            field = func.lower(qr.c[query.column])
            values = [
                and_(*(field.contains(term, autoescape=True) for term in terms))
                for terms in (words(v) for v in query.values)
                if terms
            ]
            if values:
                matched.append((or_(*values), query.weight))
        return _scored(matched)

    def rows_inserted(self, conn: Connection, after_seq: int, texts: Iterable[str | None]) -> None:
        return None

    def add_terms(self, conn: Connection, texts: Iterable[str | None]) -> None:
        return None


_FTS = FtsIndex()
_PG = PgIndex()
_SCAN = ScanIndex()
