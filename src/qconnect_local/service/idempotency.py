"""`clientToken` idempotency, one helper for every Create/Start operation.

Same token and same input: the first call's resource is returned again. Same token with a
different input: `ConflictException`, as AWS does. Tokens are scoped by account, region and
operation, and stored in the same transaction as the resource they created. A token whose
resource has since been deleted starts afresh (when the caller says how to check existence).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from qconnect_local.protocol.errors import conflict
from qconnect_local.service.context import Call
from qconnect_local.store import Connection
from qconnect_local.store import idempotency as token_store

TOKEN_MEMBER = "clientToken"


def fingerprint(params: dict[str, Any]) -> str:
    document = {k: v for k, v in params.items() if k != TOKEN_MEMBER}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def replayed_resource(
    conn: Connection,
    call: Call,
    params: dict[str, Any],
    exists: Callable[[str], bool] | None = None,
) -> str | None:
    """The resource id an earlier call with this token created, or None for a new token.

    With `exists`, a token whose resource has since been deleted is forgotten and counts as
    new: a create never answers with an error its operation does not model (not found).
    """
    token = params.get(TOKEN_MEMBER)
    if token is None:
        return None
    row = token_store.find(conn, call.account, call.region, call.operation, token)
    if row is None:
        return None
    if row.fingerprint != fingerprint(params):
        raise conflict(f"clientToken {token} was already used with different parameters")
    if exists is not None and not exists(str(row.resource_id)):
        token_store.forget(conn, call.account, call.region, call.operation, token)
        return None
    return str(row.resource_id)


def remember(conn: Connection, call: Call, params: dict[str, Any], resource_id: str) -> None:
    token = params.get(TOKEN_MEMBER)
    if token is None:
        return
    token_store.remember(
        conn,
        call.account,
        call.region,
        call.operation,
        token,
        fingerprint=fingerprint(params),
        resource_id=resource_id,
        now=call.now(),
    )
