"""The control plane under `/_qconnect/`: this project's own endpoints, never a model path.

Every model path starts with a resource collection (`/knowledgeBases`, `/assistants`,
`/tags`), so the `_qconnect` prefix can never collide with one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from qconnect_local import __version__
from qconnect_local.protocol.http import Request, Response
from qconnect_local.protocol.serializer import dumps
from qconnect_local.runtime import Runtime
from qconnect_local.service import handlers
from qconnect_local.service.import_jobs import release_held_jobs
from qconnect_local.spec import operation_names

PREFIX = "/_qconnect/"

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
    clock = runtime.clock
    if body.get("reset"):
        clock.reset()
    if "advanceSeconds" in body:
        clock.advance(float(body["advanceSeconds"]))
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
        kinds = transitions.release(release if isinstance(release, str) else None)
        released_jobs = release_held_jobs(runtime, kinds)
        runtime.wake_worker()
        return 200, {**transitions.state(), "releasedJobs": released_jobs}
    return 200, transitions.state()


ROUTES: dict[tuple[str, str], ControlHandler] = {
    ("GET", "health"): _health,
    ("POST", "reset"): _reset,
    ("GET", "clock"): lambda runtime, _body: (200, runtime.clock.state()),
    ("POST", "clock"): _clock,
    ("GET", "transitions"): lambda runtime, _body: (200, runtime.transitions.state()),
    ("POST", "transitions"): _transitions,
}


def handle_control(runtime: Runtime, request: Request) -> Response:
    name = request.raw_path[len(PREFIX) :].strip("/")
    handler = ROUTES.get((request.method, name))
    if handler is None:
        return _json(404, {"message": f"No control endpoint {request.method} {request.raw_path}"})
    try:
        body = json.loads(request.body) if request.body.strip() else {}
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        status, document = handler(runtime, body)
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
        return _json(400, {"message": f"Bad control request: {exc}"})
    return _json(status, document)


def _json(status: int, document: dict[str, Any]) -> Response:
    return Response(status, [("Content-Type", "application/json")], dumps(document))
