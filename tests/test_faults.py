"""Faults of the machine, not of the client (issue 12, items 11-13).

- A full disk (or any OSError) while a signed PUT is stored answers S3's XML InternalError
  and leaves nothing partial; on the API it is a 500 InternalServerException in AWS's JSON.
- Partial files of writers that died are swept at start; a live writer's, even in another
  process, are not.
- A store file that cannot be used stops the start in one line naming the file.
- Store files are 0600 and folders 0700.

The full disk is simulated: a blob file whose writes fail with ENOSPC once its room is used,
and an SQLite connection limited to the pages the database already has.
"""

from __future__ import annotations

import asyncio
import errno
import io
import json
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit
from xml.etree import ElementTree

import boto3
import pytest
from sqlalchemy import event, func, insert, select

from importing import quick_response_kb, start_import, wait_for_job
from qconnect_local.blobs import FilesystemBlobStore
from qconnect_local.blobs import filesystem as filesystem_blobs
from qconnect_local.blobs.database import DatabaseBlobStore, _DatabaseWriter
from qconnect_local.config import Settings
from qconnect_local.runtime import Runtime
from qconnect_local.server.app import App
from qconnect_local.service.uploads import UPLOAD
from qconnect_local.store import Store, schema
from qconnect_local.store.integrity import StoreUnusable
from qconnect_local.testing.mock import mock_qconnect

CSV = b"Name,Content\nhello,Hello there\nbye,Goodbye\n"
MIXED = b"Name,Content,Language\nhello,Hello there,en_US\nbad language,Text,xx_XX\n"
KiB = 1024


# -- a disk with little room -----------------------------------------------------------------


class _Room(io.RawIOBase):
    """A blob file's descriptor on a disk with `disk.room` bytes free: then ENOSPC, as write(2)."""

    def __init__(self, raw: Any, disk: Disk) -> None:
        super().__init__()
        self._raw = raw
        self._disk = disk

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        room = self._disk.room
        if room is None:  # space was freed
            return int(self._raw.write(data))
        if room <= 0:
            raise OSError(self._disk.errno, os.strerror(self._disk.errno))
        count: int = self._raw.write(bytes(data[:room]))
        self._disk.room = room - count
        return count

    def fileno(self) -> int:
        return int(self._raw.fileno())

    def close(self) -> None:
        self._raw.close()
        super().close()


class Disk:
    """Room left on the blob disk (None: plenty), and the error an fsync fails with (if any)."""

    def __init__(self) -> None:
        self.room: int | None = None
        self.errno = errno.ENOSPC
        self.fsync_error: int | None = None


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Disk:
    disk = Disk()
    make_writer = FilesystemBlobStore.writer

    def writer(self: FilesystemBlobStore, key: str) -> Any:
        made = make_writer(self, key)
        if disk.room is not None:
            buffered = cast(io.BufferedWriter, made._file)
            made._file = io.BufferedWriter(_Room(buffered.detach(), disk), 8 * KiB)
        return made

    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if disk.fsync_error is not None:
            raise OSError(disk.fsync_error, os.strerror(disk.fsync_error))
        real_fsync(fd)

    monkeypatch.setattr(FilesystemBlobStore, "writer", writer)
    monkeypatch.setattr(filesystem_blobs.os, "fsync", fsync)
    return disk


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def partials_under(root: Path) -> list[Path]:
    return sorted(root.rglob(".partial-*"))


def s3_error(body: bytes) -> tuple[str, str]:
    error = ElementTree.fromstring(body)
    return error.findtext("Code") or "", error.findtext("Message") or ""


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[mock_qconnect]:
    with mock_qconnect(Settings(data_dir=str(tmp_path / "data"))) as running:
        yield running


def start_upload(qc: Any) -> tuple[str, dict[str, Any]]:
    kb_id = quick_response_kb(qc)["knowledgeBaseId"]
    return kb_id, qc.start_content_upload(knowledgeBaseId=kb_id, contentType="text/csv")


def assert_upload_has_no_file(qc: Any, kb_id: str, upload_id: str) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match="has no file yet"):
        start_import(qc, kb_id, upload_id)


# -- a full disk during a signed PUT ----------------------------------------------------------


