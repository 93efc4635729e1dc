"""`qconnect-local export` / `import`: a whole state, blobs included, as one portable .tar.gz.

The archive's members, in this order (each read and written as a stream, one at a time):

- `manifest.json`: the format and its version, the schema revision (`migrate.HEAD_REVISION`),
  the table names in dependency order, and when and from which dialect it was exported.
- `tables/<name>.jsonl`: one JSON object per row, columns by name, for every table of
  `schema.metadata` but the database blob store's own two (exported as blobs instead). Values
  are the stored ones (a `UtcDateTime` as its integer microseconds; binary as base64), so a
  row reads back exactly on either dialect.
- `blobs/<key>`: every blob the blob store lists (`BlobStore.keys()`), byte for byte.
- `end.json`: how many rows and blobs came before it and each table's sequence high-water
  mark; a truncated archive is refused for lacking it.

Derived data is not exported: the full-text indexes are rebuilt from the imported rows
(`_rebuild_indexes`), on either dialect, in the import's transaction.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import os
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, BinaryIO

from sqlalchemy import JSON, Column, Connection, LargeBinary, MetaData, Table, insert, select, text
from sqlalchemy.types import TypeDecorator, TypeEngine

from qconnect_local.blobs import BlobStore
from qconnect_local.store import Store, schema
from qconnect_local.store.errors import StoreConflict
from qconnect_local.store.migrate import HEAD_REVISION

FORMAT = "qconnect-local-snapshot"
VERSION = 1
MANIFEST = "manifest.json"
END = "end.json"
TABLES = "tables/"
BLOBS = "blobs/"
BATCH = 500  # rows per INSERT while importing, and per fetch while exporting
COPY_CHUNK = 1024 * 1024
# The database blob store's rows are blobs, whichever store holds them: exported through the
# blob store, so that an archive moves between blob backends too.
BLOB_TABLES = frozenset({schema.blob_objects.name, schema.blob_chunks.name})
OWN_SETTINGS = schema.settings.name  # every store has a row here (its secret): not "content"


class SnapshotError(Exception):
    """An archive or target the command refuses: one line, exit status 2."""


@dataclass
class Summary:
    """What an export or import moved."""

    rows: dict[str, int] = field(default_factory=dict)
    blobs: int = 0

    def describe(self) -> str:
        return f"{sum(self.rows.values())} rows in {len(self.rows)} tables, {self.blobs} blobs"


def exported_tables() -> list[Table]:
    """Every table of the schema in dependency order, as new families add them: no list to keep."""
    return [t for t in schema.metadata.sorted_tables if t.name not in BLOB_TABLES]


# --- export ------------------------------------------------------------------------------------


def export_state(store: Store, blobs: BlobStore, target: str) -> Summary:
    """Write the store's whole state to `target` (a path, or `-` for stdout)."""
    with _output(target) as out, tarfile.open(fileobj=out, mode="w|gz") as archive:
        summary = Summary()
        tables = exported_tables()
        _add_json(
            archive,
            MANIFEST,
            {
                "format": FORMAT,
                "version": VERSION,
                "schemaRevision": HEAD_REVISION,
                "dialect": store.dialect,
                "exportedAt": datetime.now(UTC).isoformat(),
                "tables": [t.name for t in tables],
            },
        )
        with _snapshot(store) as conn:
            for table in tables:
                summary.rows[table.name] = _add_stream(
                    archive, TABLES + table.name + ".jsonl", _table_lines(conn, table)
                )
            sequences = _read_sequences(conn, tables)
        for key in blobs.keys(""):  # every blob
            _add_stream(archive, BLOBS + key, blobs.chunks(key, COPY_CHUNK))
            summary.blobs += 1
        _add_json(archive, END, {"rows": summary.rows, "blobs": summary.blobs, "sequences": sequences})
    return summary


@contextlib.contextmanager
def _output(target: str) -> Iterator[BinaryIO]:
    """stdout, or a file that appears under its name only once complete."""
    if target == "-":
        yield sys.stdout.buffer
        return
    partial = f"{target}.{os.getpid()}.partial"
    try:
        with open(partial, "wb") as out:
            yield out
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)


