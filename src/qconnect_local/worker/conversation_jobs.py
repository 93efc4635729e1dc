"""A conversation turn (SendMessage) answered: the pipeline runs outside any transaction (model
calls may be slow), then its messages and spans are committed with the turn's fenced completion,
so a worker that lost its claim commits nothing and no turn is ever answered twice."""

from __future__ import annotations

import uuid
from typing import Any, Final

from qconnect_local.runtime import Runtime
from qconnect_local.service import channels, conversation_pipeline
from qconnect_local.service.context import Call
from qconnect_local.service.conversations import DONE, FAILED
from qconnect_local.service.families import MESSAGE, SPAN
from qconnect_local.worker.claims import Claim, check_held, finish

INTERNAL: Final = {"code": "DependencyFailedException", "message": "The answer could not be produced"}


def run_turn(runtime: Runtime, claim: Claim) -> None:
    turn = claim.job
    call = Call(runtime, turn.account, turn.region, "SendMessage", turn.request["requestId"], "")
    backend = conversation_pipeline.backend_of(runtime)
    answer = conversation_pipeline.answer(
        call, turn, backend, lambda message: _send_early(runtime, claim, message)
    )
    _commit(runtime, claim, answer, answer.error)


def _send_early(runtime: Runtime, claim: Claim, message: dict[str, Any]) -> None:
    """Commit one message of the answer now (while this worker holds the turn). Its id is the
    turn's and its position's, so a turn run again after a crash does not send it twice."""
    turn = claim.job
    message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"early/{turn.id}"))
    with runtime.store.write() as conn:
        check_held(conn, claim)
        if MESSAGE.repo.find_any(conn, message_id) is None:
            MESSAGE.repo.insert(
                conn,
                {
                    "id": message_id,
                    **_scope(turn),
                    "participant": "BOT",
                    **message,
                    "created_at": runtime.clock.now(),
                },
            )
        runtime.signals.notify(conn, channels.conversation(turn.session_id))


def _scope(turn: Any) -> dict[str, Any]:
    return {
        "account": turn.account,
        "region": turn.region,
        "assistant_id": turn.assistant_id,
        "session_id": turn.session_id,
        "turn_id": turn.id,
    }


def _commit(runtime: Runtime, claim: Claim, answer: Any, error: dict[str, Any] | None) -> None:
    turn, now = claim.job, runtime.clock.now()
    scope = _scope(turn)
    with runtime.store.write() as conn:
        for message in answer.messages:
            MESSAGE.repo.insert(
                conn,
                {"id": str(uuid.uuid4()), **scope, "participant": "BOT", **message, "created_at": now},
            )
        # One statement for all the turn's spans, in their order (ListSpans reads them by seq).
        spans = [{"id": span.pop("id"), **scope, "payload": span, "created_at": now} for span in answer.spans]
        SPAN.repo.insert_many(conn, spans)
        outcome = (
            {"error": error}
            if error
            else {"conversationState": answer.state, "sessionData": answer.session_data}
        )
        finish(conn, claim, status=FAILED if error else DONE, outcome=outcome, modified_at=now)
        runtime.signals.notify(conn, channels.conversation(turn.session_id))


def fail_after_error(runtime: Runtime, claim: Claim, error: BaseException) -> None:
    """A turn whose pipeline raised (not a model failure): answered with DependencyFailedException."""
    _commit(runtime, claim, conversation_pipeline.Answer(), {**INTERNAL, "reason": None})
