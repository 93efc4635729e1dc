"""Content: the documents of CUSTOM, EXTERNAL and MANAGED knowledge bases.

CreateContent records intent: the content is CREATE_IN_PROGRESS until the worker has read its
file (`worker.ingest`), cut the text into passages and indexed them; then ACTIVE, or
CREATE_FAILED with the reason. Decisions where AWS is silent (docs/behaviour.md):

- Content lives in CUSTOM, EXTERNAL and MANAGED knowledge bases; QUICK_RESPONSES and
  MESSAGE_TEMPLATES are a ValidationException. CreateContent needs an upload, and uploads
  exist only for CUSTOM knowledge bases; EXTERNAL content arrives through the control plane
  and MANAGED content from the crawler.
- An upload gives one file to one content: a second CreateContent or UpdateContent with the
  same uploadId is a ValidationException.
- UpdateContent with a new uploadId re-ingests: the content stays ACTIVE (it reads, and is
  found, as before) until the new file is indexed; if the file can't be read the content is
  UPDATE_FAILED and the previous text stays searchable. `revisionId` changes on every
  update; a stale `revisionId` is PreconditionFailedException.
- DeleteContent is DELETE_IN_PROGRESS until the worker has removed it; then it is not found.
  A second delete meanwhile is a ConflictException.
- `linkOutUri` is `overrideLinkOutUri`, otherwise the knowledge base's templateUri with its
  `${variable}` filled from the content's fields (`Id` is the content id for uploaded
  content, the article's own fields for x.wisdom-json); absent when nothing fills it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Final

from qconnect_local.protocol.errors import ServiceError, conflict, validation_error
from qconnect_local.runtime import Runtime
from qconnect_local.service import knowledge_bases, links, replica_keys, resources, uploads
from qconnect_local.service.context import Call
from qconnect_local.service.families import CONTENT, KNOWLEDGE_BASE, UPLOAD_BLOBS
from qconnect_local.service.registry import operation
from qconnect_local.store import Connection

CONTENT_KB_TYPES: Final = ("CUSTOM", "EXTERNAL", "MANAGED")
CREATE_IN_PROGRESS: Final = "CREATE_IN_PROGRESS"
UPDATE_IN_PROGRESS: Final = "UPDATE_IN_PROGRESS"  # internal: shown as ACTIVE
DELETE_IN_PROGRESS: Final = "DELETE_IN_PROGRESS"
ACTIVE: Final = "ACTIVE"
CREATE_FAILED: Final = "CREATE_FAILED"
UPDATE_FAILED: Final = "UPDATE_FAILED"
DELETE_FAILED: Final = "DELETE_FAILED"
SHOWN_STATUS: Final = {UPDATE_IN_PROGRESS: ACTIVE}
_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _require_kb_type(kb: Any) -> None:
    knowledge_bases.require_type(kb, CONTENT_KB_TYPES, "contents")


def load_knowledge_base(conn: Connection, call: Call, kb_id_or_arn: str) -> Any:
    kb = knowledge_bases.load(conn, call, kb_id_or_arn)
    _require_kb_type(kb)
    return kb


def load(conn: Connection, call: Call, kb: Any, content_id_or_arn: str) -> Any:
    return resources.load(conn, call, CONTENT, content_id_or_arn, kb)


def link_out_uri(kb: Any, row: Any) -> str | None:
    if row.override_link_out_uri:
        return str(row.override_link_out_uri)
    template = (kb.config.get("renderingConfiguration") or {}).get("templateUri")
    if not template:
        return None
    fields = row.source_fields or {}
    names = _VARIABLE.findall(template)
    if not names or any(name not in fields for name in names):
        return None
    return _VARIABLE.sub(lambda match: str(fields[match.group(1)]), template)


def summary(call: Call, row: Any, tags: dict[str, str]) -> dict[str, Any]:
    """ContentSummary members of a row."""
    return {
        "contentArn": resources.arn_of(call, CONTENT, row),
        "contentId": row.id,
        "knowledgeBaseArn": knowledge_bases.kb_arn(call, row.knowledge_base_id),
        "knowledgeBaseId": row.knowledge_base_id,
        "name": row.name,
        "revisionId": row.revision_id,
        "title": row.title,
        "contentType": row.content_type,
        "status": SHOWN_STATUS.get(row.status, row.status),
        "metadata": row.metadata,
        "tags": tags,
        "lastModifiedTime": row.modified_at,
        "lastModifiedRegion": row.region,
    }


def describe(call: Call, kb: Any, row: Any, tags: dict[str, str]) -> dict[str, Any]:
    """ContentData: the summary, the link out, and a fresh signed link to the file."""
    expiry = links.download_expiry(call.now())
    url = links.sign(call.runtime.store.secret, call.base_url, "GET", f"contents/{row.id}/file", expiry)
    return {**summary(call, row, tags), "linkOutUri": link_out_uri(kb, row), "url": url, "urlExpiry": expiry}


def _with_tags(conn: Connection, call: Call, kb: Any, row: Any) -> dict[str, Any]:
    return {"content": describe(call, kb, row, resources.tags_of(conn, call, CONTENT, row))}


def take_upload(conn: Connection, call: Call, kb: Any, upload_id: str) -> Any:
    """The upload a CreateContent/UpdateContent names (`uploads.uploaded`), not used before."""
    upload = uploads.uploaded(conn, call, kb, upload_id)
    if CONTENT.repo.where(conn, upload_id=upload_id):
        raise validation_error(f"Upload {upload_id} was already used for content; start a new upload")
    limit = call.runtime.settings.max_upload_bytes
    if upload.size is not None and upload.size > limit:
        raise ServiceError(
            "ServiceQuotaExceededException",
            f"The file is larger than the quota of {limit} bytes per document",
        )
    return upload


def _check_link_members(params: dict[str, Any]) -> None:
    if params.get("removeOverrideLinkOutUri") and params.get("overrideLinkOutUri") is not None:
        raise validation_error("Give either overrideLinkOutUri or removeOverrideLinkOutUri, not both")


def new_row(
    call: Call, kb: Any, *, name: str, content_type: str, blob_key: str, upload_id: str | None, **values: Any
) -> dict[str, Any]:
    """Column values of a new content waiting for ingestion (every way content arrives)."""
    content_id, now = str(uuid.uuid4()), call.now()
    return {
        "id": content_id,
        "knowledge_base_id": kb.id,
        "name": name,
        "title": values.pop("title", None) or name,
        "content_type": content_type,
        "revision_id": str(uuid.uuid4()),
        "metadata": values.pop("metadata", None) or {},
        "source_fields": {"Id": content_id},
        "upload_id": upload_id,
        "blob_key": blob_key,
        "created_at": now,
        "modified_at": now,
        "attempts": 0,
        **resources.enter_job_status(call.runtime, CONTENT, CREATE_IN_PROGRESS, now),
        **values,
    }


@operation("CreateContent")
def create_content(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        row = resources.replayed(conn, call, CONTENT, params, kb)
        if row is not None:
            return _with_tags(conn, call, kb, row)
        if kb.type != "CUSTOM":
            raise validation_error(
                f"Knowledge base {kb.id} is {kb.type}: its content comes from its source, not from uploads"
            )
        resources.check_room(conn, call, CONTENT, kb)
        resources.check_name(conn, call, CONTENT, params["name"], kb)
        upload = take_upload(conn, call, kb, params["uploadId"])
        values = new_row(
            call,
            kb,
            name=params["name"],
            content_type=upload.content_type,
            blob_key=upload.blob_key,
            upload_id=upload.id,
            title=params.get("title"),
            metadata=params.get("metadata"),
            override_link_out_uri=params.get("overrideLinkOutUri"),
            file_size=upload.size,
        )
        row = resources.insert(conn, call, CONTENT, params, values)
        knowledge_bases.touch_content(conn, kb, call.now())
        resources.wake_worker_after_commit(conn, call)
        return _with_tags(conn, call, kb, row)


@operation("GetContent")
def get_content(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        kb, row, tags = resources.load_with_parent(
            conn, call, CONTENT, params["contentId"], params["knowledgeBaseId"], _require_kb_type
        )
        return {"content": describe(call, kb, row, tags)}


@operation("GetContentSummary")
def get_content_summary(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        _kb, row, tags = resources.load_with_parent(
            conn, call, CONTENT, params["contentId"], params["knowledgeBaseId"], _require_kb_type
        )
        return {"contentSummary": summary(call, row, tags)}


def _new_file_values(call: Call, row: Any, upload: Any) -> dict[str, Any]:
    """What a new file changes: a content that has text keeps it until the new file is indexed."""
    file = {"upload_id": upload.id, "file_size": upload.size}
    if row.status in (CREATE_IN_PROGRESS, CREATE_FAILED):
        # Nothing indexed yet: ingest the new file as the first one (a running job starts over).
        return {
            **file,
            "blob_key": upload.blob_key,
            "content_type": upload.content_type,
            "failure_reason": None,
            **resources.enter_job_status(call.runtime, CONTENT, CREATE_IN_PROGRESS, call.now()),
        }
    return {
        **file,
        "pending_blob_key": upload.blob_key,
        "pending_content_type": upload.content_type,
        **resources.enter_job_status(call.runtime, CONTENT, UPDATE_IN_PROGRESS, call.now()),
    }


def _give_file(conn: Connection, call: Call, row: Any, file: Any, values: dict[str, Any]) -> None:
    """Update the content with `values` and a new file (an upload, or a source's) to ingest.

    A file it replaces before that file was ever ingested is never needed again: it goes.
    """
    values.update(_new_file_values(call, row, file))
    stale = row.pending_blob_key if "pending_blob_key" in values else row.blob_key
    CONTENT.repo.update(conn, row.seq, values)
    if stale:
        resources.delete_blobs_after_commit(conn, call.runtime.blobs, [stale])
    resources.wake_worker_after_commit(conn, call)


@operation("UpdateContent")
def update_content(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    _check_link_members(params)
    with call.runtime.store.write() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        row = load(conn, call, kb, params["contentId"])
        if params.get("revisionId") is not None and params["revisionId"] != row.revision_id:
            raise ServiceError(
                "PreconditionFailedException",
                f"The revisionId {params['revisionId']} does not match the content's {row.revision_id}",
            )
        if row.status == DELETE_IN_PROGRESS:
            raise validation_error(f"Content {row.id} is being deleted")
        values: dict[str, Any] = {"revision_id": str(uuid.uuid4()), "modified_at": call.now()}
        if params.get("title") is not None:
            values["title"] = params["title"]
        if params.get("metadata") is not None:
            values["metadata"] = params["metadata"]
        if params.get("overrideLinkOutUri") is not None:
            values["override_link_out_uri"] = params["overrideLinkOutUri"]
        if params.get("removeOverrideLinkOutUri"):
            values["override_link_out_uri"] = None
        if params.get("uploadId") is not None:
            if kb.type != "CUSTOM":
                raise validation_error(f"Content of a {kb.type} knowledge base comes from its source")
            _give_file(conn, call, row, take_upload(conn, call, kb, params["uploadId"]), values)
        else:
            CONTENT.repo.update(conn, row.seq, values)
        knowledge_bases.touch_content(conn, kb, call.now())
        return _with_tags(conn, call, kb, load(conn, call, kb, row.id))


@operation("DeleteContent")
def delete_content(call: Call, params: dict[str, Any]) -> None:
    with call.runtime.store.write() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        row = load(conn, call, kb, params["contentId"])
        start_delete(conn, call.runtime, row)
        knowledge_bases.touch_content(conn, kb, call.now())
        resources.wake_worker_after_commit(conn, call)


def start_delete(conn: Connection, runtime: Runtime, row: Any) -> None:
    """Move content to DELETE_IN_PROGRESS (a running ingestion of it is abandoned)."""
    if row.status == DELETE_IN_PROGRESS:
        raise conflict(f"Content {row.id} is already being deleted")
    now = runtime.clock.now()
    values = {"modified_at": now, **resources.enter_job_status(runtime, CONTENT, DELETE_IN_PROGRESS, now)}
    CONTENT.repo.update(conn, row.seq, values)


@operation("ListContents")
def list_contents(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    return _page(call, params, None)


@operation("SearchContent")
def search_content(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The model's only filter is NAME EQUALS (several filters must all hold)."""
    names = {f["value"] for f in params["searchExpression"]["filters"]}
    if len(names) > 1:  # no content has two names
        with call.runtime.store.read() as conn:
            load_knowledge_base(conn, call, params["knowledgeBaseId"])
        return {"contentSummaries": [], "nextToken": None}
    return _page(call, params, {"name": names.pop()} if names else None)


def _page(call: Call, params: dict[str, Any], where: dict[str, Any] | None) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        summaries, next_token = resources.described_page(
            conn, call, CONTENT, params, summary, kb, where=where
        )
    return {"contentSummaries": summaries, "nextToken": next_token}


@operation("RegisterKnowledgeBaseReplicaKey")
def register_replica_key(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        kb = replica_keys.register(conn, call, KNOWLEDGE_BASE, params["knowledgeBaseId"], params)
        return {"knowledgeBase": _kb_data(conn, call, kb)}


def _kb_data(conn: Connection, call: Call, kb: Any) -> dict[str, Any]:
    return knowledge_bases.describe(call, kb, resources.tags_of(conn, call, KNOWLEDGE_BASE, kb))


@links.download_route("contents")
def download(runtime: Runtime, parts: list[str], full_path: str, query: str) -> links.Download:
    """The file a content was ingested from, after checking the link (LinkError otherwise)."""
    if len(parts) != 2 or parts[1] != "file":
        raise links.no_such_key()
    links.verify(runtime.store.secret, "GET", full_path, query, {}, {}, runtime.clock.now())
    with runtime.store.read() as conn:
        row = CONTENT.repo.find_any(conn, parts[0])
    if row is None or row.status == DELETE_IN_PROGRESS or not row.blob_key:
        raise links.no_such_key()
    if not runtime.blobs.exists(row.blob_key):
        raise links.no_such_key()
    return links.Download(str(row.blob_key), str(row.content_type), str(row.id))


NAME_LIMIT: Final = 255  # the model's Name length


def source_name(identifier: str) -> str:
    """A content name for a source's document (an article id, a page URL): the identifier, or
    when too long a shortened one with a digest, so that two long identifiers never collide."""
    if len(identifier) <= NAME_LIMIT:
        return identifier
    digest = hashlib.sha256(identifier.encode()).hexdigest()[:16]
    return f"{identifier[: NAME_LIMIT - 17]}#{digest}"


def store_source_file(runtime: Runtime, source: str, kb_id: str, data: bytes) -> str:
    """Keep a file a source delivered (`source`: "external", "crawl") as a new blob; its key."""
    key = f"{UPLOAD_BLOBS}{source}/{kb_id}/{secrets.token_hex(8)}"
    writer = runtime.blobs.writer(key)
    writer.write(data)
    writer.commit()
    return key


def put_from_source(
    conn: Connection,
    call: Call,
    kb: Any,
    *,
    name: str,
    content_type: str,
    blob_key: str,
    title: str | None = None,
    source_url: str | None = None,
) -> Any:
    """Content that an EXTERNAL or MANAGED source delivers: created, or given the new file.

    A source names its documents (an article id, a page URL), so delivering the same name again
    re-ingests that content rather than conflicting; the quota still bounds new ones.
    """
    existing = CONTENT.repo.where(conn, knowledge_base_id=kb.id, name=name)
    if existing and existing[0].status != DELETE_IN_PROGRESS:
        row = existing[0]
        values: dict[str, Any] = {
            "revision_id": str(uuid.uuid4()),
            "modified_at": call.now(),
            "source_url": source_url,
        }
        _give_file(conn, call, row, _SourceFile(blob_key, content_type), values)
        return CONTENT.repo.find_any(conn, row.id)
    if existing:
        raise conflict(f"Content named {name} is being deleted; deliver it again once it is gone")
    resources.check_room(conn, call, CONTENT, kb)
    values = new_row(
        call,
        kb,
        name=name,
        content_type=content_type,
        blob_key=blob_key,
        upload_id=None,
        title=title,
        source_url=source_url,
    )
    return resources.insert(conn, call, CONTENT, {}, values)


@dataclass(frozen=True, slots=True)
class _SourceFile:
    """A file a source delivered, standing where an upload row would (for `_new_file_values`)."""

    blob_key: str
    content_type: str
    id: None = None
    size: None = None
