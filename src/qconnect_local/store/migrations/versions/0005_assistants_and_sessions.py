"""Assistants, their associations, sessions with their transcript and recommendation queue,
query results and feedback.

Frozen: the tables are written out here, not taken from live code.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = sa.BigInteger  # integer microseconds since the epoch


def _scoped(parent: str | None = "assistant_id", *, with_id: bool = True) -> list[sa.Column[Any]]:
    columns: list[sa.Column[Any]] = [
        sa.Column("seq", Seq, primary_key=True, autoincrement=True, nullable=False)
    ]
    if with_id:
        columns.append(sa.Column("id", sa.String(36), nullable=False, unique=True))
    columns += [
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
    ]
    if parent is not None:
        columns.append(sa.Column(parent, sa.String(36), nullable=False))
    return columns


def upgrade() -> None:
    op.create_table(
        "assistants",
        *_scoped(None),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("description", sa.String(255)),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("modified_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("lease_until", UtcDateTime()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("hold_until", UtcDateTime()),
        sa.Column("force_failure", sa.Integer(), nullable=False),
        sa.UniqueConstraint("account", "region", "name", name="uq_assistant_name"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_assistants_scope", "assistants", ["account", "region", "seq"])
    op.create_index("ix_assistants_claim", "assistants", ["status", "seq"])
    op.create_table(
        "assistant_associations",
        *_scoped(),
        sa.Column("association_type", sa.String(64), nullable=False),
        sa.Column("knowledge_base_id", sa.String(36)),
        sa.Column("association", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("modified_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("assistant_id", "knowledge_base_id", name="uq_assistant_association_kb"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_assistant_associations_assistant", "assistant_associations", ["assistant_id", "seq"])
    op.create_table(
        "sessions",
        *_scoped(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.String(255)),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("modified_at", UtcDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sessions_assistant", "sessions", ["assistant_id", "seq"])
    op.create_index("ix_sessions_name", "sessions", ["assistant_id", "name"])
    op.create_table(
        "transcript_turns",
        *_scoped(with_id=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("participant", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_transcript_turns_session", "transcript_turns", ["session_id", "seq"])
    op.create_table(
        "recommendation_triggers",
        *_scoped(),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("query_text", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_recommendation_triggers_session", "recommendation_triggers", ["session_id"])
    op.create_table(
        "recommendations",
        *_scoped(),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("trigger_id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("content_id", sa.String(36)),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_recommendations_queue", "recommendations", ["session_id", "received", "seq"])
    op.create_table(
        "query_results",
        *_scoped(),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_query_results_age", "query_results", ["assistant_id", "created_at"])
    op.create_table(
        "feedback",
        *_scoped(),
        sa.Column("target_type", sa.String(32), nullable=False),
        sa.Column("content_feedback", sa.JSON(), nullable=False),
        sa.Column("modified_at", UtcDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_feedback_assistant", "feedback", ["assistant_id", "seq"])


def downgrade() -> None:
    for table in (
        "feedback",
        "query_results",
        "recommendations",
        "recommendation_triggers",
        "transcript_turns",
        "sessions",
        "assistant_associations",
        "assistants",
    ):
        op.drop_table(table)
