"""Knowledge bases: create (idempotent, quota-bound), get, list, delete, template URI.

Decisions where AWS is silent (see docs/behaviour.md): names are unique per account and
region (`ConflictException`, as AWS describes for Create APIs); a knowledge base is ACTIVE as
soon as it is created; EXTERNAL needs `sourceConfiguration.appIntegrations`, MANAGED needs
`sourceConfiguration.managedSourceConfiguration`, and the other types take none.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, update

from qconnect_local.protocol.errors import ServiceError, conflict, not_found, validation_error
from qconnect_local.service import idempotency
from qconnect_local.service.context import Call
from qconnect_local.service.pagination import fetch_page
from qconnect_local.service.registry import operation
from qconnect_local.service.resources import ParsedArn, resolve_id
from qconnect_local.service.tags import TAGGABLE, drop_tags, put_tags, tags_of
from qconnect_local.store.prepared import Prepared
from qconnect_local.store.schema import knowledge_bases as kb_table

ARN_TYPE = "knowledge-base"
CONFIG_MEMBERS = (
    "sourceConfiguration",
    "renderingConfiguration",
    "vectorIngestionConfiguration",
    "serverSideEncryptionConfiguration",
)
SOURCE_REQUIRED = {"EXTERNAL": "appIntegrations", "MANAGED": "managedSourceConfiguration"}

# Other resource families hook in here to delete what lives inside a knowledge base.
ON_DELETE: list[Callable[[Connection, Call, str], None]] = []


def kb_arn(call: Call, kb_id: str) -> str:
    return call.arn(f"{ARN_TYPE}/{kb_id}")


# Built once: constructing SQLAlchemy expressions per call costs more than running them.
_BY_ID = Prepared(
    select(kb_table).where(
        kb_table.c.id == bindparam("id"),
        kb_table.c.account == bindparam("account"),
        kb_table.c.region == bindparam("region"),
    )
)


def load(conn: Connection, call: Call, kb_id_or_arn: str) -> Row[Any]:
    """The knowledge base row named by id or ARN in the caller's scope, or ResourceNotFoundException."""
    kb_id = resolve_id(call, kb_id_or_arn, ARN_TYPE, "Knowledge base", parents=())
    row = _BY_ID.first(conn, id=kb_id, account=call.account, region=call.region)
    if row is None:
        raise not_found(f"Knowledge base not found: {kb_id_or_arn}", kb_id_or_arn)
    return row


def _exists(conn: Connection, call: Call, kb_id: str) -> bool:
    return _BY_ID.first(conn, id=kb_id, account=call.account, region=call.region) is not None


def _taggable(conn: Connection, call: Call, parsed: ParsedArn) -> bool:
    return len(parsed.ids) == 1 and _exists(conn, call, parsed.ids[0])


TAGGABLE[ARN_TYPE] = _taggable


def _describe(call: Call, row: Row[Any], tags: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
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
    if row.type == "MANAGED":
        data["ingestionStatus"] = "SYNC_SUCCESS"
    return data


def _check_source(params: dict[str, Any]) -> None:
    kb_type = params["knowledgeBaseType"]
    source = params.get("sourceConfiguration")
    needed = SOURCE_REQUIRED.get(kb_type)
    if needed is not None and (source is None or needed not in source):
        raise validation_error(f"A {kb_type} knowledge base requires sourceConfiguration.{needed}")
    if needed is None and source is not None:
        raise validation_error(f"A {kb_type} knowledge base does not take a sourceConfiguration")


@operation("CreateKnowledgeBase")
def create_knowledge_base(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    _check_source(params)
    with call.runtime.store.write() as conn:
        replayed = idempotency.replayed_resource(conn, call, params, lambda kb: _exists(conn, call, kb))
        if replayed is not None:
            row = load(conn, call, replayed)
            return {"knowledgeBase": _describe(call, row, tags_of(conn, kb_arn(call, row.id)))}
        scope = (kb_table.c.account == call.account, kb_table.c.region == call.region)
        count = conn.execute(select(func.count()).select_from(kb_table).where(*scope)).scalar_one()
        quota = call.runtime.settings.knowledge_base_quota
        if count >= quota:
            raise ServiceError(
                "ServiceQuotaExceededException",
                f"You have reached the quota of {quota} knowledge bases in {call.region}",
            )
        if conn.execute(select(kb_table.c.id).where(*scope, kb_table.c.name == params["name"])).first():
            raise conflict(f"A knowledge base named {params['name']} already exists")
        kb_id, now = str(uuid.uuid4()), call.now()
        conn.execute(
            insert(kb_table).values(
                id=kb_id,
                account=call.account,
                region=call.region,
                name=params["name"],
                type=params["knowledgeBaseType"],
                status="ACTIVE",
                description=params.get("description"),
                config={k: params[k] for k in CONFIG_MEMBERS if k in params},
                created_at=now,
                modified_at=now,
            )
        )
        put_tags(conn, kb_arn(call, kb_id), params.get("tags") or {})
        idempotency.remember(conn, call, params, kb_id)
        row = load(conn, call, kb_id)
        return {"knowledgeBase": _describe(call, row, params.get("tags") or {})}


@operation("GetKnowledgeBase")
def get_knowledge_base(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        row = load(conn, call, params["knowledgeBaseId"])
        return {"knowledgeBase": _describe(call, row, tags_of(conn, kb_arn(call, row.id)))}


@operation("ListKnowledgeBases")
def list_knowledge_bases(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    query = select(kb_table).where(kb_table.c.account == call.account, kb_table.c.region == call.region)
    with call.runtime.store.read() as conn:
        rows, next_token = fetch_page(call, conn, query, kb_table.c.seq, params)
        summaries = [_describe(call, row, tags_of(conn, kb_arn(call, row.id))) for row in rows]
    return {"knowledgeBaseSummaries": summaries, "nextToken": next_token}


@operation("DeleteKnowledgeBase")
def delete_knowledge_base(call: Call, params: dict[str, Any]) -> None:
    with call.runtime.store.write() as conn:
        row = load(conn, call, params["knowledgeBaseId"])
        for hook in ON_DELETE:
            hook(conn, call, row.id)
        drop_tags(conn, kb_arn(call, row.id))
        conn.execute(delete(kb_table).where(kb_table.c.seq == row.seq))


def _set_template_uri(call: Call, params: dict[str, Any], uri: str | None) -> Row[Any]:
    with call.runtime.store.write() as conn:
        row = load(conn, call, params["knowledgeBaseId"])
        config = dict(row.config)
        if uri is None:
            config.pop("renderingConfiguration", None)
        else:
            config["renderingConfiguration"] = {"templateUri": uri}
        conn.execute(
            update(kb_table).where(kb_table.c.seq == row.seq).values(config=config, modified_at=call.now())
        )
        return load(conn, call, row.id)


@operation("UpdateKnowledgeBaseTemplateUri")
def update_template_uri(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    row = _set_template_uri(call, params, params["templateUri"])
    with call.runtime.store.read() as conn:
        return {"knowledgeBase": _describe(call, row, tags_of(conn, kb_arn(call, row.id)))}


@operation("RemoveKnowledgeBaseTemplateUri")
def remove_template_uri(call: Call, params: dict[str, Any]) -> None:
    _set_template_uri(call, params, None)
