"""The passage index (store.passages) on SQLite and PostgreSQL: matching, ranking, isolation,
replacement, deletion and highlight offsets, as its module docstring states them."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from qconnect_local.service.families import FAMILIES
from qconnect_local.store import Store, schema
from qconnect_local.store import passages as index
from qconnect_local.store.passages import (
    FTS,
    PG_INDEX,
    PassageHit,
    PassageQuery,
    PassageRow,
    delete_content_passages,
    highlights,
    install,
    replace_passages,
    search_passages,
    word_spans,
)
from qconnect_local.store.search import words
from qconnect_local.testing import postgres

ACCOUNT, REGION = "111122223333", "us-east-1"
KB, OTHER_KB = "kb-one", "kb-two"
WIDE_ABC = "\uff21\uff22\uff23"  # full-width ABC
# Passages of an unrelated knowledge base: they keep every test word rare across the whole index,
# as it is in a real store (BM25 gives a word in over half of all passages almost no weight).
FILLER = [f"filler passage number {n} about nothing in particular" for n in range(12)]


@pytest.fixture(scope="module")
def postgres_store() -> Iterator[Store]:
    with postgres.required_database("qconnect_passages") as url:
        store = Store(url)  # migrated: qconnect_fold (0003), perhaps the passages table already
        with store.write() as conn:
            schema.passages.create(conn, checkfirst=True)
            # The index under test is this module's, whatever a migration made of it.
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {PG_INDEX}")
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {FTS}")
            install(conn)
        try:
            yield store
        finally:
            store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "postgresql":
        shared: Store = request.getfixturevalue("postgres_store")
        with shared.write() as conn:
            conn.execute(schema.passages.delete())
        add(shared, "filler", *FILLER, kb="kb-filler")
        yield shared
        return
    store = Store.temporary()
    try:
        with store.write() as conn:
            install(conn)
            install(conn)  # harmless twice
        add(store, "filler", *FILLER, kb="kb-filler")
        yield store
    finally:
        store.close()


def add(
    store: Store, content_id: str, *texts: str, kb: str = KB, account: str = ACCOUNT, region: str = REGION
) -> None:
    """Store `texts` as the content's passages, laid end to end (offsets as the worker keeps them)."""
    rows, offset = [], 0
    for position, value in enumerate(texts):
        rows.append(PassageRow(position, offset, offset + len(value), value))
        offset += len(value) + 1
    with store.write() as conn:
        replace_passages(
            conn, account=account, region=region, knowledge_base_id=kb, content_id=content_id, passages=rows
        )


def search(
    store: Store,
    query: str,
    *,
    kbs: Sequence[str] = (KB,),
    account: str = ACCOUNT,
    region: str = REGION,
    top_k: int = 10,
    content_ids: Collection[str] | None = None,
) -> list[PassageHit]:
    with store.read() as conn:
        return search_passages(conn, PassageQuery(query, account, region, kbs, top_k, content_ids))


def found(hits: list[PassageHit]) -> list[tuple[str, int]]:
    return [(hit.content_id, hit.position) for hit in hits]


def test_short_passage_with_the_word_twice_ranks_above_a_long_one_with_it_once(store: Store) -> None:
    add(store, "long", "the refund arrives after the order is cancelled by the customer on the website today")
    add(store, "short", "refund policy: refund in full")
    add(store, "none", "shipping takes three days")
    hits = search(store, "refund")
    assert found(hits) == [("short", 0), ("long", 0)]
    assert hits[0].score > hits[1].score > 0


def test_of_two_passages_with_the_word_once_the_shorter_ranks_first(store: Store) -> None:
    add(store, "a", "the refund arrives after the order is cancelled by the customer on the website")
    add(store, "b", "your refund arrives soon")
    assert found(search(store, "refund")) == [("b", 0), ("a", 0)]


def test_any_query_word_matches_and_more_of_them_rank_higher(store: Store) -> None:
    add(store, "c1", "apple pie recipe", "banana bread recipe", "apple banana smoothie", "plain toast recipe")
    hits = search(store, "Apple BANANA")
    # Equal scores (same length, equally rare words) come out by content, then position.
    assert found(hits) == [("c1", 2), ("c1", 0), ("c1", 1)]
    assert hits[1].score == hits[2].score


def test_only_the_querys_account_region_and_knowledge_bases_are_searched(store: Store) -> None:
    add(store, "mine", "warranty terms")
    add(store, "other-kb", "warranty terms", kb=OTHER_KB)
    add(store, "other-account", "warranty terms", account="444455556666")
    add(store, "other-region", "warranty terms", region="eu-west-1")
    assert found(search(store, "warranty")) == [("mine", 0)]
    assert found(search(store, "warranty", kbs=[OTHER_KB])) == [("other-kb", 0)]
    assert found(search(store, "warranty", kbs=[KB, OTHER_KB])) == [("mine", 0), ("other-kb", 0)]
    assert found(search(store, "warranty", account="444455556666")) == [("other-account", 0)]
    assert found(search(store, "warranty", region="eu-west-1")) == [("other-region", 0)]
    assert search(store, "warranty", kbs=["kb-missing"]) == []
    assert search(store, "warranty", kbs=[]) == []


