"""Assistant associations: the knowledge bases an assistant answers from.

KNOWLEDGE_BASE: the knowledge base must exist in the caller's account and region and must not
be of type QUICK_RESPONSES (quick responses have a search of their own); one association per
knowledge base and assistant (ConflictException), 20 per assistant. EXTERNAL_BEDROCK_KNOWLEDGE_BASE:
stored and echoed (no Bedrock is reachable), one per Bedrock knowledge base and assistant;
retrieval reports it in `errors`. A knowledge base deleted later leaves its association in place:
retrieval skips it (Retrieve names it in `errors`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Final

from qconnect_local.protocol.errors import conflict, validation_error
from qconnect_local.service import assistants, knowledge_bases, resources
from qconnect_local.service.context import Call
from qconnect_local.service.families import ASSISTANT_ASSOCIATION
from qconnect_local.service.registry import operation
from qconnect_local.spec import service_model
from qconnect_local.store import Connection

KNOWLEDGE_BASE: Final = "KNOWLEDGE_BASE"
BEDROCK: Final = "EXTERNAL_BEDROCK_KNOWLEDGE_BASE"
MEMBER_OF_TYPE: Final = {KNOWLEDGE_BASE: "knowledgeBaseId", BEDROCK: "externalBedrockKnowledgeBaseConfig"}
# "should not be a QUICK_RESPONSES type knowledge base" (the model): every other type may be.
ASSOCIABLE_KB_TYPES: Final = frozenset(service_model().shape_for("KnowledgeBaseType").enum) - {
    "QUICK_RESPONSES"
}


def describe(call: Call, row: Any, tags: dict[str, str]) -> dict[str, Any]:
    """AssistantAssociationData (and Summary) members of a row."""
    if row.association_type == KNOWLEDGE_BASE:
        data: dict[str, Any] = {
            "knowledgeBaseAssociation": {
                "knowledgeBaseId": row.knowledge_base_id,
                "knowledgeBaseArn": knowledge_bases.kb_arn(call, row.knowledge_base_id),
            }
        }
    else:
        data = {"externalBedrockKnowledgeBaseConfig": row.association["externalBedrockKnowledgeBaseConfig"]}
    return {
        "assistantAssociationId": row.id,
        "assistantAssociationArn": resources.arn_of(call, ASSISTANT_ASSOCIATION, row),
        "assistantId": row.assistant_id,
        "assistantArn": assistants.assistant_arn(call, row.assistant_id),
        "associationType": row.association_type,
        "associationData": data,
        "tags": tags,
        "lastModifiedTime": row.modified_at,
        "lastModifiedRegion": row.region,
    }


def _with_tags(conn: Connection, call: Call, row: Any) -> dict[str, Any]:
    tags = resources.tags_of(conn, call, ASSISTANT_ASSOCIATION, row)
    return {"assistantAssociation": describe(call, row, tags)}


def of_assistant(conn: Connection, assistant: Any) -> Sequence[Any]:
    """Every association of the assistant, oldest first."""
    return ASSISTANT_ASSOCIATION.repo.where(conn, assistant_id=assistant.id)


def load(conn: Connection, call: Call, assistant: Any, association_id_or_arn: str) -> Any:
    return resources.load(conn, call, ASSISTANT_ASSOCIATION, association_id_or_arn, assistant)


def _check_input(conn: Connection, call: Call, assistant: Any, params: dict[str, Any]) -> str | None:
    """The associated knowledge base's id (None for Bedrock), after the checks of its type."""
    association_type = params["associationType"]
    association = params["association"]
    member = MEMBER_OF_TYPE[association_type]
    if member not in association:
        raise validation_error(f"An association of type {association_type} needs association.{member}")
    if association_type == BEDROCK:
        arn = association[member]["bedrockKnowledgeBaseArn"]
        if any(
            row.association_type == BEDROCK and row.association[member]["bedrockKnowledgeBaseArn"] == arn
            for row in of_assistant(conn, assistant)
        ):
            raise conflict(f"Assistant {assistant.id} is already associated with {arn}")
        return None
    kb = knowledge_bases.load_of_type(
        conn,
        call,
        association[member],
        ASSOCIABLE_KB_TYPES,
        "assistant associations",
    )
    if ASSISTANT_ASSOCIATION.repo.where(conn, assistant_id=assistant.id, knowledge_base_id=kb.id):
        raise conflict(f"Assistant {assistant.id} is already associated with knowledge base {kb.id}")
    return str(kb.id)


@operation("CreateAssistantAssociation")
def create_assistant_association(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        assistant = assistants.load(conn, call, params["assistantId"])
        row = resources.replayed(conn, call, ASSISTANT_ASSOCIATION, params, assistant)
        if row is None:
            resources.check_room(conn, call, ASSISTANT_ASSOCIATION, assistant)
            kb_id = _check_input(conn, call, assistant, params)
            now = call.now()
            values = {
                "id": str(uuid.uuid4()),
                "assistant_id": assistant.id,
                "association_type": params["associationType"],
                "knowledge_base_id": kb_id,
                "association": params["association"],
                "created_at": now,
                "modified_at": now,
            }
            row = resources.insert(conn, call, ASSISTANT_ASSOCIATION, params, values)
        return _with_tags(conn, call, row)


@operation("GetAssistantAssociation")
def get_assistant_association(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        assistant = assistants.load(conn, call, params["assistantId"])
        return _with_tags(conn, call, load(conn, call, assistant, params["assistantAssociationId"]))


@operation("ListAssistantAssociations")
def list_assistant_associations(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        assistant = assistants.load(conn, call, params["assistantId"])
        summaries, next_token = resources.described_page(
            conn, call, ASSISTANT_ASSOCIATION, params, describe, assistant
        )
    return {"assistantAssociationSummaries": summaries, "nextToken": next_token}


@operation("DeleteAssistantAssociation")
def delete_assistant_association(call: Call, params: dict[str, Any]) -> None:
    with call.runtime.store.write() as conn:
        assistant = assistants.load(conn, call, params["assistantId"])
        row = load(conn, call, assistant, params["assistantAssociationId"])
        resources.delete(conn, call, ASSISTANT_ASSOCIATION, row)
