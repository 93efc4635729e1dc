"""The reads retrieval needs beside the passage index, each one query for a whole result list.

Retrieval ranks passages (store.passages); it then needs a little of each content found (its
title, link, status), the text of hierarchical parents, and, to filter by metadata or tags,
those of every content in the knowledge bases searched. None of these reads a content's
extracted text whole. (Tags of a whole knowledge base's contents: `store.tags.tags_under`.)
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, func, select

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
    found: dict[Span, str] = {}
    c = contents.c
    for content_id, start, end in spans:
        # substr counts characters from 1 on both dialects, as Python's offsets count code points.
        query = select(func.substr(c.extracted_text, start + 1, end - start)).where(c.id == content_id)
        value = conn.execute(query).scalar()
        if value is not None:
            found[(content_id, start, end)] = value
    return found
