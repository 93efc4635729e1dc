"""Quick-response rows and their search index, written together; an import's staging area.

Every write keeps the full-text index (`store.search`) in step in the same transaction: bulk
inserts index their batch, updates teach typo tolerance their words (the index's own trigger
re-indexes the row).

**Staging.** An import stores its rows batch by batch, each batch in a short transaction of its
own, under a *staging id* in place of the knowledge base's id, and publishes them all at once
in one transaction that moves them to the knowledge base (`publish`). Every read of quick
responses (Get, List, Search, the quota count, the name checks) is scoped to a knowledge base,
and no knowledge base has a staging id (it is the import job's id), so staged rows are found by
none of them. The search index holds them from the start (FTS5 rows keyed by `seq`, the GIN
indexes of every row) but a search only returns rows of its knowledge base; the move changes no
indexed text, so it re-indexes nothing. (Typo tolerance learns their words when they are staged:
at worst a fuzzy search then tries a spelling that matches nothing.) Staged rows cost readers
nothing either: they sit in their own range of the `(knowledge_base_id, ...)` indexes. A staging
area that is not published is deleted (`discard_*`); `parent_ids` finds staging areas whose
import died with its process.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, delete, exists, func, or_, select, update
from sqlalchemy.engine import Dialect

from qconnect_local.store.bulk import BulkInsert
from qconnect_local.store.schema import quick_responses as qr_table
from qconnect_local.store.search import index_for, list_text

_BULK = BulkInsert(qr_table, [c.name for c in qr_table.columns if c.name != "seq"])
_LAST_SEQ = select(func.coalesce(func.max(qr_table.c.seq), 0))
_TEXT_COLUMNS = ("name", "content", "description", "shortcut_key")


def _texts(rows: Sequence[dict[str, Any]]) -> Iterator[str | None]:
    return (row[c] for row in rows for c in _TEXT_COLUMNS)


def insert(conn: Connection, rows: Sequence[dict[str, Any]] | Sequence[tuple[Any, ...]]) -> None:
    """Insert rows and index them as one batch: dicts of every column but `seq`, or tuples from
    `bound_rows` (no dict per row, no processing per value, straight to the DBAPI cursor)."""
    if not rows:
        return
    after_seq = int(conn.execute(_LAST_SEQ).scalar_one())
    texts: Iterable[str | None]
    if isinstance(rows[0], tuple):
        tuples = cast("Sequence[tuple[Any, ...]]", rows)
        _BULK.run_bound(conn, tuples)
        texts = (row[i] for row in tuples for i in _TEXT_AT)
    else:
        dicts = cast("Sequence[dict[str, Any]]", rows)
        _BULK.run(conn, dicts)
        texts = _texts(dicts)
    index_for(conn).rows_inserted(conn, after_seq, texts)


# The columns of `bound_rows`' tuples, in order (every column but `seq`).
COLUMNS: tuple[str, ...] = _BULK.columns
_TEXT_AT = tuple(COLUMNS.index(c) for c in _TEXT_COLUMNS)
_SHARED = frozenset(
    {
        "account",
        "region",
        "knowledge_base_id",
        "status",
        "last_modified_by",
        "import_job_id",
        "created_at",
        "modified_at",
    }
)
# The order `bound_rows` writes; a column added to quick responses must be added there too.
assert COLUMNS == (
    "id", "account", "region", "knowledge_base_id", "name", "content_type", "content", "description",
    "shortcut_key", "language", "channels", "is_active", "grouping", "channel_list", "grouping_criteria",
    "grouping_value_list", "status", "last_modified_by", "import_job_id", "created_at", "modified_at",
)  # fmt: skip


def _uuid4s(count: int) -> Iterator[str]:
    """`count` random UUIDs (version 4) as `str(uuid.uuid4())` writes them, from one read of the
    OS's random source instead of one per id."""
    digits = os.urandom(16 * count).hex()
    variant = _VARIANT
    for at in range(0, 32 * count, 32):
        h = digits[at : at + 32]
        yield f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant[h[16]]}{h[17:20]}-{h[20:]}"


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _identity(value: Any) -> Any:
    return value


def bound_rows(
    dialect: Dialect,
    items: Sequence[Mapping[str, Any]],
    *,
    shared: Mapping[str, Any],
    default_content_type: str,
) -> list[tuple[Any, ...]]:
    """Rows for `insert`, as tuples in `COLUMNS` order with every value already bound, built
    straight from CreateQuickResponse members (the columns `service.quick_responses` derives
    from them: the content type's default, the channels and routing profiles as list text), a
    new random id each. `shared`: the values every row has (scope, status, times), bound once;
    a JSON list is bound once per distinct list."""
    assert set(shared) <= _SHARED, f"not a shared column: {set(shared) - _SHARED}"
    bound: dict[str, Any] = {}
    for column in _SHARED:
        value = shared.get(column)
        processor = _BULK.processor(dialect, column)
        bound[column] = processor(value) if processor is not None and value is not None else value
    account, region, kb_id = bound["account"], bound["region"], bound["knowledge_base_id"]
    status, modified_by, job_id = bound["status"], bound["last_modified_by"], bound["import_job_id"]
    created, modified = bound["created_at"], bound["modified_at"]
    channels_json = _BULK.processor(dialect, "channels") or _identity
    grouping_json = _BULK.processor(dialect, "grouping") or _identity
    lists: dict[tuple[str, ...], tuple[Any, str | None]] = {}
    # As the column types bind a missing value too (JSON's is the text 'null').
    no_channels, no_grouping = channels_json(None), grouping_json(None)
    rows = []
    for params, row_id in zip(items, _uuid4s(len(items)), strict=True):
        channels = params.get("channels")
        channel_json: Any = no_channels
        channel_list: str | None = None
        if channels is not None:
            key = tuple(channels)
            found = lists.get(key)
            if found is None:
                found = lists[key] = (channels_json(channels), list_text(channels))
            channel_json, channel_list = found
        grouping = params.get("groupingConfiguration")
        rows.append(
            (
                row_id,
                account,
                region,
                kb_id,
                params["name"],
                params.get("contentType") or default_content_type,
                params["content"]["content"],
                params.get("description"),
                params.get("shortcutKey"),
                params.get("language"),
                channel_json,
                int(params.get("isActive", True)),
                grouping_json(grouping) if grouping is not None else no_grouping,
                channel_list,
                grouping.get("criteria") if grouping else None,
                list_text(grouping.get("values")) if grouping else None,
                status,
                modified_by,
                job_id,
                created,
                modified,
            )
        )
    return rows


