"""TagResource, UntagResource, ListTagsForResource, and the tag helpers resources share.

A resource family makes itself taggable by registering an existence check for its ARN
resource type in `TAGGABLE`; an ARN of any other type, or of something that does not exist
in the caller's account and region, is `ResourceNotFoundException`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select

from qconnect_local.protocol.errors import ServiceError, not_found, validation_error
from qconnect_local.service.context import Call
from qconnect_local.service.registry import operation
from qconnect_local.service.resources import ParsedArn, in_scope, parse_arn
from qconnect_local.store.prepared import Prepared
from qconnect_local.store.schema import tags as tag_table

MAX_TAGS = 50  # AWS's per-resource tag limit (IAM/Tagging docs); not stated in the model
RESERVED_PREFIX = "aws:"

TAGGABLE: dict[str, Callable[[Connection, Call, ParsedArn], bool]] = {}


def check_tag_keys(keys: list[str] | dict[str, str]) -> None:
    reserved = [k for k in keys if k.lower().startswith(RESERVED_PREFIX)]
    if reserved:
        raise validation_error(
            f"Tag keys beginning with '{RESERVED_PREFIX}' are reserved for AWS use: {reserved}"
        )


_TAGS_OF = Prepared(
    select(tag_table.c.key, tag_table.c.value).where(tag_table.c.resource_arn == bindparam("arn"))
)


def tags_of(conn: Connection, arn: str) -> dict[str, str]:
    return {row.key: row.value for row in _TAGS_OF.all(conn, arn=arn)}


def put_tags(conn: Connection, arn: str, new_tags: dict[str, str]) -> None:
    """Add or overwrite `new_tags` on `arn`, keeping the total within AWS's limit."""
    if not new_tags:
        return
    check_tag_keys(new_tags)
    existing = set(
        conn.execute(select(tag_table.c.key).where(tag_table.c.resource_arn == arn)).scalars().all()
    )
    if len(existing | set(new_tags)) > MAX_TAGS:
        raise ServiceError(
            "TooManyTagsException",
            f"A resource can have at most {MAX_TAGS} tags",
            resourceName=arn,
        )
    conn.execute(
        delete(tag_table).where(tag_table.c.resource_arn == arn, tag_table.c.key.in_(list(new_tags)))
    )
    conn.execute(
        insert(tag_table), [{"resource_arn": arn, "key": k, "value": v} for k, v in new_tags.items()]
    )


def drop_tags(conn: Connection, arn: str) -> None:
    conn.execute(delete(tag_table).where(tag_table.c.resource_arn == arn))


def drop_tags_under(conn: Connection, arn_prefix: str) -> None:
    """Remove the tags of every resource whose ARN starts with `arn_prefix`, in one statement.

    A range on the primary key rather than LIKE, so the index answers it on every dialect.
    """
    conn.execute(
        delete(tag_table).where(
            tag_table.c.resource_arn >= arn_prefix, tag_table.c.resource_arn < arn_prefix + "\uffff"
        )
    )


def _existing_resource(conn: Connection, call: Call, arn: str) -> str:
    parsed = parse_arn(arn)
    check = TAGGABLE.get(parsed.resource_type) if parsed else None
    if parsed is None or check is None or not in_scope(call, parsed) or not check(conn, call, parsed):
        raise not_found(f"Resource not found: {arn}", arn)
    return arn


@operation("TagResource")
def tag_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        arn = _existing_resource(conn, call, params["resourceArn"])
        put_tags(conn, arn, params["tags"])
    return {}


@operation("UntagResource")
def untag_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        arn = _existing_resource(conn, call, params["resourceArn"])
        conn.execute(
            delete(tag_table).where(tag_table.c.resource_arn == arn, tag_table.c.key.in_(params["tagKeys"]))
        )
    return {}


@operation("ListTagsForResource")
def list_tags_for_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        arn = _existing_resource(conn, call, params["resourceArn"])
        return {"tags": tags_of(conn, arn)}


__all__ = ["MAX_TAGS", "TAGGABLE", "drop_tags", "put_tags", "tags_of"]
