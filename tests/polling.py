"""Waiting as a client does: poll until the service says what the test waits for."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(get: Callable[[], T], done: Callable[[T], bool], *, timeout: float = 30.0, what: str = "it") -> T:
    """Call `get` every 50 ms until `done` holds for its answer; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        answer = get()
        if done(answer):
            return answer
        assert time.monotonic() < deadline, f"{what} still not done after {timeout}s: {answer!r:.300}"
        time.sleep(0.05)