def test_content_ids_restrict_the_search(store: Store) -> None:
    for name in ("a", "b", "c"):
        add(store, name, f"warranty for {name}")
    assert found(search(store, "warranty", content_ids={"a", "c"})) == [("a", 0), ("c", 0)]
    assert found(search(store, "warranty", content_ids=["b", "elsewhere"])) == [("b", 0)]
    assert search(store, "warranty", content_ids=()) == []
    # One parameter whatever the list's length (no limit on bound variables).
    many = [f"id-{n}" for n in range(40_000)] + ["b"]
    assert found(search(store, "warranty", content_ids=many)) == [("b", 0)]


def test_top_k_keeps_the_best(store: Store) -> None:
    # Six words each, "warranty" 1 to 5 times: the more, the better.
    add(store, "c", *(" ".join(["warranty"] * n + ["terms"] * (6 - n)) for n in range(1, 6)))
    assert found(search(store, "warranty", top_k=2)) == [("c", 4), ("c", 3)]
    assert len(search(store, "warranty", top_k=100)) == 5
    with pytest.raises(ValueError):
        search(store, "warranty", top_k=0)


def test_replace_passages_replaces_the_contents_passages(store: Store) -> None:
    add(store, "doc", "old wording here", "more old wording")
    add(store, "neighbour", "old wording stays")
    add(store, "doc", "new phrasing")
    assert found(search(store, "old")) == [("neighbour", 0)]
    [hit] = search(store, "phrasing")
    assert (hit.content_id, hit.position, hit.start, hit.end, hit.text) == ("doc", 0, 0, 12, "new phrasing")
    add(store, "doc")  # no passages at all
    assert search(store, "phrasing") == []


def test_passages_keep_their_offsets_and_parents(store: Store) -> None:
    row = PassageRow(
        position=3, start=120, end=150, text="child passage text", parent_start=100, parent_end=400
    )
    with store.write() as conn:
        replace_passages(
            conn, account=ACCOUNT, region=REGION, knowledge_base_id=KB, content_id="doc", passages=[row]
        )
    [hit] = search(store, "child")
    assert (hit.knowledge_base_id, hit.content_id, hit.position) == (KB, "doc", 3)
    assert (hit.start, hit.end, hit.parent_start, hit.parent_end, hit.text) == (120, 150, 100, 400, row.text)


def test_delete_functions(store: Store) -> None:
    add(store, "a", "alpha topic")
    add(store, "b", "alpha topic")
    add(store, "c", "alpha topic")
    add(store, "d", "alpha topic", kb=OTHER_KB)
    with store.write() as conn:
        delete_content_passages(conn, ["a", "c", "not-there"])
        delete_content_passages(conn, [])
    assert found(search(store, "alpha", kbs=[KB, OTHER_KB])) == [("b", 0), ("d", 0)]
    with store.write() as conn:  # what deleting the knowledge base runs (the declared cascade)
        FAMILIES["passage"].repo.delete_under(conn, "knowledge_base_id", KB)
    assert found(search(store, "alpha", kbs=[KB, OTHER_KB])) == [("d", 0)]


def test_highlights_are_exact_offsets_into_the_passage(store: Store) -> None:
    passage = "Café, CAFÉ and cafe\u0301 near the Straße; STRASSE too. Ünïcode ÜNÏCODE"
    add(store, "doc", passage)
    [hit] = search(store, "cafe strasse unicode")
    marked = [hit.text[begin:end] for begin, end in hit.highlights]
    assert marked == ["Café", "CAFÉ", "cafe\u0301", "Straße", "STRASSE", "Ünïcode", "ÜNÏCODE"]
    assert [hit.text[b:e] for b, e in search(store, "café")[0].highlights] == marked[:3]


def test_query_words_written_as_in_the_passage_always_find_it(store: Store) -> None:
    # Letters the indexes fold otherwise than words() does (FTS5 keeps ß, Greek and Cyrillic
    # diacritics, full-width letters; unaccent keeps й): found when written the same way.
    add(store, "de", "die Straße ist lang")
    add(store, "el", "ένας καφές παρακαλώ")
    add(store, "ru", "мой дом")
    add(store, "wide", f"{WIDE_ABC} company")
    assert found(search(store, "Straße")) == [("de", 0)]
    assert found(search(store, "καφές")) == [("el", 0)]
    assert found(search(store, "МОЙ")) == [("ru", 0)]
    assert found(search(store, WIDE_ABC)) == [("wide", 0)]
    assert [h.text[b:e] for h in search(store, "Straße") for b, e in h.highlights] == ["Straße"]


def test_words_are_split_at_punctuation_on_both_databases(store: Store) -> None:
    # PostgreSQL's parser alone would keep these whole (a host, a number, a version, an e-mail).
    add(store, "doc", "see example.com, pi is 3.14, release v1.2 or mail help@corp.io")
    for word in ("example", "com", "14", "v1", "2", "help", "corp", "io"):
        assert found(search(store, word)) == [("doc", 0)], word
    assert found(search(store, "example.com")) == [("doc", 0)]


