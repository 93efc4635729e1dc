"""One contract for every blob backend (files, database, S3), and imports through each of them.

S3 is a real S3-compatible server on loopback (moto's server), reached over HTTP by boto3.
"""

from __future__ import annotations

import csv
import io
import os
import socket
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import delete, func, select

from importing import quick_response_kb, start_import, wait_for_job
from qconnect_local.blobs import BlobStore, FilesystemBlobStore
from qconnect_local.blobs.database import DatabaseBlobStore
from qconnect_local.blobs.s3 import S3BlobStore
from qconnect_local.config import Settings
from qconnect_local.store import Store, schema
from qconnect_local.testing import postgres
from qconnect_local.testing.mock import mock_qconnect

BUCKET = "qconnect-blobs"
MiB = 1024 * 1024
PIECE = 64 * 1024


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's S3-compatible server on a free loopback port, with one bucket."""
    saved = {name: os.environ.get(name) for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    s3_client(url).create_bucket(Bucket=BUCKET)
    yield url
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL database for this module (skipped without a server, except in CI)."""
    reason = postgres.unreachable_reason()
    if reason:
        postgres.skip_or_fail(reason)
    with postgres.temporary_database("qconnect_blobs") as url:
        yield url


@pytest.fixture(scope="session")
def postgres_store(postgres_url: str) -> Iterator[Store]:
    store = Store(postgres_url)
    yield store
    store.close()


def s3_client(url: str) -> Any:
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1")


def s3_keys(url: str, prefix: str) -> list[str]:
    pages = s3_client(url).get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


@pytest.fixture(params=["filesystem", "database-sqlite", "database-postgresql", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "filesystem":
        yield FilesystemBlobStore(tmp_path / "blobs")
    elif request.param == "database-sqlite":
        store = Store.temporary()
        database = DatabaseBlobStore(store)
        yield database
        database.close()
        store.close()
    elif request.param == "database-postgresql":
        shared: Store = request.getfixturevalue("postgres_store")
        with shared.write() as conn:
            conn.execute(delete(schema.blob_objects))
            conn.execute(delete(schema.blob_chunks))
        yield DatabaseBlobStore(shared)
    else:
        url = request.getfixturevalue("moto_url")
        s3 = S3BlobStore(BUCKET, f"run-{uuid.uuid4().hex}", endpoint_url=url, region="us-east-1")
        yield s3
        s3.close()


def stored_anything(blobs: BlobStore) -> bool:
    """Whether the backend holds any bytes at all, visible or not (partial files, chunks, parts)."""
    if isinstance(blobs, FilesystemBlobStore):
        return any(path.is_file() for path in blobs.root.rglob("*"))
    if isinstance(blobs, DatabaseBlobStore):
        with blobs.engine.connect() as conn:
            return any(
                conn.execute(select(func.count()).select_from(table)).scalar()
                for table in (schema.blob_objects, schema.blob_chunks)
            )
    assert isinstance(blobs, S3BlobStore)
    uploads = blobs.client.list_multipart_uploads(Bucket=BUCKET, Prefix=blobs.prefix).get("Uploads", [])
    objects = blobs.client.list_objects_v2(Bucket=BUCKET, Prefix=blobs.prefix).get("KeyCount", 0)
    return bool(uploads or objects)


def put(blobs: BlobStore, key: str, data: bytes) -> None:
    writer = blobs.writer(key)
    writer.write(data)
    writer.commit()


def read(blobs: BlobStore, key: str) -> bytes:
    with blobs.open(key) as stream:
        return stream.read()


def test_a_blob_written_in_pieces_reads_back_byte_for_byte(blobs: BlobStore) -> None:
    pieces = [os.urandom(700 * 1024), b"", os.urandom(1500 * 1024), b"tail"]
    writer = blobs.writer("uploads/u1/file")
    for piece in pieces:
        assert writer.write(piece) == len(piece)
    writer.commit()

    assert read(blobs, "uploads/u1/file") == b"".join(pieces)
    assert b"".join(blobs.chunks("uploads/u1/file")) == b"".join(pieces)


def test_an_empty_blob_exists_and_reads_empty(blobs: BlobStore) -> None:
    put(blobs, "reports/j/empty.csv", b"")
    assert blobs.exists("reports/j/empty.csv")
    assert read(blobs, "reports/j/empty.csv") == b""


def test_nothing_is_visible_before_commit(blobs: BlobStore) -> None:
    writer = blobs.writer("uploads/u1/file")
    writer.write(b"x" * (2 * MiB + 5))

    assert not blobs.exists("uploads/u1/file")
    with pytest.raises(FileNotFoundError):
        blobs.open("uploads/u1/file")

    writer.commit()
    assert blobs.exists("uploads/u1/file")


def test_a_rewrite_replaces_the_blob_only_when_committed(blobs: BlobStore) -> None:
    put(blobs, "reports/j/failed.csv", b"old" * MiB)
    writer = blobs.writer("reports/j/failed.csv")
    writer.write(b"new" * 100)
    assert read(blobs, "reports/j/failed.csv") == b"old" * MiB

    writer.commit()
    assert read(blobs, "reports/j/failed.csv") == b"new" * 100


@pytest.mark.parametrize("size", [10, 9 * MiB], ids=["small", "multi-part"])
def test_abort_leaves_nothing_behind(blobs: BlobStore, size: int) -> None:
    writer = blobs.writer("uploads/u1/file")
    writer.write(b"x" * size)
    writer.abort()

    assert not blobs.exists("uploads/u1/file")
    with pytest.raises(FileNotFoundError):
        blobs.open("uploads/u1/file")
    assert not stored_anything(blobs)


def test_a_large_blob_is_read_as_a_stream_not_loaded_whole(blobs: BlobStore) -> None:
    data = os.urandom(20 * MiB)
    put(blobs, "uploads/big/file", data)

    tracemalloc.start(30)
    try:
        with blobs.open("uploads/big/file") as stream:
            first = stream.read(PIECE)
            snapshot = tracemalloc.take_snapshot()
            pieces = [first]
            while piece := stream.read(PIECE):
                assert len(piece) <= PIECE
                pieces.append(piece)
    finally:
        tracemalloc.stop()

    assert b"".join(pieces) == data
    # What this process holds once the first piece is read, leaving out moto's server threads.
    ours = snapshot.filter_traces(
        [
            tracemalloc.Filter(False, "*/moto/*", all_frames=True),
            tracemalloc.Filter(False, "*/werkzeug/*", all_frames=True),
            tracemalloc.Filter(False, "*/socketserver.py", all_frames=True),
        ]
    )
    held = sum(stat.size for stat in ours.statistics("filename"))
    assert held < 4 * MiB, f"{held} bytes held after reading {PIECE} of a 20 MiB blob"


def test_reads_fit_a_text_wrapper_like_the_csv_reader_uses(blobs: BlobStore) -> None:
    put(blobs, "uploads/u1/file", "Name,Content\nhello,Hé there\n".encode())
    with blobs.open("uploads/u1/file") as stream:
        assert stream.readable()
        rows = list(csv.reader(io.TextIOWrapper(stream, encoding="utf-8", newline="")))
    assert rows == [["Name", "Content"], ["hello", "Hé there"]]


def test_exists_and_delete(blobs: BlobStore) -> None:
    put(blobs, "uploads/u1/file", b"data")
    put(blobs, "uploads/u2/file", b"other")

    blobs.delete("uploads/u1/file")
    blobs.delete("uploads/u1/file")  # deleting nothing is not an error

    assert not blobs.exists("uploads/u1/file")
    assert blobs.exists("uploads/u2/file")
    assert read(blobs, "uploads/u2/file") == b"other"


def test_delete_prefix_removes_one_folder_and_leaves_every_other_key(blobs: BlobStore) -> None:
    doomed = ["reports/job1/failed.csv", "reports/job1/nested/more.csv", "reports/job_/a.csv"]
    kept = ["reports/job10/failed.csv", "reports/job2/failed.csv", "uploads/job1/file", "reports/jobA/a.csv"]
    for key in doomed + kept:
        put(blobs, key, key.encode())

    blobs.delete_prefix("reports/job1")
    blobs.delete_prefix("reports/job_")  # `_` is a plain character, not a pattern
    blobs.delete_prefix("reports/missing")

    assert [key for key in doomed if blobs.exists(key)] == []
    assert [read(blobs, key) for key in kept] == [key.encode() for key in kept]


def test_delete_prefix_also_removes_unfinished_writes_in_the_folder(blobs: BlobStore) -> None:
    writer = blobs.writer("uploads/u1/file")
    writer.write(b"x" * (2 * MiB))  # a writer that never finishes (its process died)
    put(blobs, "uploads/u2/file", b"kept")

    blobs.delete_prefix("uploads/u1")
    blobs.delete_prefix("uploads/u2")

    if not isinstance(blobs, S3BlobStore):  # S3 keeps unfinished parts outside the key space
        assert not stored_anything(blobs)


def test_opening_a_missing_key_raises_file_not_found(blobs: BlobStore) -> None:
    with pytest.raises(FileNotFoundError):
        blobs.open("uploads/none/file")
    with pytest.raises(FileNotFoundError):
        list(blobs.chunks("uploads/none/file"))
    assert not blobs.exists("uploads/none/file")


MIXED = "Name,Content,Language\nhello,Hello there,en_US\nbad language,Text,xx_XX\n"


@pytest.mark.parametrize("backend", ["s3", "database", "postgresql-default"])
def test_an_import_runs_with_its_files_in_the_configured_backend(
    request: pytest.FixtureRequest, backend: str
) -> None:
    with ExitStack() as stack:
        _import_through(request, stack, backend)


def _import_through(request: pytest.FixtureRequest, stack: ExitStack, backend: str) -> None:
    if backend == "s3":
        url = request.getfixturevalue("moto_url")
        prefix = f"p-{uuid.uuid4().hex}"
        settings = Settings(blob_url=f"s3://{BUCKET}/{prefix}", blob_endpoint_url=url)
    elif backend == "database":
        settings = Settings(blob_url="database")
    else:  # no blob URL: on PostgreSQL the blobs go to the database, shared by every replica
        reason = postgres.unreachable_reason()
        if reason:
            postgres.skip_or_fail(reason)
        database_url = stack.enter_context(postgres.temporary_database("qconnect_blobs"))
        settings = Settings(database_url=database_url)

    with mock_qconnect(settings) as mock:
        qc = boto3.client("qconnect", region_name="us-east-1")
        kb_id = quick_response_kb(qc)["knowledgeBaseId"]
        up = qc.start_content_upload(knowledgeBaseId=kb_id, contentType="text/csv")
        put_reply = mock.request("PUT", up["url"], headers=up["headersToInclude"], data=MIXED.encode())
        assert put_reply.status == 200, put_reply.body
        job = wait_for_job(qc, kb_id, start_import(qc, kb_id, up["uploadId"])["importJobId"])
        report = mock.request("GET", job["failedRecordReport"])
        upload_copy = mock.request("GET", job["url"])

        if backend == "s3":
            stored = s3_keys(url, prefix + "/")
            assert {key.split("/")[1] for key in stored} == {"uploads", "reports"}
        else:
            assert isinstance(mock.runtime.blobs, DatabaseBlobStore)
            with mock.runtime.blobs.engine.connect() as conn:
                keys = conn.execute(select(schema.blob_objects.c.key)).scalars().all()
            assert {key.split("/")[0] for key in keys} == {"uploads", "reports"}

    assert job["status"] == "COMPLETE"
    assert report.status == 200
    rows = list(csv.reader(io.StringIO(report.body.decode("utf-8-sig"))))
    assert [row[1:4] for row in rows[1:]] == [["bad language", "Text", "xx_XX"]]
    assert upload_copy.status == 200
    assert upload_copy.body == MIXED.encode()
