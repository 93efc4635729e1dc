"""The control plane under `/_qconnect/`: this project's own endpoints, never a model path.

Every model path starts with a resource collection (`/knowledgeBases`, `/assistants`,
`/tags`), so the `_qconnect` prefix can never collide with one.

Under `--enforce-sigv4` every control request but `GET /_qconnect/health` must carry the
operator's token (`--control-token`) as `Authorization: Bearer <token>`; without a configured
token the control plane is closed. Without `--enforce-sigv4` it is open, as moto's and
LocalStack's are. The signed links under `/_qconnect/blobs/` never come here: they are routed
before the control plane and authorised by their own signatures.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from qconnect_local import __version__
from qconnect_local.clock import advance_step
from qconnect_local.engine.generation import check_scripted_entry
from qconnect_local.protocol.errors import ServiceError
from qconnect_local.protocol.http import Request, Response
from qconnect_local.protocol.serializer import dumps
from qconnect_local.runtime import Runtime
from qconnect_local.server.auth import is_account_id
from qconnect_local.service import handlers, recommendations
from qconnect_local.service.context import Call
from qconnect_local.service.external_content import ingest_articles
from qconnect_local.service.families import CONTENT
from qconnect_local.spec import operation_names, service_model
from qconnect_local.store import passages, scripted
from qconnect_local.worker.claims import ALL_KNOBS, release_held

PREFIX = "/_qconnect/"
CONSOLE_PREFIX = PREFIX + "console"  # the web console's pages (server/console), not control endpoints

ControlHandler = Callable[[Runtime, dict[str, Any]], tuple[int, dict[str, Any]]]


def _health(runtime: Runtime, _body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return 200, {
        "status": "ok",
        "version": __version__,
        "store": runtime.store.dialect,
        "operations": len(operation_names()),
        "implementedOperations": len(handlers),
    }


def _reset(runtime: Runtime, _body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    runtime.reset()
    return 200, {"reset": True}


def _clock(runtime: Runtime, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Reset, advance, freeze: the clock only moves forward (see qconnect_local.clock)."""
    clock = runtime.clock
    # Checked before any change, so that a refused request changes nothing.
    seconds = advance_step(body["advanceSeconds"]) if "advanceSeconds" in body else None
    if body.get("reset"):
        clock.resume_real_time()
    if seconds is not None:
        clock.advance(seconds)
    if body.get("freeze") is True:
        clock.freeze()
    elif body.get("freeze") is False:
        clock.unfreeze()
    return 200, clock.state()


