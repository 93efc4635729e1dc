"""The web crawler of MANAGED knowledge bases: a `WebCrawlerConfiguration` in, pages out.

Pure: no database, no storage. The worker iterates `crawl(config)` and turns each `CrawledPage`
into content; a `SkippedPage` says why a URL gave none. The qconnect model is Amazon Bedrock's
web crawler configuration, so where the model is silent (scope, filters, the rate limit, robots.txt)
Bedrock's documented behaviour is followed. Every crawl is bounded (pages, bytes, time, depth)
whatever the configuration says. The user-facing rules are `docs/crawler.md`; keep both in step.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import IO, Any, Final, Protocol
from urllib.parse import SplitResult, quote, urljoin, urlsplit, urlunsplit

import regex

from qconnect_local import __version__

__all__ = [
    "USER_AGENT",
    "CrawlConfigError",
    "CrawledPage",
    "Fetcher",
    "Response",
    "SkippedPage",
    "UrllibFetcher",
    "canonical_url",
    "crawl",
    "validate",
]

# The robots.txt product token (RFC 9309 section 2.2.1) and the User-Agent header that starts with it.
PRODUCT_TOKEN: Final = "qconnect-local"
USER_AGENT: Final = f"{PRODUCT_TOKEN}/{__version__} (+crawler)"

SCOPES: Final = ("HOST_ONLY", "SUBDOMAINS")
# `crawlerLimits.rateLimit`: URLs per minute per host. Bedrock's default is the model's maximum.
DEFAULT_RATE_LIMIT: Final = 300
RATE_WINDOW_SECONDS: Final = 60.0

DEFAULT_MAX_PAGES: Final = 500
DEFAULT_MAX_BYTES_PER_PAGE: Final = 5 * 1024 * 1024
DEFAULT_TIMEOUT: Final = 10.0
DEFAULT_MAX_DEPTH: Final = 10
MAX_REDIRECTS: Final = 5  # RFC 9309 asks robots.txt fetchers to follow at least five; pages get as many
FILTER_SECONDS: Final = 0.05  # the most one filter may spend on one URL
ROBOTS_UNREACHABLE: Final = "robots.txt unreachable"
ROBOTS_MAX_BYTES: Final = 500 * 1024  # RFC 9309 section 2.5: parse at least the first 500 KiB

HTML: Final = "text/html"
DOCX: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
KEPT_TYPES: Final = frozenset({HTML, "text/plain", "application/pdf", DOCX})
# When a server names no type (or only "bytes"), the URL's extension decides.
_TYPES_BY_EXTENSION: Final = {
    ".html": HTML,
    ".htm": HTML,
    ".txt": "text/plain",
    ".pdf": "application/pdf",
    ".docx": DOCX,
}
_UNTYPED: Final = frozenset({"", "application/octet-stream"})

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# Characters left as they are when a path or query is percent-encoded ("%" keeps escapes intact).
_SAFE_PATH: Final = "/%:@!$&'()*+,;="
_SAFE_QUERY: Final = _SAFE_PATH + "?"
_READ_CHUNK: Final = 64 * 1024
_SPACES: Final = re.compile(r"\s+")


class CrawlConfigError(ValueError):
    """The configuration cannot be crawled; `str()` is the user-facing message."""


@dataclass(frozen=True)
class CrawledPage:
    """A page worth keeping. `url` is where its body came from, after any redirects."""

    url: str
    content_type: str  # the media type, lower case, without parameters: one of KEPT_TYPES
    body: bytes
    title: str | None = None  # an HTML page's <title>, whitespace collapsed
    charset: str | None = None  # the Content-Type charset, for decoding text/html and text/plain


@dataclass(frozen=True)
class SkippedPage:
    """A URL that was a candidate but gave no page; `reason` is for the user.

    `by_rule`: the configuration or robots.txt refused it (what the user asked for, not a failure).
    """

    url: str
    reason: str
    by_rule: bool = False


@dataclass(frozen=True)
class Response:
    """One HTTP response, redirects not followed: what a `Fetcher` returns."""

    status: int
    content_type: str | None = None  # the Content-Type header, as sent
    location: str | None = None  # the Location header, as sent
    body: bytes = b""  # at most `max_bytes` bytes: the start of a longer body
    truncated: bool = False  # the body was longer than `max_bytes`


class Fetcher(Protocol):
    """How the crawler sends one GET; substitute one to crawl without a network."""

    def __call__(self, url: str, *, timeout: float, max_bytes: int) -> Response:
        """Fetch `url` without following redirects; raise OSError or HTTPException if no response came."""
        ...


class UrllibFetcher:
    """The default fetcher: `urllib.request` (environment proxy settings apply), no redirects."""

    def __init__(self, user_agent: str = USER_AGENT) -> None:
        self._user_agent = user_agent
        self._opener = urllib.request.build_opener(_NoRedirects())

    def __call__(self, url: str, *, timeout: float, max_bytes: int) -> Response:
        request = urllib.request.Request(url, headers={"User-Agent": self._user_agent})
        try:
            response = self._opener.open(request, timeout=timeout)
        except urllib.error.HTTPError as error:
            # Every status but 2xx arrives here, redirects included; their bodies are not needed.
            error.close()
            return Response(error.code, error.headers.get("Content-Type"), error.headers.get("Location"))
        with response:
            body = _read_capped(response, max_bytes, timeout)
            return Response(
                response.status,
                response.headers.get("Content-Type"),
                body=body[:max_bytes],
                truncated=len(body) > max_bytes,
            )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Hands 3xx responses back as they are: the crawler checks each hop against the scope."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> None:
        return None


def _read_capped(response: IO[bytes], max_bytes: int, timeout: float) -> bytes:
    """At most `max_bytes + 1` bytes (one more tells "too large"), within `timeout` seconds overall."""
    started = time.monotonic()
    chunks: list[bytes] = []
    size = 0
    # read1 returns what one receive brings: a body dripping in a byte at a time still meets the
    # overall deadline (read() would wait for a whole chunk, each byte resetting the socket's).
    read = getattr(response, "read1", response.read)
    while size <= max_bytes:
        chunk = read(min(_READ_CHUNK, max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"body not read within {timeout:g} s")
    return b"".join(chunks)


def canonical_url(url: str) -> str | None:
    """The one form of `url` that is compared, filtered and fetched, or None if it cannot be crawled.

    Lower-case scheme and host (IDNA-encoded), no default port, no user info, no fragment, dot
    segments removed, path and query percent-encoded where they hold characters HTTP cannot send.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    else:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _remove_dot_segments(quote(parts.path or "/", safe=_SAFE_PATH))
    return urlunsplit((scheme, netloc, path, quote(parts.query, safe=_SAFE_QUERY), ""))


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, for an absolute path: `urljoin` leaves absolute URLs' dots alone."""
    segments = path.split("/")[1:]
    kept: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment in (".", ".."):
            if segment == ".." and kept:
                kept.pop()
            if last:
                kept.append("")
        else:
            kept.append(segment)
    return "/" + "/".join(kept)


