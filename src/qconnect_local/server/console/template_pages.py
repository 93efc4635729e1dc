"""Console pages of a knowledge base's message templates: the list, one template (its `$LATEST`
draft or a version, its versions with the active one marked, its attachments' signed links), and
a live preview of RenderMessageTemplate with an input per attribute the template uses.

Rendered text is always shown as text: an HTML body appears as its escaped source, never as live
markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from qconnect_local.engine.template_attributes import Path, attribute_path, attribute_type, lookup
from qconnect_local.engine.template_render import placeholder_keys, text_parts
from qconnect_local.protocol.errors import ServiceError
from qconnect_local.server.console import shared
from qconnect_local.server.console.framework import Crumb, Page, View, page, when

PART_LABELS: Final[dict[tuple[str | int, ...], str]] = {
    ("email", "subject"): "Email subject",
    ("email", "body", "plainText", "content"): "Email plain-text body",
    ("email", "body", "html", "content"): "Email HTML body (source)",
    ("sms", "body", "plainText", "content"): "SMS text",
    ("whatsApp", "data"): "WhatsApp data",
}
SUBMITTED: Final = "submitted"  # the preview form's marker: its fields are the attributes to send


def _version(view: View) -> str | None:
    """The `version` query parameter when it is a version number; None for $LATEST."""
    given = view.query.get("version", "").strip()
    return given if given.isdigit() else None


def _label(path: tuple[str | int, ...]) -> str:
    known = PART_LABELS.get(path)
    if known is not None:
        return known
    return ".".join(f"[{step}]" if isinstance(step, int) else step for step in path)


def parts(content: dict[str, Any] | None) -> list[dict[str, str]]:
    """Every text part of a content (email subject, bodies, headers, SMS, ...) as label and text."""
    if not content:
        return []
    shown = []
    for path, text, _mode in text_parts(content):
        shown.append({"label": _label(path), "path": ".".join(str(step) for step in path), "text": text})
    return shown


def template_keys(content: dict[str, Any] | None) -> list[str]:
    """The placeholder keys the content uses, once each, in order of first appearance."""
    seen: dict[str, None] = {}
    for _path, text, _mode in text_parts(content or {}):
        for key in placeholder_keys(text):
            seen.setdefault(key)
    return list(seen)


def _flatten(node: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _flatten(value, f"{prefix}[{index}]")
    elif node is not None:
        yield prefix, str(node)


def _attachments(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {
            "name": item.get("name"),
            "id": item.get("attachmentId"),
            "disposition": item.get("contentDisposition"),
            "uploaded": when(item.get("uploadedTime")),
            "url": item.get("url"),
            "expiry": when(item.get("urlExpiry")),
        }
        for item in items or []
    ]


# -- the list --------------------------------------------------------------------------------------


@page("GET", "knowledge-bases/{kb}/message-templates")
def template_list(view: View) -> Page:
    kb = shared.knowledge_base(view)
    kb_id = kb["knowledgeBaseId"]
    items: list[dict[str, Any]] = []
    next_token = None
    if kb.get("knowledgeBaseType") == "MESSAGE_TEMPLATES":  # the only type that holds templates
        items, next_token = view.page_of(
            "ListMessageTemplates", "messageTemplateSummaries", knowledgeBaseId=kb_id
        )
    rows = [
        {
            "name": item.get("name"),
            "id": item["messageTemplateId"],
            "href": view.url("knowledge-bases", kb_id, "message-templates", item["messageTemplateId"]),
            "preview": view.url(
                "knowledge-bases", kb_id, "message-templates", item["messageTemplateId"], "preview"
            ),
            "channel": item.get("channelSubtype") or item.get("channel"),
            "active": item.get("activeVersionNumber"),
            "modified": when(item.get("lastModifiedTime")),
            "description": item.get("description"),
        }
        for item in items
    ]
    return Page(
        "template_list.html",
        f"Message templates of {kb.get('name') or kb_id}",
        shared.kb_crumbs(view, kb, Crumb("Message templates")),
        {"kb": kb, "rows": rows, "next_token": next_token},
    )


# -- one template ----------------------------------------------------------------------------------


@page("GET", "knowledge-bases/{kb}/message-templates/{template}")
def template_detail(view: View) -> Page:
    kb = shared.knowledge_base(view)
    kb_id = kb["knowledgeBaseId"]
    template_id = view.labels["template"]
    version = _version(view)
    latest = view.call("GetMessageTemplate", knowledgeBaseId=kb_id, messageTemplateId=template_id)[
        "messageTemplate"
    ]
    template_id = latest["messageTemplateId"]
    shown = latest
    if version is not None:
        shown = view.call(
            "GetMessageTemplate", knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:{version}"
        )["messageTemplate"]
    versions, next_token = view.page_of(
        "ListMessageTemplateVersions",
        "messageTemplateVersionSummaries",
        knowledgeBaseId=kb_id,
        messageTemplateId=template_id,
    )
    base = view.url("knowledge-bases", kb_id, "message-templates", template_id)
    version_rows = [
        {
            "number": str(v["versionNumber"]),
            "href": view.url(
                "knowledge-bases", kb_id, "message-templates", template_id, version=str(v["versionNumber"])
            ),
            "active": bool(v.get("isActive")),
            "current": str(v["versionNumber"]) == version,
        }
        for v in versions
    ]
    grouping = shown.get("groupingConfiguration") or {}
    fields = [
        ("Name", shown.get("name")),
        ("Id", template_id),
        ("ARN", shown.get("messageTemplateArn")),
        (
            "Showing",
            f"version {version}" + (" (active)" if shown.get("isActive") else "") if version else "$LATEST",
        ),
        ("Channel", shown.get("channel")),
        ("Channel subtype", shown.get("channelSubtype")),
        ("Language", shown.get("language")),
        ("Description", shown.get("description")),
        ("Created", when(shown.get("createdTime"))),
        ("Last modified", when(shown.get("lastModifiedTime"))),
        ("Last modified by", shown.get("lastModifiedBy")),
        ("Attribute types", ", ".join(shown.get("attributeTypes") or []) or None),
        (
            "Grouping",
            f"{grouping.get('criteria')}: {', '.join(grouping.get('values') or [])}" if grouping else None,
        ),
        ("Content SHA-256", shown.get("messageTemplateContentSha256")),
    ]
    name = latest.get("name") or template_id
    return Page(
        "template_detail.html",
        f"Message template {name}" + (f" · version {version}" if version else ""),
        shared.kb_crumbs(
            view,
            kb,
            Crumb("Message templates", view.url("knowledge-bases", kb_id, "message-templates")),
            Crumb(name),
        ),
        {
            "kb": kb,
            "fields": fields,
            "tags": shown.get("tags") or {},
            "parts": parts(shown.get("content")),
            "defaults": list(_flatten(shared.plain(shown.get("defaultAttributes") or {}))),
            "attachments": _attachments(shown.get("attachments")),
            "versions": version_rows,
            "version": version,
            "next_token": next_token,
            "latest_href": base,
            "preview_href": view.url(
                "knowledge-bases", kb_id, "message-templates", template_id, "preview", version=version
            ),
            "json": shared.plain(shown),
        },
    )


# -- the live preview ------------------------------------------------------------------------------


def _put(attributes: dict[str, Any], path: Path, value: Any) -> None:
    """Set `value` at a path of member names, map keys and list indexes (only the recommendations
    list is indexed, and its items are structures), making containers on the way."""
    node: Any = attributes
    for position, step in enumerate(path):
        if position == len(path) - 1:
            node[step] = value
        elif isinstance(step, int):
            while len(node) <= step:
                node.append({})
            node = node[step]
        else:
            node = node.setdefault(step, [] if isinstance(path[position + 1], int) else {})


def request_attributes(fields: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """The MessageTemplateAttributes the form's non-empty fields make, and the problems of any
    value that cannot be sent (a Score that is not a number)."""
    attributes: dict[str, Any] = {}
    problems: list[str] = []
    for field in fields:
        value = field["value"]
        if value == "":
            continue
        path: Path = field["path"]
        if path and path[-1] == "score":
            try:
                number = float(value)
            except ValueError:
                problems.append(f"{field['key']}: a score is a number, not {value!r}")
                continue
            _put(attributes, path, number)
        else:
            _put(attributes, path, value)
    return attributes, problems


@page("GET", "knowledge-bases/{kb}/message-templates/{template}/preview")
def template_preview(view: View) -> Page:
    kb = shared.knowledge_base(view)
    kb_id = kb["knowledgeBaseId"]
    version = _version(view)
    template_id = view.labels["template"]
    latest = view.call("GetMessageTemplate", knowledgeBaseId=kb_id, messageTemplateId=template_id)[
        "messageTemplate"
    ]
    template_id = latest["messageTemplateId"]
    qualified = f"{template_id}:{version}" if version else template_id
    target = latest
    if version:
        target = view.call("GetMessageTemplate", knowledgeBaseId=kb_id, messageTemplateId=qualified)[
            "messageTemplate"
        ]
    defaults = target.get("defaultAttributes") or {}
    submitted = SUBMITTED in view.query
    fields: list[dict[str, Any]] = []
    unknown: list[str] = []
    for key in template_keys(target.get("content")):
        path = attribute_path(key)
        if path is None:
            unknown.append(key)
            continue
        default = lookup(defaults, path)
        value = view.query.get(key, "") if submitted else (default or "")
        fields.append(
            {"key": key, "path": path, "type": attribute_type(key), "default": default, "value": value}
        )
    attributes, problems = request_attributes(fields)
    rendered: dict[str, Any] | None = None
    error = None
    if not problems:
        try:
            rendered = view.call(
                "RenderMessageTemplate",
                knowledgeBaseId=kb_id,
                messageTemplateId=qualified,
                attributes=attributes,
            )
        except ServiceError as failure:
            error = f"{failure.code}: {failure.message}"
    name = latest.get("name") or template_id
    template_href = view.url("knowledge-bases", kb_id, "message-templates", template_id, version=version)
    return Page(
        "template_preview.html",
        f"Preview of message template {name}" + (f" · version {version}" if version else ""),
        shared.kb_crumbs(
            view,
            kb,
            Crumb("Message templates", view.url("knowledge-bases", kb_id, "message-templates")),
            Crumb(name, template_href),
            Crumb("Preview"),
        ),
        {
            "kb": kb,
            "template": target,
            "template_href": template_href,
            "action": view.url("knowledge-bases", kb_id, "message-templates", template_id, "preview"),
            "version": version,
            "fields": fields,
            "unknown": unknown,
            "problems": problems,
            "error": error,
            "parts": parts(rendered.get("content")) if rendered else [],
            "not_interpolated": (rendered.get("attributesNotInterpolated") or []) if rendered else [],
            "attachments": _attachments(rendered.get("attachments")) if rendered else [],
            "rendered": rendered is not None,
            "sent": shared.plain(attributes),
        },
    )