def test_order_is_deterministic(store: Store) -> None:
    for name in ("c3", "c1", "c2"):
        add(store, name, "same words here", "same words here")
    expected = [("c1", 0), ("c1", 1), ("c2", 0), ("c2", 1), ("c3", 0), ("c3", 1)]
    assert found(search(store, "words")) == expected
    assert search(store, "words") == search(store, "words")


@pytest.mark.parametrize("query", ["", "   ", "?!", "-- ... ***", '"'])
def test_a_query_without_words_finds_nothing(store: Store, query: str) -> None:
    add(store, "doc", "anything at all")
    assert search(store, query) == []


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        'say "hello" there',
        "hell*",
        "*",
        "NEAR(hello world)",
        "NEAR(hello world, 2)",
        "-hello",
        "hello -world",
        "(hello",
        "hello)",
        "text:hello",
        "text : hello",
        "{text}: hello",
        "hello AND",
        "OR hello",
        "NOT",
        "^hello",
        "hello + world",
        "it's",
        "back\\slash",
        "'; DROP TABLE passages; --",
        "a & b | !c <-> d:*",
        "%s %(name)s :name ?",
    ],
)
def test_query_syntax_characters_are_plain_text(store: Store, query: str) -> None:
    add(store, "doc", "hello world and text", "it is not here")
    hits = search(store, query)  # never raises
    expected = set(words(query)) & {"hello", "world", "and", "text", "it", "is", "not", "here"}
    assert bool(hits) == bool(expected)


def test_the_matches_come_from_the_index(store: Store) -> None:
    add(store, "doc", "indexed words")
    params = {"account": ACCOUNT, "region": REGION, "top_k": 5}
    with store.read() as conn:
        if store.dialect == "sqlite":
            # The full-text matches drive; each is looked up in passages by its rowid.
            sql = f"{index._SQLITE_SEARCH} AND p.content_id IN ('doc'){index._SQLITE_ORDER}"
            params |= {"match": '"indexed"', "kbs": '["kb-one"]'}
            steps = [row[-1] for row in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"), params)]
            assert steps[0].startswith(f"SCAN {FTS} VIRTUAL TABLE INDEX")
            assert steps[1] == "SEARCH p USING INTEGER PRIMARY KEY (rowid=?)"
        else:
            # The search's expressions are the index's (a table this small is otherwise read whole).
            sql = f"EXPLAIN {index._PG_SEARCH}{index._PG_ORDER}"
            params |= {"query": "indexed", "kbs": ["kb-one"]}
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_indexscan = off")
            try:
                plan = " ".join(row[0] for row in conn.execute(text(sql), params))
            finally:
                conn.exec_driver_sql("RESET enable_seqscan")
                conn.exec_driver_sql("RESET enable_indexscan")
            assert f"Bitmap Index Scan on {PG_INDEX}" in plan


def test_updates_and_reset_keep_the_index_in_step(store: Store) -> None:
    add(store, "doc", "the original wording")
    with store.write() as conn:
        conn.execute(schema.passages.update().values(text="rewritten entirely"))
    assert search(store, "original", kbs=[KB, "kb-filler"]) == []
    assert found(search(store, "rewritten")) == [("doc", 0)]
    store.reset()
    assert search(store, "rewritten") == []
    add(store, "doc", "written again")
    assert found(search(store, "written")) == [("doc", 0)]


def test_sqlite_index_is_built_from_the_passages_already_there() -> None:
    store = Store.temporary()
    try:
        with store.write() as conn:  # a store from before the index
            for statement in (
                "DROP TABLE IF EXISTS passages_fts",
                *(f"DROP TRIGGER IF EXISTS {FTS}_{op}" for op in ("insert", "delete", "update")),
            ):
                conn.exec_driver_sql(statement)
        add(store, "early", "written before the index existed")
        with store.write() as conn:
            install(conn)
        assert found(search(store, "existed")) == [("early", 0)]
    finally:
        store.close()


# Pieces whose folding changes length, splits, joins or vanishes (ß, ½, ﬁ, accents, İ, Σ/ς, ...).
PIECES = [
    *"aZ9 .-'ß",
    "zz",
    "Zz9",
    "É",
    "e\u0301",
    "ﬁ",
    "İ",
    "Σς",
    "½",
    "ǅ",
    "Ⅻ",
    "\uff57",
    "\u0345",
    "हि",
    "😀",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join) | st.text("aZz9 .-'", max_size=40))
def test_word_spans_are_the_words_at_their_original_offsets(value: str) -> None:
    spans = word_spans(value)
    assert [word for _, _, word in spans] == words(value)
    for begin, end, word in spans:
        assert 0 <= begin < end <= len(value)
        assert word in "".join(words(value[begin:end]))
    terms = set(words(value)[::2]) | {"zz", "9"}
    assert highlights(value, terms) == tuple(sorted({(b, e) for b, e, word in spans if word in terms}))
