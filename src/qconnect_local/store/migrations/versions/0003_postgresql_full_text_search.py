"""PostgreSQL: quick-response search by the database's own full-text index (SQLite: nothing).

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


COLUMNS = ("name", "content", "description", "shortcut_key")

# Frozen: the SQL this revision runs, written out (later code may change, this may not).
DDL = (
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    # unaccent() itself is only STABLE (its dictionary could change); an index needs IMMUTABLE.
    "CREATE OR REPLACE FUNCTION qconnect_fold(value text) RETURNS text "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE "
    "AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, value)) $$",
    "CREATE TABLE IF NOT EXISTS quick_responses_fts_terms (term text PRIMARY KEY)",
    *(
        f"CREATE INDEX IF NOT EXISTS ix_quick_responses_text_{c} ON quick_responses "
        f"USING gin (to_tsvector('simple', qconnect_fold({c})))"
        for c in COLUMNS
    ),
    # Typo tolerance learns the words (runs of letters and digits, folded) of the rows already there.
    *(
        "INSERT INTO quick_responses_fts_terms(term) SELECT DISTINCT word FROM quick_responses, "
        f"regexp_split_to_table(qconnect_fold({c}), '[^[:alnum:]]+') AS word "
        "WHERE word <> '' ON CONFLICT DO NOTHING"
        for c in COLUMNS
    ),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DDL:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in COLUMNS:
            op.execute(f"DROP INDEX IF EXISTS ix_quick_responses_text_{column}")
        op.execute("DROP TABLE IF EXISTS quick_responses_fts_terms")
        op.execute("DROP FUNCTION IF EXISTS qconnect_fold(text)")
