"""HTTP side of the signed links: PUT of an upload, GET of a job's file or failed-record report.

Answers like S3: XML errors, `ETag` on a good PUT. The body of a PUT is consumed chunk by
chunk as it arrives (`UploadReceiver`), so the server never holds a whole upload in memory.

A fault on our side — a full disk (ENOSPC, EDQUOT), an I/O error, a store that fails — is
answered as S3 answers its own, InternalError 500 in S3's XML (`links.internal_error`), with
the upload's partial blob removed; it is logged here, never shown to the client.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, TypeVar

from qconnect_local.protocol.http import Request, Response
from qconnect_local.runtime import Runtime
from qconnect_local.service.links import (
    BLOB_PREFIX,
    DOWNLOADS,
    LinkError,
    internal_error,
    no_such_key,
    s3_error_xml,
)
from qconnect_local.service.uploads import UPLOAD_PATH, UploadReceiver

UPLOADS = BLOB_PREFIX + UPLOAD_PATH
READ_SIZE = 64 * 1024

T = TypeVar("T")
log = logging.getLogger("qconnect_local")


def is_blob_path(raw_path: str) -> bool:
    return raw_path.startswith(BLOB_PREFIX)


def error_response(error: LinkError) -> Response:
    request_id = uuid.uuid4().hex.upper()[:16]
    headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    return Response(error.status, headers, s3_error_xml(error, request_id))


def upload_receiver(runtime: Runtime, request: Request) -> UploadReceiver:
    """The receiver for a PUT to an upload link; LinkError when the path names no upload."""
    if request.method != "PUT" or not request.raw_path.startswith(UPLOADS):
        raise LinkError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
    upload_id = request.raw_path[len(UPLOADS) :]
    if not upload_id or "/" in upload_id:
        raise LinkError(404, "NoSuchUpload", "The specified upload does not exist.")
    return _GuardedReceiver(runtime, upload_id, request.raw_path, request.query_string, request.headers)


class _GuardedReceiver(UploadReceiver):
    """An UploadReceiver whose every step answers like S3: a fault is LinkError InternalError,
    raised once the partial blob is gone, so no step ever ends in a plain-text 500."""

    def begin(self) -> None:
        self._guarded(super().begin)

    def write(self, chunk: bytes) -> None:
        self._guarded(super().write, chunk)

    def finish(self) -> str:
        try:
            return super().finish()
        except LinkError:
            raise
        except Exception as error:
            # The bytes may be committed while recording them failed: that blob is no one's.
            self._failed(error)
            try:
                self.runtime.blobs.delete(self.blob_key)
            except Exception as cleanup:
                log.warning("could not remove blob %s of a failed PUT: %s", self.blob_key, cleanup)
            raise internal_error() from error

    def abort(self) -> None:
        try:
            super().abort()
        except Exception as error:  # a writer that cannot clean up must not turn into a 500
            log.warning("aborting the PUT of upload %s: %s", self.upload_id, error)

    def _guarded(self, step: Callable[..., T], *args: object) -> T:
        try:
            return step(*args)
        except LinkError:
            raise
        except Exception as error:
            self._failed(error)
            raise internal_error() from error

    def _failed(self, error: Exception) -> None:
        if isinstance(error, OSError):  # a full disk, an I/O error: one line says it all
            log.error("signed PUT of upload %s failed: %s", self.upload_id, error)
        else:
            log.exception("signed PUT of upload %s failed", self.upload_id)
        self.abort()


def put_response(etag: str) -> Response:
    return Response(200, [("ETag", etag), ("Content-Length", "0")], b"")


def receive_upload(runtime: Runtime, request: Request, chunks: Iterable[bytes]) -> Response:
    """A whole PUT at once (the in-process path); the ASGI app drives UploadReceiver itself."""
    try:
        receiver = upload_receiver(runtime, request)
    except LinkError as error:
        return error_response(error)
    try:
        receiver.begin()
        for chunk in chunks:
            receiver.write(chunk)
        return put_response(receiver.finish())
    except LinkError as error:
        receiver.abort()
        return error_response(error)


def download(runtime: Runtime, request: Request) -> tuple[Response, Iterator[bytes] | None]:
    """Headers for a GET of a download link, and the body as chunks (None on error)."""
    if request.method not in ("GET", "HEAD"):
        return error_response(LinkError(405, "MethodNotAllowed", "The method is not allowed.")), None
    collection, *parts = request.raw_path[len(BLOB_PREFIX) :].split("/")
    downloader = DOWNLOADS.get(collection)
    try:
        if downloader is None:
            raise no_such_key()
        found = downloader(runtime, parts, request.raw_path, request.query_string)
        # Opened before the 200 goes out: a blob that cannot be read is still an S3 error.
        stream = runtime.blobs.open(found.key) if request.method == "GET" else None
    except LinkError as error:
        return error_response(error), None
    except FileNotFoundError:  # deleted between the link's check and the read
        return error_response(no_such_key()), None
    except Exception as error:
        if isinstance(error, OSError):
            log.error("reading %s failed: %s", request.raw_path, error)
        else:
            log.exception("reading %s failed", request.raw_path)
        return error_response(internal_error()), None
    headers = [
        ("Content-Type", found.content_type),
        ("Content-Disposition", f'attachment; filename="{found.filename}"'),
    ]
    return Response(200, headers), _read(stream) if stream is not None else iter(())


def _read(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(READ_SIZE):
            yield chunk
