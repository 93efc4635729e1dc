"""Message templates, their versions and attachments.

Frozen: the tables are written out here, not taken from live code.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = sa.BigInteger  # integer microseconds since the epoch


def _scoped(*parents: str, with_id: bool = True) -> list[sa.Column[Any]]:
    columns: list[sa.Column[Any]] = [
        sa.Column("seq", Seq, primary_key=True, autoincrement=True, nullable=False)
    ]
    if with_id:
        columns.append(sa.Column("id", sa.String(36), nullable=False, unique=True))
    columns += [
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
    ]
    columns += [sa.Column(parent, sa.String(36), nullable=False) for parent in parents]
    return columns


def upgrade() -> None:
    op.create_table(
        "message_templates",
        *_scoped("knowledge_base_id"),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.String(255)),
        sa.Column("channel_subtype", sa.String(16), nullable=False),
        sa.Column("grouping", sa.JSON()),
        sa.Column("grouping_criteria", sa.String(100)),
        sa.Column("grouping_value_list", sa.Text()),
        sa.Column("language", sa.String(5)),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("source_configuration", sa.JSON()),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("active_version", sa.Integer()),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.Column("last_modified_by", sa.String(2048), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("modified_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("knowledge_base_id", "name", name="uq_message_template_name"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_message_templates_kb", "message_templates", ["knowledge_base_id", "seq"])
    op.create_table(
        "message_template_versions",
        *_scoped("knowledge_base_id", "message_template_id", with_id=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(5)),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("source_configuration", sa.JSON()),
        sa.Column("attachment_ids", sa.JSON(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("last_modified_by", sa.String(2048), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("modified_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("message_template_id", "version_number", name="uq_message_template_version"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "message_template_attachments",
        *_scoped("knowledge_base_id"),
        sa.Column("message_template_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("content_disposition", sa.String(16), nullable=False),
        sa.Column("blob_key", sa.String(256), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("on_latest", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", UtcDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_message_template_attachments_template",
        "message_template_attachments",
        ["message_template_id", "seq"],
    )


def downgrade() -> None:
    op.drop_table("message_template_attachments")
    op.drop_table("message_template_versions")
    op.drop_table("message_templates")
