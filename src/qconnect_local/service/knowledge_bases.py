"""Knowledge bases: create (idempotent, quota-bound), get, list, delete, template URI.

Decisions where AWS is silent (see docs/behaviour.md): names are unique per account and
region (`ConflictException`, as AWS describes for Create APIs); a knowledge base is ACTIVE as
soon as it is created; EXTERNAL needs `sourceConfiguration.appIntegrations`, MANAGED needs
`sourceConfiguration.managedSourceConfiguration`, and the other types take none. A MANAGED
knowledge base's crawl is a job: `ingestionStatus` is CREATE_IN_PROGRESS until the worker
has crawled its seed URLs, then SYNC_SUCCESS or SYNC_FAILED.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any, Final

from qconnect_local.engine.chunking import chunk
from qconnect_local.protocol.errors import validation_error
from qconnect_local.service import resources
from qconnect_local.service.context import Call
from qconnect_local.service.families import KNOWLEDGE_BASE
from qconnect_local.service.registry import operation
from qconnect_local.store import Connection
from qconnect_local.worker.crawler import CrawlConfigError, validate

CONFIG_MEMBERS: Final = (
    "sourceConfiguration",
    "renderingConfiguration",
    "vectorIngestionConfiguration",
    "serverSideEncryptionConfiguration",
)
SOURCE_REQUIRED: Final = {"EXTERNAL": "appIntegrations", "MANAGED": "managedSourceConfiguration"}
CRAWL_PENDING: Final = "CREATE_IN_PROGRESS"


def kb_arn(call: Call, kb_id: str) -> str:
    return resources.arn_for(call, KNOWLEDGE_BASE, kb_id)


def load(conn: Connection, call: Call, kb_id_or_arn: str) -> Any:
    """The knowledge base row named by id or ARN in the caller's scope, or ResourceNotFoundException."""
    return resources.load(conn, call, KNOWLEDGE_BASE, kb_id_or_arn)


def load_of_type(conn: Connection, call: Call, kb_id_or_arn: str, types: Collection[str], what: str) -> Any:
    """The knowledge base, which must be of one of `types` to hold `what` (ValidationException)."""
    kb = load(conn, call, kb_id_or_arn)
    require_type(kb, types, what)
    return kb


def require_type(kb: Any, types: Collection[str], what: str) -> None:
    """ValidationException unless the knowledge base is of one of `types`, as `what` need."""
    if kb.type not in types:
        raise validation_error(
            f"Knowledge base {kb.id} is of type {kb.type}; {what} need a knowledge base of type "
            f"{' or '.join(sorted(types))}"
        )


def summary(call: Call, row: Any, tags: dict[str, str]) -> dict[str, Any]:
    """KnowledgeBaseSummary members of a row."""
    return {
        "knowledgeBaseId": row.id,
        "knowledgeBaseArn": kb_arn(call, row.id),
        "name": row.name,
        "knowledgeBaseType": row.type,
        "status": row.status,
        "description": row.description,
        "tags": tags,
        "lastModifiedTime": row.modified_at,
        **{k: v for k, v in row.config.items() if k in CONFIG_MEMBERS},
    }


def describe(call: Call, row: Any, tags: dict[str, str]) -> dict[str, Any]:
    """KnowledgeBaseData: the summary, the last content change and a MANAGED crawl's state."""
    data = {**summary(call, row, tags), "lastContentModificationTime": row.content_modified_at}
    if row.type == "MANAGED":
        data["ingestionStatus"] = row.ingestion_status
        data["ingestionFailureReasons"] = row.ingestion_failure_reasons or None
    return data


def chunking_configuration(members: dict[str, Any]) -> dict[str, Any] | None:
    """`vectorIngestionConfiguration.chunkingConfiguration` of a request or a stored config."""
    chunking: dict[str, Any] | None = (members.get("vectorIngestionConfiguration") or {}).get(
        "chunkingConfiguration"
    )
    return chunking


def _check_chunking(params: dict[str, Any]) -> None:
    """A chunking configuration the passage engine can't follow is refused at create time."""
    chunking = chunking_configuration(params)
    if chunking is not None:
        try:
            chunk("", chunking)
        except ValueError as error:
            raise validation_error(f"Invalid chunkingConfiguration: {error}") from None