@pytest.mark.parametrize("failure", [errno.ENOSPC, errno.EDQUOT, errno.EIO])
def test_a_put_that_fills_the_disk_answers_s3_internal_error_and_leaves_nothing(
    mock: mock_qconnect, disk: Disk, failure: int
) -> None:
    qc = boto3.client("qconnect", region_name="us-east-1")
    kb_id, up = start_upload(qc)
    disk.room, disk.errno = 20 * KiB, failure

    reply = mock.request("PUT", up["url"], headers=up["headersToInclude"], data=CSV * 2000)

    assert reply.status == 500
    assert reply.header("content-type") == "application/xml"
    assert s3_error(reply.body) == ("InternalError", "We encountered an internal error. Please try again.")
    assert b"No space" not in reply.body and b"Traceback" not in reply.body
    root = mock.runtime.blobs.root  # type: ignore[attr-defined]
    assert files_under(root / "uploads") == []
    assert_upload_has_no_file(qc, kb_id, up["uploadId"])

    disk.room = None  # space was freed: the client's retry succeeds
    again = mock.request("PUT", up["url"], headers=up["headersToInclude"], data=CSV)
    assert again.status == 200, again.body
    job = wait_for_job(qc, kb_id, start_import(qc, kb_id, up["uploadId"])["importJobId"])
    assert job["status"] == "COMPLETE"


def test_a_failing_fsync_at_commit_answers_internal_error_and_leaves_nothing(
    mock: mock_qconnect, disk: Disk
) -> None:
    qc = boto3.client("qconnect", region_name="us-east-1")
    kb_id, up = start_upload(qc)
    disk.fsync_error = errno.EIO

    reply = mock.request("PUT", up["url"], headers=up["headersToInclude"], data=CSV)

    assert (reply.status, s3_error(reply.body)[0]) == (500, "InternalError")
    assert files_under(mock.runtime.blobs.root) == []  # type: ignore[attr-defined]
    assert_upload_has_no_file(qc, kb_id, up["uploadId"])


def test_no_room_for_even_the_partial_file_answers_internal_error(
    mock: mock_qconnect, monkeypatch: pytest.MonkeyPatch
) -> None:
    qc = boto3.client("qconnect", region_name="us-east-1")
    _kb_id, up = start_upload(qc)

    def no_room(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(filesystem_blobs.tempfile, "mkstemp", no_room)
    reply = mock.request("PUT", up["url"], headers=up["headersToInclude"], data=CSV)

    assert (reply.status, s3_error(reply.body)[0]) == (500, "InternalError")
    assert files_under(mock.runtime.blobs.root) == []  # type: ignore[attr-defined]


def test_a_put_whose_record_cannot_be_written_removes_its_blob(
    mock: mock_qconnect, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bytes were committed, then the store refused the upload's row (its disk is full too)."""
    qc = boto3.client("qconnect", region_name="us-east-1")
    kb_id, up = start_upload(qc)

    def full(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "database or disk is full")

    monkeypatch.setattr(UPLOAD.repo, "update", full)
    reply = mock.request("PUT", up["url"], headers=up["headersToInclude"], data=CSV)

    assert (reply.status, s3_error(reply.body)[0]) == (500, "InternalError")
    assert files_under(mock.runtime.blobs.root) == []  # type: ignore[attr-defined]
    monkeypatch.undo()
    assert_upload_has_no_file(qc, kb_id, up["uploadId"])


def asgi_put(runtime: Runtime, url: str, headers: dict[str, str], chunks: list[bytes]) -> tuple[int, bytes]:
    """One PUT through the ASGI app, its body in `chunks` as uvicorn delivers a streamed body."""
    parts = urlsplit(url)
    sent_headers = {**headers, "content-length": str(sum(map(len, chunks))), "host": parts.netloc}
    scope = {
        "type": "http",
        "method": "PUT",
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in sent_headers.items()],
        "scheme": "http",
    }
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    app = App(runtime)
    try:
        asyncio.run(app(scope, receive, send))
    finally:
        app._writers.shutdown()
        app._waiters.shutdown()
    assert sent[0]["type"] == "http.response.start"
    return sent[0]["status"], b"".join(message.get("body", b"") for message in sent[1:])


def test_a_streamed_put_that_fills_the_disk_answers_xml_through_the_asgi_app(
    mock: mock_qconnect, disk: Disk
) -> None:
    """The server's own path: the body arrives in pieces, and the disk fills between two."""
    qc = boto3.client("qconnect", region_name="us-east-1")
    kb_id, up = start_upload(qc)
    disk.room = 100 * KiB

    status, body = asgi_put(mock.runtime, up["url"], up["headersToInclude"], [b"x" * (64 * KiB)] * 4)

    assert (status, s3_error(body)[0]) == (500, "InternalError")
    assert files_under(mock.runtime.blobs.root) == []  # type: ignore[attr-defined]
    assert_upload_has_no_file(qc, kb_id, up["uploadId"])

    disk.room = None
    status, body = asgi_put(mock.runtime, up["url"], up["headersToInclude"], [CSV[:10], CSV[10:]])
    assert status == 200, body


def test_a_download_whose_blob_cannot_be_read_answers_xml(
    mock: mock_qconnect, monkeypatch: pytest.MonkeyPatch
) -> None:
    qc = boto3.client("qconnect", region_name="us-east-1")
    kb_id, up = start_upload(qc)
    assert mock.request("PUT", up["url"], headers=up["headersToInclude"], data=MIXED).status == 200
    job = wait_for_job(qc, kb_id, start_import(qc, kb_id, up["uploadId"])["importJobId"])

    def unreadable(*_args: Any) -> Any:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(FilesystemBlobStore, "open", unreadable)
    reply = mock.request("GET", job["failedRecordReport"])
    assert (reply.status, s3_error(reply.body)[0]) == (500, "InternalError")

    def vanished(*_args: Any) -> Any:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))

    monkeypatch.setattr(FilesystemBlobStore, "open", vanished)
    reply = mock.request("GET", job["failedRecordReport"])
    assert (reply.status, s3_error(reply.body)[0]) == (404, "NoSuchKey")


