"""HTTP side of the signed links: PUT of an upload, GET of a job's file or failed-record report.

Answers like S3: XML errors, `ETag` on a good PUT. The body of a PUT is consumed chunk by
chunk as it arrives (`UploadReceiver`), so the server never holds a whole upload in memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator

from qconnect_local.protocol.http import Request, Response
from qconnect_local.runtime import Runtime
from qconnect_local.service.links import BLOB_PREFIX, DOWNLOADS, LinkError, no_such_key, s3_error_xml
from qconnect_local.service.uploads import UPLOAD_PATH, UploadReceiver

UPLOADS = BLOB_PREFIX + UPLOAD_PATH


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
    return UploadReceiver(runtime, upload_id, request.raw_path, request.query_string, request.headers)


def put_response(etag: str) -> Response:
    return Response(200, [("ETag", etag), ("Content-Length", "0")], b"")


def receive_upload(runtime: Runtime, request: Request, chunks: Iterable[bytes]) -> Response:
    """A whole PUT at once (the in-process path); the ASGI app drives UploadReceiver itself."""
    try:
        receiver = upload_receiver(runtime, request)
        receiver.begin()
        for chunk in chunks:
            receiver.write(chunk)
        return put_response(receiver.finish())
    except LinkError as error:
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
    except LinkError as error:
        return error_response(error), None
    headers = [
        ("Content-Type", found.content_type),
        ("Content-Disposition", f'attachment; filename="{found.filename}"'),
    ]
    body = runtime.blobs.chunks(found.key) if request.method == "GET" else iter(())
    return Response(200, headers), body
