"""Blob storage (uploaded files, failed-record reports) behind one small interface."""

from qconnect_local.blobs.base import BlobStore, BlobWriter
from qconnect_local.blobs.filesystem import FilesystemBlobStore

__all__ = ["BlobStore", "BlobWriter", "FilesystemBlobStore"]
