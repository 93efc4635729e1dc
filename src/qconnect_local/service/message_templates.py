"""Message templates: create, get, update, update metadata, delete, list, render.

A template's row is its `$LATEST`, the draft that UpdateMessageTemplate edits; versions are
immutable snapshots of it (`message_template_versions`), attachments rows of their own
(`message_template_attachments`). Decisions where AWS is silent (docs/behaviour.md,
"Message templates"):

- Templates live only in MESSAGE_TEMPLATES knowledge bases (any other type is a
  ValidationException); `name` is required and unique per knowledge base (ConflictException);
  at most `Settings.message_template_quota` (200) per knowledge base.
- Identifiers: an id or ARN, optionally qualified: `:$LATEST` (the default), `:<version>`,
  `:$ACTIVE_VERSION`. Where the model says the identifier "cannot contain any qualifier" a
  qualifier is a ValidationException. A qualifier naming no version (an unknown word, a
  version that does not exist, `$ACTIVE_VERSION` while none is active) is
  ResourceNotFoundException.
- ARNs: `$LATEST` answers with the plain ARN, a version with the ARN qualified by its number.
- `channel` is the channel subtype (EMAIL, SMS, WHATSAPP, PUSH): the model gives it no values.
- The content must be the subtype's member (`email` for EMAIL, ...); `sourceConfiguration` is
  for WHATSAPP only. An SMS body holds at most 800 characters; an email at most 5,000,000 (its
  subject, bodies and header values together).
- `messageTemplateContentSha256`: see `content_sha256`. `attributeTypes`: the namespaces the
  content's placeholders use (`engine.template_render.attribute_types`).
- `lastModifiedBy` is the account's root (see `quick_responses.modified_by`).
- Delete with `:<version>` deletes that version, unless it is the active one
  (ConflictException: deactivate it first); without a qualifier (or `:$LATEST`) it deletes
  the template, its versions and its attachments.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any, Final

from qconnect_local.engine.template_render import RenderTooLarge, attribute_types, render_content
from qconnect_local.protocol.errors import conflict, not_found, validation_error
from qconnect_local.service import knowledge_bases, links, resources
from qconnect_local.service.ai_resources import version_number
from qconnect_local.service.context import Call
from qconnect_local.service.families import (
    MESSAGE_TEMPLATE,
    MESSAGE_TEMPLATE_ATTACHMENT,
    MESSAGE_TEMPLATE_VERSION,
)
from qconnect_local.service.pagination import fetch_page
from qconnect_local.service.quick_responses import modified_by
from qconnect_local.service.registry import operation
from qconnect_local.spec.documented import message_template_languages
from qconnect_local.store import Connection
from qconnect_local.store import message_templates as mt_store
from qconnect_local.store.search import list_text

KB_TYPE: Final = "MESSAGE_TEMPLATES"
LATEST: Final = "$LATEST"
ACTIVE_VERSION: Final = "$ACTIVE_VERSION"
CONTENT_MEMBER: Final = {"EMAIL": "email", "SMS": "sms", "WHATSAPP": "whatsApp", "PUSH": "push"}
SMS_LIMIT: Final = 800
EMAIL_LIMIT: Final = 5_000_000
DRAFT_MEMBERS: Final = ("content", "language", "defaultAttributes")  # what the hash covers
ATTACHMENT_LINKS: Final = "message-template-attachments"  # links.download_route collection


# -- names and rows -------------------------------------------------------------------------------


def load_knowledge_base(conn: Connection, call: Call, kb_id_or_arn: str) -> Any:
    return knowledge_bases.load_of_type(conn, call, kb_id_or_arn, (KB_TYPE,), "message templates")


def template_arn(call: Call, row: Any, version_number: int | None = None) -> str:
    arn = resources.arn_for(call, MESSAGE_TEMPLATE, row.knowledge_base_id, row.id)
    return arn if version_number is None else f"{arn}:{version_number}"


def load_unqualified(conn: Connection, call: Call, kb: Any, value: str, *, lock: bool = False) -> Any:
    """The template named by `value`, which may carry no qualifier (ValidationException)."""
    row, qualifier = resources.load_qualified(conn, call, MESSAGE_TEMPLATE, value, kb)
    if qualifier is not None:
        raise validation_error(
            f"The message template identifier {value} cannot contain a qualifier for {call.operation}"
        )
    if lock:
        MESSAGE_TEMPLATE.repo.lock(conn, row.id)
        row = MESSAGE_TEMPLATE.repo.find_any(conn, row.id)
    return row


@dataclass(frozen=True, slots=True)
class Target:
    """What a possibly qualified identifier names: the template and one of its versions (None
    for `$LATEST`)."""

    template: Any
    version: Any = None

    @property
    def state(self) -> Any:
        """The row holding the content: the version, or the template for `$LATEST`."""
        return self.version if self.version is not None else self.template

    @property
    def draft(self) -> dict[str, Any]:
        return dict(self.version.snapshot if self.version is not None else self.template.draft)

    @property
    def number(self) -> int | None:
        return int(self.version.version_number) if self.version is not None else None


def load_target(conn: Connection, call: Call, kb: Any, value: str) -> Target:
    """The template or version a possibly qualified identifier names, or ResourceNotFoundException."""
    row, qualifier = resources.load_qualified(conn, call, MESSAGE_TEMPLATE, value, kb)
    if qualifier is None or qualifier == LATEST:
        return Target(row)
    if qualifier == ACTIVE_VERSION:
        if row.active_version is None:
            raise not_found(f"Message template {row.id} has no active version", value)
        number = int(row.active_version)
    elif (named := version_number(qualifier)) is not None:
        number = named
    else:
        raise not_found(f"Message template {row.id} has no version {qualifier}", value)
    version = mt_store.version(conn, row.id, number)
    if version is None:
        raise not_found(f"Message template {row.id} has no version {number}", value)
    return Target(row, version)


# -- content ----------------------------------------------------------------------------------------


def _text_length(node: Any) -> int:
    """The characters of every string in a content member (its texts, header values, ...)."""
    if isinstance(node, str):
        return len(node)
    if isinstance(node, dict):
        return sum(_text_length(value) for value in node.values())
    if isinstance(node, list):
        return sum(_text_length(value) for value in node)
    return 0


def check_content(subtype: str, content: dict[str, Any] | None) -> None:
    """The content must be the channel subtype's member, within its size limit."""
    if content is None:
        return
    expected = CONTENT_MEMBER[subtype]
    given = [member for member, value in content.items() if value is not None]
    if given != [expected]:
        raise validation_error(
            f"A {subtype} message template takes content.{expected}, not content.{', content.'.join(given)}"
        )
    if subtype == "SMS":
        body = (((content["sms"].get("body") or {}).get("plainText")) or {}).get("content") or ""
        if len(body) > SMS_LIMIT:
            raise validation_error(
                f"An SMS message template's body holds at most {SMS_LIMIT} characters; "
                f"this one has {len(body)}"
            )
    elif subtype == "EMAIL":
        length = _text_length(content["email"])
        if length > EMAIL_LIMIT:
            raise validation_error(
                f"An email message template holds at most {EMAIL_LIMIT:,} characters; this one has {length:,}"
            )


