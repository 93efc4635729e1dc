"""Conversations: SendMessage, GetNextMessage, ListMessages, ListSpans.

SendMessage stores the customer's message and a *turn* (`conversation_turns`), and answers at
once with `requestMessageId` and a `nextMessageToken`; the worker then produces the answer
(`service.conversation_pipeline`), off the event loop, and commits its messages and spans with
the turn's completion (fenced: a crash never answers a turn twice). Decisions where AWS is silent
(docs/behaviour.md, "Conversations"):

- Which agent runs: the call's `aiAgentId`, else the session's, else the assistant's default for
  the type, else the assistant's SYSTEM agent of the type. The type is ORCHESTRATION when an
  `orchestratorUseCase` is given (the orchestrator list of the session, then the assistant, is
  looked up by it), SELF_SERVICE otherwise; an explicit `aiAgentId` must be one of those two
  types (ValidationException).
- The message's member must be its `type`'s (`text` for TEXT, `data` for DATA, `toolUseResult`
  for TOOL_USE_RESULT). DATA must be a JSON object; with an ORCHESTRATION agent whose
  `inputSchemas` are set, it must satisfy one of them (`required` properties and their JSON
  types are checked).
- `clientToken`: the same token and input return the first call's answer.
- `nextMessageToken` names a turn and a position in its answer. GetNextMessage with a token of
  a turn that is no longer the session's latest is ResourceNotFoundException (as the real
  service answers). While the answer is being produced, GetNextMessage waits up to
  `NEXT_MESSAGE_WAIT` seconds (holding no thread), then answers `conversationState`
  PROCESSING with an empty BOT message and the same token to call again.
- A turn whose model call failed makes GetNextMessage answer that failure's modeled error
  (UnprocessableContentException with its `reason`, DependencyFailedException, ...).
- ListMessages: both sides, oldest first, in keyset pages; `TEXT_ONLY` leaves DATA and tool
  messages out. ListSpans: every span of the session, oldest turn first (see the pipeline).
"""

from __future__ import annotations

import functools
import json
import uuid
from datetime import UTC, datetime
from typing import Any, Final

from qconnect_local.protocol.errors import ServiceError, not_found, validation_error
from qconnect_local.service import ai_agents, ai_resources, channels, resources, sessions, system_ai
from qconnect_local.service.assistant_ai_agents import check_use_case_name
from qconnect_local.service.context import Call, Suspend, long_poll
from qconnect_local.service.families import CONVERSATION_TURN, MESSAGE, SPAN
from qconnect_local.service.pagination import decode_state, encode_state
from qconnect_local.service.registry import operation
from qconnect_local.spec import operation as spec_operation
from qconnect_local.store import Connection

NEXT_MESSAGE_WAIT: Final = 5.0  # seconds GetNextMessage waits for an answer being produced
PROCESSING: Final = "PROCESSING"
DONE: Final = "DONE"
FAILED: Final = "FAILED"
VALUE_MEMBER: Final = {"TEXT": "text", "DATA": "data", "TOOL_USE_RESULT": "toolUseResult"}
RUNNABLE_TYPES: Final = ("SELF_SERVICE", "ORCHESTRATION")
MAX_DOCUMENT_CHARS: Final = 100_000  # a DATA message's or tool result's JSON, serialized
JSON_TYPES: Final[dict[str, type | tuple[type, ...]]] = {
    "string": str,
    "number": (int, float),
    "integer": int,
    "boolean": bool,
    "object": dict,
    "array": list,
}


# -- which agent ----------------------------------------------------------------------------------


def _configured(config: dict[str, Any], agent_type: str, use_case: str | None) -> str | None:
    """The agent id a session's or assistant's configuration names for the type (or use case)."""
    if use_case is not None:
        for entry in config.get("orchestratorConfigurationList") or []:
            if entry.get("orchestratorUseCase") == use_case:
                return str(entry["aiAgentId"])
        return None
    entry = (config.get("aiAgentConfiguration") or {}).get(agent_type)
    return str(entry["aiAgentId"]) if entry else None


def choose_agent(
    conn: Connection, call: Call, assistant: Any, session: Any, params: dict[str, Any]
) -> tuple[ai_resources.Resource, int | None]:
    """The agent (and version) that answers this SendMessage (see the module docstring)."""
    use_case = params.get("orchestratorUseCase")
    check_use_case_name(use_case)
    wanted = "ORCHESTRATION" if use_case is not None else "SELF_SERVICE"
    explicit = params.get("aiAgentId")
    if explicit is not None:
        agent, number = ai_resources.load_state(conn, call, ai_agents.KIND, assistant, explicit)
        if agent.type not in RUNNABLE_TYPES:
            raise validation_error(f"SendMessage runs SELF_SERVICE or ORCHESTRATION agents, not {agent.type}")
        return agent, number
    return choose_default(conn, call, assistant, session, wanted, use_case)


