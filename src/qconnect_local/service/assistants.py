"""Assistants: the runtime half of Amazon Q in Connect, which sessions, queries and recommendations
belong to.

Decisions where AWS is silent (docs/behaviour.md): names are unique per account and region
(ConflictException, as for knowledge bases); an assistant is ACTIVE as soon as it is created,
unless the control plane holds (or fails) new assistants in CREATE_IN_PROGRESS. Replica keys
follow `service.replica_keys`, as knowledge bases' do.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from qconnect_local.service import channels, replica_keys, resources
from qconnect_local.service.context import Call
from qconnect_local.service.families import ASSISTANT, SESSION
from qconnect_local.service.registry import operation
from qconnect_local.service.replica_keys import ENCRYPTION
from qconnect_local.store import Connection

CREATING: Final = "CREATE_IN_PROGRESS"


def assistant_arn(call: Call, assistant_id: str) -> str:
    return resources.arn_for(call, ASSISTANT, assistant_id)


def load(conn: Connection, call: Call, assistant_id_or_arn: str) -> Any:
    """The assistant named by id or ARN in the caller's scope, or ResourceNotFoundException."""
    return resources.load(conn, call, ASSISTANT, assistant_id_or_arn)


def summary(call: Call, row: Any, tags: dict[str, str]) -> dict[str, Any]:
    """AssistantSummary members of a row (AssistantData has no more that we keep)."""
    return {
        "assistantId": row.id,
        "assistantArn": assistant_arn(call, row.id),
        "name": row.name,
        "type": row.type,
        "status": row.status,
        "description": row.description,
        "tags": tags,
        ENCRYPTION: row.config.get(ENCRYPTION),
        "aiAgentConfiguration": row.config.get("aiAgentConfiguration") or None,
        "orchestratorConfigurationList": row.config.get("orchestratorConfigurationList") or None,
        "lastModifiedTime": row.modified_at,
        "lastModifiedRegion": row.region,
    }


def _with_tags(conn: Connection, call: Call, row: Any) -> dict[str, Any]:
    return {"assistant": summary(call, row, resources.tags_of(conn, call, ASSISTANT, row))}


@operation("CreateAssistant")
def create_assistant(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        row = resources.replayed(conn, call, ASSISTANT, params)
        if row is None:
            resources.check_room(conn, call, ASSISTANT)
            resources.check_name(conn, call, ASSISTANT, params["name"])
            now = call.now()
            knobs = call.runtime.transitions.for_new_job(ASSISTANT.key, CREATING, now)
            held = knobs["hold_until"] is not None or knobs["force_failure"]
            values = {
                "id": str(uuid.uuid4()),
                "name": params["name"],
                "type": params["type"],
                "status": CREATING if held else "ACTIVE",
                "description": params.get("description"),
                "config": {ENCRYPTION: params[ENCRYPTION]} if ENCRYPTION in params else {},
                "created_at": now,
                "modified_at": now,
                "attempts": 0,
                **knobs,
            }
            row = resources.insert(conn, call, ASSISTANT, params, values)
            if held:
                resources.wake_worker_after_commit(conn, call)
        return _with_tags(conn, call, row)


@operation("GetAssistant")
def get_assistant(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        row, tags = resources.load_tagged(conn, call, ASSISTANT, params["assistantId"])
        return {"assistant": summary(call, row, tags)}


@operation("ListAssistants")
def list_assistants(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        summaries, next_token = resources.described_page(conn, call, ASSISTANT, params, summary)
    return {"assistantSummaries": summaries, "nextToken": next_token}


@operation("DeleteAssistant")
def delete_assistant(call: Call, params: dict[str, Any]) -> None:
    with call.runtime.store.write() as conn:
        row = load(conn, call, params["assistantId"])
        for session in SESSION.repo.where(conn, assistant_id=row.id):  # their long polls answer now
            call.runtime.signals.notify(conn, channels.recommendations(session.id))
        resources.delete(conn, call, ASSISTANT, row)


@operation("RegisterAssistantReplicaKey")
def register_replica_key(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        return _with_tags(
            conn, call, replica_keys.register(conn, call, ASSISTANT, params["assistantId"], params)
        )
