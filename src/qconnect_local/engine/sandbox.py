"""Reading a document in a process of its own, bounded in time and memory.

A document is whatever a client uploaded or a site served, and the parsers are not built for
hostile input: Python's HTML parser is quadratic on some unterminated markup, a small DOCX can
unpack into gigabytes of XML. So extraction and chunking run in a child process with an
address-space limit (`RLIMIT_AS`), and a child that runs out of time is killed. The worker
thread that waits for it only waits; the server and other jobs go on.

Children are started with `spawn` (the server has threads, which `fork` would copy in
whatever state they were), kept between documents, and shared by every runtime in the process.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any, Final

from qconnect_local.engine.chunking import Passage, chunk
from qconnect_local.engine.extract import Extracted, ExtractionError, extract

log = logging.getLogger("qconnect_local.engine")

_CONTEXT: Final = multiprocessing.get_context("spawn")


def read_document(
    content_type: str, data: bytes, chunking: Mapping[str, Any] | None
) -> tuple[Extracted, list[Passage]]:
    """The document's text and its passages (in this process): what a child runs."""
    extracted = extract(content_type, data)
    try:
        cuts = chunk(extracted.text, chunking)
    except ValueError as error:  # a configuration the knowledge base should not have been given
        raise ExtractionError(f"The chunking configuration can't be followed: {error}") from None
    return extracted, cuts


def _serve(conn: Connection, memory_bytes: int) -> None:
    """A child's loop: read documents sent on `conn` until it closes."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", read_document(*task)))
        except ExtractionError as error:
            conn.send(("refused", str(error)))
        except MemoryError:
            conn.send(("refused", f"Reading the file needs more than {memory_bytes // 2**20} MiB of memory"))
        except RecursionError:
            conn.send(("refused", "The file is nested too deeply to read"))


class _Child:
    def __init__(self, memory_bytes: int) -> None:
        self.conn, child_end = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=_serve, args=(child_end, memory_bytes), daemon=True)
        self.process.start()
        child_end.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class Sandbox:
    """A few children that read documents; each reading waits at most `timeout` seconds."""

    def __init__(self, timeout: float, memory_bytes: int) -> None:
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self._idle: list[_Child] = []
        self._lock = threading.Lock()

    def read(
        self, content_type: str, data: bytes, chunking: Mapping[str, Any] | None
    ) -> tuple[Extracted, list[Passage]]:
        """As `read_document`, in a child; ExtractionError when the child refuses, runs out of
        memory or time, or dies."""
        child = self._checkout()
        try:
            child.conn.send((content_type, data, chunking))
            if not child.conn.poll(self.timeout):
                child.kill()
                raise ExtractionError(f"Reading the file took longer than {self.timeout:g} s")
            outcome, value = child.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            child.kill()
            raise ExtractionError("Reading the file stopped the reader (it ran out of memory?)") from None
        except BaseException:
            if child.process.is_alive():
                child.kill()
            raise
        with self._lock:
            self._idle.append(child)
        if outcome == "refused":
            raise ExtractionError(value)
        extracted, cuts = value
        return extracted, cuts

    def _checkout(self) -> _Child:
        with self._lock:
            while self._idle:
                child = self._idle.pop()
                if child.process.is_alive():
                    return child
                child.kill()
        return _Child(self.memory_bytes)

    def close(self) -> None:
        with self._lock:
            children, self._idle = self._idle, []
        for child in children:
            child.kill()


_sandboxes: dict[tuple[float, int], Sandbox] = {}
_sandboxes_lock = threading.Lock()


def sandbox(timeout: float, memory_bytes: int) -> Sandbox:
    """The process's sandbox for these limits (children are kept and shared by every runtime)."""
    key = (timeout, memory_bytes)
    with _sandboxes_lock:
        found = _sandboxes.get(key)
        if found is None:
            found = _sandboxes[key] = Sandbox(timeout, memory_bytes)
        return found
