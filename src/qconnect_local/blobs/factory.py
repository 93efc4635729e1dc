"""Choose the blob backend from `Settings.blob_url` (`--blob-url`)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from qconnect_local.blobs.base import BlobStore
from qconnect_local.config import Settings
from qconnect_local.store import Store

FORMS = "file:///path, s3://bucket[/prefix] or database"


def check_blob_url(url: str) -> str:
    """`url` if it names a backend, ValueError saying what is accepted otherwise (flag checks)."""
    parts = urlsplit(url)
    if (
        url == "database"
        or (parts.scheme == "file" and parts.path)
        or (parts.scheme == "s3" and parts.netloc)
    ):
        return url
    raise ValueError(f"unsupported blob URL {url!r}: expected {FORMS}")


def open_blob_store(settings: Settings, store: Store) -> BlobStore:
    """The configured backend; by default the database on PostgreSQL (replicas share it), else files."""
    url = settings.blob_url
    if url is None:
        url = "database" if store.dialect == "postgresql" else None
    if url is None:
        from qconnect_local.blobs.filesystem import FilesystemBlobStore

        root = store.root / "blobs" if store.root else Path(tempfile.mkdtemp(prefix="qconnect-blobs-"))
        return FilesystemBlobStore(root)
    parts = urlsplit(check_blob_url(url))
    if url == "database":
        from qconnect_local.blobs.database import DatabaseBlobStore

        return DatabaseBlobStore(store)
    if parts.scheme == "file":
        from qconnect_local.blobs.filesystem import FilesystemBlobStore

        return FilesystemBlobStore(parts.netloc + parts.path)
    from qconnect_local.blobs.s3 import S3BlobStore

    return S3BlobStore(parts.netloc, parts.path, endpoint_url=settings.blob_endpoint_url)
