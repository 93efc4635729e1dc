"""Quick responses: create (idempotent, quota-bound), get, update, delete, list; bulk insert for imports.

Decisions where AWS is silent:
- Quick responses live only in QUICK_RESPONSES knowledge bases: any other type is a
  `ValidationException` that names the type.
- `name` and `shortcutKey` are each unique within the knowledge base (exact, case-sensitive):
  a clash on create or update is a `ConflictException`.
- At most `Settings.quick_response_quota` (AWS's default 1,000) per knowledge base:
  `ServiceQuotaExceededException`.
- `channels` take the Connect channels quick responses support, `Chat` and `Email`, and
  `language` the codes CreateQuickResponse documents (`de_DE`, `en_US`, ...): the same values
  the import file accepts; others are a `ValidationException`.
- `lastModifiedBy` is `arn:aws:iam::ACCOUNT:root`: a request identifies an account (from its
  access key), never a principal within it.
- Changes are immediate: a quick response is CREATED from the start and stays so on update.
- `contents`: see `quick_response_contents` (plain text, or markdown plus derived plain text).

The import worker stores quick responses inside its own transaction through `insert_many`,
`existing_names_and_shortcuts` and `count`; the search index (`store.search`) follows every
write.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

from qconnect_local.protocol.errors import conflict, validation_error
from qconnect_local.service import knowledge_bases, resources
from qconnect_local.service.context import Call
from qconnect_local.service.families import KNOWLEDGE_BASE, QUICK_RESPONSE
from qconnect_local.service.quick_response_contents import PLAIN, contents_of
from qconnect_local.service.registry import operation
from qconnect_local.spec.documented import QUICK_RESPONSE_CHANNELS as CHANNELS
from qconnect_local.spec.documented import quick_response_languages
from qconnect_local.store import Connection
from qconnect_local.store import quick_responses as qr_store
from qconnect_local.store.search import list_text

KB_TYPE: Final = "QUICK_RESPONSES"
CREATED: Final = "CREATED"
# The members `remove*` flags clear, and their flags.
REMOVABLE: Final = {
    "description": "removeDescription",
    "shortcutKey": "removeShortcutKey",
    "groupingConfiguration": "removeGroupingConfiguration",
}
# Model member -> column, for the members a quick response is made of.
MEMBER_COLUMNS: Final = {
    "name": "name",
    "contentType": "content_type",
    "description": "description",
    "shortcutKey": "shortcut_key",
    "language": "language",
    "channels": "channels",
    "isActive": "is_active",
    "groupingConfiguration": "grouping",
}


def modified_by(account: str) -> str:
    """Who `lastModifiedBy` names: the account's root (see the module docstring)."""
    return f"arn:aws:iam::{account}:root"


def qr_arn(call: Call, kb_id: str, qr_id: str) -> str:
    return resources.arn_for(call, QUICK_RESPONSE, kb_id, qr_id)


def _require_kb_type(kb: Any) -> None:
    knowledge_bases.require_type(kb, (KB_TYPE,), "quick responses")


def load_knowledge_base(conn: Connection, call: Call, kb_id_or_arn: str) -> Any:
    """The knowledge base, which must be of type QUICK_RESPONSES."""
    kb = knowledge_bases.load(conn, call, kb_id_or_arn)
    _require_kb_type(kb)
    return kb


def load(conn: Connection, call: Call, kb: Any, qr_id_or_arn: str) -> Any:
    """The quick response named by id or ARN in knowledge base `kb`, or ResourceNotFoundException."""
    return resources.load(conn, call, QUICK_RESPONSE, qr_id_or_arn, kb)


