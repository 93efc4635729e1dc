"""Errors the store raises in place of the database library's, so no service imports SQLAlchemy."""

from __future__ import annotations


class StoreConflict(Exception):
    """A unique constraint refused a write: another writer created the same thing at the same time.

    Services check uniqueness first and answer ConflictException themselves; this is the race
    their check could not see (two PostgreSQL writers), and it is answered the same way.
    """
