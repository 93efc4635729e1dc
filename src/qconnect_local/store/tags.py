"""The tag table's SQL: tags are keyed by resource ARN, so one table serves every family."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import ColumnElement, Connection, bindparam, delete, insert, select

from qconnect_local.store.prepared import Prepared
from qconnect_local.store.repository import lock_scope
from qconnect_local.store.schema import tags as tag_table

_TAGS_OF = Prepared(
    select(tag_table.c.key, tag_table.c.value).where(tag_table.c.resource_arn == bindparam("arn"))
)


def tags_of(conn: Connection, arn: str) -> dict[str, str]:
    return {row.key: row.value for row in _TAGS_OF.all(conn, arn=arn)}


def tags_of_many(conn: Connection, arns: Collection[str]) -> dict[str, dict[str, str]]:
    """The tags of every ARN in `arns`, in one query (a list page's worth): ARN -> tags."""
    found: dict[str, dict[str, str]] = {arn: {} for arn in arns}
    if not arns:
        return found
    rows = conn.execute(
        select(tag_table.c.resource_arn, tag_table.c.key, tag_table.c.value).where(
            tag_table.c.resource_arn.in_(list(arns))
        )
    )
    for arn, key, value in rows:
        found[arn][key] = value
    return found


def tags_under(conn: Connection, arn_prefix: str) -> dict[str, dict[str, str]]:
    """ARN -> tags of every resource whose ARN starts with `arn_prefix` (a range on the key)."""
    found: dict[str, dict[str, str]] = {}
    query = select(tag_table.c.resource_arn, tag_table.c.key, tag_table.c.value).where(*_under(arn_prefix))
    for arn, key, value in conn.execute(query):
        found.setdefault(arn, {})[key] = value
    return found


def keys_of(conn: Connection, arn: str) -> set[str]:
    """The keys `arn` has: what the tag limit is checked against. Read under the resource's lock
    (`lock_scope`, until commit), so that writers adding tags at once take turns."""
    lock_scope(conn, "tags", arn)
    return set(conn.execute(select(tag_table.c.key).where(tag_table.c.resource_arn == arn)).scalars())


def put(conn: Connection, arn: str, tags: Mapping[str, str]) -> None:
    """Add or overwrite `tags` on `arn` (limits are the caller's to check)."""
    conn.execute(delete(tag_table).where(tag_table.c.resource_arn == arn, tag_table.c.key.in_(list(tags))))
    conn.execute(insert(tag_table), [{"resource_arn": arn, "key": k, "value": v} for k, v in tags.items()])


def remove(conn: Connection, arn: str, keys: Collection[str]) -> None:
    conn.execute(delete(tag_table).where(tag_table.c.resource_arn == arn, tag_table.c.key.in_(list(keys))))


def drop(conn: Connection, arn: str) -> None:
    conn.execute(delete(tag_table).where(tag_table.c.resource_arn == arn))


def drop_under(conn: Connection, arn_prefix: str) -> None:
    """Remove the tags of every resource whose ARN starts with `arn_prefix`, in one statement."""
    conn.execute(delete(tag_table).where(*_under(arn_prefix)))


def _under(arn_prefix: str) -> tuple[ColumnElement[bool], ...]:
    """ARNs that start with `arn_prefix`: a range on the primary key rather than LIKE, so that
    the index answers it on every dialect."""
    arn = tag_table.c.resource_arn
    return arn >= arn_prefix, arn < arn_prefix + "\uffff"