def learn_words(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """After an update: typo tolerance learns the rows' words."""
    index_for(conn).add_terms(conn, _texts(rows))


def names_and_shortcuts(conn: Connection, kb_id: str) -> tuple[set[str], set[str]]:
    """The names and shortcut keys already taken in knowledge base `kb_id`."""
    rows = conn.execute(
        select(qr_table.c.name, qr_table.c.shortcut_key).where(qr_table.c.knowledge_base_id == kb_id)
    )
    names: set[str] = set()
    shortcuts: set[str] = set()
    for name, shortcut in rows:
        names.add(name)
        if shortcut is not None:
            shortcuts.add(shortcut)
    return names, shortcuts


# --- an import's staging area ------------------------------------------------------------------

_DISCARD_BATCH = 2000  # rows deleted per transaction when a staging area is thrown away
_IN_BATCH = 500  # values per IN (...) list


def staged_count(conn: Connection, staging_id: str) -> int:
    """How many rows the staging area holds."""
    query = select(func.count()).select_from(qr_table).where(qr_table.c.knowledge_base_id == staging_id)
    return int(conn.execute(query).scalar_one())


Taken = tuple[int, str, str | None, bool, bool]


def staged_taken(conn: Connection, staging_id: str, kb_id: str) -> list[Taken]:
    """Staged rows whose name or shortcut key a row of knowledge base `kb_id` now has.

    `(seq, name, shortcut_key, name taken, shortcut key taken)`, in staging order. Each staged
    row costs one lookup in each unique index, so this grows with the staging area, not the table.
    """
    staged = qr_table.alias("staged")
    held = qr_table.alias("held")
    name_taken = exists().where(held.c.knowledge_base_id == kb_id, held.c.name == staged.c.name)
    key_taken = exists().where(
        held.c.knowledge_base_id == kb_id, held.c.shortcut_key == staged.c.shortcut_key
    )
    query = (
        select(staged.c.seq, staged.c.name, staged.c.shortcut_key, name_taken, key_taken)
        .where(staged.c.knowledge_base_id == staging_id, or_(name_taken, key_taken))
        .order_by(staged.c.seq)
    )
    return [(int(seq), name, key, bool(n), bool(k)) for seq, name, key, n, k in conn.execute(query)]


def staged_last(conn: Connection, staging_id: str, count: int, skip: Collection[int] = ()) -> list[str]:
    """The names of the last `count` staged rows (the file's last), leaving out the `seq`s in `skip`."""
    if count <= 0:
        return []
    query = (
        select(qr_table.c.seq, qr_table.c.name)
        .where(qr_table.c.knowledge_base_id == staging_id)
        .order_by(qr_table.c.seq.desc())
        .limit(count + len(skip))
    )
    skipped = set(skip)
    return [name for seq, name in conn.execute(query) if seq not in skipped][:count]


def discard_names(conn: Connection, staging_id: str, names: Collection[str]) -> int:
    """Delete the staged rows with these names (rows the publish turned down)."""
    removed = 0
    listed = list(names)
    for start in range(0, len(listed), _IN_BATCH):
        part = listed[start : start + _IN_BATCH]
        removed += conn.execute(
            delete(qr_table).where(
                qr_table.c.knowledge_base_id == staging_id,
                qr_table.c.import_job_id == staging_id,
                qr_table.c.name.in_(part),
            )
        ).rowcount
    return removed


def discard_some(conn: Connection, staging_id: str) -> int:
    """Delete up to `_DISCARD_BATCH` rows of the staging area; how many went (0: it is empty).

    In slices, so that throwing away a large staging area never holds the write lock for long.
    """
    some = (
        select(qr_table.c.seq)
        # Staged rows carry their job's id in both columns: no published row ever matches.
        .where(qr_table.c.knowledge_base_id == staging_id, qr_table.c.import_job_id == staging_id)
        .order_by(qr_table.c.seq)
        .limit(_DISCARD_BATCH)
        .scalar_subquery()
    )
    return int(conn.execute(delete(qr_table).where(qr_table.c.seq.in_(some))).rowcount)


def publish(conn: Connection, staging_id: str, kb_id: str) -> int:
    """Move every staged row into knowledge base `kb_id` (in the caller's transaction); how many."""
    moved = conn.execute(
        update(qr_table).where(qr_table.c.knowledge_base_id == staging_id).values(knowledge_base_id=kb_id)
    )
    return int(moved.rowcount)


def parent_ids(conn: Connection) -> list[str]:
    """Every distinct `knowledge_base_id` of the table: knowledge bases and staging areas.

    A skip scan of the `(knowledge_base_id, seq)` index, one lookup per value, so its cost grows
    with the number of knowledge bases, not of quick responses.
    """
    found: list[str] = []
    column = qr_table.c.knowledge_base_id
    query = select(func.min(column))
    while True:
        value = conn.execute(query.where(column > found[-1]) if found else query).scalar()
        if value is None:
            return found
        found.append(value)
