"""StartContentUpload, and the signed PUT that delivers the file (S3 presigned-PUT semantics).

The uploadId is an opaque random token; its row records the knowledge base, account, region,
content type and expiry it was issued for. Each successful PUT stores the bytes under a new
blob key, so a later PUT never changes what an import job already started from.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from qconnect_local.protocol.errors import validation_error
from qconnect_local.runtime import Runtime
from qconnect_local.service import knowledge_bases, links
from qconnect_local.service.context import Call
from qconnect_local.service.families import UPLOAD, UPLOAD_BLOBS
from qconnect_local.service.registry import operation
from qconnect_local.store import Connection

SSE_HEADER = "x-amz-server-side-encryption"
SSE_VALUE = "AES256"
QUICK_RESPONSE_CONTENT_TYPE = "text/csv"
UPLOAD_PATH = UPLOAD_BLOBS


def required_headers(content_type: str) -> dict[str, str]:
    """What the client must replay on the PUT: returned as `headersToInclude` and signed into the link."""
    return {"content-type": content_type, SSE_HEADER: SSE_VALUE}


def _check_content_type(kb_type: str, content_type: str) -> None:
    """CUSTOM takes every type the model's ContentType pattern admits (the validator checked it)."""
    if kb_type == "QUICK_RESPONSES":
        if content_type != QUICK_RESPONSE_CONTENT_TYPE:
            raise validation_error(
                f"A QUICK_RESPONSES knowledge base accepts only {QUICK_RESPONSE_CONTENT_TYPE} uploads, "
                f"not {content_type}"
            )
    elif kb_type != "CUSTOM":
        raise validation_error(f"StartContentUpload is not supported on {kb_type} knowledge bases")


@operation("StartContentUpload")
def start_content_upload(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    settings = call.runtime.settings
    ttl = params.get("presignedUrlTimeToLive") or settings.default_upload_ttl_minutes
    now = call.now()
    expiry = links.link_expiry(now + timedelta(minutes=ttl))
    upload_id = secrets.token_urlsafe(32)
    with call.runtime.store.write() as conn:
        kb = knowledge_bases.load(conn, call, params["knowledgeBaseId"])
        _check_content_type(kb.type, params["contentType"])
        UPLOAD.repo.insert(
            conn,
            {
                "id": upload_id,
                "account": call.account,
                "region": call.region,
                "knowledge_base_id": kb.id,
                "content_type": params["contentType"],
                "url_expiry": expiry,
                "created_at": now,
            },
        )
    headers = required_headers(params["contentType"])
    url = links.sign(
        call.runtime.store.secret, call.base_url, "PUT", UPLOAD_PATH + upload_id, expiry, headers
    )
    return {"uploadId": upload_id, "url": url, "urlExpiry": expiry, "headersToInclude": headers}


def find(conn: Connection, upload_id: str) -> Any | None:
    return UPLOAD.repo.find_any(conn, upload_id)


def uploaded(conn: Connection, call: Call, kb: Any, upload_id: str) -> Any:
    """The upload a request names, which must be the caller's, of knowledge base `kb`, with its
    file PUT and stored (ValidationException saying which is not so)."""
    upload = find(conn, upload_id)
    if upload is None or (upload.account, upload.region) != (call.account, call.region):
        raise validation_error(f"Upload {upload_id} does not exist")
    if upload.knowledge_base_id != kb.id:
        raise validation_error(f"Upload {upload_id} belongs to another knowledge base")
    if upload.blob_key is None or not call.runtime.blobs.exists(upload.blob_key):
        raise validation_error(f"Upload {upload_id} has no file yet: PUT the file to its url first")
    return upload


class UploadReceiver:
    """One signed PUT, fed chunk by chunk (ASGI) or at once (the in-process mock).

    `begin()` checks the link before any byte is stored; `write()` enforces the size limit as
    bytes arrive; `finish()` makes the blob visible and records it on the upload.
    """

    def __init__(self, runtime: Runtime, upload_id: str, full_path: str, query: str, headers: dict[str, str]):
        self.runtime = runtime
        self.upload_id = upload_id
        self.full_path = full_path
        self.query = query
        self.headers = headers
        self.size = 0
        self.digest = hashlib.md5(usedforsecurity=False)
        self.blob_key = f"{UPLOAD_PATH}{upload_id}/{secrets.token_hex(8)}"
        self._writer: Any = None

    def begin(self) -> None:
        with self.runtime.store.read() as conn:
            row = find(conn, self.upload_id)
        if row is None:
            raise links.LinkError(404, "NoSuchUpload", "The specified upload does not exist.")
        links.verify(
            self.runtime.store.secret,
            "PUT",
            self.full_path,
            self.query,
            self.headers,
            required_headers(row.content_type),
            self.runtime.clock.now(),
        )
        declared = self.headers.get("content-length")
        if declared is not None and declared.isdigit():
            self._check_size(int(declared))
        self._writer = self.runtime.blobs.writer(self.blob_key)

    def _check_size(self, size: int) -> None:
        limit = self.runtime.settings.max_upload_bytes
        if size > limit:
            raise links.LinkError(
                400,
                "EntityTooLarge",
                f"Your proposed upload exceeds the maximum allowed size of {limit} bytes",
            )

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        try:
            self._check_size(self.size)
        except links.LinkError:
            self.abort()
            raise
        self.digest.update(chunk)
        self._writer.write(chunk)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            self._writer = None

    def finish(self) -> str:
        """Commit the bytes; returns the S3-style quoted MD5 ETag."""
        etag = self.digest.hexdigest()
        self._writer.commit()
        values = {
            "blob_key": self.blob_key,
            "size": self.size,
            "etag": etag,
            "uploaded_at": self.runtime.clock.now(),
        }
        with self.runtime.store.write() as conn:
            row = find(conn, self.upload_id)
            updated = row is not None and UPLOAD.repo.update(conn, row.seq, values)
        if not updated:  # the knowledge base was deleted while the bytes arrived
            self.runtime.blobs.delete(self.blob_key)
            raise links.LinkError(404, "NoSuchUpload", "The specified upload does not exist.")
        return f'"{etag}"'
