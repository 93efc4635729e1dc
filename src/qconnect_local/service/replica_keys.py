"""RegisterAssistantReplicaKey and RegisterKnowledgeBaseReplicaKey: one rule for both.

The key is appended to `serverSideEncryptionConfiguration.replicaKmsKeys`, at most 5 (the
model's list maximum; a sixth is a ValidationException). A key already registered is a
ConflictException, unless the same clientToken registered it (a retry is answered again).
"""

from __future__ import annotations

from typing import Any, Final

from qconnect_local.protocol.errors import conflict, validation_error
from qconnect_local.service import idempotency, resources
from qconnect_local.service.context import Call
from qconnect_local.service.families import Family
from qconnect_local.store import Connection

ENCRYPTION: Final = "serverSideEncryptionConfiguration"
MAX_REPLICA_KEYS: Final = 5


def register(conn: Connection, call: Call, family: Family, value: str, params: dict[str, Any]) -> Any:
    """Register the request's replica key on the row `value` names (locked, so that concurrent
    registrations all count); the row as it is afterwards."""
    row = resources.load_locked(conn, call, family, value)
    config = with_replica_key(conn, call, params, row.config, family.label.lower(), row.id)
    if config is not None:
        family.repo.update(conn, row.seq, {"config": config, "modified_at": call.now()})
        row = family.repo.find_any(conn, row.id)
    return row


def with_replica_key(
    conn: Connection, call: Call, params: dict[str, Any], config: dict[str, Any], owner: str, owner_id: str
) -> dict[str, Any] | None:
    """`config` with the request's replica key added, or None when this clientToken already added
    it (nothing to change). `owner` names the resource in messages ("knowledge base")."""
    key = params["replicaKmsKey"]
    encryption = dict(config.get(ENCRYPTION) or {})
    keys = list(encryption.get("replicaKmsKeys") or [])
    if idempotency.replayed_resource(conn, call, params) == owner_id:  # a retry: answered again
        return None
    if any(existing.get("arn") == key["arn"] for existing in keys):
        raise conflict(f"Replica key {key['arn']} is already registered for {owner} {owner_id}")
    if len(keys) >= MAX_REPLICA_KEYS:
        raise validation_error(f"A {owner} has at most {MAX_REPLICA_KEYS} replica keys")
    encryption["replicaKmsKeys"] = [*keys, {"arn": key["arn"]}]
    idempotency.remember(conn, call, params, owner_id)
    return {**config, ENCRYPTION: encryption}
