"""TagResource, UntagResource, ListTagsForResource.

Every family declared `taggable` in `service.families` can be tagged; an ARN of any other
type, or of something that does not exist in the caller's account and region, is
`ResourceNotFoundException`. The limits are `service.tagging`'s.
"""

from __future__ import annotations

from typing import Any

from qconnect_local.protocol.errors import not_found
from qconnect_local.service.context import Call
from qconnect_local.service.registry import operation
from qconnect_local.service.resources import existing_arn
from qconnect_local.service.tagging import put_tags
from qconnect_local.store import Connection
from qconnect_local.store import tags as tag_store


def _existing_resource(conn: Connection, call: Call, arn: str) -> str:
    if not existing_arn(conn, call, arn):
        raise not_found(f"Resource not found: {arn}", arn)
    return arn


@operation("TagResource")
def tag_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        put_tags(conn, _existing_resource(conn, call, params["resourceArn"]), params["tags"])
    return {}


@operation("UntagResource")
def untag_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        tag_store.remove(conn, _existing_resource(conn, call, params["resourceArn"]), params["tagKeys"])
    return {}


@operation("ListTagsForResource")
def list_tags_for_resource(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        return {"tags": tag_store.tags_of(conn, _existing_resource(conn, call, params["resourceArn"]))}