# -- a full disk on the API -------------------------------------------------------------------


def test_a_full_database_disk_answers_internal_server_exception_in_json(mock: mock_qconnect) -> None:
    """SQLite's own "database or disk is full", made real by capping the file at its size."""
    qc = boto3.client("qconnect", region_name="us-east-1")
    kb_id = quick_response_kb(qc)["knowledgeBaseId"]
    engine = mock.runtime.store.engine

    def no_more_pages(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA max_page_count=1")  # = the pages it has now

    event.listen(engine, "connect", no_more_pages)
    engine.dispose()
    url = f"https://qconnect.us-east-1.amazonaws.com/knowledgeBases/{kb_id}/quickResponses"
    try:
        for n in range(200):
            body = json.dumps({"name": f"q{n}", "content": {"content": "x" * 1000}}).encode()
            reply = mock.request("POST", url, headers={"content-type": "application/json"}, data=body)
            if reply.status != 200:
                break
        else:
            pytest.fail("the capped database never filled up")
    finally:
        event.remove(engine, "connect", no_more_pages)
        engine.dispose()

    assert reply.status == 500
    assert reply.header("x-amzn-errortype") == "InternalServerException"
    assert reply.header("content-type") == "application/json"
    assert json.loads(reply.body) == {"message": "An internal error occurred."}
    # Once there is room again the store carries on.
    qc.create_quick_response(knowledgeBaseId=kb_id, name="after", content={"content": "fine"})


# -- writers clean up after themselves --------------------------------------------------------


def test_a_failed_file_write_removes_its_partial_file_and_keeps_the_error(tmp_path: Path, disk: Disk) -> None:
    blobs = FilesystemBlobStore(tmp_path / "blobs")
    disk.room = 10 * KiB
    writer = blobs.writer("reports/j/failed.csv")
    with pytest.raises(OSError) as raised:
        for _ in range(10):
            writer.write(b"y" * (4 * KiB))
        writer.commit()
    assert raised.value.errno == errno.ENOSPC
    writer.abort()  # a caller's abort afterwards is harmless
    assert files_under(blobs.root) == []


def test_a_failed_database_write_removes_its_staging_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.in_dir(tmp_path / "data")
    blobs = DatabaseBlobStore(store, chunk_size=1024)
    real_insert = _DatabaseWriter._insert

    def insert_until_full(self: _DatabaseWriter, data: bytes) -> None:
        if self._chunks >= 2:
            raise OSError(errno.ENOSPC, "database or disk is full")
        real_insert(self, data)

    monkeypatch.setattr(_DatabaseWriter, "_insert", insert_until_full)
    try:
        writer = blobs.writer("uploads/u/file")
        with pytest.raises(OSError):
            writer.write(b"z" * 5000)
        with blobs.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(schema.blob_chunks)).scalar() == 0
    finally:
        blobs.close()
        store.close()


