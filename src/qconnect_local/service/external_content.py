"""Articles for EXTERNAL knowledge bases, delivered through the control plane.

An EXTERNAL knowledge base reads its articles from Salesforce, ServiceNow or Zendesk through
Amazon AppIntegrations; none of them is reachable offline, so a test delivers the articles
itself: `POST /_qconnect/knowledgeBases/{knowledgeBaseId}/ingest`. Each article becomes
content of type `application/x.wisdom-json;source=<source>`, named by the article's own id
(Salesforce `Id`, ServiceNow `sys_id`, Zendesk `id`), and goes through the same ingestion
as an uploaded file. Delivering an article again re-ingests the content of that name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from qconnect_local.protocol.errors import ServiceError, validation_error
from qconnect_local.runtime import Runtime
from qconnect_local.service import contents, resources
from qconnect_local.service.context import Call

ARTICLE_ID: Final = {"salesforce": "Id", "servicenow": "sys_id", "zendesk": "id"}
MAX_ARTICLES: Final = 100  # per request


def content_type(source: str) -> str:
    return f"application/x.wisdom-json;source={source}"


def ingest_articles(
    runtime: Runtime, account: str, region: str, kb_id: str, source: Any, articles: Any
) -> list[dict[str, Any]]:
    """Store each article as content of the EXTERNAL knowledge base; what each became, in order.

    Raises ServiceError (not found, validation, quota) before anything is stored when any
    article is unusable.
    """
    if source not in ARTICLE_ID:
        raise validation_error(f"source must be one of {sorted(ARTICLE_ID)}")
    if not isinstance(articles, list) or not 1 <= len(articles) <= MAX_ARTICLES:
        raise validation_error(f"articles must be a list of 1 to {MAX_ARTICLES} article objects")
    files = [_article_file(runtime, source, index, article) for index, article in enumerate(articles)]
    call = Call(runtime, account, region, "Ingest", "control-plane", "")
    keys: list[str] = []
    try:
        with runtime.store.write() as conn:
            kb = contents.load_knowledge_base(conn, call, kb_id)
            if kb.type != "EXTERNAL":
                raise validation_error(f"Knowledge base {kb.id} is {kb.type}; articles go to EXTERNAL ones")
            results = []
            for name, data in files:
                key = contents.store_source_file(runtime, "external", kb.id, data)
                keys.append(key)
                row = contents.put_from_source(
                    conn, call, kb, name=name, content_type=content_type(source), blob_key=key
                )
                results.append({"name": name, "contentId": row.id, "status": row.status})
            resources.wake_worker_after_commit(conn, call)
            return results
    except BaseException:
        for key in keys:
            runtime.blobs.delete(key)
        raise


def _article_file(runtime: Runtime, source: str, index: int, article: Any) -> tuple[str, bytes]:
    if not isinstance(article, Mapping):
        raise validation_error(f"articles[{index}] is not a JSON object")
    id_field = ARTICLE_ID[source]
    name = article.get(id_field)
    if not isinstance(name, str | int) or isinstance(name, bool) or not str(name).strip():
        raise validation_error(f"articles[{index}] has no {id_field}: a {source} article is named by it")
    data = json.dumps(article, ensure_ascii=False).encode()
    limit = runtime.settings.max_upload_bytes
    if len(data) > limit:
        raise ServiceError(
            "ServiceQuotaExceededException", f"articles[{index}] is larger than {limit} bytes per document"
        )
    return contents.source_name(str(name)), data
