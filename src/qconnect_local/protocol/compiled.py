"""The one cache for everything the protocol layer compiles from the model (per shape, per operation).

Validator, parser and serializer each turn a shape into a closure once and reuse it. A shape can
contain itself (filters nest `andAll` in `andAll`), so while a shape is being built, a request
for the same key from inside that build gets a trampoline that forwards to the finished closure.
Handlers run on several threads: building happens under a re-entrant lock, and the trampolines
of a build in progress live apart from the finished entries, so no other thread ever sees one
half-built.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar, cast

V = TypeVar("V")
_MISSING: Any = object()


class CompiledCache(Generic[V]):
    def __init__(self) -> None:
        self._done: dict[Hashable, V] = {}
        self._building: dict[Hashable, V] = {}
        self._lock = threading.RLock()

    def get(self, key: Hashable, build: Callable[[], V]) -> V:
        """The value for `key`, built by `build()` the first time (which may recurse into get())."""
        found = self._done.get(key, _MISSING)
        if found is not _MISSING:
            return cast(V, found)
        with self._lock:
            found = self._done.get(key, _MISSING)
            if found is _MISSING:
                found = self._building.get(key, _MISSING)
            if found is not _MISSING:
                return cast(V, found)
            slot: list[Any] = []
            self._building[key] = cast(V, lambda *args: slot[0](*args))
            try:
                built = build()
            finally:
                del self._building[key]
            slot.append(built)
            self._done[key] = built
            return built