# -- sweeping partial files at start ----------------------------------------------------------


def test_staging_rows_of_a_dead_database_writer_are_swept_at_start_on_sqlite(tmp_path: Path) -> None:
    store = Store.in_dir(tmp_path / "data")
    blobs = DatabaseBlobStore(store, chunk_size=1024)
    kept = blobs.writer("uploads/u1/file")
    kept.write(b"k" * 3000)
    kept.commit()
    blobs.writer("uploads/u2/file").write(b"d" * 5000)  # its process dies before commit or abort
    blobs.close()
    store.close()

    store = Store.in_dir(tmp_path / "data")
    blobs = DatabaseBlobStore(store, chunk_size=1024)  # the next start
    try:
        with blobs.engine.connect() as conn:
            keys = set(conn.execute(select(schema.blob_chunks.c.key)).scalars())
        assert keys == {"uploads/u1/file"}
        assert b"".join(blobs.chunks("uploads/u1/file")) == b"k" * 3000
    finally:
        blobs.close()
        store.close()


HOLDER = """
import sys
from qconnect_local.blobs import FilesystemBlobStore
writer = FilesystemBlobStore(sys.argv[1]).writer("uploads/u/file")
writer.write(b"x" * 100_000)
print("writing", flush=True)
sys.stdin.read()
"""


