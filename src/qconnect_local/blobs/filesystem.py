"""Blobs as files under `<data dir>/blobs`, written to a temporary name and renamed into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


class _FileWriter:
    def __init__(self, final: Path) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=final.parent, prefix=".partial-")
        self._file = os.fdopen(fd, "wb")
        self._temp = Path(temp)
        self._final = final

    def write(self, data: bytes) -> int:
        return self._file.write(data)

    def commit(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._temp, self._final)

    def abort(self) -> None:
        self._file.close()
        self._temp.unlink(missing_ok=True)


class FilesystemBlobStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"blob key escapes the store: {key!r}")
        return path

    def writer(self, key: str) -> _FileWriter:
        return _FileWriter(self._path(key))

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def chunks(self, key: str, size: int = 64 * 1024) -> Iterator[bytes]:
        with self.open(key) as handle:
            while chunk := handle.read(size):
                yield chunk

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Nothing held open between calls."""
