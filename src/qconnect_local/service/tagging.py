"""Tag rules every taggable family shares: AWS's 50-tag limit and the reserved `aws:` prefix."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from qconnect_local.protocol.errors import ServiceError, validation_error
from qconnect_local.store import Connection
from qconnect_local.store import tags as tag_store

MAX_TAGS = 50  # AWS's per-resource tag limit (IAM/Tagging docs); not stated in the model
RESERVED_PREFIX = "aws:"


def check_tag_keys(keys: Collection[str]) -> None:
    reserved = [k for k in keys if k.lower().startswith(RESERVED_PREFIX)]
    if reserved:
        raise validation_error(
            f"Tag keys beginning with '{RESERVED_PREFIX}' are reserved for AWS use: {reserved}"
        )


def put_tags(conn: Connection, arn: str, new_tags: Mapping[str, str] | None) -> None:
    """Add or overwrite `new_tags` on `arn`, keeping the total within AWS's limit.

    TagResource and every create with tags come here; the keys counted are read under the
    resource's lock, held until commit, so that callers adding tags at once take turns.
    """
    if not new_tags:
        return
    check_tag_keys(list(new_tags))
    if len(tag_store.keys_of(conn, arn) | set(new_tags)) > MAX_TAGS:
        raise ServiceError(
            "TooManyTagsException",
            f"A resource can have at most {MAX_TAGS} tags",
            resourceName=arn,
        )
    tag_store.put(conn, arn, new_tags)
