"""Throw-away PostgreSQL databases for tests: one `CREATE DATABASE` each, dropped afterwards.

The server is named by `QCONNECT_LOCAL_TEST_DATABASE_URL` (any database on it; new ones are
created next to it) or defaults to the local cluster CI starts.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

ENV = "QCONNECT_LOCAL_TEST_DATABASE_URL"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def server_url() -> URL:
    url = make_url(os.environ.get(ENV) or DEFAULT_URL)
    return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url


def unreachable_reason() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it can."""
    engine = create_engine(server_url(), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:
        return f"PostgreSQL at {server_url().render_as_string(hide_password=True)} unreachable: {error}"
    finally:
        engine.dispose()
    return None


@contextmanager
def temporary_database(prefix: str = "qconnect_test") -> Iterator[str]:
    """The URL of a new, empty database; dropped (with any connection still open) on exit."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_engine(server_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server_url().set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def skip_or_fail(reason: str) -> None:
    """Skip a PostgreSQL test where there is no server, except in CI (`CI` set), where it fails."""
    import pytest

    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@contextmanager
def required_database(prefix: str = "qconnect_test") -> Iterator[str]:
    """A new, empty database for a test (`temporary_database`); the test is skipped (failed in
    CI) when no PostgreSQL server is reachable."""
    reason = unreachable_reason()
    if reason is not None:
        skip_or_fail(reason)
    with temporary_database(prefix) as url:
        yield url
