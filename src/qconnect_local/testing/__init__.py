"""In-process use: `mock_qconnect()` and the pytest plugin's fixtures."""

from qconnect_local.testing.mock import mock_qconnect

__all__ = ["mock_qconnect"]
