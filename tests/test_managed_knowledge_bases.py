"""MANAGED knowledge bases: the web crawler reads a site (served here on 127.0.0.1) into content."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from conftest import Target
from documents import search_index, wait_for_content
from polling import poll

PAGES = {
    "/docs/": "<html><head><title>Docs home</title></head><body><p>Welcome to the lighthouse manual.</p>"
    '<a href="/docs/lamps">Lamps</a> <a href="/docs/private/keys">Keys</a> <a href="/blog/">Blog</a>'
    '<a href="/docs/lamps#top">Lamps again</a></body></html>',
    "/docs/lamps": "<html><head><title>Lamps</title></head><body><p>Replace the fresnel lens yearly.</p>"
    '<a href="/docs/">Home</a> <a href="/docs/missing">Missing</a></body></html>',
    "/docs/private/keys": "<html><body><p>The keys are under the mat.</p></body></html>",
    "/blog/": "<html><body><p>Our blog about seagulls.</p></body></html>",
}


# Served in the charset its Content-Type names, not in UTF-8.
LATIN_1 = {"/latin.txt": ("text/plain; charset=iso-8859-1", "Crème brûlée on Fridays.".encode("latin-1"))}


class _Site(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path in LATIN_1:
            content_type, body = LATIN_1[self.path]
        elif self.path in PAGES:
            content_type, body = "text/html; charset=utf-8", PAGES[self.path].encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def managed_kb(qc: Any, crawler: dict[str, Any]) -> dict[str, Any]:
    source = {"managedSourceConfiguration": {"webCrawlerConfiguration": crawler}}
    kb: dict[str, Any] = qc.create_knowledge_base(
        name="site", knowledgeBaseType="MANAGED", sourceConfiguration=source
    )["knowledgeBase"]
    return kb


def wait_for_sync(qc: Any, kb_id: str) -> dict[str, Any]:
    kb: dict[str, Any] = poll(
        lambda: qc.get_knowledge_base(knowledgeBaseId=kb_id)["knowledgeBase"],
        lambda kb: kb["ingestionStatus"] in ("SYNC_SUCCESS", "SYNC_FAILED"),
        what=f"the crawl of {kb_id}",
    )
    return kb


def test_the_crawler_stores_the_pages_in_scope_and_reports_the_ones_it_skipped(
    target: Target, qc: Any, site: str
) -> None:
    kb = managed_kb(
        qc,
        {"urlConfiguration": {"seedUrls": [{"url": f"{site}/docs/"}]}, "exclusionFilters": [".*/private/.*"]},
    )
    assert kb["ingestionStatus"] == "CREATE_IN_PROGRESS"
    synced = wait_for_sync(qc, kb["knowledgeBaseId"])
    assert synced["ingestionStatus"] == "SYNC_SUCCESS"
    assert [reason.split(": ")[0] for reason in synced["ingestionFailureReasons"]] == [f"{site}/docs/missing"]
    contents = qc.list_contents(knowledgeBaseId=kb["knowledgeBaseId"])["contentSummaries"]
    # The default scope keeps to the seed's path; the exclusion filter wins over it.
    assert sorted(c["name"] for c in contents) == [f"{site}/docs/", f"{site}/docs/lamps"]
    for content in contents:
        active = wait_for_content(qc, kb["knowledgeBaseId"], content["contentId"])
        assert active["status"] == "ACTIVE"
    titles = {
        c["name"]: wait_for_content(qc, kb["knowledgeBaseId"], c["contentId"])["title"] for c in contents
    }
    assert titles == {f"{site}/docs/": "Docs home", f"{site}/docs/lamps": "Lamps"}
    lamps = next(c["contentId"] for c in contents if c["name"].endswith("/lamps"))
    hits = search_index(target, [kb["knowledgeBaseId"]], "fresnel")
    assert [h["contentId"] for h in hits] == [lamps]
    assert "Replace the fresnel lens yearly." in hits[0]["text"]
    assert search_index(target, [kb["knowledgeBaseId"]], "seagulls") == []
    assert search_index(target, [kb["knowledgeBaseId"]], "mat") == []


def test_host_only_scope_follows_every_path_of_the_host(target: Target, qc: Any, site: str) -> None:
    kb = managed_kb(qc, {"urlConfiguration": {"seedUrls": [{"url": f"{site}/docs/"}]}, "scope": "HOST_ONLY"})
    wait_for_sync(qc, kb["knowledgeBaseId"])
    names = {c["name"] for c in qc.list_contents(knowledgeBaseId=kb["knowledgeBaseId"])["contentSummaries"]}
    assert names == {f"{site}{path}" for path in PAGES}


def test_a_seed_that_cannot_be_reached_ends_sync_failed(target: Target, qc: Any, site: str) -> None:
    kb = managed_kb(qc, {"urlConfiguration": {"seedUrls": [{"url": f"{site}/nothing-here"}]}})
    synced = wait_for_sync(qc, kb["knowledgeBaseId"])
    assert synced["ingestionStatus"] == "SYNC_FAILED"
    assert "404" in synced["ingestionFailureReasons"][0]


def test_the_crawl_can_be_held_and_made_to_fail(target: Target, qc: Any, site: str) -> None:
    crawler = {"urlConfiguration": {"seedUrls": [{"url": f"{site}/docs/"}]}}
    target.control("transitions", {"hold": {"kind": "knowledge-base", "status": "CREATE_IN_PROGRESS"}})
    kb = managed_kb(qc, crawler)
    time.sleep(0.3)
    assert qc.get_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"])["knowledgeBase"][
        "ingestionStatus"
    ] == ("CREATE_IN_PROGRESS")
    target.control("transitions", {"release": True})
    assert wait_for_sync(qc, kb["knowledgeBaseId"])["ingestionStatus"] == "SYNC_SUCCESS"
    qc.delete_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"])
    target.control("transitions", {"failNext": {"kind": "knowledge-base", "status": "CREATE_IN_PROGRESS"}})
    failed = managed_kb(qc, crawler)
    assert wait_for_sync(qc, failed["knowledgeBaseId"])["ingestionStatus"] == "SYNC_FAILED"


def test_a_page_in_another_charset_is_read_in_it(target: Target, qc: Any, site: str) -> None:
    kb = managed_kb(qc, {"urlConfiguration": {"seedUrls": [{"url": f"{site}/latin.txt"}]}})
    assert wait_for_sync(qc, kb["knowledgeBaseId"])["ingestionStatus"] == "SYNC_SUCCESS"
    [content] = qc.list_contents(knowledgeBaseId=kb["knowledgeBaseId"])["contentSummaries"]
    assert wait_for_content(qc, kb["knowledgeBaseId"], content["contentId"])["status"] == "ACTIVE"
    [hit] = search_index(target, [kb["knowledgeBaseId"]], "brûlée")
    assert hit["text"] == "Crème brûlée on Fridays."


def test_an_invalid_crawler_filter_is_refused_up_front(target: Target, qc: Any, site: str) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match="inclusionFilters"):
        managed_kb(
            qc, {"urlConfiguration": {"seedUrls": [{"url": f"{site}/"}]}, "inclusionFilters": ["(unclosed"]}
        )
