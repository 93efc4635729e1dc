"""The reads of message templates, versions and attachments that the generic repository lacks.

A template's `draft` and a version's `snapshot` may each hold megabytes (an email body may
have 5,000,000 characters), so lists, searches and version pages read the *light* columns
only, and a template's versions are read one at a time, never all snapshots at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from qconnect_local.store.prepared import Prepared
from qconnect_local.store.schema import message_template_attachments as attachments
from qconnect_local.store.schema import message_template_versions as versions
from qconnect_local.store.schema import message_templates as templates

_LIGHT_TEMPLATE = [c for c in templates.c if c.name != "draft"]
_LIGHT_VERSION = [c for c in versions.c if c.name != "snapshot"]


def template_page(
    conn: Connection, account: str, region: str, kb_id: str, *, after: int | None, limit: int
) -> Sequence[Any]:
    """Up to `limit` templates of the knowledge base after keyset position `after`, light columns."""
    query = select(*_LIGHT_TEMPLATE).where(
        templates.c.account == account, templates.c.region == region, templates.c.knowledge_base_id == kb_id
    )
    if after is not None:
        query = query.where(templates.c.seq > after)
    return conn.execute(query.order_by(templates.c.seq).limit(limit)).all()


def all_templates(conn: Connection, account: str, region: str, kb_id: str) -> Sequence[Any]:
    """Every template of the knowledge base (at most its quota), light columns, oldest first."""
    query = select(*_LIGHT_TEMPLATE).where(
        templates.c.account == account, templates.c.region == region, templates.c.knowledge_base_id == kb_id
    )
    return conn.execute(query.order_by(templates.c.seq)).all()


def version(conn: Connection, template_id: str, number: int) -> Any:
    """Version `number` of the template (snapshot included), or None."""
    query = select(versions).where(
        versions.c.message_template_id == template_id, versions.c.version_number == number
    )
    return conn.execute(query).first()


def newest_version(conn: Connection, template_id: str) -> Any:
    """The template's highest-numbered version (snapshot included), or None."""
    query = (
        select(versions)
        .where(versions.c.message_template_id == template_id)
        .order_by(versions.c.version_number.desc())
        .limit(1)
    )
    return conn.execute(query).first()


def version_page(conn: Connection, template_id: str, *, after: int | None, limit: int) -> Sequence[Any]:
    """Up to `limit` versions of the template after keyset position `after`, light columns."""
    query = select(*_LIGHT_VERSION).where(versions.c.message_template_id == template_id)
    if after is not None:
        query = query.where(versions.c.seq > after)
    return conn.execute(query.order_by(versions.c.seq).limit(limit)).all()


def active_versions(conn: Connection, account: str, region: str, kb_id: str) -> dict[str, Any]:
    """The light rows of the active version of each template of the knowledge base, by template id."""
    query = (
        select(*_LIGHT_VERSION)
        .join(
            templates,
            (templates.c.id == versions.c.message_template_id)
            & (templates.c.active_version == versions.c.version_number),
        )
        .where(
            templates.c.account == account,
            templates.c.region == region,
            templates.c.knowledge_base_id == kb_id,
        )
    )
    return {row.message_template_id: row for row in conn.execute(query)}


def attachment_references(conn: Connection, template_id: str) -> set[str]:
    """The ids of every attachment that some version of the template was made with."""
    query = select(versions.c.attachment_ids).where(versions.c.message_template_id == template_id)
    return {attachment_id for (ids,) in conn.execute(query) for attachment_id in ids}


_LATEST_ATTACHMENTS = Prepared(
    select(attachments)
    .where(
        attachments.c.message_template_id == bindparam("template_id"),
        attachments.c.on_latest == bindparam("on_latest"),
    )
    .order_by(attachments.c.seq)
)


def latest_attachments(conn: Connection, template_id: str) -> Sequence[Any]:
    """The attachments of the template's `$LATEST`, oldest first (read on every render: prepared)."""
    return _LATEST_ATTACHMENTS.all(conn, template_id=template_id, on_latest=1)


def attachments_by_id(conn: Connection, ids: Sequence[str]) -> Sequence[Any]:
    """The attachments with these ids, in the order given (ids not found are skipped)."""
    if not ids:
        return []
    found = {row.id: row for row in conn.execute(select(attachments).where(attachments.c.id.in_(list(ids))))}
    return [found[i] for i in ids if i in found]


def detached_attachments(conn: Connection, template_id: str) -> Sequence[Any]:
    """The template's attachments that `$LATEST` no longer has (kept for the versions naming them)."""
    query = select(attachments).where(
        attachments.c.message_template_id == template_id, attachments.c.on_latest == 0
    )
    return conn.execute(query).all()


def touch_versions(conn: Connection, template_id: str, values: Mapping[str, Any]) -> None:
    """Set `values` (modification time and author) on every version of the template."""
    conn.execute(update(versions).where(versions.c.message_template_id == template_id).values(**values))
