"""Message template versions: create (idempotent by content), list, activate, deactivate.

- CreateMessageTemplateVersion snapshots `$LATEST` (content, language, defaultAttributes,
  sourceConfiguration and the attachments it has now) as version `last + 1`, numbered from 1;
  numbers are never reused, even after a version is deleted. While `$LATEST` is what the
  newest version was made from, another call returns that version again. A
  `messageTemplateContentSha256` that is not `$LATEST`'s is a ConflictException (the caller
  saw other content). At most `Settings.message_template_version_quota` (20) versions.
- ActivateMessageTemplate makes the version the only active one (activating the active one
  again changes nothing); DeactivateMessageTemplate of a version that is not active is a
  ConflictException. Neither changes the template's lastModifiedTime.
"""

from __future__ import annotations

from typing import Any

from qconnect_local.protocol.errors import conflict, not_found
from qconnect_local.service import knowledge_bases, resources
from qconnect_local.service.ai_resources import storable_version
from qconnect_local.service.context import Call
from qconnect_local.service.families import MESSAGE_TEMPLATE, MESSAGE_TEMPLATE_VERSION
from qconnect_local.service.message_templates import (
    Target,
    extended,
    load_knowledge_base,
    load_unqualified,
    template_arn,
)
from qconnect_local.service.pagination import fetch_page
from qconnect_local.service.quick_responses import modified_by
from qconnect_local.service.registry import operation
from qconnect_local.store import Connection
from qconnect_local.store import message_templates as mt_store


def _same_as_latest(version: Any, template: Any, attachment_ids: list[str]) -> bool:
    return (
        version.snapshot == template.draft
        and version.source_configuration == template.source_configuration
        and list(version.attachment_ids) == attachment_ids
    )


@operation("CreateMessageTemplateVersion")
def create_message_template_version(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        row = load_unqualified(conn, call, kb, params["messageTemplateId"], lock=True)
        expected = params.get("messageTemplateContentSha256")
        if expected is not None and expected != row.content_sha256:
            raise conflict(
                f"messageTemplateContentSha256 {expected} is not that of message template {row.id}'s "
                f"$LATEST ({row.content_sha256}): it has changed"
            )
        attachment_ids = [a.id for a in mt_store.latest_attachments(conn, row.id)]
        newest = mt_store.newest_version(conn, row.id)
        if newest is not None and _same_as_latest(newest, row, attachment_ids):
            return {"messageTemplate": extended(conn, call, Target(row, newest))}
        resources.check_room(conn, call, MESSAGE_TEMPLATE_VERSION, row)
        number, now = int(row.last_version) + 1, call.now()
        MESSAGE_TEMPLATE_VERSION.repo.insert(
            conn,
            {
                "account": call.account,
                "region": call.region,
                "knowledge_base_id": kb.id,
                "message_template_id": row.id,
                "version_number": number,
                "language": row.language,
                "snapshot": row.draft,
                "source_configuration": row.source_configuration,
                "attachment_ids": attachment_ids,
                "content_sha256": row.content_sha256,
                "last_modified_by": modified_by(call.account),
                "created_at": now,
                "modified_at": now,
            },
        )
        MESSAGE_TEMPLATE.repo.update(conn, row.seq, {"last_version": number})
        template = MESSAGE_TEMPLATE.repo.find_any(conn, row.id)
        return {
            "messageTemplate": extended(conn, call, Target(template, mt_store.version(conn, row.id, number)))
        }


def version_summary(call: Call, template: Any, version: Any) -> dict[str, Any]:
    """MessageTemplateVersionSummary members."""
    number = int(version.version_number)
    return {
        "messageTemplateArn": template_arn(call, template, number),
        "messageTemplateId": template.id,
        "knowledgeBaseArn": knowledge_bases.kb_arn(call, template.knowledge_base_id),
        "knowledgeBaseId": template.knowledge_base_id,
        "name": template.name,
        "channel": template.channel_subtype,
        "channelSubtype": template.channel_subtype,
        "isActive": template.active_version == number,
        "versionNumber": number,
    }


@operation("ListMessageTemplateVersions")
def list_message_template_versions(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        template = load_unqualified(conn, call, kb, params["messageTemplateId"])

        def fetch(after: int | None, limit: int) -> Any:
            return mt_store.version_page(conn, template.id, after=after, limit=limit)

        rows, next_token = fetch_page(call, params, fetch, parent=template.id)
    return {
        "messageTemplateVersionSummaries": [version_summary(call, template, row) for row in rows],
        "nextToken": next_token,
    }


def _version_number(conn: Connection, template: Any, number: int, value: str) -> int:
    if not storable_version(number) or mt_store.version(conn, template.id, number) is None:
        raise not_found(f"Message template {template.id} has no version {number}", value)
    return number


def _activation(call: Call, template: Any, number: int) -> dict[str, Any]:
    return {
        "messageTemplateArn": template_arn(call, template, number),
        "messageTemplateId": template.id,
        "versionNumber": number,
    }


@operation("ActivateMessageTemplate")
def activate_message_template(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        template = load_unqualified(conn, call, kb, params["messageTemplateId"], lock=True)
        number = _version_number(conn, template, int(params["versionNumber"]), params["messageTemplateId"])
        MESSAGE_TEMPLATE.repo.update(conn, template.seq, {"active_version": number})
        return _activation(call, template, number)


@operation("DeactivateMessageTemplate")
def deactivate_message_template(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        template = load_unqualified(conn, call, kb, params["messageTemplateId"], lock=True)
        number = _version_number(conn, template, int(params["versionNumber"]), params["messageTemplateId"])
        if template.active_version != number:
            raise conflict(f"Version {number} of message template {template.id} is not active")
        MESSAGE_TEMPLATE.repo.update(conn, template.seq, {"active_version": None})
        return _activation(call, template, number)
