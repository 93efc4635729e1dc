"""The web crawler of MANAGED knowledge bases (`qconnect_local.worker.crawler`, `docs/crawler.md`).

One local HTTP server plays several hosts: the `fetcher` fixture sends `http://<host>/<path>` to it
as `/<host>/<path>`, through the real urllib fetcher. The hosts:

- `site.test`: the docs under /docs/ (the seed), a blog under /blog/, a robots.txt that disallows
  everything for other crawlers and /docs/private/ (but /docs/private/public.html) for ours;
- `docs.site.test`: a subdomain of it; `other.test`: another site.

Rate limits and deadlines run on a fake clock against an in-memory `FakeWeb` instead.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

import pytest

from qconnect_local.worker.crawler import (
    DOCX,
    USER_AGENT,
    CrawlConfigError,
    CrawledPage,
    Response,
    SkippedPage,
    UrllibFetcher,
    crawl,
    validate,
)

MiB = 1024 * 1024
SEED = "http://site.test/docs/"
Result = CrawledPage | SkippedPage


def html(body: str, title: str = "") -> tuple[int, dict[str, str], bytes]:
    page = f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>"
    return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()


def links(*hrefs: str) -> str:
    return "".join(f'<a href="{href}">{href}</a>' for href in hrefs)


ROBOTS = """\
User-agent: *
Disallow: /

