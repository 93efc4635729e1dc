"""pytest fixtures, registered through the `pytest11` entry point when qconnect-local is installed.

- `qconnect_mock`: an active `mock_qconnect()`; `.runtime` is the in-process service.
- `qconnect_client`: a boto3 `qconnect` client answered by that mock.
- `qconnect_server`: a real `qconnect-local serve` subprocess on a free port (`.url`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from qconnect_local.testing.mock import mock_qconnect
from qconnect_local.testing.server import ServerProcess


@pytest.fixture
def qconnect_mock() -> Iterator[mock_qconnect]:
    with mock_qconnect() as mock:
        yield mock


@pytest.fixture
def qconnect_client(qconnect_mock: mock_qconnect) -> Any:
    import boto3

    return boto3.client("qconnect", region_name="us-east-1")


@pytest.fixture
def qconnect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("qconnect-server")
    with ServerProcess(data_dir=data_dir) as server:
        yield server
