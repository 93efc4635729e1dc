"""Index import jobs by (status, hold_until): the worker's claim query filters on both.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_import_jobs_claim", "import_jobs", ["status", "hold_until"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_import_jobs_claim", table_name="import_jobs")