@contextlib.contextmanager
def _snapshot(store: Store) -> Iterator[Connection]:
    """One read transaction over every table, so the export is a consistent state even while a
    server writes (SQLite WAL: a snapshot; PostgreSQL: REPEATABLE READ)."""
    with store.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def _table_lines(conn: Connection, table: Table) -> Iterator[bytes]:
    raw = _raw(table)
    binary = {c.name for c in raw.columns if isinstance(c.type, LargeBinary)}
    key = list(raw.primary_key.columns) or list(raw.columns)
    rows = conn.execute(select(raw).order_by(*key).execution_options(yield_per=BATCH))
    for row in rows.mappings():
        values = {
            name: _b64(value) if name in binary and value is not None else value
            for name, value in row.items()
        }
        yield json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _b64(value: bytes) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


def _raw(table: Table) -> Table:
    """`table` with its stored column types (a TypeDecorator's own), so values move unconverted."""
    return Table(
        table.name,
        MetaData(),
        *(
            Column(c.name, _stored_type(c.type), primary_key=c.primary_key, autoincrement=False)
            for c in table.columns
        ),
    )


def _stored_type(kind: TypeEngine[Any]) -> TypeEngine[Any]:
    if isinstance(kind, TypeDecorator):
        return _stored_type(kind.impl_instance)
    if isinstance(kind, JSON):
        return JSON(none_as_null=True)  # None is no value (SQL NULL), as a row written without it
    return kind


def _add_json(archive: tarfile.TarFile, name: str, value: object) -> None:
    data = json.dumps(value, indent=2, ensure_ascii=False).encode()
    _add_member(archive, name, io.BytesIO(data), len(data))


def _add_stream(archive: tarfile.TarFile, name: str, chunks: Iterable[bytes]) -> int:
    """Add a member whose size is known only once written: spooled to a temporary file (a tar
    header comes first), never held in memory. Returns how many chunks there were."""
    count = 0
    with tempfile.TemporaryFile() as spool:
        for chunk in chunks:
            spool.write(chunk)
            count += 1
        size = spool.tell()
        spool.seek(0)
        _add_member(archive, name, spool, size)
    return count