def _check_source(params: dict[str, Any]) -> None:
    kb_type = params["knowledgeBaseType"]
    source = params.get("sourceConfiguration")
    needed = SOURCE_REQUIRED.get(kb_type)
    if needed is not None and (source is None or needed not in source):
        raise validation_error(f"A {kb_type} knowledge base requires sourceConfiguration.{needed}")
    if needed is None and source is not None:
        raise validation_error(f"A {kb_type} knowledge base does not take a sourceConfiguration")
    if kb_type == "MANAGED" and source is not None:
        crawler = source["managedSourceConfiguration"].get("webCrawlerConfiguration")
        if crawler is None:
            raise validation_error("managedSourceConfiguration.webCrawlerConfiguration is required")
        try:
            validate(crawler)
        except CrawlConfigError as error:
            raise validation_error(f"Invalid webCrawlerConfiguration: {error}") from None


def touch_content(conn: Connection, kb: Any, now: datetime) -> None:
    """Record a change of the knowledge base's content (`lastContentModificationTime`)."""
    KNOWLEDGE_BASE.repo.update(conn, kb.seq, {"content_modified_at": now})


@operation("CreateKnowledgeBase")
def create_knowledge_base(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    _check_source(params)
    _check_chunking(params)
    with call.runtime.store.write() as conn:
        row = resources.replayed(conn, call, KNOWLEDGE_BASE, params)
        if row is None:
            resources.check_room(conn, call, KNOWLEDGE_BASE)
            resources.check_name(conn, call, KNOWLEDGE_BASE, params["name"])
            now = call.now()
            managed = params["knowledgeBaseType"] == "MANAGED"
            values = {
                "id": str(uuid.uuid4()),
                "name": params["name"],
                "type": params["knowledgeBaseType"],
                "status": "ACTIVE",
                "description": params.get("description"),
                "config": {k: params[k] for k in CONFIG_MEMBERS if k in params},
                "created_at": now,
                "modified_at": now,
                "attempts": 0,
                "force_failure": 0,
            }
            if managed:
                values.update(resources.enter_job_status(call.runtime, KNOWLEDGE_BASE, CRAWL_PENDING, now))
            row = resources.insert(conn, call, KNOWLEDGE_BASE, params, values)
            if managed:
                resources.wake_worker_after_commit(conn, call)
        return {"knowledgeBase": describe(call, row, resources.tags_of(conn, call, KNOWLEDGE_BASE, row))}


@operation("GetKnowledgeBase")
def get_knowledge_base(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        row, tags = resources.load_tagged(conn, call, KNOWLEDGE_BASE, params["knowledgeBaseId"])
        return {"knowledgeBase": describe(call, row, tags)}


@operation("ListKnowledgeBases")
def list_knowledge_bases(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        summaries, next_token = resources.described_page(conn, call, KNOWLEDGE_BASE, params, summary)
    return {"knowledgeBaseSummaries": summaries, "nextToken": next_token}


@operation("DeleteKnowledgeBase")
def delete_knowledge_base(call: Call, params: dict[str, Any]) -> None:
    with call.runtime.store.write() as conn:
        resources.delete(conn, call, KNOWLEDGE_BASE, load(conn, call, params["knowledgeBaseId"]))


def _set_template_uri(call: Call, params: dict[str, Any], uri: str | None) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        row = resources.load_locked(conn, call, KNOWLEDGE_BASE, params["knowledgeBaseId"])
        config = dict(row.config)
        if uri is None:
            config.pop("renderingConfiguration", None)
        else:
            config["renderingConfiguration"] = {"templateUri": uri}
        KNOWLEDGE_BASE.repo.update(conn, row.seq, {"config": config, "modified_at": call.now()})
        row = load(conn, call, row.id)
        return {"knowledgeBase": describe(call, row, resources.tags_of(conn, call, KNOWLEDGE_BASE, row))}


@operation("UpdateKnowledgeBaseTemplateUri")
def update_template_uri(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    return _set_template_uri(call, params, params["templateUri"])


@operation("RemoveKnowledgeBaseTemplateUri")
def remove_template_uri(call: Call, params: dict[str, Any]) -> None:
    _set_template_uri(call, params, None)