def validate(config: Mapping[str, Any]) -> None:
    """Raise CrawlConfigError if `crawl(config)` would; for checking a configuration up front."""
    _Plan.parse(config)


def crawl(
    config: Mapping[str, Any],
    *,
    fetcher: Fetcher | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_bytes_per_page: int = DEFAULT_MAX_BYTES_PER_PAGE,
    timeout: float = DEFAULT_TIMEOUT,
    max_depth: int = DEFAULT_MAX_DEPTH,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[CrawledPage | SkippedPage]:
    """Crawl breadth-first from the seed URLs, lazily: the caller may stop at any item.

    `max_pages` bounds the URLs fetched (whatever their outcome), `deadline` the seconds from the
    first item asked for. The configuration is checked now (CrawlConfigError); no page raises.
    """
    crawler = _Crawler(
        _Plan.parse(config),
        fetcher=fetcher or UrllibFetcher(),
        max_pages=max_pages,
        max_bytes_per_page=max_bytes_per_page,
        timeout=timeout,
        max_depth=max_depth,
        deadline=deadline,
        clock=clock,
        sleep=sleep,
    )
    return crawler.run()


@dataclass(frozen=True)
class _Plan:
    """A checked configuration."""

    seeds: tuple[str, ...]  # canonical, without repeats, in the configuration's order
    scope: str | None
    inclusion: tuple[regex.Pattern[str], ...]
    exclusion: tuple[regex.Pattern[str], ...]
    rate_limit: int

    @classmethod
    def parse(cls, config: Mapping[str, Any]) -> _Plan:
        if not isinstance(config, Mapping):
            raise CrawlConfigError("the web crawler configuration must be an object")
        url_configuration = config.get("urlConfiguration")
        entries = url_configuration.get("seedUrls") if isinstance(url_configuration, Mapping) else None
        if not isinstance(entries, Sequence) or isinstance(entries, str) or not entries:
            raise CrawlConfigError("urlConfiguration.seedUrls must hold at least one seed URL")
        seeds: dict[str, None] = {}
        for index, entry in enumerate(entries):
            url = entry.get("url") if isinstance(entry, Mapping) else None
            canonical = canonical_url(url) if isinstance(url, str) else None
            if canonical is None:
                raise CrawlConfigError(
                    f"urlConfiguration.seedUrls[{index}].url must be an absolute http or https URL"
                )
            seeds[canonical] = None
        scope = config.get("scope")
        if scope is not None and scope not in SCOPES:
            raise CrawlConfigError(f"scope must be one of {', '.join(SCOPES)}, or absent")
        limits = config.get("crawlerLimits") or {}
        rate_limit = limits.get("rateLimit") if isinstance(limits, Mapping) else None
        if rate_limit is None:
            rate_limit = DEFAULT_RATE_LIMIT
        if not isinstance(rate_limit, int) or isinstance(rate_limit, bool) or rate_limit < 1:
            raise CrawlConfigError("crawlerLimits.rateLimit must be a positive whole number")
        return cls(
            seeds=tuple(seeds),
            scope=scope,
            inclusion=_compile("inclusionFilters", config.get("inclusionFilters")),
            exclusion=_compile("exclusionFilters", config.get("exclusionFilters")),
            rate_limit=rate_limit,
        )

    def in_scope(self, url: SplitResult) -> bool:
        """Whether `url` is in the scope of any seed (the crawl's scope is their union)."""
        return any(self._covers(urlsplit(seed), url) for seed in self.seeds)

    def _covers(self, seed: SplitResult, url: SplitResult) -> bool:
        if url.port != seed.port or not url.hostname or not seed.hostname:
            return False
        if self.scope == "SUBDOMAINS":
            domain = _registrable_domain(seed.hostname)
            return url.hostname == domain or url.hostname.endswith("." + domain)
        if url.hostname != seed.hostname:
            return False
        return self.scope == "HOST_ONLY" or _path_under(url.path, seed.path)

    def filter_refusal(self, url: str) -> str | None:
        """Why the filters refuse `url` (exclusion wins), or None.

        A user's pattern may backtrack without end on some URL: each match is given
        FILTER_SECONDS, and one that runs out counts as excluding (or as not including) the URL.
        """
        for index, pattern in enumerate(self.exclusion):
            if _search(pattern, url) is not False:
                return f"excluded by exclusionFilters[{index}]"
        if self.inclusion and not any(_search(pattern, url) is True for pattern in self.inclusion):
            return "matches no inclusionFilters"
        return None


def _search(pattern: regex.Pattern[str], url: str) -> bool | None:
    """Whether `pattern` matches in `url`; None when it could not tell within FILTER_SECONDS."""
    try:
        return pattern.search(url, timeout=FILTER_SECONDS, concurrent=True) is not None
    except TimeoutError:
        return None


def _compile(name: str, patterns: object) -> tuple[regex.Pattern[str], ...]:
    if patterns is None:
        return ()
    if not isinstance(patterns, Sequence) or isinstance(patterns, str):
        raise CrawlConfigError(f"{name} must be a list of regular expressions")
    compiled: list[regex.Pattern[str]] = []
    for index, pattern in enumerate(patterns):
        if not isinstance(pattern, str):
            raise CrawlConfigError(f"{name}[{index}] must be a string")
        try:
            compiled.append(regex.compile(pattern, regex.VERSION0))
        except regex.error as error:
            # The patterns are `sensitive` in the model: say where the error is, not what it is.
            position = "" if error.pos is None else f" at position {error.pos}"
            raise CrawlConfigError(
                f"{name}[{index}] is not a valid regular expression: {error.msg}{position}"
            ) from None
    return tuple(compiled)


def _registrable_domain(host: str) -> str:
    """The last two labels of `host` (no public-suffix list), or the host itself for an IP or one label."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return ".".join(host.rstrip(".").split(".")[-2:])
    return host


def _path_under(path: str, base: str) -> bool:
    """Whether `path` is `base` or below it, segment-wise: /docs covers /docs/a but not /docs-old."""
    return path == base or path.startswith(base if base.endswith("/") else base + "/")


@dataclass(frozen=True)
class _Rule:
    length: int  # of the rule's path as written: the longest matching rule decides
    allow: bool
    pieces: tuple[str, ...]  # the path split at each `*`, percent-encoded
    anchored: bool  # a final `$`: the path must end where the rule does

    def matches(self, target: str) -> bool:
        """The rule matches from the start of `target`, each `*` standing for any characters.

        Each piece is found at its leftmost place after the previous one (enough for `*`
        wildcards, and linear in the path for each piece: no backtracking to exploit).
        """
        first, *rest = self.pieces
        if not target.startswith(first):
            return False
        if not rest:
            return not self.anchored or target == first
        *middle, last = rest
        at = len(first)
        for piece in middle:
            found = target.find(piece, at)
            if found < 0:
                return False
            at = found + len(piece)
        if self.anchored:
            return target.endswith(last) and len(target) - len(last) >= at
        return target.find(last, at) >= 0


@dataclass(frozen=True)
class _Robots:
    """One origin's robots.txt, as the rules that apply to PRODUCT_TOKEN."""

    rules: tuple[_Rule, ...] = ()
    unreachable: str | None = None  # why everything is disallowed (RFC 9309 section 2.3.1.4)

    def refusal(self, url: SplitResult) -> str | None:
        if self.unreachable is not None:
            return self.unreachable
        if url.path == "/robots.txt":
            return None
        target = url.path + (f"?{url.query}" if url.query else "")
        matches = [(rule.length, rule.allow) for rule in self.rules if rule.matches(target)]
        return None if not matches or max(matches)[1] else "disallowed by robots.txt"


def _robots_rules(text: str) -> tuple[_Rule, ...]:
    """The rules of the groups naming PRODUCT_TOKEN, else of the `*` groups (RFC 9309 section 2.2)."""
    groups: dict[str, list[_Rule]] = {}
    agents: list[str] = []
    in_rules = False
    for line in text.splitlines():
        key, colon, value = line.split("#", 1)[0].partition(":")
        key, value = key.strip().lower(), value.strip()
        if not colon:
            continue
        if key == "user-agent":
            if in_rules:
                agents, in_rules = [], False
            agents.append(value.lower())
            groups.setdefault(value.lower(), [])
        elif key in ("allow", "disallow") and agents:
            in_rules = True
            if value:
                rule = _robots_rule(value, allow=key == "allow")
                for agent in agents:
                    groups[agent].append(rule)
    return tuple(groups.get(PRODUCT_TOKEN, groups.get("*", [])))


def _robots_rule(path: str, *, allow: bool) -> _Rule:
    """`*` matches any characters, a final `$` ends the match; the rest is matched as encoded."""
    anchored = path.endswith("$")
    pieces = tuple(quote(piece, safe=_SAFE_QUERY) for piece in (path[:-1] if anchored else path).split("*"))
    return _Rule(len(path), allow, pieces, anchored)


class _PageParser(HTMLParser):
    """Collects an HTML page's followable links (`<a href>`, not rel=nofollow), `<base href>` and title."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.base: str | None = None
        self.title: list[str] = []
        self._title_state = "before"  # "in", then "after": only the first <title> counts

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        href = values.get("href")
        if tag == "a" and href is not None:
            if "nofollow" not in (values.get("rel") or "").lower().split():
                self.hrefs.append(href)
        elif tag == "base" and href is not None and self.base is None:
            self.base = href
        elif tag == "title" and self._title_state == "before":
            self._title_state = "in"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._title_state == "in":
            self._title_state = "after"

    def handle_data(self, data: str) -> None:
        if self._title_state == "in":
            self.title.append(data)


def _parse_html(body: bytes, charset: str | None, url: str) -> tuple[str | None, list[str]]:
    """The page's title and its links resolved against `<base href>` (itself against `url`)."""
    try:
        text = body.decode(charset or "utf-8", "replace")
    except LookupError:
        text = body.decode("utf-8", "replace")
    parser = _PageParser()
    parser.feed(text)
    parser.close()
    base = urljoin(url, parser.base.strip()) if parser.base is not None else url
    title = _SPACES.sub(" ", "".join(parser.title)).strip() or None
    return title, [urljoin(base, href.strip()) for href in parser.hrefs]


def _media_type(header: str | None, url: str) -> tuple[str, str | None]:
    """The media type (from the URL's extension when the server names none) and the charset."""
    media, _, parameters = (header or "").partition(";")
    media = media.strip().lower()
    charset = None
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'") or None
    if media in _UNTYPED:
        media = _TYPES_BY_EXTENSION.get(PurePosixPath(urlsplit(url).path).suffix.lower(), media)
    return media, charset


def _describe(error: Exception) -> str:
    """A failed request in a few words: urllib wraps the cause (refused, timed out) in URLError."""
    cause = error.reason if isinstance(error, urllib.error.URLError) else error
    return str(cause) or type(cause).__name__


class _DeadlineReached(Exception):
    """The crawl's deadline came: no more requests."""


class _RateLimiter:
    """At most `per_minute` requests per host in any 60 s window (Bedrock's `rateLimit`)."""

    def __init__(self, per_minute: int, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._sleep = sleep
        self._sent: dict[str, deque[float]] = {}

    def wait(self, host: str, deadline: float | None) -> None:
        """Return when a request to `host` may go; raise _DeadlineReached rather than wait past `deadline`."""
        sent = self._sent.setdefault(host, deque())
        while True:
            now = self._clock()
            while sent and sent[0] <= now - RATE_WINDOW_SECONDS:
                sent.popleft()
            if len(sent) < self._per_minute:
                sent.append(now)
                return
            delay = sent[0] + RATE_WINDOW_SECONDS - now
            if deadline is not None and now + delay >= deadline:
                raise _DeadlineReached
            self._sleep(delay)


class _Crawler:
    """One crawl's state: the queue, the URLs seen, each origin's robots.txt, the rate limiter."""

    def __init__(
        self,
        plan: _Plan,
        *,
        fetcher: Fetcher,
        max_pages: int,
        max_bytes_per_page: int,
        timeout: float,
        max_depth: int,
        deadline: float | None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self._plan = plan
        self._fetcher = fetcher
        self._max_pages = max_pages
        self._max_bytes = max_bytes_per_page
        self._timeout = timeout
        self._max_depth = max_depth
        self._deadline = deadline
        self._deadline_at: float | None = None
        self._clock = clock
        self._limiter = _RateLimiter(plan.rate_limit, clock, sleep)
        self._robots: dict[str, _Robots] = {}
        self._seen: set[str] = set(plan.seeds)

    def run(self) -> Iterator[CrawledPage | SkippedPage]:
        if self._deadline is not None:
            self._deadline_at = self._clock() + self._deadline
        try:
            yield from self._walk()
        except _DeadlineReached:
            return

    def _walk(self) -> Iterator[CrawledPage | SkippedPage]:
        queue = deque((seed, 0) for seed in self._plan.seeds)
        fetched = 0
        while queue and fetched < self._max_pages:
            url, depth = queue.popleft()
            refusal = self._refusal(url)
            if refusal is not None:
                # Filters and robots.txt rules are the site's and the user's choice; a robots.txt
                # that can't be read is a failure to report.
                yield SkippedPage(url, refusal, by_rule=not refusal.startswith(ROBOTS_UNREACHABLE))
                continue
            fetched += 1
            page, links = self._fetch_page(url)
            if depth < self._max_depth:
                for link in filter(None, map(canonical_url, links)):
                    if link not in self._seen and self._plan.in_scope(urlsplit(link)):
                        self._seen.add(link)
                        queue.append((link, depth + 1))
            yield page

    def _refusal(self, url: str) -> str | None:
        """Why `url` is not fetched (filters, then robots.txt), or None."""
        refusal = self._plan.filter_refusal(url)
        if refusal is not None:
            return refusal
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = self._load_robots(origin + "/robots.txt")
        return self._robots[origin].refusal(parts)

    def _load_robots(self, url: str) -> _Robots:
        """RFC 9309 section 2.3: 4xx allows everything; 5xx or no answer disallows everything."""
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = self._request(url, max_bytes=ROBOTS_MAX_BYTES, rate_limited=False)
            except (OSError, http.client.HTTPException) as error:
                return _Robots(unreachable=f"{ROBOTS_UNREACHABLE} ({_describe(error)})")
            if response.status >= 500:
                return _Robots(unreachable=f"{ROBOTS_UNREACHABLE} (HTTP {response.status})")
            if 200 <= response.status < 300:
                return _Robots(_robots_rules(response.body.decode("utf-8", "replace").lstrip("\ufeff")))
            target = canonical_url(urljoin(url, response.location)) if response.location else None
            if not 300 <= response.status < 400 or target is None:
                return _Robots()
            url = target
        return _Robots()  # too many redirects: the file counts as unavailable

    def _fetch_page(self, url: str) -> tuple[CrawledPage | SkippedPage, list[str]]:
        """Fetch `url`, following in-scope redirects: the page (or why not) and its links."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = self._request(current, max_bytes=self._max_bytes, rate_limited=True)
            except (OSError, http.client.HTTPException) as error:
                return SkippedPage(url, f"request failed: {_describe(error)}"), []
            if not 300 <= response.status < 400:
                return self._page(url, current, response)
            target = canonical_url(urljoin(current, response.location)) if response.location else None
            if target is None:
                return SkippedPage(url, f"HTTP {response.status} without a usable Location"), []
            refusal = self._redirect_refusal(target)
            if refusal is not None:
                return SkippedPage(url, f"redirects to {target}: {refusal}"), []
            self._seen.add(target)
            current = target
        return SkippedPage(url, f"more than {MAX_REDIRECTS} redirects"), []

    def _redirect_refusal(self, target: str) -> str | None:
        if target in self._seen:
            return "already seen"
        if not self._plan.in_scope(urlsplit(target)):
            return "out of scope"
        return self._refusal(target)

    def _page(
        self, url: str, final_url: str, response: Response
    ) -> tuple[CrawledPage | SkippedPage, list[str]]:
        at = "" if final_url == url else f" at {final_url}"
        if not 200 <= response.status < 300:
            return SkippedPage(url, f"HTTP {response.status}{at}"), []
        if response.truncated:
            return SkippedPage(url, f"larger than max_bytes_per_page ({self._max_bytes} bytes){at}"), []
        media, charset = _media_type(response.content_type, final_url)
        if media not in KEPT_TYPES:
            return SkippedPage(url, f"unsupported content type {media or '(none)'}{at}"), []
        if not response.body:
            return SkippedPage(url, f"empty body{at}"), []
        title, links = _parse_html(response.body, charset, final_url) if media == HTML else (None, [])
        return CrawledPage(final_url, media, response.body, title=title, charset=charset), links

    def _request(self, url: str, *, max_bytes: int, rate_limited: bool) -> Response:
        """One GET within the rate limit and the deadline; raises _DeadlineReached when it is past."""
        if rate_limited:
            self._limiter.wait(urlsplit(url).netloc, self._deadline_at)
        timeout = self._timeout
        if self._deadline_at is not None:
            remaining = self._deadline_at - self._clock()
            if remaining <= 0:
                raise _DeadlineReached
            timeout = min(timeout, remaining)
        return self._fetcher(url, timeout=timeout, max_bytes=max_bytes)
