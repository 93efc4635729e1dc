"""The console's control-plane page: the server's health, its clock, its transition knobs, reset.

The only pages of the console that change anything. Each action is a POST form made by the
`confirm_form` macro (the frame checks its csrf token and `confirm=yes` before a function here
runs), calls the control plane's own handler (`server.control`: the same validation, the same
effect as `POST /_qconnect/clock` or `/_qconnect/transitions`), and answers with a redirect
back to the control page, which shows the new state. What the control plane refuses (a
negative advance, an unknown status) is an error page with its message, never a 500.

The clock, the knobs and reset belong to the whole server, not to the account and region in
the URL: the page says so.
"""

from __future__ import annotations

from typing import Any

from qconnect_local.protocol.http import Response
from qconnect_local.server import control
from qconnect_local.server.console.framework import ConsoleError, Crumb, Page, View, page, redirect
from qconnect_local.service.families import JOB_FAMILIES

# What the page says after an action, by the `done` query parameter of its redirect: fixed
# sentences, so that no link can make the page say something else.
DONE = {
    "reset": "The server was reset: every resource of every account is gone, the clock is real time again.",
    "advance": "The clock was advanced.",
    "freeze": "The clock is frozen.",
    "unfreeze": "The clock ticks again, from where it was frozen.",
    "real-time": "The clock is back to real time (a lead over real time is kept: it never goes back).",
    "hold": "New jobs entering that status are held.",
    "fail": "The next jobs entering that status will fail.",
    "release": "Released.",
}

CLOCK_ACTIONS = ("advance", "freeze", "unfreeze", "real-time")
TRANSITION_ACTIONS = ("hold", "fail", "release", "release-all")


def knobs() -> list[tuple[str, str]]:
    """Every (kind, status) a hold or a failure can apply to, in the model's order."""
    return [(family.key, status) for family in JOB_FAMILIES for status in family.job_statuses]


def _crumbs(view: View) -> list[Crumb]:
    return [Crumb("Console", view.url()), Crumb("Control plane")]


@page("GET", "control")
def control_page(view: View) -> Page:
    runtime = view.runtime
    _status, health = control._health(runtime, {})
    settings = runtime.settings
    released = view.query.get("released", "")
    done = DONE.get(view.query.get("done", ""))
    if done is not None and released.isdecimal() and len(released) <= 9:
        done = f"{done} Held jobs that proceeded now: {int(released)}."
    return Page(
        "control.html",
        "Control plane",
        _crumbs(view),
        {
            "health": health,
            "settings": {
                "enforce_sigv4": settings.enforce_sigv4,
                "run_worker": settings.run_worker,
                "default_scope": f"{settings.default_account} · {settings.default_region}",
            },
            "clock": runtime.clock.state(),
            "transitions": runtime.transitions.state(),
            "knobs": knobs(),
            "done": done,
        },
    )


def _run(handler: control.ControlHandler, view: View, body: dict[str, Any]) -> dict[str, Any]:
    """The control plane's handler on `body`; its refusal as a 400 page with its message."""
    try:
        _status, document = handler(view.runtime, body)
    except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
        raise ConsoleError(400, f"Bad control request: {exc}") from None
    return document


def _back(view: View, done: str, **extra: str) -> Response:
    return redirect(view.url("control", done=done, **extra))


@page("POST", "control/reset")
def reset(view: View) -> Response:
    view.runtime.reset()
    return _back(view, "reset")


def _seconds(text: str) -> float | int:
    """A seconds field as the JSON number the control plane expects (what it accepts is its say)."""
    try:
        value = float(text.strip())
    except ValueError:
        raise ConsoleError(400, "Bad control request: seconds must be a number") from None
    return int(value) if value.is_integer() else value


def _field(view: View, name: str) -> str:
    value = view.form.get(name, "").strip()
    if not value:
        raise ConsoleError(400, f"Bad control request: {name} is required")
    return value


@page("POST", "control/clock")
def clock(view: View) -> Response:
    action = view.form.get("action", "")
    if action not in CLOCK_ACTIONS:
        raise ConsoleError(400, f"Bad control request: action must be one of {', '.join(CLOCK_ACTIONS)}")
    body: dict[str, Any]
    if action == "advance":
        body = {"advanceSeconds": _seconds(_field(view, "seconds"))}
    elif action == "freeze":
        body = {"freeze": True}
    elif action == "unfreeze":
        body = {"freeze": False}
    else:
        body = {"reset": True}
    _run(control._clock, view, body)
    return _back(view, action)


def _knob(view: View) -> dict[str, Any]:
    kind, _, status = _field(view, "knob").partition("/")
    return {"kind": kind, "status": status}


@page("POST", "control/transitions")
def transitions(view: View) -> Response:
    action = view.form.get("action", "")
    body: dict[str, Any]
    if action == "hold":
        knob = _knob(view)
        seconds = view.form.get("seconds", "").strip()
        if seconds:
            knob["seconds"] = _seconds(seconds)
        body = {"hold": knob}
    elif action == "fail":
        knob = _knob(view)
        count = view.form.get("count", "1").strip() or "1"
        if not count.isdecimal() or len(count) > 9 or int(count) < 1:
            raise ConsoleError(400, "Bad control request: count must be a whole number of at least 1")
        body = {"failNext": {**knob, "count": int(count)}}
    elif action == "release":
        body = {"release": _knob(view)}
    elif action == "release-all":
        body = {"release": True}
    else:
        raise ConsoleError(400, f"Bad control request: action must be one of {', '.join(TRANSITION_ACTIONS)}")
    document = _run(control._transitions, view, body)
    if "releasedJobs" in document:
        return _back(view, "release", released=str(document["releasedJobs"]))
    return _back(view, action)