def _add_member(archive: tarfile.TarFile, name: str, data: IO[bytes], size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(time.time())
    info.mode = 0o600
    archive.addfile(info, data)


# --- import ------------------------------------------------------------------------------------


def import_state(store: Store, blobs: BlobStore, source: str, *, replace: bool = False) -> Summary:
    """Load an archive into the store, which must be empty unless `replace` (then it is emptied
    first). The rows go in one transaction; blobs cannot join it, so an import that fails leaves
    the target empty (blobs written so far removed), never half-filled."""
    try:
        with _input(source) as stream, tarfile.open(fileobj=stream, mode="r|gz") as archive:
            members = iter(archive)
            tables = _manifest_tables(archive, next(members, None))
            if replace:
                _empty(store, blobs)
            _check_empty(store, blobs)
            try:
                return _load(store, blobs, archive, members, tables)
            except BaseException:
                _delete_blobs(blobs)  # the target was empty: every blob there is this import's
                raise
    except (tarfile.TarError, EOFError, OSError, json.JSONDecodeError) as error:
        raise SnapshotError(f"{source}: not a readable qconnect-local snapshot ({error})") from None
    except StoreConflict as error:  # the rows' transaction rolled back
        raise SnapshotError(f"{source}: rows that conflict: {' '.join(str(error).split())}") from None


@contextlib.contextmanager
def _input(source: str) -> Iterator[BinaryIO]:
    if source == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = open(source, "rb")  # noqa: SIM115 - closed below, after the archive
    except OSError as error:
        raise SnapshotError(f"cannot read {source}: {error.strerror or error}") from None
    with handle:
        yield handle


def _load(
    store: Store,
    blobs: BlobStore,
    archive: tarfile.TarFile,
    members: Iterator[tarfile.TarInfo],
    tables: dict[str, Table],
) -> Summary:
    summary = Summary()
    member = next(members, None)
    with store.write() as conn:
        # The store's own settings (its secret, made when it was opened): the snapshot's win.
        conn.execute(schema.settings.delete())
        while member is not None and member.name.startswith(TABLES):
            table = tables.get(member.name[len(TABLES) :].removesuffix(".jsonl"))
            if table is None:
                raise SnapshotError(f"the archive's member {member.name} is no table of this schema")
            summary.rows[table.name] = _insert_lines(conn, table, _lines(archive, member))
            member = next(members, None)
        while member is not None and member.name.startswith(BLOBS):
            _write_blob(blobs, member.name[len(BLOBS) :], archive, member)
            summary.blobs += 1
            member = next(members, None)
        found_end = json.loads(_read(archive, member)) if member is not None and member.name == END else None
        end = _check_end(found_end, summary)
        _write_sequences(conn, [tables[name] for name in summary.rows], end.get("sequences", {}))
        _rebuild_indexes(conn)
    return summary


def _manifest_tables(archive: tarfile.TarFile, first: tarfile.TarInfo | None) -> dict[str, Table]:
    """The tables an archive may hold, once its manifest (its first member) says it is ours."""
    if first is None or first.name != MANIFEST:
        raise SnapshotError(f"the archive does not start with {MANIFEST}")
    return _check_manifest(json.loads(_read(archive, first)))


def _check_manifest(manifest: dict[str, Any]) -> dict[str, Table]:
    if manifest.get("format") != FORMAT:
        raise SnapshotError("the archive is not a qconnect-local snapshot")
    if manifest.get("version") != VERSION:
        raise SnapshotError(
            f"snapshot format version {manifest.get('version')}; this release reads {VERSION}"
        )
    found = manifest.get("schemaRevision")
    if found != HEAD_REVISION:
        raise SnapshotError(
            f"the snapshot is of schema revision {found}; this release's store is at {HEAD_REVISION}:"
            " import it with the release that exported it"
        )
    return {t.name: t for t in exported_tables()}


def _check_empty(store: Store, blobs: BlobStore) -> None:
    with store.read() as conn:
        for table in exported_tables():
            if table.name != OWN_SETTINGS and conn.execute(select(1).select_from(table).limit(1)).first():
                raise SnapshotError(
                    f"the target store is not empty (table {table.name}): add --replace to overwrite it"
                )
    if next(iter(blobs.keys("")), None) is not None:
        raise SnapshotError("the target's blob store is not empty: add --replace to overwrite it")


def _empty(store: Store, blobs: BlobStore) -> None:
    """--replace: every row and blob goes (the settings stay until the snapshot's replace them)."""
    with store.write() as conn:
        for table in reversed(exported_tables()):
            if table.name != OWN_SETTINGS:
                conn.execute(table.delete())
    _delete_blobs(blobs)


def _delete_blobs(blobs: BlobStore) -> None:
    """Every blob, a page at a time, each page listed before any of it is deleted."""
    while page := list(itertools.islice(blobs.keys(""), BATCH)):
        for key in page:
            blobs.delete(key)


def _read(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = archive.extractfile(member)
    if handle is None:
        raise SnapshotError(f"the archive's member {member.name} is not a file")
    return handle.read()


def _lines(archive: tarfile.TarFile, member: tarfile.TarInfo) -> Iterator[dict[str, Any]]:
    handle = archive.extractfile(member)
    if handle is None:
        raise SnapshotError(f"the archive's member {member.name} is not a file")
    for line in handle:
        if line.strip():
            yield json.loads(line)


def _insert_lines(conn: Connection, table: Table, rows: Iterator[dict[str, Any]]) -> int:
    raw = _raw(table)
    binary = {c.name for c in raw.columns if isinstance(c.type, LargeBinary)}
    known = set(raw.columns.keys())
    count = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        unknown = set(row) - known
        if unknown:
            raise SnapshotError(f"table {table.name} has no column {sorted(unknown)[0]!r}")
        batch.append({k: base64.b64decode(v) if k in binary and v is not None else v for k, v in row.items()})
        count += 1
        if len(batch) == BATCH:
            conn.execute(insert(raw), batch)
            batch = []
    if batch:
        conn.execute(insert(raw), batch)
    return count


def _write_blob(blobs: BlobStore, key: str, archive: tarfile.TarFile, member: tarfile.TarInfo) -> None:
    handle = archive.extractfile(member)
    if handle is None:
        raise SnapshotError(f"the archive's member {member.name} is not a file")
    writer = blobs.writer(key)
    try:
        while chunk := handle.read(COPY_CHUNK):
            writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    writer.commit()


def _check_end(end: dict[str, Any] | None, summary: Summary) -> dict[str, Any]:
    """The archive's `end.json`, once it agrees with what was read: a whole archive."""
    if end is None:
        raise SnapshotError(f"the archive is incomplete: {END} is missing (was the export interrupted?)")
    if end.get("rows") != summary.rows or end.get("blobs") != summary.blobs:
        raise SnapshotError(f"the archive is incomplete: {END} counts differ from what it holds")
    return end


# --- sequences and indexes ---------------------------------------------------------------------


def _read_sequences(conn: Connection, tables: Iterable[Table]) -> dict[str, int]:
    """Each table's largest `seq` ever handed out (deleted rows included): ids never come back."""
    found: dict[str, int] = {}
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text("SELECT name, seq FROM sqlite_sequence"))
        names = {t.name for t in tables}
        found = {name: int(seq) for name, seq in rows if name in names}
    for table, sequence in _pg_sequences(conn, tables):
        last, called = conn.execute(text(f"SELECT last_value, is_called FROM {sequence}")).one()
        found[table.name] = int(last) if called else 0
    return dict(sorted(found.items()))


def _write_sequences(conn: Connection, tables: Iterable[Table], marks: dict[str, int]) -> None:
    """Carry the high-water marks over, and never below a row just imported."""
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        top = conn.execute(select(column).order_by(column.desc()).limit(1)).scalar() or 0
        mark = max(int(marks.get(table.name, 0)), int(top))
        if conn.dialect.name == "sqlite":
            conn.execute(text("DELETE FROM sqlite_sequence WHERE name = :name"), {"name": table.name})
            if mark:
                conn.execute(
                    text("INSERT INTO sqlite_sequence (name, seq) VALUES (:name, :seq)"),
                    {"name": table.name, "seq": mark},
                )
        else:
            sequence = _pg_sequence(conn, table)
            if sequence is not None:
                conn.execute(
                    text("SELECT setval(:seq, :value, :called)"),
                    {"seq": sequence, "value": max(mark, 1), "called": mark > 0},
                )


def _pg_sequences(conn: Connection, tables: Iterable[Table]) -> Iterator[tuple[Table, str]]:
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        sequence = _pg_sequence(conn, table)
        if sequence is not None:
            yield table, sequence


def _pg_sequence(conn: Connection, table: Table) -> str | None:
    column = table.autoincrement_column
    if column is None:
        return None
    found = conn.execute(
        text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": table.name, "column": column.name}
    ).scalar()
    return str(found) if found else None


def _rebuild_indexes(conn: Connection) -> None:
    """The derived full-text data, from the rows now there: SearchQuickResponses' index (SQLite's
    FTS5 table is filled in batches by the service, not by a trigger) and its vocabulary on
    either dialect. The passage index follows its table by triggers on both dialects."""
    from qconnect_local.store import search

    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"INSERT INTO {search.FTS}({search.FTS}) VALUES ('rebuild')")
    qr = schema.quick_responses
    rows = conn.execute(select(*(qr.c[c] for c in search.COLUMNS)).execution_options(yield_per=BATCH))
    index = search.index_for(conn)
    for batch in rows.partitions(BATCH):
        index.add_terms(conn, (value for row in batch for value in row))
