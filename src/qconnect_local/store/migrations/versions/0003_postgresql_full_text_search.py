"""PostgreSQL: quick-response search by the database's own full-text index (SQLite: nothing).

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03
"""

from __future__ import annotations

from alembic import op

from qconnect_local.store import search

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        search.install_postgresql_index(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in search.COLUMNS:
            op.execute(f"DROP INDEX IF EXISTS {search.PG_INDEX_PREFIX}{column}")
        op.execute(f"DROP TABLE IF EXISTS {search.TERMS}")
        op.execute("DROP FUNCTION IF EXISTS qconnect_fold(text)")
