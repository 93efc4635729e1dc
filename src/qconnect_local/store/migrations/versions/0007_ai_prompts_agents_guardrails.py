"""AI prompts, AI agents and AI guardrails of assistants, and their versions.

Frozen: the tables are written out here, not taken from live code.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = sa.BigInteger  # integer microseconds since the epoch
FAMILIES = (("ai_prompts", "ai_prompt"), ("ai_agents", "ai_agent"), ("ai_guardrails", "ai_guardrail"))


def _scoped() -> list[sa.Column[Any]]:
    return [
        sa.Column("seq", Seq, primary_key=True, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("assistant_id", sa.String(36), nullable=False),
    ]


def upgrade() -> None:
    for table, singular in FAMILIES:
        op.create_table(
            table,
            *_scoped(),
            sa.Column("name", sa.String(255), nullable=False),
            sa.Column("type", sa.String(64)),
            sa.Column("visibility_status", sa.String(16), nullable=False),
            sa.Column("description", sa.String(255)),
            sa.Column("config", sa.JSON(), nullable=False),
            sa.Column("status", sa.String(32), nullable=False),
            sa.Column("last_version", sa.Integer(), nullable=False),
            sa.Column("created_at", UtcDateTime(), nullable=False),
            sa.Column("modified_at", UtcDateTime(), nullable=False),
            sa.UniqueConstraint("assistant_id", "name", name=f"uq_{table}_name"),
            sqlite_autoincrement=True,
        )
        op.create_index(f"ix_{table}_assistant", table, ["assistant_id", "seq"])
        versions = f"{singular}_versions"
        op.create_table(
            versions,
            *_scoped(),
            sa.Column(f"{singular}_id", sa.String(36), nullable=False),
            sa.Column("version_number", sa.Integer(), nullable=False),
            sa.Column("snapshot", sa.JSON(), nullable=False),
            sa.Column("created_at", UtcDateTime(), nullable=False),
            sa.UniqueConstraint(f"{singular}_id", "version_number", name=f"uq_{versions}_number"),
            sqlite_autoincrement=True,
        )


def downgrade() -> None:
    for table, singular in reversed(FAMILIES):
        op.drop_table(f"{singular}_versions")
        op.drop_table(table)
