"""Schema migrations: a store written by an older release opens in this one, upgraded, its data
intact; a store written by a newer release is refused before anything in it changes.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, insert, inspect, text

from qconnect_local.config import Settings
from qconnect_local.store import Store, passages, schema, search
from qconnect_local.store.migrate import StoreTooNew, alembic_config, current_revision, head
from qconnect_local.testing import postgres
from qconnect_local.testing.mock import mock_qconnect

ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'qconnect.sqlite3'}"
        return
    with postgres.required_database("qconnect_migrations") as url:
        yield url


def migrate_to(url: str, revision: str) -> Engine:
    """What an older release left behind: the schema at `revision`, written by Alembic itself."""
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
    return engine


def add_knowledge_base_with_quick_responses(engine: Engine) -> str:
    kb_id, now = str(uuid.uuid4()), datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(schema.knowledge_bases).values(
                id=kb_id,
                account=ACCOUNT,
                region=REGION,
                name="support",
                type="QUICK_RESPONSES",
                status="ACTIVE",
                description="written at revision 0001",
                config={},
                created_at=now,
                modified_at=now,
            )
        )
        # As the release at 0001 wrote them: rows, and on SQLite their full-text entries.
        rows = (("Refund policy", "We refund within 30 days"), ("Password", "Reset it"))
        for name, content in rows:
            conn.execute(
                insert(schema.quick_responses).values(
                    id=str(uuid.uuid4()),
                    account=ACCOUNT,
                    region=REGION,
                    knowledge_base_id=kb_id,
                    name=name,
                    content_type="application/x.quickresponse;format=plain",
                    content=content,
                    is_active=1,
                    status="CREATED",
                    last_modified_by=f"arn:aws:iam::{ACCOUNT}:root",
                    created_at=now,
                    modified_at=now,
                )
            )
        if conn.dialect.name == "sqlite":
            search.FtsIndex().rows_inserted(conn, 0, [text for row in rows for text in row])
    return kb_id


def client() -> Any:
    return boto3.client(
        "qconnect",
        region_name=REGION,
        aws_access_key_id=ACCOUNT,
        aws_secret_access_key="secret",
    )


def test_a_store_from_the_first_revision_opens_upgraded_with_its_data(database_url: str) -> None:
    engine = migrate_to(database_url, "0001")
    kb_id = add_knowledge_base_with_quick_responses(engine)
    engine.dispose()

    with mock_qconnect(Settings(database_url=database_url, run_worker=False)) as mock:
        qc = client()
        kb = qc.get_knowledge_base(knowledgeBaseId=kb_id)["knowledgeBase"]
        assert (kb["name"], kb["description"]) == ("support", "written at revision 0001")
        names = [s["name"] for s in qc.list_quick_responses(knowledgeBaseId=kb_id)["quickResponseSummaries"]]
        assert sorted(names) == ["Password", "Refund policy"]
        # A typo is tolerated: the words of rows written before the upgrade are known too.
        typo = {"name": "content", "values": ["refnud"], "operator": "CONTAINS", "allowFuzziness": True}
        found = qc.search_quick_responses(knowledgeBaseId=kb_id, searchExpression={"queries": [typo]})
        assert [r["name"] for r in found["results"]] == ["Refund policy"]
        with mock.runtime.store.read() as conn:
            assert current_revision(conn) == head()
            indexes = {ix["name"] for ix in inspect(conn).get_indexes("import_jobs")}
        assert "ix_import_jobs_claim" in indexes  # revision 0002 ran


def test_the_migrated_schema_is_the_schema_the_code_declares(database_url: str) -> None:
    def declared_or_unknown(name: str | None, kind: str, _parents: Any) -> bool:
        # The search indexes' own tables and indexes are the migrations', not schema.py's.
        own = (search.FTS, passages.FTS) if kind == "table" else (search.PG_INDEX_PREFIX, passages.PG_INDEX)
        return not str(name).startswith(own)

    store = Store(database_url)
    try:
        with store.read() as conn, warnings.catch_warnings():
            # SQLite cannot reflect the lower(name) index; PostgreSQL compares it too.
            warnings.filterwarnings("ignore", message=".*expression-based index")
            context = MigrationContext.configure(conn, opts={"include_name": declared_or_unknown})
            assert compare_metadata(context, schema.metadata) == []
    finally:
        store.close()


def test_a_store_from_a_newer_release_is_refused_and_left_as_it_is(database_url: str) -> None:
    Store(database_url).close()
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreTooNew) as refused:
        Store(database_url)
    assert str(refused.value) == (
        f"this store was written by a newer qconnect-local (revision 9999); this release knows up to {head()}"
    )
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "9999"
    engine.dispose()


def test_a_store_from_before_migrations_is_taken_over_not_recreated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'qconnect.sqlite3'}"
    engine = migrate_to(url, "0001")
    kb_id = add_knowledge_base_with_quick_responses(engine)
    with engine.begin() as conn:  # what `create_all` left before this release: no version, no blob tables
        for name in ("alembic_version", "blob_chunks", "blob_objects"):
            conn.execute(text(f"DROP TABLE {name}"))
    engine.dispose()

    store = Store(url)
    try:
        with store.read() as conn:
            assert current_revision(conn) == head()
            assert {"blob_objects", "blob_chunks"} <= set(inspect(conn).get_table_names())
            assert conn.execute(text("SELECT count(*) FROM quick_responses")).scalar() == 2
            assert conn.execute(text("SELECT id FROM knowledge_bases")).scalar() == kb_id
    finally:
        store.close()


def test_serve_refuses_a_newer_store_with_a_message_and_status_2(tmp_path: Path) -> None:
    Store.in_dir(tmp_path).close()
    engine = create_engine(f"sqlite:///{tmp_path / 'qconnect.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'abcdef'"))
    engine.dispose()

    result = subprocess.run(
        [sys.executable, "-m", "qconnect_local.cli", "serve", "--port", "0", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "this store was written by a newer qconnect-local (revision abcdef)" in result.stderr
    assert f"this release knows up to {head()}" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_head_revision_known_without_alembic_is_alembics_head() -> None:
    from qconnect_local.store import migrate

    assert migrate.head() == migrate.HEAD_REVISION


def test_a_new_sqlite_store_made_without_alembic_equals_one_made_by_the_migrations(tmp_path: Path) -> None:
    fresh = Store(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    migrated_engine = create_engine(f"sqlite:///{tmp_path / 'migrated.sqlite3'}")
    with migrated_engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")

    def sqlite_master(engine: Engine) -> set[tuple[Any, ...]]:
        """Every object: a table by its columns and unique keys (ALTER TABLE words its SQL
        differently from CREATE TABLE), anything else by its SQL."""
        found: set[tuple[Any, ...]] = set()
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
            ).all()
            for kind, name, sql in rows:
                if kind == "table" and not (sql or "").startswith("CREATE VIRTUAL"):
                    columns = conn.exec_driver_sql(f"PRAGMA table_info('{name}')").all()
                    keys = {
                        tuple(r[2] for r in conn.exec_driver_sql(f"PRAGMA index_info('{index[1]}')"))
                        for index in conn.exec_driver_sql(f"PRAGMA index_list('{name}')")
                        if index[2]
                    }
                    autoincrement = "AUTOINCREMENT" in (sql or "")
                    found.add(
                        (kind, name, frozenset(tuple(c) for c in columns), frozenset(keys), autoincrement)
                    )
                else:
                    found.add((kind, name, " ".join((sql or "").split())))
        return found

    try:
        assert sqlite_master(fresh.engine) == sqlite_master(migrated_engine)
        with fresh.read() as conn:
            assert current_revision(conn) == head()
    finally:
        fresh.close()
        migrated_engine.dispose()


def test_the_frozen_passage_index_ddl_is_the_one_the_code_installs() -> None:
    """Revision 0004 holds a literal copy of the passage index's DDL, and new stores are made
    from the live one (`passages.install`): the two must say the same."""
    import importlib.util

    from qconnect_local.store.migrate import MIGRATIONS

    path = MIGRATIONS / "versions" / "0004_contents_and_passages.py"
    spec = importlib.util.spec_from_file_location("revision_0004", path)
    assert spec is not None and spec.loader is not None
    revision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision)
    assert revision._SQLITE_PASSAGES == passages.SQLITE_DDL
    assert revision._POSTGRESQL_PASSAGES == passages.POSTGRESQL_DDL
