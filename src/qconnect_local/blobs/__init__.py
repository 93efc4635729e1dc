"""Blob storage (uploaded files, failed-record reports) behind one small interface.

Backends: files (the default), the database (`blobs.database`), S3 (`blobs.s3`, needs boto3);
`open_blob_store` picks one from the settings.
"""

from qconnect_local.blobs.base import BlobStore, BlobWriter
from qconnect_local.blobs.factory import check_blob_url, open_blob_store
from qconnect_local.blobs.filesystem import FilesystemBlobStore

__all__ = ["BlobStore", "BlobWriter", "FilesystemBlobStore", "check_blob_url", "open_blob_store"]