def choose_default(
    conn: Connection, call: Call, assistant: Any, session: Any, agent_type: str, use_case: str | None
) -> tuple[ai_resources.Resource, int | None]:
    """The session's agent of the type (or use case), else the assistant's, else its SYSTEM one."""
    for config in (session.config if session is not None else {}, assistant.config):
        named = _configured(config, agent_type, use_case)
        if named is None:
            continue
        try:
            return ai_resources.load_state(conn, call, ai_agents.KIND, assistant, named)
        except ServiceError:
            continue  # deleted since it was configured: the next one down runs
    return system_ai.system_agent(call, assistant, agent_type), 1


# -- SendMessage ----------------------------------------------------------------------------------


def _schema_holds(schema: Any, data: dict[str, Any]) -> bool:
    if not isinstance(schema, dict):
        return True
    if any(key not in data for key in schema.get("required") or []):
        return False
    for key, spec in (schema.get("properties") or {}).items():
        expected = JSON_TYPES.get(str(spec.get("type"))) if isinstance(spec, dict) else None
        # JSON's true and false are not numbers, though Python's bool is an int.
        wrong_bool = key in data and isinstance(data[key], bool) and expected is not bool
        if key in data and expected is not None and (not isinstance(data[key], expected) or wrong_bool):
            return False
    return True


def _check_message(params: dict[str, Any], agent: ai_resources.Resource) -> None:
    member = VALUE_MEMBER[params["type"]]
    value = params["message"]["value"]
    given = [m for m, v in value.items() if v is not None]
    if given != [member]:
        raise validation_error(f"A {params['type']} message takes message.value.{member}")
    if params["type"] != "TEXT":
        size = len(json.dumps(value[member], separators=(",", ":")))
        if size > MAX_DOCUMENT_CHARS:
            raise validation_error(
                f"message.value.{member} holds at most {MAX_DOCUMENT_CHARS:,} characters of JSON; "
                f"this has {size:,}"
            )
    if params["type"] == "DATA":
        data = value["data"]
        if not isinstance(data, dict):
            raise validation_error("message.value.data must be a JSON object")
        settings = agent.config["configuration"].get("orchestrationAIAgentConfiguration") or {}
        schemas = settings.get("inputSchemas") or []
        if schemas and not any(_schema_holds(schema, data) for schema in schemas):
            raise validation_error("message.value.data does not match the AI agent's inputSchemas")


def next_token(call: Call, session_id: str, turn_id: str, index: int) -> str:
    return encode_state(call, {"t": turn_id, "i": index}, _token_scope(call, session_id))


def _token_scope(call: Call, session_id: str) -> str:
    return f"GetNextMessage|{call.account}|{call.region}|{session_id}"


def _sent(call: Call, session_id: str, turn: Any) -> dict[str, Any]:
    return {
        "requestMessageId": turn.request_message_id,
        "configuration": turn.request.get("configuration"),
        "nextMessageToken": next_token(call, session_id, turn.id, 0),
    }


