"""Operation name -> handler. What is registered here is what `docs/coverage.md` calls implemented."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qconnect_local.service.context import Call
from qconnect_local.spec import operation_names

Handler = Callable[[Call, dict[str, Any]], dict[str, Any] | None]

handlers: dict[str, Handler] = {}


def operation(name: str) -> Callable[[Handler], Handler]:
    if name not in operation_names():
        raise ValueError(f"{name} is not an operation of the model")

    def register(func: Handler) -> Handler:
        if name in handlers:
            raise ValueError(f"{name} is registered twice")
        handlers[name] = func
        return func

    return register
