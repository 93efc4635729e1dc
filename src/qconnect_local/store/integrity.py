"""Start-up checks of an SQLite store file: refuse, in one line naming the file, one we cannot use.

A store that cannot be opened (permissions), is not an SQLite database, was truncated, or has
damaged pages must stop the start with `StoreUnusable` — never a traceback, and never a server
that reports healthy and then answers 500s. `check_sqlite_file` opens the file with the
`sqlite3` module before the engine ever does, and runs `PRAGMA quick_check(1)` on it.

quick_check reads every page of every table and index and checks their structure (cell
layout, page links, free lists), but not that each index agrees with its table (that is
`integrity_check`, 5 times slower). `(1)` stops at the first problem. A healthy store costs one
read of the file: measured on a store of 100,000 quick responses (95 MB), 75 ms with the file
in the OS cache and 0.38 s from disk; at 1,000,000 (940 MB) 1.2 s and 4.7 s. The check is
bounded by `CHECK_SECONDS`: a store too large to read in that time is checked that far, a
warning says so, and the start goes on.

Files are created 0600, and tightened to it when an earlier release left them readable to
others: the database holds the signing secret of every link and pagination token.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import time
from pathlib import Path

log = logging.getLogger("qconnect_local.store")

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
SIDE_FILES = ("-wal", "-shm", "-journal")  # SQLite's companions of a database file
# The most the start spends in quick_check: about 2 GB of store read from disk, 10 GB cached.
CHECK_SECONDS = 10.0


class StoreUnusable(Exception):
    """The store at `path` cannot be used; `str()` is one line naming the file and the problem."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = " ".join(problem.split())  # one line, whatever the driver said
        super().__init__(f"the store {self.path} cannot be used: {self.problem}")


def prepare_sqlite_file(path: Path) -> None:
    """Check an existing database file (StoreUnusable if unusable); create a missing one 0600.

    SQLite gives a database's -wal and -shm files the mode of the database file itself, so
    creating it 0600 (an empty file is an empty database) makes them 0600 too.
    """
    if os.path.lexists(path):
        check_sqlite_file(path)
        _tighten(path)
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:  # another process created it a moment ago: SQLite opens it as usual
        pass
    except OSError as error:
        raise StoreUnusable(path, f"it cannot be created: {_reason(error)}") from None


def make_private_folder(path: Path) -> None:
    """`path` as a folder, created 0700 if missing (StoreUnusable naming it when impossible)."""
    try:
        path.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    except FileExistsError:
        raise StoreUnusable(path, "it is a file, not a folder") from None
    except OSError as error:
        raise StoreUnusable(path, f"the folder cannot be created: {_reason(error)}") from None


def check_sqlite_file(path: Path) -> None:
    """Raise StoreUnusable unless `path` opens as an SQLite database that passes quick_check."""
    try:
        info = os.stat(path)
    except OSError as error:
        raise StoreUnusable(path, f"it cannot be read: {_reason(error)}") from None
    if stat.S_ISDIR(info.st_mode):
        raise StoreUnusable(path, "it is a folder, not a database file")
    if not os.access(path, os.R_OK | os.W_OK):
        raise StoreUnusable(
            path, f"permission denied: this user may not read and write it (mode {_mode(info.st_mode)})"
        )
    try:
        # mode=rw: never create a file here, and fail (rather than fall back) without write access.
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=30)
    except sqlite3.Error as error:
        raise StoreUnusable(path, describe_sqlite_error(error)) from None
    deadline = time.monotonic() + CHECK_SECONDS
    cut_short = False

    def out_of_time() -> bool:
        nonlocal cut_short
        cut_short = time.monotonic() > deadline
        return cut_short

    conn.set_progress_handler(out_of_time, 10_000)  # SQLite asks every 10,000 instructions
    try:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check(1)").fetchall()]
    except sqlite3.Error as error:
        if cut_short:
            log.warning(
                "%s: PRAGMA quick_check stopped after %g s (a large store); what it read is sound",
                path,
                CHECK_SECONDS,
            )
            return
        raise StoreUnusable(path, describe_sqlite_error(error)) from None
    finally:
        conn.close()
    if problems != ["ok"]:
        found = "; ".join(" ".join(str(problem).split()) for problem in problems)[:300]
        raise StoreUnusable(path, f"it is damaged (PRAGMA quick_check: {found}); {_RESTORE}")


_RESTORE = "restore it from a backup, or move it away to start with an empty store"


def describe_sqlite_error(error: BaseException) -> str:
    """What an `sqlite3` error means for the store file, in one short phrase."""
    name = str(getattr(error, "sqlite_errorname", "") or "")
    said = " ".join(str(error).split())
    if name == "SQLITE_NOTADB":
        return f"it is not an SQLite database ({said})"
    if name.startswith("SQLITE_CORRUPT"):
        return f"it is damaged ({said}); {_RESTORE}"
    if name.startswith("SQLITE_CANTOPEN"):
        return f"it cannot be opened ({said}): check the permissions of the file, its folder, its -wal/-shm"
    if name.startswith("SQLITE_READONLY"):
        return f"it is read-only ({said}): the store needs write access to the file and its folder"
    if name.startswith("SQLITE_IOERR"):
        return f"reading or writing it failed ({said}, {name})"
    if name == "SQLITE_FULL":
        return f"the disk is full ({said})"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return f"another process holds it locked ({said})"
    return said or type(error).__name__


def _tighten(path: Path) -> None:
    """Make a database file and its companions 0600 if an earlier release left them open to others."""
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in SIDE_FILES)):
        try:
            info = os.stat(candidate)
            if stat.S_ISREG(info.st_mode) and info.st_mode & 0o077:
                os.chmod(candidate, PRIVATE_FILE)
                log.info("%s was readable by other users; it is now %s", candidate, _mode(PRIVATE_FILE))
        except FileNotFoundError:
            continue
        except OSError as error:  # not ours to change (another owner): the store still opens
            log.warning("could not make %s private: %s", candidate, _reason(error))


def _mode(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"


def _reason(error: OSError) -> str:
    return error.strerror or str(error)
