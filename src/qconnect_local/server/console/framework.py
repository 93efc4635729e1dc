"""The console's machinery: its URL scheme, page routing, API calls, rendering and its guards.

Every page reads through the API's own operations (`View.call`): the same validation, the same
account and region isolation, the same pagination, the same signed links. The console adds
what the API has no operation for (the passages of a content, the failed rows of an import)
only through the control plane's helpers, which are read-only.

URLs are stable and shareable: `/_qconnect/console/<account>/<region>/<page path>`. Pages are
server-rendered by Jinja2 with autoescaping, under a Content-Security-Policy that allows no
inline script, so a hostile name, CSV cell or document text is shown as text, never run.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode

import jinja2

from qconnect_local.protocol.errors import ServiceError
from qconnect_local.protocol.http import Request, Response
from qconnect_local.protocol.validator import check_input
from qconnect_local.runtime import Runtime
from qconnect_local.server.auth import is_account_id
from qconnect_local.server.control import CONSOLE_PREFIX, is_region, refusal, token_matches
from qconnect_local.service import handlers
from qconnect_local.service.context import Call
from qconnect_local.spec import operation
from qconnect_local.store.console_queries import scopes

HERE = Path(__file__).parent
PAGE_SIZE = 50  # rows per page of any list: the API's pages, asked for with this maxResults
SESSION_COOKIE = "qconnect_console"
MAX_FORM_BYTES = 1_000_000

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,  # every value is escaped unless a template says otherwise (none does)
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

SECURITY_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
]


class ConsoleError(Exception):
    """A page that cannot be shown: its status and a sentence for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Crumb:
    label: str
    href: str | None = None


@dataclass
class View:
    """One console request in one account and region: what a page function works with."""

    runtime: Runtime
    request: Request
    account: str
    region: str
    base_url: str
    labels: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)

    def call(self, operation_name: str, **params: Any) -> dict[str, Any]:
        """The operation's output, exactly as the API would answer it in this account and region
        (its input validated by the model's rules first); ServiceError as the API raises it."""
        check_input(operation(operation_name), params)
        call = Call(self.runtime, self.account, self.region, operation_name, "console", self.base_url)
        return handlers[operation_name](call, params) or {}  # an operation without output: {}

    def page_of(self, operation_name: str, key: str, **params: Any) -> tuple[list[Any], str | None]:
        """One page of a list operation (`key`: its list member), from the `next` query parameter;
        and the token of the page after it, for `url(..., next=token)`."""
        token = self.query.get("next")
        if token:
            params["nextToken"] = token
        params.setdefault("maxResults", PAGE_SIZE)
        output = self.call(operation_name, **params)
        return output.get(key, []), output.get("nextToken")

    def url(self, *parts: str, **query: str | None) -> str:
        """The console URL of a page in this account and region; parts are quoted one by one."""
        return console_url(self.account, self.region, *parts, **query)

    def here(self, **changes: str | None) -> str:
        """This page's own URL with some query parameters changed (None: removed); a pager's
        links keep the page's other parameters, a search's text say."""
        query = {**self.query, **changes}
        pairs = {k: v for k, v in query.items() if v is not None}
        return self.request.raw_path + ("?" + urlencode(pairs) if pairs else "")

    def in_scope(self, account: str, region: str) -> str:
        """This page's URL in another account and region (the switcher)."""
        path = self.request.raw_path[len(CONSOLE_PREFIX) :].split("/")
        rest = [unquote(p) for p in path[3:]] if len(path) > 3 else []
        return console_url(account, region, *rest)

    def csrf(self) -> str:
        """The token every console form carries, so that no other site can post one."""
        return csrf_token(self.runtime)


def when(value: Any, *, precise: bool = False) -> str | None:
    """A time as the console shows it, in UTC: to the second, or (`precise`, for the spans of a
    turn) ISO 8601 to the millisecond. Epoch seconds are times too; None stays None."""
    if value is None:
        return None
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    if not isinstance(value, datetime):
        return str(value)
    if precise:
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def console_url(account: str, region: str, *parts: str, **query: str | None) -> str:
    path = "/".join(quote(p, safe="") for p in (account, region, *parts))
    pairs = {k: v for k, v in query.items() if v is not None}
    return f"{CONSOLE_PREFIX}/{path}" + ("?" + urlencode(pairs) if pairs else "")


