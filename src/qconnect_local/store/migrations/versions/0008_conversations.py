"""Conversations: turns (the worker's jobs), messages, spans, and the scripted backend's queue.

Frozen: the tables are written out here, not taken from live code.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = sa.BigInteger  # integer microseconds since the epoch


def _scoped() -> list[sa.Column[Any]]:
    return [
        sa.Column("seq", Seq, primary_key=True, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("assistant_id", sa.String(36), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "conversation_turns",
        *_scoped(),
        sa.Column("request_message_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.JSON()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("modified_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("lease_until", UtcDateTime()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("hold_until", UtcDateTime()),
        sa.Column("force_failure", sa.Integer(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_conversation_turns_session", "conversation_turns", ["session_id", "seq"])
    op.create_index("ix_conversation_turns_claim", "conversation_turns", ["status", "seq"])
    op.create_table(
        "messages",
        *_scoped(),
        sa.Column("turn_id", sa.String(36), nullable=False),
        sa.Column("participant", sa.String(16), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_messages_session", "messages", ["session_id", "seq"])
    op.create_index("ix_messages_turn", "messages", ["turn_id", "seq"])
    op.create_table(
        "spans",
        *_scoped(),
        sa.Column("turn_id", sa.String(36), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_spans_session", "spans", ["session_id", "seq"])
    op.create_table(
        "scripted_responses",
        sa.Column("seq", Seq, primary_key=True, autoincrement=True, nullable=False),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("assistant_id", sa.String(36)),
        sa.Column("session_id", sa.String(36)),
        sa.Column("entry", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    for table in ("scripted_responses", "spans", "messages", "conversation_turns"):
        op.drop_table(table)