def _check_language(language: str | None) -> None:
    supported = message_template_languages()
    if language is not None and language not in supported:
        raise validation_error(
            f"Unsupported language '{language}': message templates support {', '.join(supported)}"
        )


def _check_source(subtype: str, source: dict[str, Any] | None) -> None:
    if source is not None and subtype != "WHATSAPP":
        raise validation_error(f"sourceConfiguration applies to WHATSAPP message templates, not {subtype}")


def content_sha256(draft: dict[str, Any], attachments: list[Any]) -> str:
    """messageTemplateContentSha256: SHA-256 (lower-case hex) of the UTF-8 canonical JSON of
    `{"attachments": [{"name", "sha256"}...], "content", "defaultAttributes", "language"}`.

    Canonical: keys sorted, no whitespace (separators `,` and `:`), non-ASCII as is; a member
    that is absent is `null`; attachments (the `$LATEST` files: their names and the SHA-256 hex
    of their bytes) sorted by name. The same content always gives the same hash.
    """
    document = {
        **{member: draft.get(member) for member in DRAFT_MEMBERS},
        "attachments": sorted(
            ({"name": a.name, "sha256": a.sha256} for a in attachments), key=lambda a: a["name"]
        ),
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def source_summary(source: dict[str, Any] | None) -> dict[str, Any] | None:
    """The sourceConfigurationSummary of a sourceConfiguration. No WhatsApp account is reachable
    offline, so a WhatsApp source is taken as VALID, with no name or language of its own."""
    if not source or "whatsApp" not in source:
        return None
    return {"whatsApp": {**source["whatsApp"], "status": "VALID"}}


# -- data ------------------------------------------------------------------------------------------


def identity(call: Call, row: Any, state: Any, number: int | None = None) -> dict[str, Any]:
    """The members every message template shape starts with: names, channel and times (of
    `state`, the version or the template's `$LATEST`)."""
    return {
        "messageTemplateArn": template_arn(call, row, number),
        "messageTemplateId": row.id,
        "knowledgeBaseArn": knowledge_bases.kb_arn(call, row.knowledge_base_id),
        "knowledgeBaseId": row.knowledge_base_id,
        "name": row.name,
        "channel": row.channel_subtype,
        "channelSubtype": row.channel_subtype,
        "createdTime": row.created_at,
        "lastModifiedTime": state.modified_at,
        "lastModifiedBy": state.last_modified_by,
    }


def data(call: Call, target: Target, tags: dict[str, str]) -> dict[str, Any]:
    """MessageTemplateData members of a template or version."""
    row, state, draft = target.template, target.state, target.draft
    content = draft.get("content")
    return {
        **identity(call, row, state, target.number),
        "content": content,
        "description": row.description,
        "language": draft.get("language"),
        "sourceConfigurationSummary": source_summary(state.source_configuration),
        "groupingConfiguration": row.grouping,
        "defaultAttributes": draft.get("defaultAttributes"),
        "attributeTypes": attribute_types(content) if content else None,
        "messageTemplateContentSha256": state.content_sha256,
        "tags": tags,
    }


def attachment_link(call: Call, row: Any) -> tuple[str, Any]:
    """A fresh signed GET link to an attachment's bytes, and its expiry."""
    expiry = links.download_expiry(call.now())
    path = f"{ATTACHMENT_LINKS}/{row.id}"
    return links.sign(call.runtime.store.secret, call.base_url, "GET", path, expiry), expiry


def attachment_data(call: Call, row: Any) -> dict[str, Any]:
    """MessageTemplateAttachment members of an attachment row."""
    url, expiry = attachment_link(call, row)
    return {
        "attachmentId": row.id,
        "name": row.name,
        "contentDisposition": row.content_disposition,
        "uploadedTime": row.uploaded_at,
        "url": url,
        "urlExpiry": expiry,
    }


def delete_unreferenced(conn: Connection, call: Call, template_id: str) -> None:
    """Delete the attachments that neither `$LATEST` nor any version has any more (and their files)."""
    referenced = mt_store.attachment_references(conn, template_id)
    for row in mt_store.detached_attachments(conn, template_id):
        if row.id not in referenced:
            resources.delete(conn, call, MESSAGE_TEMPLATE_ATTACHMENT, row)


def attachments_of(conn: Connection, target: Target) -> list[Any]:
    """The attachment rows of `$LATEST`, or those the version was made with."""
    if target.version is None:
        return list(mt_store.latest_attachments(conn, target.template.id))
    return list(mt_store.attachments_by_id(conn, target.version.attachment_ids))


def extended(conn: Connection, call: Call, target: Target) -> dict[str, Any]:
    """ExtendedMessageTemplateData: the data, the attachments with fresh links, the version."""
    row = target.template
    extended_data = data(call, target, resources.tags_of(conn, call, MESSAGE_TEMPLATE, row))
    extended_data["attachments"] = [attachment_data(call, a) for a in attachments_of(conn, target)]
    if target.number is not None:
        extended_data["versionNumber"] = target.number
        extended_data["isActive"] = row.active_version == target.number
    return extended_data


def _with_tags(conn: Connection, call: Call, row: Any) -> dict[str, Any]:
    return {"messageTemplate": data(call, Target(row), resources.tags_of(conn, call, MESSAGE_TEMPLATE, row))}


def summary(call: Call, row: Any, tags: dict[str, str]) -> dict[str, Any]:
    """MessageTemplateSummary members of a (light) template row."""
    return {
        **identity(call, row, row),
        "sourceConfiguration": row.source_configuration,
        "activeVersionNumber": row.active_version,
        "description": row.description,
        "tags": tags,
    }


def _grouping_columns(grouping: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "grouping": grouping,
        "grouping_criteria": grouping.get("criteria") if grouping else None,
        "grouping_value_list": list_text(grouping.get("values")) if grouping else None,
    }


def _draft(subtype: str, members: dict[str, Any]) -> dict[str, Any]:
    """The draft (the hashed members) given as CreateMessageTemplate members, checked."""
    check_content(subtype, members.get("content"))
    _check_language(members.get("language"))
    return {member: members[member] for member in DRAFT_MEMBERS if members.get(member) is not None}


def touched(conn: Connection, call: Call, row: Any, **values: Any) -> None:
    """Store `values` on the template as a change of `$LATEST` now, by the caller, rehashing it."""
    draft = values.get("draft", row.draft)
    values["content_sha256"] = content_sha256(draft, list(mt_store.latest_attachments(conn, row.id)))
    MESSAGE_TEMPLATE.repo.update(
        conn, row.seq, {**values, "modified_at": call.now(), "last_modified_by": modified_by(call.account)}
    )


# -- operations --------------------------------------------------------------------------------------


@operation("CreateMessageTemplate")
def create_message_template(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    subtype = params["channelSubtype"]
    draft = _draft(subtype, params)
    _check_source(subtype, params.get("sourceConfiguration"))
    name = params.get("name")
    if name is None:
        raise validation_error("A message template needs a name")
    with call.runtime.store.write() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        row = resources.replayed(conn, call, MESSAGE_TEMPLATE, params, kb)
        if row is not None:
            return _with_tags(conn, call, row)
        resources.check_room(conn, call, MESSAGE_TEMPLATE, kb)
        resources.check_name(conn, call, MESSAGE_TEMPLATE, name, kb)
        now = call.now()
        values = {
            "id": str(uuid.uuid4()),
            "knowledge_base_id": kb.id,
            "name": name,
            "description": params.get("description"),
            "channel_subtype": subtype,
            **_grouping_columns(params.get("groupingConfiguration")),
            "language": draft.get("language"),
            "draft": draft,
            "source_configuration": params.get("sourceConfiguration"),
            "content_sha256": content_sha256(draft, []),
            "active_version": None,
            "last_version": 0,
            "last_modified_by": modified_by(call.account),
            "created_at": now,
            "modified_at": now,
        }
        return _with_tags(conn, call, resources.insert(conn, call, MESSAGE_TEMPLATE, params, values))


@operation("GetMessageTemplate")
def get_message_template(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        target = load_target(conn, call, kb, params["messageTemplateId"])
        return {"messageTemplate": extended(conn, call, target)}


@operation("UpdateMessageTemplate")
def update_message_template(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        row = load_unqualified(conn, call, kb, params["messageTemplateId"], lock=True)
        merged = {**row.draft, **{m: params[m] for m in DRAFT_MEMBERS if params.get(m) is not None}}
        draft = _draft(row.channel_subtype, merged)
        source = params.get("sourceConfiguration")
        _check_source(row.channel_subtype, source)
        changes: dict[str, Any] = {"draft": draft, "language": draft.get("language")}
        if source is not None:
            changes["source_configuration"] = source
        touched(conn, call, row, **changes)
        return _with_tags(conn, call, MESSAGE_TEMPLATE.repo.find_any(conn, row.id))


@operation("UpdateMessageTemplateMetadata")
def update_message_template_metadata(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.write() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        row = load_unqualified(conn, call, kb, params["messageTemplateId"], lock=True)
        changes: dict[str, Any] = {}
        if params.get("name") is not None:
            resources.check_name(conn, call, MESSAGE_TEMPLATE, params["name"], kb, except_id=row.id)
            changes["name"] = params["name"]
        if params.get("description") is not None:
            changes["description"] = params["description"]
        if params.get("groupingConfiguration") is not None:
            changes.update(_grouping_columns(params["groupingConfiguration"]))
        if changes:
            now, by = call.now(), modified_by(call.account)
            stamp = {"modified_at": now, "last_modified_by": by}
            MESSAGE_TEMPLATE.repo.update(conn, row.seq, {**changes, **stamp})
            # The metadata is every version's too: their data changed now as well.
            mt_store.touch_versions(conn, row.id, stamp)
        return _with_tags(conn, call, MESSAGE_TEMPLATE.repo.find_any(conn, row.id))


@operation("DeleteMessageTemplate")
def delete_message_template(call: Call, params: dict[str, Any]) -> None:
    with call.runtime.store.write() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        target = load_target(conn, call, kb, params["messageTemplateId"])
        MESSAGE_TEMPLATE.repo.lock(conn, target.template.id)
        if target.version is None:
            resources.delete(conn, call, MESSAGE_TEMPLATE, target.template)
            return
        template = MESSAGE_TEMPLATE.repo.find_any(conn, target.template.id)
        if template.active_version == target.number:
            raise conflict(
                f"Version {target.number} of message template {template.id} is active; deactivate it first"
            )
        MESSAGE_TEMPLATE_VERSION.repo.delete(conn, target.version.seq)
        delete_unreferenced(conn, call, template.id)


@operation("ListMessageTemplates")
def list_message_templates(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])

        def fetch(after: int | None, limit: int) -> Any:
            return mt_store.template_page(conn, call.account, call.region, kb.id, after=after, limit=limit)

        rows, next_token = fetch_page(call, params, fetch, parent=kb.id)
        tags = resources.tags_of_rows(conn, call, MESSAGE_TEMPLATE, rows)
        summaries = [summary(call, row, row_tags) for row, row_tags in zip(rows, tags, strict=True)]
    return {"messageTemplateSummaries": summaries, "nextToken": next_token}


@operation("RenderMessageTemplate")
def render_message_template(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        target = load_target(conn, call, kb, params["messageTemplateId"])
        attachments = [attachment_data(call, a) for a in attachments_of(conn, target)]
    draft = target.draft
    content = draft.get("content")
    try:
        rendered = render_content(content or {}, params["attributes"], draft.get("defaultAttributes"))
    except RenderTooLarge as error:
        raise validation_error(str(error)) from None
    return {
        "content": rendered.content if content else None,
        "sourceConfigurationSummary": source_summary(target.state.source_configuration),
        "attributesNotInterpolated": rendered.not_interpolated,
        "attachments": attachments,
    }
