"""qconnect-local: an offline, wire-compatible Amazon Q in Connect."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "mock_qconnect"]


def __getattr__(name: str) -> Any:
    # Lazy, so `qconnect-local serve` does not pay for the mock's imports at start-up.
    if name == "mock_qconnect":
        from qconnect_local.testing.mock import mock_qconnect

        return mock_qconnect
    raise AttributeError(name)