def test_partial_files_of_a_dead_process_are_swept_and_a_live_ones_are_kept(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"writing\n"
        live = partials_under(root)
        assert len(live) == 1

        # Another process opening the folder meanwhile (a restarted server, a worker) keeps it.
        assert FilesystemBlobStore(root).sweep() == 0
        assert partials_under(root) == live
    finally:
        holder.kill()  # SIGKILL mid-upload: no handler runs
        holder.wait()
        if holder.stdin:
            holder.stdin.close()
        if holder.stdout:
            holder.stdout.close()

    assert partials_under(root) == live  # left behind, as by a crash
    FilesystemBlobStore(root)  # the next start
    assert partials_under(root) == []


def test_a_live_writer_in_the_same_process_is_not_swept(tmp_path: Path) -> None:
    blobs = FilesystemBlobStore(tmp_path / "blobs")
    writer = blobs.writer("uploads/u/file")
    writer.write(b"data")
    assert FilesystemBlobStore(tmp_path / "blobs").sweep() == 0
    writer.commit()
    assert (blobs.root / "uploads/u/file").read_bytes() == b"data"


def test_an_unlocked_leftover_is_swept_at_once_however_recent(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    (root / "uploads/u").mkdir(parents=True)
    leftover = root / "uploads/u/.partial-abc123"
    leftover.write_bytes(b"half an upload")
    kept = root / "uploads/u/file"
    kept.write_bytes(b"a committed blob")

    FilesystemBlobStore(root)

    assert not leftover.exists()
    assert kept.read_bytes() == b"a committed blob"


def test_without_locks_only_partial_files_older_than_an_hour_are_swept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(filesystem_blobs, "_lock", lambda _fd, *, wait: False)
    root = tmp_path / "blobs"
    (root / "uploads").mkdir(parents=True)
    fresh, old = root / "uploads/.partial-fresh", root / "uploads/.partial-old"
    fresh.write_bytes(b"maybe someone's upload")
    old.write_bytes(b"surely abandoned")
    hours_ago = time.time() - filesystem_blobs.STALE_SECONDS - 60
    os.utime(old, (hours_ago, hours_ago))

    FilesystemBlobStore(root)

    assert fresh.exists() and not old.exists()


def test_a_writer_whose_new_file_a_sweep_took_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one moment a sweep can lock a live writer's file: after mkstemp, before its lock."""
    blobs = FilesystemBlobStore(tmp_path / "blobs")
    real_mkstemp = tempfile.mkstemp
    calls: list[str] = []

    def mkstemp_then_sweep(*args: Any, **kwargs: Any) -> tuple[int, str]:
        fd, name = real_mkstemp(*args, **kwargs)
        calls.append(name)
        if len(calls) == 1:
            assert blobs.sweep() == 1  # another process's sweep, right then
        return fd, name

    monkeypatch.setattr(filesystem_blobs.tempfile, "mkstemp", mkstemp_then_sweep)
    writer = blobs.writer("uploads/u/file")
    writer.write(b"kept")
    writer.commit()

    assert len(calls) == 2
    assert (blobs.root / "uploads/u/file").read_bytes() == b"kept"
    assert partials_under(blobs.root) == []


# -- a store that cannot be used --------------------------------------------------------------


def filled_store(data_dir: Path) -> Path:
    """A store with a few hundred pages of rows, checkpointed into its file; the file's path."""
    store = Store.in_dir(data_dir)
    with store.write() as conn:
        rows = [{"key": f"filler-{n}", "value": os.urandom(200)} for n in range(3000)]
        conn.execute(insert(schema.settings), rows)
    store.close()
    return data_dir / "qconnect.sqlite3"


def not_a_database(path: Path) -> None:
    path.write_bytes(b"these are not the pages you are looking for\n" * 500)


def truncated_to_half(path: Path) -> None:
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)


def truncated_in_its_header(path: Path) -> None:
    with path.open("r+b") as file:
        file.truncate(50)


def damaged_data_pages(path: Path) -> None:
    """Random bytes over three pages in the middle: the header and schema stay intact."""
    rng = random.Random(12)
    middle = path.stat().st_size // 4096 // 2
    with path.open("r+b") as file:
        file.seek(middle * 4096)
        file.write(rng.randbytes(3 * 4096))


def a_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "not-sqlite": (not_a_database, "not an SQLite database"),
    "truncated": (truncated_to_half, "damaged"),
    "truncated-header": (truncated_in_its_header, "damaged"),
    "damaged-pages": (damaged_data_pages, "damaged"),
    "a-folder": (a_folder, "is a folder"),
}


def assert_one_line_naming(refused: StoreUnusable, path: Path, problem: str) -> None:
    message = str(refused)
    assert "\n" not in message
    assert str(path) in message
    assert problem in message
    assert len(message) < 400


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_store_file_that_cannot_be_used_is_refused_in_one_line(tmp_path: Path, damage: str) -> None:
    path = filled_store(tmp_path / "data")
    spoil, problem = DAMAGE[damage]
    spoil(path)

    with pytest.raises(StoreUnusable) as refused:
        Store.in_dir(tmp_path / "data")

    assert_one_line_naming(refused.value, path, problem)
    assert refused.value.path == str(path)


def test_a_damaged_store_stops_the_runtime_before_anything_starts(tmp_path: Path) -> None:
    path = filled_store(tmp_path / "data")
    damaged_data_pages(path)
    with pytest.raises(StoreUnusable) as refused:
        Runtime(Settings(data_dir=str(tmp_path / "data")))
    assert_one_line_naming(refused.value, path, "PRAGMA quick_check")


