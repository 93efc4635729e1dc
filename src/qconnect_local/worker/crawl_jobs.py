"""A MANAGED knowledge base's crawl: fetch the seed URLs and what they link to, each page as content.

The crawl runs outside any transaction (it waits on the network and on the rate limit); each
page is stored in a short transaction of its own that first checks the claim is still held,
so a knowledge base deleted mid-crawl stops it. A page delivered again (a crawl re-run after a
crash) re-ingests the same content, named by its URL, rather than duplicating it. Pages then
go through the ordinary content ingestion. The knowledge base's `ingestionStatus` is
CREATE_IN_PROGRESS while it crawls, then SYNC_SUCCESS when at least one page was stored,
otherwise SYNC_FAILED; `ingestionFailureReasons` lists the pages that failed and why (pages
the filters or robots.txt exclude are not failures).
"""

from __future__ import annotations

import codecs
from typing import Final

from qconnect_local.protocol.errors import ServiceError
from qconnect_local.runtime import Runtime
from qconnect_local.service import contents
from qconnect_local.worker.claims import Claim, check_held, finish
from qconnect_local.worker.crawler import CrawledPage, crawl
from qconnect_local.worker.ingest import FORCED_FAILURE, worker_call

SYNC_SUCCESS: Final = "SYNC_SUCCESS"
SYNC_FAILED: Final = "SYNC_FAILED"
MAX_REASONS: Final = 50  # failure reasons kept on the knowledge base; the rest are counted
TEXT_TYPES: Final = ("text/html", "text/plain")


def stored_body(page: CrawledPage) -> bytes:
    """The page as stored: text in a declared charset is stored as UTF-8 with a byte-order mark
    (which outranks any `<meta charset>` when read), since a content keeps no charset."""
    if page.content_type not in TEXT_TYPES or not page.charset:
        return page.body
    try:
        text = page.body.decode(page.charset, errors="replace")
    except LookupError:  # a charset Python does not know: leave the bytes to the extractor
        return page.body
    return codecs.BOM_UTF8 + text.encode()


def run_crawl(runtime: Runtime, claim: Claim) -> None:
    kb = claim.job
    if kb.force_failure:
        with runtime.store.write() as conn:
            finish(
                conn,
                claim,
                ingestion_status=SYNC_FAILED,
                ingestion_failure_reasons=[FORCED_FAILURE],
                force_failure=0,
            )
        return
    config = kb.config["sourceConfiguration"]["managedSourceConfiguration"]["webCrawlerConfiguration"]
    reasons: list[str] = []
    stored = skipped = 0
    for item in crawl(config, max_pages=runtime.settings.crawl_max_pages):
        with runtime.store.read() as conn:  # a deleted knowledge base stops its crawl at once
            check_held(conn, claim)
        if not isinstance(item, CrawledPage):
            if item.by_rule:  # excluded by the filters or robots.txt, as configured
                continue
            skipped += 1
            if len(reasons) < MAX_REASONS:
                reasons.append(f"{item.url}: {item.reason}"[:4096])
            continue
        refused = _store_page(runtime, claim, item)
        if refused is None:
            stored += 1
        else:
            reasons.append(refused)
            break
    if skipped > len(reasons):
        reasons.append(f"... and {skipped - len(reasons)} more pages skipped")
    with runtime.store.write() as conn:
        finish(
            conn,
            claim,
            ingestion_status=SYNC_SUCCESS if stored else SYNC_FAILED,
            ingestion_failure_reasons=reasons or None,
        )
    runtime.wake_worker()


def _store_page(runtime: Runtime, claim: Claim, page: CrawledPage) -> str | None:
    """Store one page as content; a reason when the crawl must stop (the content quota)."""
    key = contents.store_source_file(runtime, "crawl", claim.job.id, stored_body(page))
    try:
        with runtime.store.write() as conn:
            check_held(conn, claim)
            call = worker_call(runtime, claim.job, "CreateContent")
            contents.put_from_source(
                conn,
                call,
                claim.job,
                name=contents.source_name(page.url),
                content_type=page.content_type,
                blob_key=key,
                title=page.title,
                source_url=page.url,
            )
    except ServiceError as error:
        runtime.blobs.delete(key)
        return f"{page.url}: {error.message}"
    except BaseException:
        runtime.blobs.delete(key)
        raise
    return None


def fail_after_error(runtime: Runtime, claim: Claim, error: BaseException) -> None:
    with runtime.store.write() as conn:
        reason = f"The crawl stopped on an internal error ({type(error).__name__})"
        finish(conn, claim, ingestion_status=SYNC_FAILED, ingestion_failure_reasons=[reason])