def summary(call: Call, row: Any, tags: dict[str, str]) -> dict[str, Any]:
    """QuickResponseSummary members of a row."""
    return {
        "quickResponseArn": qr_arn(call, row.knowledge_base_id, row.id),
        "quickResponseId": row.id,
        "knowledgeBaseArn": knowledge_bases.kb_arn(call, row.knowledge_base_id),
        "knowledgeBaseId": row.knowledge_base_id,
        "name": row.name,
        "contentType": row.content_type,
        "status": row.status,
        "createdTime": row.created_at,
        "lastModifiedTime": row.modified_at,
        "lastModifiedRegion": row.region,
        "description": row.description,
        "lastModifiedBy": row.last_modified_by,
        "isActive": bool(row.is_active),
        "channels": row.channels,
        "tags": tags,
    }


def describe(call: Call, row: Any, tags: dict[str, str]) -> dict[str, Any]:
    """QuickResponseData: the summary with the contents, grouping, shortcut key and language."""
    return {
        **summary(call, row, tags),
        "contents": contents_of(row.content_type, row.content),
        "groupingConfiguration": row.grouping,
        "shortcutKey": row.shortcut_key,
        "language": row.language,
    }


def _check_values(params: dict[str, Any]) -> None:
    """Channels and language must be ones quick responses support (as the import file requires)."""
    unknown = [c for c in params.get("channels") or () if c not in CHANNELS]
    if unknown:
        raise validation_error(
            f"Unsupported channels {unknown}: quick responses support {', '.join(CHANNELS)}"
        )
    language = params.get("language")
    supported = quick_response_languages()
    if language is not None and language not in supported:
        raise validation_error(
            f"Unsupported language '{language}': quick responses support {', '.join(supported)}"
        )


def _columns(params: dict[str, Any]) -> dict[str, Any]:
    """Column values of a quick response given as CreateQuickResponse members."""
    grouping = params.get("groupingConfiguration")
    channels = params.get("channels")
    return {
        "name": params["name"],
        "content": params["content"]["content"],
        "content_type": params.get("contentType") or PLAIN,
        "description": params.get("description"),
        "shortcut_key": params.get("shortcutKey"),
        "language": params.get("language"),
        "channels": channels,
        "channel_list": list_text(channels),
        "is_active": int(params.get("isActive", True)),
        "grouping": grouping,
        "grouping_criteria": grouping.get("criteria") if grouping else None,
        "grouping_value_list": list_text(grouping.get("values")) if grouping else None,
    }


def _check_unique(
    conn: Connection, call: Call, kb: Any, values: dict[str, Any], own_id: str | None = None
) -> None:
    for column, member in (("name", "name"), ("shortcut_key", "shortcutKey")):
        value = values[column]
        if value is None:
            continue
        taken = QUICK_RESPONSE.repo.name_taken(
            conn, call.account, call.region, kb.id, value, column=column, except_id=own_id
        )
        if taken:
            raise conflict(
                f"A quick response with {member} '{value}' already exists in knowledge base {kb.id}"
            )


def lock_for_writes(conn: Connection, kb_id: str) -> None:
    """Serialise the quick-response writers of one knowledge base until `conn` commits."""
    KNOWLEDGE_BASE.repo.lock(conn, kb_id)


def count(conn: Connection, account: str, region: str, kb_id: str) -> int:
    """How many quick responses knowledge base `kb_id` holds."""
    return QUICK_RESPONSE.repo.count(conn, account, region, kb_id)


def existing_names_and_shortcuts(conn: Connection, kb_id: str) -> tuple[set[str], set[str]]:
    """The names and shortcut keys already taken in knowledge base `kb_id`."""
    return qr_store.names_and_shortcuts(conn, kb_id)