def test_a_store_given_by_url_is_checked_too(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.sqlite3"
    not_a_database(path)
    with pytest.raises(StoreUnusable) as refused:
        Store(f"sqlite:///{path}")
    assert_one_line_naming(refused.value, path, "not an SQLite database")


def test_an_empty_file_is_a_new_store_not_a_damaged_one(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data/qconnect.sqlite3").touch()
    Store.in_dir(tmp_path / "data").close()


def test_a_data_dir_that_is_a_file_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("oops")
    with pytest.raises(StoreUnusable) as refused:
        Store.in_dir(tmp_path / "data")
    assert_one_line_naming(refused.value, tmp_path / "data", "not a folder")


def _in_a_child_as_nobody(work: Callable[[], None]) -> str:
    """Run `work` in a forked child with the uid of `nobody`; what it raised, as text."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running pytest's handlers
        outcome = "returned"
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            work()
        except StoreUnusable as refused:
            outcome = f"StoreUnusable: {refused}"
        except BaseException as error:
            outcome = f"{type(error).__name__}: {error}"
        finally:
            os.write(write_end, outcome.encode())
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read().decode()
    os.waitpid(pid, 0)
    return answer


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX permissions")
def test_a_store_file_this_user_may_not_read_is_refused_in_one_line(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        path = filled_store(tmp_path / "data")
        path.chmod(0)
        with pytest.raises(StoreUnusable) as refused:
            Store.in_dir(tmp_path / "data")
        assert_one_line_naming(refused.value, path, "permission denied")
        return
    # root reads every file: try it as another user, in a folder that user may enter.
    base = Path(tempfile.mkdtemp(prefix="qconnect-faults-"))
    try:
        base.chmod(0o755)
        path = filled_store(base / "data")
        (base / "data").chmod(0o755)
        answer = _in_a_child_as_nobody(lambda: Store.in_dir(base / "data").close())
    finally:
        shutil.rmtree(base)
    assert answer.startswith("StoreUnusable: "), answer
    assert "\n" not in answer and str(path) in answer and "permission denied" in answer


def test_serve_on_a_damaged_store_exits_with_one_line_naming_the_file(tmp_path: Path) -> None:
    path = filled_store(tmp_path / "data")
    damaged_data_pages(path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "qconnect_local.cli",
            "serve",
            "--data-dir",
            str(tmp_path / "data"),
            "--port",
            "0",
        ],
        capture_output=True,
        timeout=60,
    )
    stderr = done.stderr.decode().strip()
    assert done.returncode != 0
    assert len(stderr.splitlines()) == 1, stderr
    assert str(path) in stderr and "damaged" in stderr


# -- file modes -------------------------------------------------------------------------------


@pytest.fixture
def usual_umask() -> Iterator[None]:
    saved = os.umask(0o022)  # the common default, which leaves new files 0644
    yield
    os.umask(saved)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("usual_umask")
def test_store_files_are_private_to_their_owner(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    runtime = Runtime(Settings(data_dir=str(data_dir), run_worker=False))
    try:
        writer = runtime.blobs.writer("uploads/u1/some-file")
        writer.write(b"bytes")
        partial = partials_under(data_dir / "blobs")
        assert [mode(path) for path in partial] == [0o600]
        writer.commit()
        with runtime.store.read() as conn:  # keeps the -wal and -shm files open
            conn.execute(select(schema.settings.c.key)).all()
            database = data_dir / "qconnect.sqlite3"
            side_files = [Path(f"{database}-wal"), Path(f"{database}-shm")]
            assert all(path.exists() for path in side_files)
            # The database holds the signing secret of every link.
            assert {path.name: mode(path) for path in [database, *side_files]} == {
                path.name: 0o600 for path in [database, *side_files]
            }
        assert mode(data_dir) == 0o700
        folders = [data_dir / "blobs", data_dir / "blobs/uploads", data_dir / "blobs/uploads/u1"]
        assert [mode(path) for path in folders] == [0o700] * 3
        assert mode(data_dir / "blobs/uploads/u1/some-file") == 0o600
    finally:
        runtime.close()


@pytest.mark.usefixtures("usual_umask")
def test_the_database_blob_store_file_is_private_too(tmp_path: Path) -> None:
    store = Store.in_dir(tmp_path / "data")
    blobs = DatabaseBlobStore(store)
    try:
        writer = blobs.writer("reports/j/failed.csv")
        writer.write(b"Line,Errors\n")
        writer.commit()
        made = sorted((tmp_path / "data").glob("blobs.sqlite3*"))
        assert [path.name for path in made][:1] == ["blobs.sqlite3"]
        assert {path.name: mode(path) for path in made} == {path.name: 0o600 for path in made}
    finally:
        blobs.close()
        store.close()


@pytest.mark.usefixtures("usual_umask")
def test_a_store_an_earlier_release_left_readable_is_made_private(tmp_path: Path) -> None:
    path = filled_store(tmp_path / "data")
    path.chmod(0o644)
    Store.in_dir(tmp_path / "data").close()
    assert mode(path) == 0o600