_environment.globals["console_url"] = console_url

PageFunction = Callable[[View], "Response | Page"]


@dataclass
class Page:
    """What a page function returns: its template, title, breadcrumbs and values."""

    template: str
    title: str
    crumbs: list[Crumb]
    values: dict[str, Any]
    status: int = 200


@dataclass
class _Route:
    method: str
    segments: list[str]
    function: PageFunction


_routes: list[_Route] = []


def page(method: str, pattern: str) -> Callable[[PageFunction], PageFunction]:
    """Register a page at `pattern` under /<account>/<region>/: `{name}` segments are labels."""

    def register(function: PageFunction) -> PageFunction:
        _routes.append(_Route(method, [s for s in pattern.split("/") if s], function))
        return function

    return register


def _match(method: str, segments: list[str]) -> tuple[PageFunction, dict[str, str]] | None:
    for route in _routes:
        if route.method != method or len(route.segments) != len(segments):
            continue
        labels: dict[str, str] = {}
        for expected, given in zip(route.segments, segments, strict=True):
            if expected.startswith("{"):
                labels[expected[1:-1]] = given
            elif expected != given:
                break
        else:
            return route.function, labels
    return None


# --- guards -------------------------------------------------------------------------------


def _key(runtime: Runtime, purpose: bytes) -> str:
    """A value derived from the store's signing secret for one purpose: the same on every replica
    and after a restart, and worth nothing for signing anything else."""
    return hmac.new(runtime.store.secret, b"console-" + purpose, hashlib.sha256).hexdigest()


def csrf_token(runtime: Runtime) -> str:
    return _key(runtime, b"form")


def _session_value(runtime: Runtime) -> str:
    """The cookie a signed-in browser carries: bound to this server's token, never the token."""
    return _key(runtime, b"session:" + (runtime.settings.control_token or "").encode())


def _cookies(request: Request) -> dict[str, str]:
    jar: dict[str, str] = {}
    for part in request.headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            jar[name] = value
    return jar


def signed_in(runtime: Runtime, request: Request) -> bool:
    """Without --enforce-sigv4 the console is open, as the control plane is; with it, the browser
    must have signed in with the control token (or send it as a Bearer header, as the control
    plane takes it)."""
    if refusal(runtime, request, "console") is None:
        return True
    cookie = _cookies(request).get(SESSION_COOKIE, "")
    return bool(runtime.settings.control_token) and hmac.compare_digest(
        cookie.encode(), _session_value(runtime).encode()
    )


def sign_in(runtime: Runtime, token: str) -> str | None:
    """The Set-Cookie value for a correct control token; None for a wrong one."""
    if not token_matches(runtime, token):
        return None
    return f"{SESSION_COOKIE}={_session_value(runtime)}; Path={CONSOLE_PREFIX}; HttpOnly; SameSite=Strict"


def parse_form(request: Request) -> dict[str, str]:
    if len(request.body) > MAX_FORM_BYTES:
        raise ConsoleError(413, "The form is too large.")
    fields = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in fields.items()}


def check_form(view: View) -> None:
    """Every POST carries the form token and an explicit confirmation."""
    if not hmac.compare_digest(view.form.get("csrf", ""), view.csrf()):
        raise ConsoleError(403, "This form did not come from this console (its token is missing or stale).")
    if view.form.get("confirm") != "yes":
        raise ConsoleError(400, "Nothing was done: the action was not confirmed.")


# --- rendering ----------------------------------------------------------------------------


def render(view: View | None, page_: Page) -> Response:
    template = _environment.get_template(page_.template)
    html = template.render(
        view=view,
        title=page_.title,
        crumbs=page_.crumbs,
        console=CONSOLE_PREFIX,
        accounts=known_scopes(view.runtime) if view is not None else [],
        **page_.values,
    )
    return Response(page_.status, list(SECURITY_HEADERS), html.encode("utf-8"))


