"""Reads the web console needs that no API operation makes: which accounts and regions hold data."""

from __future__ import annotations

from sqlalchemy import Connection, select, union

from qconnect_local.store.schema import assistants, knowledge_bases


def scopes(conn: Connection) -> list[tuple[str, str]]:
    """Every (account, region) pair with a knowledge base or an assistant, in order."""
    query = union(
        select(knowledge_bases.c.account, knowledge_bases.c.region),
        select(assistants.c.account, assistants.c.region),
    )
    return sorted((row[0], row[1]) for row in conn.execute(query))
