"""Content associations: a step-by-step guide (an Amazon Connect flow) linked to one content.

"You can create only one content association for each content resource" (the model): a
second is a ConflictException. A guide may be associated with many contents. The flow ARN is
stored as given: no Amazon Connect instance is reachable to check it.
"""

from __future__ import annotations

import uuid
from typing import Any

from qconnect_local.protocol.errors import conflict, validation_error
from qconnect_local.service import contents, knowledge_bases, resources
from qconnect_local.service.context import Call
from qconnect_local.service.families import CONTENT, CONTENT_ASSOCIATION
from qconnect_local.service.registry import operation
from qconnect_local.store import Connection


def _parents(conn: Connection, call: Call, params: dict[str, Any]) -> tuple[Any, Any]:
    kb = contents.load_knowledge_base(conn, call, params["knowledgeBaseId"])
    return kb, contents.load(conn, call, kb, params["contentId"])


def describe(call: Call, row: Any, tags: dict[str, str]) -> dict[str, Any]:
    return {
        "knowledgeBaseId": row.knowledge_base_id,
        "knowledgeBaseArn": knowledge_bases.kb_arn(call, row.knowledge_base_id),
        "contentId": row.content_id,
        "contentArn": resources.arn_for(call, CONTENT, row.knowledge_base_id, row.content_id),
        "contentAssociationId": row.id,
        "contentAssociationArn": resources.arn_of(call, CONTENT_ASSOCIATION, row),
        "associationType": row.association_type,
        "associationData": row.association,
        "tags": tags,
    }


def _with_tags(conn: Connection, call: Call, row: Any) -> dict[str, Any]:
    return {
        "contentAssociation": describe(call, row, resources.tags_of(conn, call, CONTENT_ASSOCIATION, row))
    }


@operation("CreateContentAssociation")
def create_content_association(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    association = params["association"]
    if (
        params["associationType"] == "AMAZON_CONNECT_GUIDE"
        and "amazonConnectGuideAssociation" not in association
    ):
        raise validation_error(
            "An AMAZON_CONNECT_GUIDE association needs association.amazonConnectGuideAssociation"
        )
    if not (association.get("amazonConnectGuideAssociation") or {}).get("flowId"):
        raise validation_error("association.amazonConnectGuideAssociation.flowId is required")
    with call.runtime.store.write() as conn:
        kb, content = _parents(conn, call, params)
        row = resources.replayed(conn, call, CONTENT_ASSOCIATION, params, content)
        if row is not None:
            return _with_tags(conn, call, row)
        resources.lock_parent(conn, call, CONTENT_ASSOCIATION, content)
        if CONTENT_ASSOCIATION.repo.count(conn, call.account, call.region, content.id):
            raise conflict(f"Content {content.id} already has a content association")
        values = {
            "id": str(uuid.uuid4()),
            "knowledge_base_id": kb.id,
            "content_id": content.id,
            "association_type": params["associationType"],
            "association": association,
            "created_at": call.now(),
        }
        return _with_tags(conn, call, resources.insert(conn, call, CONTENT_ASSOCIATION, params, values))


@operation("GetContentAssociation")
def get_content_association(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        _kb, content = _parents(conn, call, params)
        row = resources.load(conn, call, CONTENT_ASSOCIATION, params["contentAssociationId"], content)
        return _with_tags(conn, call, row)


@operation("ListContentAssociations")
def list_content_associations(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        _kb, content = _parents(conn, call, params)
        summaries, next_token = resources.described_page(
            conn, call, CONTENT_ASSOCIATION, params, describe, content
        )
    return {"contentAssociationSummaries": summaries, "nextToken": next_token}


@operation("DeleteContentAssociation")
def delete_content_association(call: Call, params: dict[str, Any]) -> None:
    with call.runtime.store.write() as conn:
        _kb, content = _parents(conn, call, params)
        row = resources.load(conn, call, CONTENT_ASSOCIATION, params["contentAssociationId"], content)
        resources.delete(conn, call, CONTENT_ASSOCIATION, row)
