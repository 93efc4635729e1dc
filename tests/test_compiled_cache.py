"""CompiledCache: each key built once, recursion through trampolines, safe across threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from qconnect_local.protocol.compiled import CompiledCache

Depth = Callable[[object], int]


def nested_depth_cache(builds: list[str]) -> tuple[CompiledCache[Depth], Callable[[], Depth]]:
    """A recursive 'shape': a value is a list of values; the compiled closure returns its depth."""
    cache: CompiledCache[Depth] = CompiledCache()

    def compile_list() -> Depth:
        builds.append("list")
        time.sleep(0.05)  # a slow build widens any window another thread could slip through
        inner = cache.get("list", compile_list)  # the shape contains itself

        def depth(value: object) -> int:
            assert isinstance(value, list)
            return 1 + max((inner(item) for item in value), default=0)

        return depth

    return cache, lambda: cache.get("list", compile_list)


def test_a_recursive_shape_is_built_once_and_works_at_any_depth() -> None:
    builds: list[str] = []
    _cache, get = nested_depth_cache(builds)
    assert get()([[[]], []]) == 3
    assert get()([]) == 1
    assert builds == ["list"]


def test_threads_asking_at_once_all_get_the_finished_closure() -> None:
    builds: list[str] = []
    _cache, get = nested_depth_cache(builds)
    results: list[int] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            results.append(get()([[[[]]]]))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert results == [4] * 8
    assert builds == ["list"]
