"""The first released schema: every table, and on SQLite the search index.

Stores written before migrations existed have these tables but no `alembic_version`: a table
that is already there is left as it is (its rows kept), so such a store is taken over at this
revision rather than re-created. Written out in full, not from `schema.metadata`, so that this
revision stays what it was when later revisions change the schema.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The project's UtcDateTime stores integer microseconds: in DDL it is a BIGINT.
UtcDateTime = sa.BigInteger

# The SQLite search index of quick responses, as this revision made it (frozen: literal SQL).
_SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS quick_responses_fts USING fts5(name, content, description, "
    "shortcut_key, content='quick_responses', content_rowid='seq', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TABLE IF NOT EXISTS quick_responses_fts_terms (term TEXT PRIMARY KEY) WITHOUT ROWID",
    "DROP TRIGGER IF EXISTS quick_responses_fts_insert",
    "CREATE TRIGGER IF NOT EXISTS quick_responses_fts_delete AFTER DELETE ON quick_responses BEGIN "
    "INSERT INTO quick_responses_fts(quick_responses_fts, rowid, name, content, description, shortcut_key) "
    "VALUES ('delete', old.seq, old.name, old.content, old.description, old.shortcut_key); END",
    "CREATE TRIGGER IF NOT EXISTS quick_responses_fts_update AFTER UPDATE OF name, content, description, "
    "shortcut_key ON quick_responses BEGIN "
    "INSERT INTO quick_responses_fts(quick_responses_fts, rowid, name, content, description, shortcut_key) "
    "VALUES ('delete', old.seq, old.name, old.content, old.description, old.shortcut_key); "
    "INSERT INTO quick_responses_fts(rowid, name, content, description, shortcut_key) "
    "VALUES (new.seq, new.name, new.content, new.description, new.shortcut_key); END",
)
# A store that had rows before the index existed: index them, and learn their words for typo
# tolerance from the index's own vocabulary (the same folding the index uses).
_SQLITE_SEARCH_BUILD = (
    "INSERT INTO quick_responses_fts(quick_responses_fts) VALUES ('rebuild')",
    "CREATE VIRTUAL TABLE temp.quick_responses_fts_vocab USING fts5vocab(main, quick_responses_fts, 'row')",
    "INSERT OR IGNORE INTO quick_responses_fts_terms(term) SELECT term FROM temp.quick_responses_fts_vocab",
    "DROP TABLE temp.quick_responses_fts_vocab",
)


def _seq() -> sa.Column[Any]:
    return sa.Column("seq", Seq, primary_key=True, autoincrement=True, nullable=False)


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())

    def create(name: str, *items: Any, indexes: tuple[tuple[str, list[Any]], ...] = (), **kw: Any) -> None:
        if name in existing:
            return
        op.create_table(name, *items, **kw)
        for index_name, columns in indexes:
            op.create_index(index_name, name, columns, unique=False)

    create(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True, nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
    )
    create(
        "knowledge_bases",
        _seq(),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("description", sa.String(255)),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("modified_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("account", "region", "name", name="uq_knowledge_base_name"),
        indexes=(("ix_knowledge_bases_scope", ["account", "region", "seq"]),),
        sqlite_autoincrement=True,
    )
    create(
        "tags",
        sa.Column("resource_arn", sa.String(2048), primary_key=True, nullable=False),
        sa.Column("key", sa.String(128), primary_key=True, nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
    )
    create(
        "idempotency_tokens",
        sa.Column("account", sa.String(12), primary_key=True, nullable=False),
        sa.Column("region", sa.String(32), primary_key=True, nullable=False),
        sa.Column("operation", sa.String(64), primary_key=True, nullable=False),
        sa.Column("client_token", sa.String(4096), primary_key=True, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    create(
        "uploads",
        _seq(),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("knowledge_base_id", sa.String(36), nullable=False),
        sa.Column("content_type", sa.String(128), nullable=False),
        sa.Column("url_expiry", UtcDateTime(), nullable=False),
        sa.Column("blob_key", sa.String(256)),
        sa.Column("size", sa.BigInteger()),
        sa.Column("etag", sa.String(64)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("uploaded_at", UtcDateTime()),
        indexes=(("ix_uploads_knowledge_base_id", ["knowledge_base_id"]),),
        sqlite_autoincrement=True,
    )
    create(
        "import_jobs",
        _seq(),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("knowledge_base_id", sa.String(36), nullable=False),
        sa.Column("upload_id", sa.String(64), nullable=False),
        sa.Column("job_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("metadata", sa.JSON()),
        sa.Column("external_source", sa.JSON()),
        sa.Column("upload_blob_key", sa.String(256)),
        sa.Column("report_blob_key", sa.String(256)),
        sa.Column("failure_reason", sa.Text()),
        sa.Column("imported_count", sa.Integer()),
        sa.Column("failed_count", sa.Integer()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("modified_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("lease_until", UtcDateTime()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("hold_until", UtcDateTime()),
        sa.Column("force_failure", sa.Integer(), nullable=False),
        indexes=(
            ("ix_import_jobs_kb", ["knowledge_base_id", "seq"]),
            ("ix_import_jobs_status", ["status"]),
        ),
        sqlite_autoincrement=True,
    )
    create(
        "quick_responses",
        _seq(),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("knowledge_base_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("description", sa.String(255)),
        sa.Column("shortcut_key", sa.String(10)),
        sa.Column("language", sa.String(5)),
        sa.Column("channels", sa.JSON()),
        sa.Column("is_active", sa.Integer(), nullable=False),
        sa.Column("grouping", sa.JSON()),
        sa.Column("channel_list", sa.Text()),
        sa.Column("grouping_criteria", sa.String(100)),
        sa.Column("grouping_value_list", sa.Text()),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("last_modified_by", sa.String(2048)),
        sa.Column("import_job_id", sa.String(36)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("modified_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("knowledge_base_id", "name", name="uq_quick_response_name"),
        sa.UniqueConstraint("knowledge_base_id", "shortcut_key", name="uq_quick_response_shortcut"),
        indexes=(
            ("ix_quick_responses_kb", ["knowledge_base_id", "seq"]),
            ("ix_quick_responses_name_folded", ["knowledge_base_id", sa.text("lower(name)")]),
        ),
        sqlite_autoincrement=True,
    )
    create(
        "blob_objects",
        sa.Column("key", sa.String(512), primary_key=True, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    create(
        "blob_chunks",
        sa.Column("key", sa.String(512), primary_key=True, nullable=False),
        sa.Column("chunk", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        existed = bind.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'quick_responses_fts'"
        ).first()
        for statement in _SQLITE_SEARCH:
            bind.exec_driver_sql(statement)
        if existed is None:
            for statement in _SQLITE_SEARCH_BUILD:
                bind.exec_driver_sql(statement)


def downgrade() -> None:
    raise NotImplementedError("the first schema has no earlier revision to go back to")