@operation("SendMessage")
def send_message(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        assistant, session = sessions.load_with_assistant(conn, call, params)
        try:
            turn = resources.replayed(conn, call, CONVERSATION_TURN, params, session)
        except ServiceError as reused:
            if reused.code != "ConflictException":
                raise
            # Clients reuse one token for a whole conversation: another message is a new turn.
            turn, params = None, {k: v for k, v in params.items() if k != "clientToken"}
        if turn is not None:
            return _sent(call, session.id, turn)
        agent, number = choose_agent(conn, call, assistant, session, params)
        _check_message(params, agent)
        now, message_id, turn_id = call.now(), str(uuid.uuid4()), str(uuid.uuid4())
        scope = {"assistant_id": assistant.id, "session_id": session.id}
        MESSAGE.repo.insert(
            conn,
            {
                "id": message_id,
                "account": call.account,
                "region": call.region,
                **scope,
                "turn_id": turn_id,
                "participant": "CUSTOMER",
                "type": params["type"],
                "value": params["message"]["value"],
                "created_at": now,
            },
        )
        request = {
            "requestId": call.request_id,
            "type": params["type"],
            "agentId": agent.id,
            "agentVersion": number,
            "orchestratorUseCase": params.get("orchestratorUseCase"),
            "configuration": params.get("configuration"),
            "conversationContext": params.get("conversationContext"),
            "metadata": params.get("metadata"),
            "originRequestId": params.get("originRequestId"),
        }
        values = {
            "id": turn_id,
            **scope,
            "request_message_id": message_id,
            "status": PROCESSING,
            "request": request,
            "outcome": None,
            "created_at": now,
            "modified_at": now,
            "attempts": 0,
            **call.runtime.transitions.for_new_job(CONVERSATION_TURN.key, PROCESSING, now),
        }
        turn = resources.insert(conn, call, CONVERSATION_TURN, params, values)
        resources.wake_worker_after_commit(conn, call)
        return _sent(call, session.id, turn)


# -- GetNextMessage -------------------------------------------------------------------------------


def message_output(row: Any) -> dict[str, Any]:
    """MessageOutput members of a stored message."""
    return {
        "value": row.value,
        "messageId": row.id,
        "participant": row.participant,
        "timestamp": row.created_at,
    }


def _latest_turn(conn: Connection, call: Call, session: Any) -> Any:
    rows = CONVERSATION_TURN.repo.page(
        conn, call.account, call.region, session.id, after=None, limit=1, descending=True
    )
    return rows[0] if rows else None


def _answers(conn: Connection, turn_id: str) -> list[Any]:
    """The turn's messages to the customer so far, oldest first."""
    return [m for m in MESSAGE.repo.where(conn, turn_id=turn_id) if m.participant != "CUSTOMER"]


def _state(turn: Any, last: bool) -> dict[str, Any]:
    if turn.status == PROCESSING or not last:
        return {"status": PROCESSING}
    state: dict[str, Any] = (turn.outcome or {}).get("conversationState") or {
        "status": "READY",
        "reason": "SUCCESS",
    }
    return state


def _next_message(call: Call, params: dict[str, Any], subscription: Any) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        _assistant, session = sessions.load_with_assistant(conn, call, params)
        state = decode_state(call, params["nextMessageToken"], _token_scope(call, session.id))
        turn_id, index = state.get("t"), state.get("i")
        if not isinstance(turn_id, str) or not isinstance(index, int):
            raise validation_error("Invalid nextMessageToken")
        latest = _latest_turn(conn, call, session)
        if latest is None or latest.id != turn_id:
            raise not_found("The nextMessageToken is older than the session's latest SendMessage", turn_id)
        answers = _answers(conn, turn_id)
        if latest.status == PROCESSING:
            # Read again after the answers: had the turn finished meanwhile, its answers (committed
            # with its completion) are read again, whole.
            again = CONVERSATION_TURN.repo.find_any(conn, latest.id)
            if again is not None and again.status != PROCESSING:
                latest, answers = again, _answers(conn, turn_id)
    if index < len(answers):
        row = answers[index]
        last = index + 1 == len(answers) and latest.status != PROCESSING
        found = {
            "type": row.type,
            "response": message_output(row),
            "requestMessageId": latest.request_message_id,
            "conversationState": _state(latest, last),
            "nextMessageToken": None if last else next_token(call, session.id, turn_id, index + 1),
        }
        if last:
            found["conversationSessionData"] = (latest.outcome or {}).get("sessionData") or None
        return found
    if latest.status == PROCESSING:
        if subscription is not None:
            raise Suspend(subscription, NEXT_MESSAGE_WAIT)
        return {
            "type": "TEXT",
            "response": {
                "value": {"text": {"value": ""}},
                "messageId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"processing/{turn_id}/{index}")),
                "participant": "BOT",
                "timestamp": call.now(),
            },
            "requestMessageId": latest.request_message_id,
            "conversationState": {"status": PROCESSING},
            "nextMessageToken": next_token(call, session.id, turn_id, index),
        }
    error = (latest.outcome or {}).get("error")
    if latest.status == FAILED and error:
        raise _modeled(error)
    raise not_found("The conversation has no further message for this token", turn_id)


def _modeled(error: dict[str, Any]) -> ServiceError:
    """A failed turn's error as GetNextMessage can answer it: codes its model does not list become
    UnprocessableContentException (reason ORCHESTRATION_ERROR), naming the original code."""
    if error["code"] in _next_message_errors():
        return ServiceError(error["code"], error["message"], reason=error.get("reason"))
    message = f"{error['code']}: {error['message']}"
    return ServiceError("UnprocessableContentException", message, reason="ORCHESTRATION_ERROR")


@functools.cache
def _next_message_errors() -> frozenset[str]:
    return frozenset(shape.name for shape in spec_operation("GetNextMessage").error_shapes)


@operation("GetNextMessage")
def get_next_message(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    channel = channels.conversation(resources.named_id(params["sessionId"]))
    return long_poll(call, channel, lambda subscription: _next_message(call, params, subscription))


def _instant(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _with_instants(attributes: dict[str, Any]) -> dict[str, Any]:
    """Span attributes as stored, their messages' timestamps (epoch seconds) made instants again."""
    found = dict(attributes)
    for key in ("inputMessages", "outputMessages"):
        if key in found:
            found[key] = [{**m, "timestamp": _instant(m["timestamp"])} for m in found[key]]
    return found


# -- ListMessages, ListSpans ------------------------------------------------------------------------


@operation("ListMessages")
def list_messages(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    where = {"type": "TEXT"} if params.get("filter") == "TEXT_ONLY" else None
    with call.runtime.store.read() as conn:
        _assistant, session = sessions.load_with_assistant(conn, call, params)
        rows, token = resources.page(conn, call, MESSAGE, params, session, where=where)
    return {"messages": [message_output(row) for row in rows], "nextToken": token}


@operation("ListSpans")
def list_spans(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        _assistant, session = sessions.load_with_assistant(conn, call, params)
        rows, token = resources.page(conn, call, SPAN, params, session)
    spans = [
        {
            "spanId": row.id,
            "assistantId": row.assistant_id,
            "sessionId": row.session_id,
            **row.payload,
            **{key: _instant(row.payload[key]) for key in ("startTimestamp", "endTimestamp")},
            "attributes": _with_instants(row.payload["attributes"]),
        }
        for row in rows
    ]
    return {"spans": spans, "nextToken": token}