def insert_many(
    conn: Connection,
    *,
    account: str,
    region: str,
    kb_id: str,
    items: list[dict[str, Any]],
    import_job_id: str | None,
    now: datetime,
    modified_by: str,
) -> int:
    """Store `items` (CreateQuickResponse members, already validated) in the caller's transaction.

    The caller has checked uniqueness (`existing_names_and_shortcuts`) and the quota (`count`);
    a clash that slips through fails the transaction on the table's unique constraints.
    """
    # Tuples straight from the members (the columns `_columns` derives), not dicts per row.
    shared = {
        "account": account,
        "region": region,
        "knowledge_base_id": kb_id,
        "status": CREATED,
        "last_modified_by": modified_by,
        "import_job_id": import_job_id,
        "created_at": now,
        "modified_at": now,
    }
    rows = qr_store.bound_rows(conn.dialect, items, shared=shared, default_content_type=PLAIN)
    if rows:
        qr_store.insert(conn, rows)
    return len(rows)


def _with_tags(conn: Connection, call: Call, row: Any) -> dict[str, Any]:
    return {"quickResponse": describe(call, row, resources.tags_of(conn, call, QUICK_RESPONSE, row))}


@operation("CreateQuickResponse")
def create_quick_response(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    _check_values(params)
    values = _columns(params)
    with call.runtime.store.write() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        row = resources.replayed(conn, call, QUICK_RESPONSE, params, kb)
        if row is not None:
            return _with_tags(conn, call, row)
        resources.check_room(conn, call, QUICK_RESPONSE, kb)
        _check_unique(conn, call, kb, values)
        qr_id, now = str(uuid.uuid4()), call.now()
        row_values = {
            "id": qr_id,
            "account": call.account,
            "region": call.region,
            "knowledge_base_id": kb.id,
            **values,
            "status": CREATED,
            "last_modified_by": modified_by(call.account),
            "created_at": now,
            "modified_at": now,
        }
        # Through the bulk path, which keeps the search index in step.
        qr_store.insert(conn, [row_values])
        return _with_tags(conn, call, resources.insert_tags(conn, call, QUICK_RESPONSE, params, row_values))


@operation("GetQuickResponse")
def get_quick_response(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        _kb, row, tags = resources.load_with_parent(
            conn, call, QUICK_RESPONSE, params["quickResponseId"], params["knowledgeBaseId"], _require_kb_type
        )
        return {"quickResponse": describe(call, row, tags)}


def _as_members(row: Any) -> dict[str, Any]:
    """A stored quick response as CreateQuickResponse members (absent ones left out)."""
    members = {member: getattr(row, column) for member, column in MEMBER_COLUMNS.items()}
    members["isActive"] = bool(row.is_active)
    members["content"] = {"content": row.content}
    return {k: v for k, v in members.items() if v is not None}


@operation("UpdateQuickResponse")
def update_quick_response(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    for member, flag in REMOVABLE.items():
        if params.get(flag) and params.get(member) is not None:
            raise validation_error(f"Give either {member} or {flag}, not both")
    _check_values(params)
    with call.runtime.store.write() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        row = load(conn, call, kb, params["quickResponseId"])
        merged = _as_members(row)
        merged.update(
            {k: v for k, v in params.items() if v is not None and (k in MEMBER_COLUMNS or k == "content")}
        )
        for member, flag in REMOVABLE.items():
            if params.get(flag):
                merged.pop(member, None)
        values = _columns(merged)
        _check_unique(conn, call, kb, values, own_id=row.id)
        QUICK_RESPONSE.repo.update(
            conn,
            row.seq,
            {**values, "last_modified_by": modified_by(call.account), "modified_at": call.now()},
        )
        qr_store.learn_words(conn, [values])
        return _with_tags(conn, call, load(conn, call, kb, row.id))


@operation("DeleteQuickResponse")
def delete_quick_response(call: Call, params: dict[str, Any]) -> None:
    with call.runtime.store.write() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        resources.delete(conn, call, QUICK_RESPONSE, load(conn, call, kb, params["quickResponseId"]))


@operation("ListQuickResponses")
def list_quick_responses(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        kb = load_knowledge_base(conn, call, params["knowledgeBaseId"])
        summaries, next_token = resources.described_page(conn, call, QUICK_RESPONSE, params, summary, kb)
    return {"quickResponseSummaries": summaries, "nextToken": next_token}
