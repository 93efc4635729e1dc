"""The web console at /_qconnect/console: server-rendered pages over the API's own operations.

`framework` holds the machinery (URLs, routing, rendering, guards); each `*_pages` module
registers the pages of one area with `@page`. Importing this package registers them all.
"""

from qconnect_local.server.console import (  # noqa: F401  (each module registers its pages)
    ai_pages,
    assistant_pages,
    control_pages,
    kb_pages,
    overview_pages,
    template_pages,
)
from qconnect_local.server.console.framework import CONSOLE_PREFIX, dispatch

__all__ = ["CONSOLE_PREFIX", "dispatch"]
