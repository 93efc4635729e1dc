"""Reads the web console's knowledge-base pages need that no API operation makes.

Each is one bounded query, cheap at any size: counts are one COUNT (grouped) over the
knowledge base's index, never a listing; a content's text is read as a prefix of bounded
length; its passages a bounded run of positions. Every read is scoped to account and region.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from qconnect_local.store.passages import PassageRow
from qconnect_local.store.schema import contents, import_jobs, passages, quick_responses


def quick_response_count(conn: Connection, account: str, region: str, kb_id: str) -> int:
    """How many quick responses the knowledge base holds (those an import has not yet published
    are not in the table, as they are not in ListQuickResponses)."""
    c = quick_responses.c
    query = select(func.count()).where(c.account == account, c.region == region, c.knowledge_base_id == kb_id)
    return int(conn.execute(query).scalar_one())


def import_job_counts(conn: Connection, account: str, region: str, kb_id: str) -> dict[str, int]:
    """The knowledge base's import jobs by status."""
    c = import_jobs.c
    query = (
        select(c.status, func.count())
        .where(c.account == account, c.region == region, c.knowledge_base_id == kb_id)
        .group_by(c.status)
    )
    return {str(row[0]): int(row[1]) for row in conn.execute(query)}


def content_counts(conn: Connection, account: str, region: str, kb_id: str) -> list[tuple[str, str, int]]:
    """(content type, stored status, count) of the knowledge base's contents, in order."""
    c = contents.c
    query = (
        select(c.content_type, c.status, func.count())
        .where(c.account == account, c.region == region, c.knowledge_base_id == kb_id)
        .group_by(c.content_type, c.status)
        .order_by(c.content_type, c.status)
    )
    return [(str(row[0]), str(row[1]), int(row[2])) for row in conn.execute(query)]


@dataclass(frozen=True, slots=True)
class ContentInspection:
    """What ingestion made of a content, as stored: no API operation returns these."""

    failure_reason: str | None
    source_url: str | None
    file_size: int | None
    created_at: datetime
    stored_status: str
    text: str | None  # the first `text_limit` characters of the extracted text
    text_length: int  # the extracted text's whole length, in characters
    passage_count: int


def inspect_content(
    conn: Connection, account: str, region: str, kb_id: str, content_id: str, text_limit: int
) -> ContentInspection | None:
    c = contents.c
    query = select(
        c.failure_reason,
        c.source_url,
        c.file_size,
        c.created_at,
        c.status,
        func.substr(c.extracted_text, 1, text_limit).label("text"),
        func.coalesce(func.length(c.extracted_text), 0).label("text_length"),
    ).where(c.id == content_id, c.account == account, c.region == region, c.knowledge_base_id == kb_id)
    row = conn.execute(query).first()
    if row is None:
        return None
    p = passages.c
    count = conn.execute(
        select(func.count()).where(p.content_id == content_id, p.account == account, p.region == region)
    ).scalar_one()
    return ContentInspection(
        failure_reason=row.failure_reason,
        source_url=row.source_url,
        file_size=row.file_size,
        created_at=row.created_at,
        stored_status=row.status,
        text=row.text,
        text_length=int(row.text_length),
        passage_count=int(count),
    )


def passages_from(
    conn: Connection, account: str, region: str, content_id: str, first_position: int, limit: int
) -> list[PassageRow]:
    """Up to `limit` of the content's passages from `first_position` on, in order, as the index
    holds them (`store.passages.passages_of`, bounded)."""
    p = passages.c
    query: Any = (
        select(p.position, p.start_offset, p.end_offset, p.text, p.parent_start, p.parent_end)
        .where(
            p.content_id == content_id,
            p.account == account,
            p.region == region,
            p.position >= first_position,
        )
        .order_by(p.position)
        .limit(limit)
    )
    return [
        PassageRow(r.position, r.start_offset, r.end_offset, r.text, r.parent_start, r.parent_end)
        for r in conn.execute(query)
    ]
