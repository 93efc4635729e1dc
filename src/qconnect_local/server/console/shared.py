"""Pieces more than one area of the console uses: the parent resources of a page, their
breadcrumbs, references to versioned AI resources, and raw output made ready for a JSON block."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from qconnect_local.server.console.framework import Crumb, View


def knowledge_base(view: View) -> dict[str, Any]:
    """The knowledge base of the page's `{kb}` label (GetKnowledgeBase)."""
    kb: dict[str, Any] = view.call("GetKnowledgeBase", knowledgeBaseId=view.labels["kb"])["knowledgeBase"]
    return kb


def assistant(view: View) -> dict[str, Any]:
    """The assistant of the page's `{assistant}` label (GetAssistant)."""
    found: dict[str, Any] = view.call("GetAssistant", assistantId=view.labels["assistant"])["assistant"]
    return found


def kb_crumbs(view: View, kb: dict[str, Any] | None = None, *more: Crumb) -> list[Crumb]:
    """Console > Knowledge bases [> the knowledge base] > `more`."""
    return _crumbs(view, "Knowledge bases", "knowledge-bases", kb, "knowledgeBaseId", more)


def assistant_crumbs(view: View, found: dict[str, Any] | None = None, *more: Crumb) -> list[Crumb]:
    """Console > Assistants [> the assistant] > `more`."""
    return _crumbs(view, "Assistants", "assistants", found, "assistantId", more)


def _crumbs(
    view: View,
    section: str,
    folder: str,
    found: dict[str, Any] | None,
    id_member: str,
    more: tuple[Crumb, ...],
) -> list[Crumb]:
    """Console > `section` [> the resource `found`, by name or else id] > `more`."""
    crumbs = [Crumb("Console", view.url()), Crumb(section, view.url(folder))]
    if found is not None:
        resource_id = found[id_member]
        crumbs.append(Crumb(found.get("name") or resource_id, view.url(folder, resource_id)))
    return [*crumbs, *more]


def split_reference(value: str) -> tuple[str, str | None]:
    """`id`, `id:3`, `id:$LATEST` or an ARN of them → (id, qualifier or None)."""
    tail = value.rsplit("/", 1)[-1] if value.startswith("arn:") else value
    resource_id, _, qualifier = tail.partition(":")
    return resource_id, qualifier or None


def plain(value: Any) -> Any:
    """An operation's output as JSON-ready data: timestamps as ISO text, absent (None) members
    dropped, bytes by their size."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value
