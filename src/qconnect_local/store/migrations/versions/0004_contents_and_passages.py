"""Content, content associations and the passage index; knowledge bases learn their crawl state.

Frozen: the tables and the search index are written out here, not taken from live code.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = sa.BigInteger  # integer microseconds since the epoch

_SQLITE_PASSAGES = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(text, content='passages', "
    "content_rowid='seq', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS passages_fts_insert AFTER INSERT ON passages BEGIN "
    "INSERT INTO passages_fts(rowid, text) VALUES (new.seq, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS passages_fts_delete AFTER DELETE ON passages BEGIN "
    "INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.seq, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS passages_fts_update AFTER UPDATE OF text ON passages BEGIN "
    "INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.seq, old.text); "
    "INSERT INTO passages_fts(rowid, text) VALUES (new.seq, new.text); END",
)
_POSTGRESQL_PASSAGES = (
    "CREATE TABLE IF NOT EXISTS passages_fts (seq bigint PRIMARY KEY REFERENCES passages (seq) "
    "ON DELETE CASCADE, knowledge_base_id varchar(36) NOT NULL, vector tsvector NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_passages_text ON passages_fts USING gin (vector)",
    "CREATE OR REPLACE FUNCTION passages_fts_index() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO passages_fts (seq, knowledge_base_id, vector) SELECT seq, knowledge_base_id, "
    "to_tsvector('simple', regexp_replace(qconnect_fold(text), '[!-/:-@[-`{-~]+', ' ', 'g')) "
    "FROM changed_passages ON CONFLICT (seq) DO UPDATE SET knowledge_base_id = excluded.knowledge_base_id, "
    "vector = excluded.vector; RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS passages_fts_insert ON passages",
    "CREATE TRIGGER passages_fts_insert AFTER INSERT ON passages REFERENCING NEW TABLE AS changed_passages "
    "FOR EACH STATEMENT EXECUTE FUNCTION passages_fts_index()",
    "DROP TRIGGER IF EXISTS passages_fts_update ON passages",
    "CREATE TRIGGER passages_fts_update AFTER UPDATE ON passages REFERENCING NEW TABLE AS changed_passages "
    "FOR EACH STATEMENT EXECUTE FUNCTION passages_fts_index()",
)


def _seq() -> sa.Column[Any]:
    return sa.Column("seq", Seq, primary_key=True, autoincrement=True, nullable=False)


def _job_columns(*, server_defaults: bool = False) -> list[sa.Column[Any]]:
    zero = sa.text("0") if server_defaults else None
    return [
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("lease_until", UtcDateTime()),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=zero),
        sa.Column("hold_until", UtcDateTime()),
        sa.Column("force_failure", sa.Integer(), nullable=False, server_default=zero),
    ]


def upgrade() -> None:
    # Plain ADD COLUMN (never a batch copy of the table, which would lose SQLite's AUTOINCREMENT).
    added: list[sa.Column[Any]] = [
        sa.Column("content_modified_at", UtcDateTime()),
        sa.Column("ingestion_status", sa.String(32)),
        sa.Column("ingestion_failure_reasons", sa.JSON()),
        *_job_columns(server_defaults=True),
    ]
    for column in added:
        op.add_column("knowledge_bases", column)
    op.create_table(
        "contents",
        _seq(),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("knowledge_base_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(128), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("revision_id", sa.String(64), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("override_link_out_uri", sa.String(4096)),
        sa.Column("source_fields", sa.JSON()),
        sa.Column("upload_id", sa.String(64)),
        sa.Column("blob_key", sa.String(256)),
        sa.Column("pending_blob_key", sa.String(256)),
        sa.Column("pending_content_type", sa.String(128)),
        sa.Column("file_size", sa.BigInteger()),
        sa.Column("extracted_text", sa.Text()),
        sa.Column("failure_reason", sa.Text()),
        sa.Column("source_url", sa.String(2048)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("modified_at", UtcDateTime(), nullable=False),
        *_job_columns(),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("knowledge_base_id", "name", name="uq_content_name"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_contents_kb", "contents", ["knowledge_base_id", "seq"])
    op.create_index("ix_contents_claim", "contents", ["status", "seq"])
    op.create_table(
        "content_associations",
        _seq(),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("knowledge_base_id", sa.String(36), nullable=False),
        sa.Column("content_id", sa.String(36), nullable=False),
        sa.Column("association_type", sa.String(64), nullable=False),
        sa.Column("association", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("content_id", name="uq_content_association_content"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_content_associations_kb", "content_associations", ["knowledge_base_id", "seq"])
    op.create_table(
        "passages",
        _seq(),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("knowledge_base_id", sa.String(36), nullable=False),
        sa.Column("content_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("start_offset", sa.Integer(), nullable=False),
        sa.Column("end_offset", sa.Integer(), nullable=False),
        sa.Column("parent_start", sa.Integer()),
        sa.Column("parent_end", sa.Integer()),
        sa.Column("text", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_passages_content", "passages", ["content_id", "position"])
    op.create_index("ix_passages_kb", "passages", ["knowledge_base_id"])
    bind = op.get_bind()
    statements = _SQLITE_PASSAGES if bind.dialect.name == "sqlite" else _POSTGRESQL_PASSAGES
    for statement in statements:
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    op.execute("DROP TABLE IF EXISTS passages_fts")
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS passages_fts_index()")
    for table in ("passages", "content_associations", "contents"):
        op.drop_table(table)
    with op.batch_alter_table("knowledge_bases") as batch:
        for name in (
            "force_failure",
            "hold_until",
            "attempts",
            "lease_until",
            "claimed_by",
            "ingestion_failure_reasons",
            "ingestion_status",
            "content_modified_at",
        ):
            batch.drop_column(name)
