"""What every blob backend offers: streamed writes that appear atomically, streamed reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Protocol


class BlobWriter(Protocol):
    """A write in progress: nothing is visible under the key until `commit()`."""

    def write(self, data: bytes) -> int: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class BlobStore(Protocol):
    def writer(self, key: str) -> BlobWriter: ...

    def open(self, key: str) -> BinaryIO:
        """Read a committed blob; FileNotFoundError when there is none."""
        ...

    def chunks(self, key: str, size: int = 64 * 1024) -> Iterator[bytes]: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the blob if present (deleting nothing is not an error)."""
        ...

    def delete_prefix(self, prefix: str) -> None:
        """Remove the blob `prefix` and every blob under `prefix/`, as a folder (others stay)."""
        ...

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every committed blob's key that starts with `prefix`, in code-point order, streamed
        (no write in progress): what an export copies."""
        ...

    def close(self) -> None:
        """Release connections or clients; the blobs themselves stay."""
        ...