User-agent: qconnect-local
Disallow: /docs/private/
Allow: /docs/private/public.html
"""

# host/path -> (status, headers, body); every other path is a 404.
SITE: dict[str, tuple[int, dict[str, str], bytes]] = {
    "site.test/robots.txt": (200, {"Content-Type": "text/plain"}, ROBOTS.encode()),
    "site.test/docs/": html(
        links(
            "a.html",
            "/docs/a.html#part-2",
            "b.html",
            "../blog/post.html",
            "http://docs.site.test/start.html",
            "http://other.test/page.html",
            "notes.txt",
            "manual.pdf",
            "report.docx",
            "logo.png",
            "big.html",
            "missing.html",
            "old.html",
            "away.html",
            "private/hidden.html",
            "private/public.html",
            "mailto:docs@site.test",
        )
        + '<a href="sponsored.html" rel="sponsored nofollow">ad</a>',
        title="  Docs\n home ",
    ),
    "site.test/docs/a.html": html(links("./", "b.html", "deep/1.html")),
    "site.test/docs/b.html": html(links("a.html")),
    "site.test/docs/deep/1.html": html(links("2.html")),
    "site.test/docs/deep/2.html": html("the bottom"),
    "site.test/docs/new.html": html("moved here"),
    "site.test/docs/sponsored.html": html("never followed"),
    "site.test/docs/private/hidden.html": html("disallowed"),
    "site.test/docs/private/public.html": html("allowed by the longer rule"),
    "site.test/docs/notes.txt": (200, {"Content-Type": "text/plain; charset=utf-8"}, b"plain notes"),
    "site.test/docs/manual.pdf": (200, {"Content-Type": "application/pdf"}, b"%PDF-1.4 a manual"),
    "site.test/docs/report.docx": (200, {"Content-Type": "application/octet-stream"}, b"PK docx"),
    "site.test/docs/logo.png": (200, {"Content-Type": "image/png"}, b"\x89PNG"),
    "site.test/docs/big.html": (200, {"Content-Type": "text/html"}, b"<p>" + b"x" * (6 * MiB)),
    "site.test/docs/old.html": (301, {"Location": "/docs/new.html"}, b""),
    "site.test/docs/away.html": (302, {"Location": "http://other.test/page.html"}, b""),
    "site.test/blog/post.html": html(links("/docs/a.html", "archive.html")),
    "site.test/blog/archive.html": html("old posts"),
    "docs.site.test/start.html": html(links("http://site.test/docs/", "guide.html")),
    "docs.site.test/guide.html": html("a guide"),
    "other.test/page.html": html("another site"),
}
# Served without Content-Length, so that only reading tells the size.
STREAMED = "site.test/docs/streamed.html"


class Server(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[str, str]] = []  # (host/path, User-Agent)
        self.release_slow = threading.Event()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """The crawler hangs up on bodies over the cap: not an error here."""


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:
        key = self.path.lstrip("/")
        self.server.requests.append((key, self.headers.get("User-Agent", "")))
        if key == "site.test/slow.html":
            self.server.release_slow.wait(5)
        if key == STREAMED:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(8):
                self.wfile.write(b"y" * MiB)
            return
        status, headers, body = SITE.get(key, (404, {"Content-Type": "text/html"}, b"not found"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    httpd = Server()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.release_slow.set()
    httpd.shutdown()
    httpd.server_close()


class VirtualHosts:
    """A fetcher that sends every host to the test server, the host name leading the path."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inner = UrllibFetcher()

    def __call__(self, url: str, *, timeout: float, max_bytes: int) -> Response:
        parts = urlsplit(url)
        query = f"?{parts.query}" if parts.query else ""
        local = f"http://127.0.0.1:{self.port}/{parts.netloc}{parts.path}{query}"
        return self.inner(local, timeout=timeout, max_bytes=max_bytes)


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default fetcher honours proxy settings; the test server is reached directly."""
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fetcher(server: Server, no_proxy: None) -> VirtualHosts:
    server.requests.clear()
    return VirtualHosts(server.server_address[1])


def config(*seeds: str, **fields: Any) -> dict[str, Any]:
    return {"urlConfiguration": {"seedUrls": [{"url": url} for url in seeds or (SEED,)]}, **fields}


def crawled(results: list[Result]) -> list[str]:
    return [result.url for result in results if isinstance(result, CrawledPage)]


def skipped(results: list[Result]) -> dict[str, str]:
    return {result.url: result.reason for result in results if isinstance(result, SkippedPage)}


def docs(*paths: str) -> list[str]:
    return [f"http://site.test/docs/{path}" for path in paths]


# Breadth-first, in document order: the seed, its links, then theirs.
DOCS_CRAWL = docs(
    "",
    "a.html",
    "b.html",
    "notes.txt",
    "manual.pdf",
    "report.docx",
    "new.html",
    "private/public.html",
    "deep/1.html",
    "deep/2.html",
)


# Scope


def test_without_a_scope_the_crawl_stays_on_the_seed_host_under_the_seed_path(fetcher: VirtualHosts) -> None:
    assert crawled(list(crawl(config(), fetcher=fetcher))) == DOCS_CRAWL


def test_host_only_takes_every_path_of_the_seed_host(fetcher: VirtualHosts) -> None:
    results = list(crawl(config(scope="HOST_ONLY"), fetcher=fetcher))

    assert crawled(results) == [
        *docs("", "a.html", "b.html"),
        "http://site.test/blog/post.html",
        *docs("notes.txt", "manual.pdf", "report.docx", "new.html", "private/public.html", "deep/1.html"),
        "http://site.test/blog/archive.html",
        *docs("deep/2.html"),
    ]


def test_subdomains_takes_the_seed_domain_and_all_its_subdomains(fetcher: VirtualHosts) -> None:
    results = list(crawl(config(scope="SUBDOMAINS"), fetcher=fetcher))

    assert crawled(results) == [
        *docs("", "a.html", "b.html"),
        "http://site.test/blog/post.html",
        "http://docs.site.test/start.html",
        *docs("notes.txt", "manual.pdf", "report.docx", "new.html", "private/public.html", "deep/1.html"),
        "http://site.test/blog/archive.html",
        "http://docs.site.test/guide.html",
        *docs("deep/2.html"),
    ]
    assert "http://other.test/page.html" not in crawled(results)


def test_the_scope_of_several_seeds_is_the_union_of_theirs() -> None:
    web = FakeWeb(
        {
            "http://a.test/docs/": page("http://b.test/x", "http://c.test/"),
            "http://b.test/": page("http://a.test/docs/y", "http://a.test/other"),
            "http://b.test/x": page(),
            "http://a.test/docs/y": page(),
        }
    )
    results = list(crawl(config("http://a.test/docs/", "http://b.test/"), fetcher=web))

    assert crawled(results) == [
        "http://a.test/docs/",
        "http://b.test/",
        "http://b.test/x",
        "http://a.test/docs/y",
    ]


def test_a_seed_path_covers_whole_segments_only() -> None:
    web = FakeWeb(
        {
            "http://x.test/docs": page("/docs/a", "/docs-old/b", "/docsa"),
            "http://x.test/docs/a": page(),
            "http://x.test/docs-old/b": page(),
        }
    )
    assert crawled(list(crawl(config("http://x.test/docs"), fetcher=web))) == [
        "http://x.test/docs",
        "http://x.test/docs/a",
    ]


# What is kept, what is skipped and why


def test_skipped_pages_say_why(fetcher: VirtualHosts) -> None:
    assert skipped(list(crawl(config(), fetcher=fetcher))) == {
        docs("logo.png")[0]: "unsupported content type image/png",
        docs("big.html")[0]: "larger than max_bytes_per_page (5242880 bytes)",
        docs("missing.html")[0]: "HTTP 404",
        docs("away.html")[0]: "redirects to http://other.test/page.html: out of scope",
        docs("private/hidden.html")[0]: "disallowed by robots.txt",
    }


def test_crawled_pages_carry_their_type_title_and_charset(fetcher: VirtualHosts) -> None:
    pages = {page.url: page for page in crawl(config(), fetcher=fetcher) if isinstance(page, CrawledPage)}

    assert (pages[SEED].content_type, pages[SEED].title, pages[SEED].charset) == (
        "text/html",
        "Docs home",
        "utf-8",
    )
    assert pages[SEED].body == SITE["site.test/docs/"][2]
    assert pages[docs("notes.txt")[0]].content_type == "text/plain"
    assert pages[docs("notes.txt")[0]].title is None
    assert pages[docs("manual.pdf")[0]].content_type == "application/pdf"
    # Served as application/octet-stream: the extension names the type.
    assert pages[docs("report.docx")[0]].content_type == DOCX


def test_redirects_in_scope_are_followed_and_the_page_takes_the_final_url(fetcher: VirtualHosts) -> None:
    results = list(crawl(config(), fetcher=fetcher))

    assert docs("new.html")[0] in crawled(results)
    assert docs("old.html")[0] not in crawled(results) + list(skipped(results))


def test_redirect_loops_and_long_chains_are_skipped() -> None:
    web = FakeWeb(
        {
            "http://x.test/": page("/loop", "/chain/0"),
            "http://x.test/loop": Response(302, location="/loop-back"),
            "http://x.test/loop-back": Response(302, location="/loop"),
            **{f"http://x.test/chain/{i}": Response(307, location=f"/chain/{i + 1}") for i in range(6)},
        }
    )
    assert skipped(list(crawl(config("http://x.test/"), fetcher=web))) == {
        "http://x.test/loop": "redirects to http://x.test/loop: already seen",
        "http://x.test/chain/0": "more than 5 redirects",
    }


def test_a_request_that_fails_is_skipped_and_the_crawl_goes_on(fetcher: VirtualHosts, server: Server) -> None:
    try:
        results = list(crawl(config("http://site.test/slow.html", SEED), fetcher=fetcher, timeout=0.2))
    finally:
        server.release_slow.set()

    assert skipped(results)["http://site.test/slow.html"] == "request failed: timed out"
    assert crawled(results) == DOCS_CRAWL


def test_an_unreachable_host_is_skipped_with_the_error() -> None:
    web = FakeWeb(
        {"http://x.test/": page("/reset"), "http://x.test/reset": ConnectionResetError("connection reset")}
    )

    assert skipped(list(crawl(config("http://x.test/"), fetcher=web))) == {
        "http://x.test/reset": "request failed: connection reset",
    }


def test_a_closed_port_gives_a_skipped_page(no_proxy: None) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    seed = f"http://127.0.0.1:{port}/"

    # The default fetcher; robots.txt is asked first, and no answer disallows the host (RFC 9309).
    [result] = list(crawl(config(seed), timeout=1))

    assert isinstance(result, SkippedPage)
    assert result.url == seed
    assert result.reason.startswith("robots.txt unreachable (") and "refused" in result.reason.lower()


# Links


def test_links_resolve_against_base_href_and_skip_nofollow_fragments_and_other_schemes() -> None:
    web = FakeWeb(
        {
            "http://x.test/": page(
                '<base href="/docs/">',
                '<a href="guide.html#intro">guide</a>',
                '<a href="guide.html">again</a>',
                '<a href="paid.html" rel="NOFOLLOW">paid</a>',
                '<a href="javascript:void(0)">js</a><a href="tel:+1">tel</a>',
                '<a href=" HTTP://X.TEST:80/docs/./faq.html ">faq</a>',
                raw=True,
            ),
            "http://x.test/docs/guide.html": page(),
            "http://x.test/docs/faq.html": page(),
        }
    )
    results = list(crawl(config("http://x.test/"), fetcher=web))

    assert crawled(results) == [
        "http://x.test/",
        "http://x.test/docs/guide.html",
        "http://x.test/docs/faq.html",
    ]
    assert web.fetched.count("http://x.test/docs/guide.html") == 1


def test_no_url_is_fetched_twice(fetcher: VirtualHosts, server: Server) -> None:
    seeds = ("HTTP://Site.TEST:80/docs/#top", SEED, "http://site.test/docs/a.html")
    results = list(crawl(config(*seeds, scope="SUBDOMAINS"), fetcher=fetcher))

    fetched = [path for path, _ in server.requests]
    assert sorted(fetched) == sorted(set(fetched))
    urls = [result.url for result in results]
    assert sorted(urls) == sorted(set(urls))
    assert fetched.count("site.test/robots.txt") == 1


def test_the_user_agent_names_qconnect_local(fetcher: VirtualHosts, server: Server) -> None:
    list(crawl(config(), fetcher=fetcher, max_pages=1))

    assert USER_AGENT.startswith("qconnect-local/")
    assert USER_AGENT.endswith(" (+crawler)")
    assert {agent for _, agent in server.requests} == {USER_AGENT}


# robots.txt


def test_robots_txt_group_for_qconnect_local_wins_over_the_star_group(fetcher: VirtualHosts) -> None:
    results = list(crawl(config(), fetcher=fetcher))

    # The `*` group disallows everything; ours only /docs/private/, except the longer Allow.
    assert docs("private/public.html")[0] in crawled(results)
    assert skipped(results)[docs("private/hidden.html")[0]] == "disallowed by robots.txt"


def test_robots_txt_wildcards_and_end_anchor() -> None:
    web = FakeWeb(
        {
            "http://x.test/robots.txt": text("User-agent: *\nDisallow: /*.gif$\nDisallow: /tmp\n"),
            "http://x.test/": page("/a.gif", "/a.gif?v=2", "/tmp/x", "/tmpfile", "/t"),
            "http://x.test/a.gif?v=2": text("not a gif"),
            "http://x.test/t": page(),
        }
    )
    assert skipped(list(crawl(config("http://x.test/"), fetcher=web))) == {
        "http://x.test/a.gif": "disallowed by robots.txt",
        "http://x.test/tmp/x": "disallowed by robots.txt",
        "http://x.test/tmpfile": "disallowed by robots.txt",
    }


@pytest.mark.parametrize(
    ("robots", "reason"),
    [
        (Response(503), "robots.txt unreachable (HTTP 503)"),
        (ConnectionRefusedError("refused"), "robots.txt unreachable (refused)"),
    ],
)
def test_a_robots_txt_server_error_disallows_the_whole_host(robots: Response | OSError, reason: str) -> None:
    web = FakeWeb({"http://x.test/robots.txt": robots, "http://x.test/": page()})

    assert list(crawl(config("http://x.test/"), fetcher=web)) == [SkippedPage("http://x.test/", reason)]
    assert web.fetched == ["http://x.test/robots.txt"]


def test_a_missing_robots_txt_allows_everything() -> None:
    web = FakeWeb({"http://x.test/robots.txt": Response(404), "http://x.test/": page()})

    assert crawled(list(crawl(config("http://x.test/"), fetcher=web))) == ["http://x.test/"]


# Filters


def test_inclusion_filters_apply_to_every_url_the_seed_included(fetcher: VirtualHosts) -> None:
    results = list(crawl(config(inclusionFilters=[r"/docs/$", r"\.(txt|pdf)$"]), fetcher=fetcher))

    assert crawled(results) == docs("", "notes.txt", "manual.pdf")
    assert skipped(results)[docs("a.html")[0]] == "matches no inclusionFilters"


def test_a_seed_outside_the_inclusion_filters_is_not_crawled(fetcher: VirtualHosts) -> None:
    results = list(crawl(config(inclusionFilters=[r"\.pdf$"]), fetcher=fetcher))

    assert results == [SkippedPage(SEED, "matches no inclusionFilters", by_rule=True)]


def test_exclusion_wins_over_inclusion(fetcher: VirtualHosts) -> None:
    results = list(
        crawl(
            config(inclusionFilters=[r"^http://site\.test/docs/"], exclusionFilters=[r"\.pdf$", "/deep/"]),
            fetcher=fetcher,
        )
    )

    assert skipped(results)[docs("manual.pdf")[0]] == "excluded by exclusionFilters[0]"
    assert skipped(results)[docs("deep/1.html")[0]] == "excluded by exclusionFilters[1]"
    assert docs("deep/2.html")[0] not in [result.url for result in results]
    assert crawled(results) == [url for url in DOCS_CRAWL if "/deep/" not in url and "pdf" not in url]


@pytest.mark.parametrize("field", ["inclusionFilters", "exclusionFilters"])
def test_an_invalid_regular_expression_is_a_config_error(field: str) -> None:
    bad = config(**{field: [r"\.html$", "secret(unclosed"]})

    with pytest.raises(
        CrawlConfigError, match=rf"^{field}\[1\] is not a valid regular expression: "
    ) as error:
        validate(bad)
    assert "secret" not in str(error.value)  # the model marks filters sensitive
    with pytest.raises(CrawlConfigError):
        crawl(bad)  # at the call, before any request


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({}, "urlConfiguration.seedUrls must hold at least one seed URL"),
        ({"urlConfiguration": {"seedUrls": []}}, "urlConfiguration.seedUrls must hold at least one seed URL"),
        (
            config("ftp://x.test/"),
            r"urlConfiguration.seedUrls\[0\].url must be an absolute http or https URL",
        ),
        (config(SEED, "/relative"), r"seedUrls\[1\].url must be an absolute http or https URL"),
        (config(scope="DOMAIN"), "scope must be one of HOST_ONLY, SUBDOMAINS, or absent"),
        (config(crawlerLimits={"rateLimit": 0}), "crawlerLimits.rateLimit must be a positive whole number"),
        (config(inclusionFilters=r"\.html$"), "inclusionFilters must be a list of regular expressions"),
    ],
)
def test_validate_rejects_what_cannot_be_crawled(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(CrawlConfigError, match=message):
        validate(bad)


def test_validate_accepts_every_field_of_the_model() -> None:
    validate(
        {
            "urlConfiguration": {"seedUrls": [{"url": SEED}, {"url": "https://docs.site.test/"}]},
            "crawlerLimits": {"rateLimit": 300},
            "inclusionFilters": [r".*\.html$"],
            "exclusionFilters": [r"/private/"],
            "scope": "SUBDOMAINS",
        }
    )


# Bounds


def test_max_pages_caps_the_urls_fetched(fetcher: VirtualHosts, server: Server) -> None:
    results = list(crawl(config(), fetcher=fetcher, max_pages=3))

    assert crawled(results) == DOCS_CRAWL[:3]
    assert [path for path, _ in server.requests if path != "site.test/robots.txt"] == [
        "site.test/docs/",
        "site.test/docs/a.html",
        "site.test/docs/b.html",
    ]


@pytest.mark.parametrize(("max_depth", "expected"), [(0, DOCS_CRAWL[:1]), (1, DOCS_CRAWL[:8])])
def test_max_depth_stops_following_links(fetcher: VirtualHosts, max_depth: int, expected: list[str]) -> None:
    assert crawled(list(crawl(config(), fetcher=fetcher, max_depth=max_depth))) == expected


def test_the_caller_may_stop_early(fetcher: VirtualHosts, server: Server) -> None:
    first_two = list(islice(crawl(config(), fetcher=fetcher), 2))

    assert crawled(first_two) == DOCS_CRAWL[:2]
    assert [path for path, _ in server.requests] == [
        "site.test/robots.txt",
        "site.test/docs/",
        "site.test/docs/a.html",
    ]


def test_the_fetcher_reads_no_more_than_the_cap(fetcher: VirtualHosts, server: Server) -> None:
    capped = fetcher(f"http://{STREAMED}", timeout=5, max_bytes=1000)
    assert (capped.status, len(capped.body), capped.truncated) == (200, 1000, True)

    results = list(crawl(config(f"http://{STREAMED}"), fetcher=fetcher, max_bytes_per_page=2 * MiB))
    assert results == [SkippedPage(f"http://{STREAMED}", "larger than max_bytes_per_page (2097152 bytes)")]


def test_the_rate_limit_is_per_host_per_minute() -> None:
    clock = FakeClock()
    web = FakeWeb(
        {url: page() for url in ("http://a.test/1", "http://b.test/1", "http://a.test/2", "http://b.test/2")}
    )
    seeds = ("http://a.test/1", "http://b.test/1", "http://a.test/2", "http://b.test/2")

    results = list(
        crawl(
            config(*seeds, crawlerLimits={"rateLimit": 1}),
            fetcher=web.timed(clock),
            clock=clock,
            sleep=clock.sleep,
        )
    )

    assert crawled(results) == list(seeds)
    # a.test's second URL waits a minute after its first; b.test's is due by then.
    assert clock.sleeps == [60.0]
    assert web.times == [
        ("http://a.test/1", 0),
        ("http://b.test/1", 0),
        ("http://a.test/2", 60),
        ("http://b.test/2", 60),
    ]


def test_the_default_rate_limit_is_300_urls_per_minute() -> None:
    clock = FakeClock()
    hrefs = [f"/{i}" for i in range(300)]
    web = FakeWeb({"http://x.test/": page(*hrefs), **{f"http://x.test{href}": page() for href in hrefs}})

    results = list(crawl(config("http://x.test/"), fetcher=web.timed(clock), clock=clock, sleep=clock.sleep))

    assert len(crawled(results)) == 301
    assert clock.sleeps == [60.0]
    assert web.times[-1] == ("http://x.test/299", 60)


def test_the_deadline_ends_the_crawl() -> None:
    clock = FakeClock()
    web = FakeWeb({f"http://x.test/{i}": page(f"/{i + 1}") for i in range(10)}, cost=10.0)

    results = list(
        crawl(
            config("http://x.test/0", scope="HOST_ONLY"), fetcher=web.timed(clock), deadline=25, clock=clock
        )
    )

    assert crawled(results) == ["http://x.test/0", "http://x.test/1", "http://x.test/2"]


def test_the_crawl_ends_rather_than_wait_for_the_rate_limit_past_the_deadline() -> None:
    clock = FakeClock()
    web = FakeWeb({"http://x.test/": page("/next"), "http://x.test/next": page()})

    results = list(
        crawl(
            config("http://x.test/", crawlerLimits={"rateLimit": 1}),
            fetcher=web.timed(clock),
            deadline=30,
            clock=clock,
            sleep=clock.sleep,
        )
    )

    assert crawled(results) == ["http://x.test/"]
    assert clock.sleeps == []


# In-memory web


def page(*hrefs: str, raw: bool = False) -> Response:
    body = "".join(hrefs) if raw else links(*hrefs)
    return Response(200, "text/html", body=f"<html><body>{body}</body></html>".encode())


def text(body: str) -> Response:
    return Response(200, "text/plain", body=body.encode())


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeWeb:
    """A fetcher over a dict (an OSError value is raised); a URL not in it is a 404, robots.txt included.

    Records what was fetched and, with a clock, when; each page then costs `cost` seconds.
    """

    def __init__(
        self,
        pages: dict[str, Response | OSError],
        *,
        cost: float = 0.0,
    ) -> None:
        self.pages = pages
        self.cost = cost
        self.clock: FakeClock | None = None
        self.fetched: list[str] = []
        self.times: list[tuple[str, float]] = []

    def timed(self, clock: FakeClock) -> FakeWeb:
        self.clock = clock
        return self

    def __call__(self, url: str, *, timeout: float, max_bytes: int) -> Response:
        self.fetched.append(url)
        answer = self.pages.get(url, Response(404))
        if isinstance(answer, OSError):
            raise answer
        if self.clock is not None and not url.endswith("/robots.txt"):
            self.times.append((url, self.clock.now))
            self.clock.now += self.cost
        return answer


# Hostile sites and patterns: nothing a site or a filter holds can stall the crawl


def test_a_robots_txt_built_to_backtrack_is_matched_in_linear_time() -> None:
    hostile = "User-agent: *\nDisallow: /*a*a*a*a*a*a*a*a*a*b\n"
    deep = "/" + "a" * 3000
    web = FakeWeb(
        {
            "http://x.test/robots.txt": text(hostile),
            "http://x.test/": page(deep),
            f"http://x.test{deep}": page(),
        }
    )
    assert crawled(list(crawl(config("http://x.test/", scope="HOST_ONLY"), fetcher=web))) == [
        "http://x.test/",
        f"http://x.test{deep}",
    ]


def test_a_filter_that_would_backtrack_without_end_counts_as_excluding() -> None:
    evil = "/" + "a" * 40 + "!"
    web = FakeWeb({"http://x.test/": page(evil), f"http://x.test{evil}": page()})
    results = list(
        crawl(config("http://x.test/", scope="HOST_ONLY", exclusionFilters=["(a|aa)+$"]), fetcher=web)
    )
    assert crawled(results) == ["http://x.test/"]
    assert skipped(results) == {f"http://x.test{evil}": "excluded by exclusionFilters[0]"}