def known_scopes(runtime: Runtime) -> list[tuple[str, str]]:
    """The account and region pairs that hold anything, for the switcher."""
    with runtime.store.read() as conn:
        return scopes(conn)


def redirect(location: str, *extra: tuple[str, str]) -> Response:
    return Response(303, [("Location", location), ("Cache-Control", "no-store"), *extra])


def error_page(view: View | None, status: int, message: str) -> Response:
    crumbs = [Crumb("Console", view.url() if view is not None else CONSOLE_PREFIX + "/")]
    return render(view, Page("error.html", "Error", crumbs, {"message": message}, status))


def service_error_status(error: ServiceError) -> int:
    return 404 if error.code == "ResourceNotFoundException" else error.status


def scope_of(account: str, region: str) -> None:
    if not is_account_id(account) or not is_region(region):
        raise ConsoleError(404, "A console URL starts with an account id (12 digits) and a region name.")


def dispatch(runtime: Runtime, request: Request, base_url: str) -> Response:
    """The response to any request under /_qconnect/console."""
    started = time.perf_counter()
    rest = request.raw_path[len(CONSOLE_PREFIX) :]
    if rest in ("", "/"):
        settings = runtime.settings
        return redirect(console_url(settings.default_account, settings.default_region) + "/")
    segments = [unquote(s) for s in rest.strip("/").split("/")]
    if segments[0] == "static" and len(segments) == 2 and request.method == "GET":
        return static_file(segments[1])
    if segments == ["sign-in"]:
        return _sign_in(runtime, request)
    if not signed_in(runtime, request):
        return redirect(CONSOLE_PREFIX + "/sign-in")
    if segments == ["switch"]:
        query = {k: v[-1] for k, v in parse_qs(request.query_string).items()}
        account = query.get("account", runtime.settings.default_account)
        region = query.get("region", runtime.settings.default_region)
        try:
            scope_of(account, region)
        except ConsoleError as error:
            return error_page(None, error.status, error.message)
        return redirect(console_url(account, region) + "/")
    view: View | None = None
    try:
        if len(segments) < 2:
            raise ConsoleError(404, "A console URL starts with an account id and a region name.")
        account, region, *path = segments
        scope_of(account, region)
        query = {k: v[-1] for k, v in parse_qs(request.query_string).items()}
        view = View(runtime, request, account, region, base_url, {}, query)
        found = _match(request.method, path)
        if found is None:
            raise ConsoleError(404, f"There is no console page at {request.raw_path}.")
        function, view.labels = found
        if request.method == "POST":
            view.form = parse_form(request)
            check_form(view)
        answer = function(view)
        response = answer if isinstance(answer, Response) else render(view, answer)
    except ConsoleError as error:
        response = error_page(view, error.status, error.message)
    except ServiceError as error:
        response = error_page(view, service_error_status(error), f"{error.code}: {error.message}")
    response.headers.append(("Server-Timing", f"render;dur={(time.perf_counter() - started) * 1000:.1f}"))
    return response


def _sign_in(runtime: Runtime, request: Request) -> Response:
    if request.method == "POST":
        form = parse_form(request)
        cookie = sign_in(runtime, form.get("token", ""))
        if cookie is not None:
            return redirect(CONSOLE_PREFIX + "/", ("Set-Cookie", cookie))
        message = "That is not the control token."
        status = 403
    else:
        message = (
            "" if runtime.settings.control_token else "The server has no control token (--control-token)."
        )
        status = 200
    crumbs = [Crumb("Sign in")]
    return render(None, Page("sign_in.html", "Sign in", crumbs, {"message": message}, status))


_STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
}


def static_file(name: str) -> Response:
    path = HERE / "static" / name
    if "/" in name or name.startswith(".") or path.suffix not in _STATIC_TYPES or not path.is_file():
        return Response(404, [("Content-Type", "text/plain")], b"Not found")
    return Response(
        200,
        [
            ("Content-Type", _STATIC_TYPES[path.suffix]),
            ("Cache-Control", "max-age=3600"),
            ("X-Content-Type-Options", "nosniff"),
        ],
        path.read_bytes(),
    )
