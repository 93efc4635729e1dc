"""A resource row and its tags in one query: the tags aggregated into one JSON column.

Tags are keyed by ARN in their own table (store/tags.py); a Get of a tagged resource would
otherwise take a second query for them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, bindparam, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from qconnect_local.store.schema import tags as tag_table


class _TagObject(FunctionElement[Any]):
    """`{key: value, ...}` of the aggregated rows, as one JSON value: each dialect's aggregate."""

    type = JSON()
    inherit_cache = True


@compiles(_TagObject, "sqlite")
def _tag_object_sqlite(element: _TagObject, compiler: Any, **kw: Any) -> str:
    return f"json_group_object({compiler.process(element.clauses, **kw)})"


@compiles(_TagObject, "postgresql")
def _tag_object_postgresql(element: _TagObject, compiler: Any, **kw: Any) -> str:
    return f"json_object_agg({compiler.process(element.clauses, **kw)})"


def tags_column() -> Any:
    """A column of a resource query holding the tags of the ARN bound as `arn`: the row and its
    tags in one query (`tags_from_column` reads it)."""
    return (
        select(_TagObject(tag_table.c.key, tag_table.c.value))
        .where(tag_table.c.resource_arn == bindparam("arn"))
        .scalar_subquery()
        .label("tags_of_row")
    )


def tags_from_column(value: Any) -> dict[str, str]:
    """`tags_column`'s value: PostgreSQL aggregates no rows to NULL, SQLite to `{}`."""
    return dict(value) if value else {}
