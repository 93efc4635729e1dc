"""Message template attachments: create, delete, and the signed links that serve their bytes.

- Attachments belong to `$LATEST`; a version keeps the files it was made with, so deleting one
  from `$LATEST` leaves every version as it was (the file stays until no version names it).
- Email templates only (AWS's quota speaks of "email message templates"): other channel
  subtypes are a ValidationException. At most `Settings.message_template_attachment_quota`
  (10) per `$LATEST` (ServiceQuotaExceededException), each at most 1 MiB once decoded.
- `body` is base64 (the standard alphabet, padded); anything else is a ValidationException.
- The name is unique among `$LATEST`'s attachments (ConflictException), exactly as given.
- `clientToken` (which the SDKs do not fill in here) replays the first call's attachment.
- A change of `$LATEST`'s attachments changes its lastModifiedTime and content hash.
- The link (`url`, valid until `urlExpiry`) answers GET with exactly the bytes, their media
  type guessed from the name's extension, like S3 for a presigned link.
"""

from __future__ import annotations

import binascii
import hashlib
import mimetypes
import uuid
from typing import TYPE_CHECKING, Any, Final

from qconnect_local.protocol.errors import ServiceError, conflict, not_found, validation_error
from qconnect_local.service import links, resources
from qconnect_local.service.context import Call
from qconnect_local.service.families import ATTACHMENT_BLOBS, MESSAGE_TEMPLATE_ATTACHMENT
from qconnect_local.service.message_templates import (
    ATTACHMENT_LINKS,
    attachment_data,
    delete_unreferenced,
    load_knowledge_base,
    load_unqualified,
    touched,
)
from qconnect_local.service.registry import operation
from qconnect_local.store import message_templates as mt_store

if TYPE_CHECKING:
    from qconnect_local.runtime import Runtime

MAX_ATTACHMENT_BYTES: Final = 1024 * 1024
ATTACHMENT_SUBTYPE: Final = "EMAIL"


def _decoded(body: str) -> bytes:
    try:
        if len(body) % 4:  # strict decoding still takes a stray "=" after a whole group
            raise binascii.Error("length")
        data = binascii.a2b_base64(body, strict_mode=True)
    except (binascii.Error, ValueError):
        raise validation_error("The attachment body must be base64 (standard alphabet, padded)") from None
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise validation_error(
            f"An attachment holds at most {MAX_ATTACHMENT_BYTES:,} bytes; this one has {len(data):,}"
        )
    return data


def _store_file(runtime: Runtime, data: bytes) -> str:
    key = f"{ATTACHMENT_BLOBS}{uuid.uuid4()}"
    writer = runtime.blobs.writer(key)
    try:
        writer.write(data)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return key


@operation("CreateMessageTemplateAttachment")
def create_message_template_attachment(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    data = _decoded(params["body"])
    key = _store_file(call.runtime, data)
    try:
        return _create(call, params, data, key)
    except BaseException:
        call.runtime.blobs.delete(key)  # the row that would have owned it was never committed
        raise


def _create(call: Call, params: dict[str, Any], data: bytes, key: str) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        template = load_unqualified(conn, call, kb, params["messageTemplateId"], lock=True)
        replayed = resources.replayed(conn, call, MESSAGE_TEMPLATE_ATTACHMENT, params, template)
        if replayed is not None:
            call.runtime.blobs.delete(key)
            return {"attachment": attachment_data(call, replayed)}
        if template.channel_subtype != ATTACHMENT_SUBTYPE:
            raise validation_error(
                f"Attachments belong to EMAIL message templates; {template.id} is {template.channel_subtype}"
            )
        latest = mt_store.latest_attachments(conn, template.id)
        quota = call.runtime.settings.message_template_attachment_quota
        if len(latest) >= quota:
            raise ServiceError(
                "ServiceQuotaExceededException",
                f"You have reached the quota of {quota} attachments in message template {template.id}",
            )
        if any(a.name == params["name"] for a in latest):
            raise conflict(f"Message template {template.id} already has an attachment named {params['name']}")
        values = {
            "id": str(uuid.uuid4()),
            "knowledge_base_id": kb.id,
            "message_template_id": template.id,
            "name": params["name"],
            "content_disposition": params["contentDisposition"],
            "blob_key": key,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "on_latest": 1,
            "uploaded_at": call.now(),
        }
        row = resources.insert(conn, call, MESSAGE_TEMPLATE_ATTACHMENT, params, values)
        touched(conn, call, template)
        return {"attachment": attachment_data(call, row)}


@operation("DeleteMessageTemplateAttachment")
def delete_message_template_attachment(call: Call, params: dict[str, Any]) -> None:
    with call.runtime.store.write() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        template = load_unqualified(conn, call, kb, params["messageTemplateId"], lock=True)
        row = MESSAGE_TEMPLATE_ATTACHMENT.repo.find(
            conn, call.account, call.region, params["attachmentId"], template.id
        )
        if row is None or not row.on_latest:
            raise not_found(
                f"Message template {template.id} has no attachment {params['attachmentId']}",
                params["attachmentId"],
            )
        MESSAGE_TEMPLATE_ATTACHMENT.repo.update(conn, row.seq, {"on_latest": 0})
        delete_unreferenced(conn, call, template.id)
        touched(conn, call, template)


@links.download_route(ATTACHMENT_LINKS)
def download(runtime: Runtime, parts: list[str], full_path: str, query: str) -> links.Download:
    """An attachment's bytes, after checking the link (LinkError otherwise)."""
    if len(parts) != 1:
        raise links.no_such_key()
    links.verify(runtime.store.secret, "GET", full_path, query, {}, {}, runtime.clock.now())
    with runtime.store.read() as conn:
        row = MESSAGE_TEMPLATE_ATTACHMENT.repo.find_any(conn, parts[0])
    if row is None or not runtime.blobs.exists(row.blob_key):
        raise links.no_such_key()
    media_type = mimetypes.guess_type(row.name)[0] or "application/octet-stream"
    return links.Download(str(row.blob_key), media_type, str(row.name))