def _transitions(runtime: Runtime, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Hold jobs in a transitional status, release them, or make the next ones fail."""
    transitions = runtime.transitions
    transitions.configure(body)
    if body.get("release"):
        release = body["release"]
        knobs = transitions.release(release)
        # `true` releases every held job, also those held before a restart forgot the knobs.
        released_jobs = release_held(runtime.store, ALL_KNOBS if release is True else knobs)
        runtime.wake_worker()
        return 200, {**transitions.state(), "releasedJobs": released_jobs}
    return 200, transitions.state()


_REGION = re.compile(service_model().shape_for("AwsRegion").metadata["pattern"])  # the model's
_KB_INGEST = re.compile(r"knowledgeBases/([^/]+)/ingest")
_TRANSCRIPT = re.compile(r"assistants/([^/]+)/sessions/([^/]+)/transcript")
MAX_TOP_K = 100


def is_region(value: object) -> bool:
    """Whether `value` is a region name by the model's AwsRegion pattern."""
    return isinstance(value, str) and _REGION.fullmatch(value) is not None


def _scope(runtime: Runtime, body: dict[str, Any]) -> tuple[str, str]:
    """The account and region a control request acts in (default: the server's defaults)."""
    account = body.get("account", runtime.settings.default_account)
    region = body.get("region", runtime.settings.default_region)
    if not isinstance(account, str) or not is_account_id(account):
        raise ValueError("account must be 12 digits")
    if not is_region(region):
        raise ValueError("region must be a region name such as us-east-1")
    return account, region


def _ingest(runtime: Runtime, body: dict[str, Any], kb_id: str) -> tuple[int, dict[str, Any]]:
    """Deliver articles to an EXTERNAL knowledge base (see service.external_content)."""
    account, region = _scope(runtime, body)
    delivered = ingest_articles(runtime, account, region, kb_id, body.get("source"), body.get("articles"))
    return 200, {"contents": delivered}


def _transcript(
    runtime: Runtime, body: dict[str, Any], assistant_id: str, session_id: str
) -> tuple[int, dict[str, Any]]:
    """One utterance of the live contact (Contact Lens' part): see service.recommendations."""
    account, region = _scope(runtime, body)
    call = Call(runtime, account, region, "Transcript", "control-plane", "")
    return 200, recommendations.add_turn(
        call, assistant_id, session_id, body.get("participant"), body.get("text")
    )


def _passages(runtime: Runtime, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Query the passage index as retrieval will: the best passages for `text` in the knowledge bases."""
    account, region = _scope(runtime, body)
    kb_ids = body.get("knowledgeBaseIds")
    if not isinstance(kb_ids, list) or not kb_ids or not all(isinstance(k, str) for k in kb_ids):
        raise ValueError("knowledgeBaseIds must be a non-empty list of ids")
    query_text = body.get("text")
    if not isinstance(query_text, str) or len(query_text) > 10_000:
        raise ValueError("text must be a string of at most 10000 characters")
    top_k = body.get("topK", 10)
    if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= MAX_TOP_K:
        raise ValueError(f"topK must be a whole number from 1 to {MAX_TOP_K}")
    query = passages.PassageQuery(query_text, account, region, kb_ids, top_k)
    with runtime.store.read() as conn:
        hits = passages.search_passages(conn, query)
    return 200, {
        "passages": [
            {
                "knowledgeBaseId": hit.knowledge_base_id,
                "contentId": hit.content_id,
                "position": hit.position,
                "start": hit.start,
                "end": hit.end,
                "parentStart": hit.parent_start,
                "parentEnd": hit.parent_end,
                "text": hit.text,
                "score": hit.score,
                "highlights": [list(pair) for pair in hit.highlights],
            }
            for hit in hits
        ]
    }


def _content(runtime: Runtime, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """What ingestion made of one content: status, failure reason, extracted text, passages."""
    account, region = _scope(runtime, body)
    content_id = body.get("contentId")
    if not isinstance(content_id, str):
        raise ValueError("contentId must be a content id")
    with runtime.store.read() as conn:
        row = CONTENT.repo.find(conn, account, region, content_id)
        cuts = passages.passages_of(conn, content_id) if row is not None else []
    if row is None:
        return 404, {"message": f"Content not found: {content_id}"}
    return 200, {
        "contentId": row.id,
        "knowledgeBaseId": row.knowledge_base_id,
        "status": row.status,
        "failureReason": row.failure_reason,
        "sourceUrl": row.source_url,
        "extractedText": row.extracted_text,
        "passages": [
            {
                "position": p.position,
                "start": p.start,
                "end": p.end,
                "parentStart": p.parent_start,
                "parentEnd": p.parent_end,
            }
            for p in cuts
        ],
    }


def _ai_responses(runtime: Runtime, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Queue exact answers for the scripted model backend (docs/generation.md): `responses`, for
    one `sessionId`, one `assistantId` (any of its sessions) or any."""
    account, _region = _scope(runtime, body)
    entries = body.get("responses")
    if not isinstance(entries, list) or not entries:
        raise ValueError("responses must be a non-empty list of scripted entries")
    for entry in entries:
        check_scripted_entry(entry)
    for key in ("assistantId", "sessionId"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise ValueError(f"{key} must be a string")
    queued = scripted.Queue(runtime.store).push(
        account, body.get("assistantId"), body.get("sessionId"), entries, runtime.clock.now()
    )
    return 200, {"queued": queued}


ROUTES: dict[tuple[str, str], ControlHandler] = {
    ("GET", "health"): _health,
    ("POST", "reset"): _reset,
    ("GET", "clock"): lambda runtime, _body: (200, runtime.clock.state()),
    ("POST", "clock"): _clock,
    ("GET", "transitions"): lambda runtime, _body: (200, runtime.transitions.state()),
    ("POST", "transitions"): _transitions,
    ("POST", "passages"): _passages,
    ("POST", "content"): _content,
    ("POST", "ai/responses"): _ai_responses,
}


BEARER = "bearer"


def refusal(runtime: Runtime, request: Request, name: str) -> Response | None:
    """The 403 for a control request the operator's token does not authorise; None: allowed."""
    settings = runtime.settings
    if not settings.enforce_sigv4 or (request.method, name) == ("GET", "health"):
        return None
    expected = (settings.control_token or "").strip()
    if not expected:
        return _denied(
            "ControlPlaneClosed",
            "The control plane is closed: the server enforces SigV4 (--enforce-sigv4) and has no"
            " control token; start it with --control-token (or QCONNECT_LOCAL_CONTROL_TOKEN) to open it."
            " GET /_qconnect/health stays open.",
        )
    scheme, _, given = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != BEARER or not given.strip():
        return _denied(
            "MissingControlToken",
            "The control plane needs the operator's token under --enforce-sigv4:"
            " send Authorization: Bearer <control token>.",
        )
    if not token_matches(runtime, given):
        return _denied("InvalidControlToken", "The control token is not valid.")
    return None


def token_matches(runtime: Runtime, given: str) -> bool:
    """Whether `given` is the operator's control token (never, when none is configured)."""
    expected = (runtime.settings.control_token or "").strip()
    return bool(expected) and hmac.compare_digest(_digest(given.strip()), _digest(expected))


def _digest(token: str) -> bytes:
    """A fixed-length digest, so the comparison takes the same time whatever the lengths."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _denied(reason: str, message: str) -> Response:
    return _json(403, {"code": "AccessDeniedException", "reason": reason, "message": message})


def handle_control(runtime: Runtime, request: Request) -> Response:
    name = request.raw_path[len(PREFIX) :].strip("/")
    refused = refusal(runtime, request, name)
    if refused is not None:
        return refused
    handler = ROUTES.get((request.method, name))
    ingest = _KB_INGEST.fullmatch(name) if request.method == "POST" else None
    transcript = _TRANSCRIPT.fullmatch(name) if request.method == "POST" else None
    if handler is None and ingest is None and transcript is None:
        return _json(404, {"message": f"No control endpoint {request.method} {request.raw_path}"})
    try:
        body = json.loads(request.body) if request.body.strip() else {}
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        if ingest is not None:
            status, document = _ingest(runtime, body, unquote(ingest.group(1)))
        elif transcript is not None:
            assistant, session = (unquote(part) for part in transcript.groups())
            status, document = _transcript(runtime, body, assistant, session)
        else:
            assert handler is not None
            status, document = handler(runtime, body)
    except ServiceError as error:
        # The same refusal the API would give, with its error code.
        return _json(error.status, {"code": error.code, "message": error.message})
    except RecursionError:
        return _json(400, {"message": "Bad control request: the JSON body is nested too deeply"})
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
        return _json(400, {"message": f"Bad control request: {exc}"})
    return _json(status, document)


def _json(status: int, document: dict[str, Any]) -> Response:
    return Response(status, [("Content-Type", "application/json")], dumps(document))
