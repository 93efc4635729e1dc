"""The reads retrieval needs beside the passage index, each one query for a whole result list.

Retrieval ranks passages (store.passages); it then needs a little of each content found (its
title, link, status), the text of hierarchical parents, and, to filter by metadata or tags,
those of every content in the knowledge bases searched. None of these reads a content's
extracted text whole. (Tags of a whole knowledge base's contents: `store.tags.tags_under`.)
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Integer, String, bindparam, column, func, literal_column, select, values

from qconnect_local.store.prepared import Prepared
from qconnect_local.store.schema import contents

Span = tuple[str, int, int]  # (content id, start, end) offsets into its extracted text


def content_cards(conn: Connection, content_ids: Collection[str]) -> dict[str, Any]:
    """id -> (id, knowledge_base_id, title, source_url, status) of each content named."""
    if not content_ids:
        return {}
    c = contents.c
    query = select(c.id, c.knowledge_base_id, c.title, c.source_url, c.status).where(
        c.id.in_(list(content_ids))
    )
    return {row.id: row for row in conn.execute(query)}


def content_fields(conn: Connection, account: str, region: str, kb_ids: Sequence[str]) -> Sequence[Any]:
    """(id, knowledge_base_id, metadata) of every content of these knowledge bases."""
    c = contents.c
    query = select(c.id, c.knowledge_base_id, c.metadata).where(
        c.account == account, c.region == region, c.knowledge_base_id.in_(list(kb_ids))
    )
    return conn.execute(query).all()


def text_spans(conn: Connection, spans: Collection[Span]) -> dict[Span, str]:
    """The text at each span of a content's extracted text (a hierarchical passage's parent)."""
    if not spans:
        return {}
    ordered = list(spans)
    params: dict[str, Any] = {}
    for n, (content_id, start, end) in enumerate(ordered):
        # substr counts characters from 1 on both dialects, as Python's offsets count code points.
        params |= {f"id{n}": content_id, f"from{n}": start + 1, f"length{n}": end - start}
    rows = _spans_query(len(ordered)).all(conn, **params)
    return {ordered[n]: value for n, value in rows if value is not None}


@lru_cache(maxsize=16)
def _spans_query(count: int) -> Prepared:
    """`text_spans`' query for `count` spans, with their values bound by name. It is built and
    compiled once per count: SQLAlchemy compiles a VALUES list again on every execution."""
    rows: list[tuple[Any, ...]] = [
        (literal_column(str(n)), bindparam(f"id{n}"), bindparam(f"from{n}"), bindparam(f"length{n}"))
        for n in range(count)
    ]
    names = (column("n", Integer), column("id", String), column("start", Integer), column("length", Integer))
    # WITH wanted(...) AS (VALUES ...): SQLite takes no column list on a VALUES alias.
    wanted = values(*names, name="wanted").data(rows).cte()
    c, w = contents.c, wanted.c
    text = func.substr(c.extracted_text, w.start, w.length)
    return Prepared(select(w.n, text).join_from(wanted, contents, c.id == w.id))
