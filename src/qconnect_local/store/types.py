"""Column types that behave the same on every dialect."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime stored as integer microseconds since the epoch.

    Integers sort, compare and index identically on SQLite and PostgreSQL, and round-trip
    without the naive/aware surprises of SQLite's text dates.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> int | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return round(value.timestamp() * 1_000_000)

    def process_result_value(self, value: int | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return from_micros(value)


def from_micros(value: int) -> datetime:
    """A stored UtcDateTime value (integer microseconds since the epoch) as a datetime."""
    return datetime.fromtimestamp(value / 1_000_000, UTC)
