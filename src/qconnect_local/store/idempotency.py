"""The clientToken table's SQL: which resource a token created, with the input it came with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, insert, select

from qconnect_local.store.schema import idempotency_tokens as tokens


def _scope(account: str, region: str, operation: str, token: str) -> tuple[ColumnElement[bool], ...]:
    return (
        tokens.c.account == account,
        tokens.c.region == region,
        tokens.c.operation == operation,
        tokens.c.client_token == token,
    )


def find(conn: Connection, account: str, region: str, operation: str, token: str) -> Any:
    """The token's row (`fingerprint`, `resource_id`), or None."""
    scope = _scope(account, region, operation, token)
    return conn.execute(select(tokens.c.fingerprint, tokens.c.resource_id).where(*scope)).first()


def forget(conn: Connection, account: str, region: str, operation: str, token: str) -> None:
    conn.execute(delete(tokens).where(*_scope(account, region, operation, token)))


def remember(
    conn: Connection,
    account: str,
    region: str,
    operation: str,
    token: str,
    *,
    fingerprint: str,
    resource_id: str,
    now: datetime,
) -> None:
    conn.execute(
        insert(tokens).values(
            account=account,
            region=region,
            operation=operation,
            client_token=token,
            fingerprint=fingerprint,
            resource_id=resource_id,
            created_at=now,
        )
    )
