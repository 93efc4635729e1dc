"""Sessions: one per contact, under an assistant. What retrieval, recommendations and (later)
conversations run in.

Decisions where AWS is silent (docs/behaviour.md): `origin` is CUSTOMER (SYSTEM sessions are the
ones Amazon Connect creates, which nothing does here); names need not be unique (SearchSessions
by NAME EQUALS may find several); `tagFilter` is checked when it is set and filters retrieval
by content tags; UpdateSession replaces each member it is given (`aiAgentConfiguration` as a
whole map) and `removeOrchestratorConfigurationList` drops the list; UpdateSessionData upserts
by key within its namespace (`Custom`, the only one) and answers with the namespace's data
after the update, at most `MAX_DATA_KEYS` keys per namespace.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from qconnect_local.engine.retrieval import FilterError, tag_predicate
from qconnect_local.protocol.errors import validation_error
from qconnect_local.service import assistants, resources
from qconnect_local.service.context import Call
from qconnect_local.service.families import SESSION
from qconnect_local.service.registry import operation
from qconnect_local.store import Connection

ORIGIN: Final = "CUSTOMER"
NAMESPACE: Final = "Custom"
MAX_DATA_KEYS: Final = 100  # per namespace: what one session may hold for prompts to read
CONFIG_MEMBERS: Final = ("tagFilter", "aiAgentConfiguration", "orchestratorConfigurationList")
REMOVE_ORCHESTRATORS: Final = "removeOrchestratorConfigurationList"


def load(conn: Connection, call: Call, assistant: Any, session_id_or_arn: str) -> Any:
    """The session of `assistant` named by id or ARN, or ResourceNotFoundException."""
    return resources.load(conn, call, SESSION, session_id_or_arn, assistant)


def load_with_assistant(
    conn: Connection, call: Call, params: dict[str, Any], *, locked: bool = False
) -> tuple[Any, Any]:
    """The request's assistant and session (`assistantId`, `sessionId`); `locked` for an update
    of the session (`resources.load_locked`)."""
    assistant = assistants.load(conn, call, params["assistantId"])
    load_session = resources.load_locked if locked else resources.load
    return assistant, load_session(conn, call, SESSION, params["sessionId"], assistant)


def session_arn(call: Call, row: Any) -> str:
    return resources.arn_of(call, SESSION, row)


def describe(call: Call, row: Any, tags: dict[str, str]) -> dict[str, Any]:
    """SessionData members of a row."""
    return {
        "sessionArn": session_arn(call, row),
        "sessionId": row.id,
        "name": row.name,
        "description": row.description,
        "tags": tags,
        "origin": ORIGIN,
        **{member: row.config[member] for member in CONFIG_MEMBERS if member in row.config},
    }


def summary(call: Call, row: Any, _tags: dict[str, str]) -> dict[str, Any]:
    return {
        "sessionId": row.id,
        "sessionArn": session_arn(call, row),
        "assistantId": row.assistant_id,
        "assistantArn": assistants.assistant_arn(call, row.assistant_id),
    }


def _with_tags(conn: Connection, call: Call, row: Any) -> dict[str, Any]:
    return {"session": describe(call, row, resources.tags_of(conn, call, SESSION, row))}


def _check_tag_filter(params: dict[str, Any]) -> None:
    if "tagFilter" in params:
        try:
            tag_predicate(params["tagFilter"])
        except FilterError as error:
            raise validation_error(f"Invalid {error}") from None


def _config(params: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    given: dict[str, Any] = {member: params[member] for member in CONFIG_MEMBERS if member in params}
    config: dict[str, Any] = {**(current or {}), **given}
    if params.get(REMOVE_ORCHESTRATORS):
        config.pop("orchestratorConfigurationList", None)
    return config


@operation("CreateSession")
def create_session(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    _check_tag_filter(params)
    with call.runtime.store.write() as conn:
        assistant = assistants.load(conn, call, params["assistantId"])
        row = resources.replayed(conn, call, SESSION, params, assistant)
        if row is None:
            now = call.now()
            config = _config(params)
            if "contactArn" in params:
                config["contactArn"] = params["contactArn"]
            values = {
                "id": str(uuid.uuid4()),
                "assistant_id": assistant.id,
                "name": params["name"],
                "description": params.get("description"),
                "config": config,
                "data": {},
                "created_at": now,
                "modified_at": now,
            }
            row = resources.insert(conn, call, SESSION, params, values)
        return _with_tags(conn, call, row)


@operation("GetSession")
def get_session(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        _assistant, row = load_with_assistant(conn, call, params)
        return _with_tags(conn, call, row)


@operation("UpdateSession")
def update_session(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    _check_tag_filter(params)
    if params.get(REMOVE_ORCHESTRATORS) and "orchestratorConfigurationList" in params:
        raise validation_error(
            f"orchestratorConfigurationList and {REMOVE_ORCHESTRATORS} cannot be given together"
        )
    with call.runtime.store.write() as conn:
        assistant, row = load_with_assistant(conn, call, params, locked=True)
        values: dict[str, Any] = {"config": _config(params, row.config), "modified_at": call.now()}
        if "description" in params:
            values["description"] = params["description"]
        SESSION.repo.update(conn, row.seq, values)
        return _with_tags(conn, call, load(conn, call, assistant, row.id))


@operation("UpdateSessionData")
def update_session_data(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    namespace = params.get("namespace", NAMESPACE)
    with call.runtime.store.write() as conn:
        _assistant, row = load_with_assistant(conn, call, params, locked=True)
        values = dict(row.data.get(namespace, {}))
        for item in params["data"]:
            values[item["key"]] = item["value"]["stringValue"]
        if len(values) > MAX_DATA_KEYS:
            raise validation_error(
                f"A session holds at most {MAX_DATA_KEYS} keys in namespace {namespace}; "
                f"this update would make it {len(values)}"
            )
        data = {**row.data, namespace: values}
        SESSION.repo.update(conn, row.seq, {"data": data, "modified_at": call.now()})
    return {
        "sessionArn": session_arn(call, row),
        "sessionId": row.id,
        "namespace": namespace,
        "data": [{"key": key, "value": {"stringValue": value}} for key, value in values.items()],
    }


def custom_data(row: Any) -> dict[str, str]:
    """The session's `Custom` values: what `{{$.Custom.key}}` reads in prompts."""
    return dict(row.data.get(NAMESPACE, {}))


@operation("SearchSessions")
def search_sessions(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    names = {f["value"] for f in params["searchExpression"]["filters"]}  # NAME EQUALS, all must hold
    with call.runtime.store.read() as conn:
        assistant = assistants.load(conn, call, params["assistantId"])
        if len(names) > 1:  # two different names: no session has both
            return {"sessionSummaries": [], "nextToken": None}
        where = {"name": names.pop()} if names else None
        summaries, next_token = resources.described_page(
            conn, call, SESSION, params, summary, assistant, where=where
        )
    return {"sessionSummaries": summaries, "nextToken": next_token}
