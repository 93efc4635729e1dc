"""Shared fixtures: every behaviour test runs in-process (mock_qconnect) on SQLite, in-process on
PostgreSQL, and against a real server.

The PostgreSQL target uses one fresh database for the session (see
`qconnect_local.testing.postgres`); without a reachable server it is skipped, except in CI
(`CI` set), where that fails.

Every handler output is checked against the model's output shape (`strict_outputs`): a
misspelled member or a wrong type answers 500 instead of disappearing silently.

`qc` is a boto3 `qconnect` client; `make_client` builds more (other accounts, regions, the
`wisdom` client, client-side validation off so the server's validation is what answers).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from qconnect_local.config import Settings
from qconnect_local.testing import postgres
from qconnect_local.testing.mock import mock_qconnect
from qconnect_local.testing.server import ServerProcess

ClientFactory = Callable[..., Any]
pytest_plugins = ["browser"]  # the console's browser fixtures (tests/browser.py)


def pytest_configure(config: pytest.Config) -> None:
    # Every runtime of the suite checks its outputs (servers it starts inherit the variable).
    os.environ["QCONNECT_LOCAL_STRICT_OUTPUTS"] = "true"


DEFAULT_REGION = "us-east-1"


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real `qconnect-local serve` for the session; state is reset before each test that uses it."""
    data_dir = tmp_path_factory.mktemp("live-server")
    with ServerProcess(data_dir=data_dir) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    """The URL of this session's PostgreSQL database, or None (with the reason kept) if unreachable."""
    reason = postgres.unreachable_reason()
    if reason is not None:
        _unreachable.append(reason)
        yield None
        return
    with postgres.temporary_database() as url:
        yield url


_unreachable: list[str] = []


class Target:
    """Where a test's clients point: the in-process mock or the live server."""

    def __init__(self, kind: str, endpoint_url: str | None, mock: mock_qconnect | None) -> None:
        self.kind = kind
        self.endpoint_url = endpoint_url
        self.mock = mock

    def client(
        self,
        service: str = "qconnect",
        *,
        account: str | None = None,
        region: str = DEFAULT_REGION,
        validate: bool = True,
    ) -> Any:
        key = account or "AKIAIOSFODNN7EXAMPLE"
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=key,
            aws_secret_access_key="secret",
            config=Config(parameter_validation=validate, retries={"max_attempts": 1}),
        )

    def http(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, data: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        """Follow a link the service handed out (signed PUT/GET): in-process or over a socket."""
        if self.mock is not None:
            response = self.mock.request(method, url, headers=headers, data=data)
            return response.status, {k.lower(): v for k, v in response.headers}, response.body
        request = urllib.request.Request(url, data=data if method in ("PUT", "POST") else None, method=method)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read()
        except urllib.error.HTTPError as error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()

    def control(self, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST to the control plane (/_qconnect/<name>) of whichever target this is."""
        if self.mock is not None:
            response = self.mock.request(
                "POST", f"http://local/_qconnect/{name}", data=json.dumps(body or {}).encode()
            )
            result: dict[str, Any] = json.loads(response.body)
            return result
        status, _headers, payload = self.http(
            "POST", f"{self.endpoint_url}/_qconnect/{name}", data=json.dumps(body or {}).encode()
        )
        assert status == 200, payload
        result = json.loads(payload)
        return result


@pytest.fixture(params=["in-process", "in-process-postgres", "server"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if request.param == "in-process":
        with mock_qconnect() as mock:
            yield Target("in-process", None, mock)
    elif request.param == "in-process-postgres":
        url: str | None = request.getfixturevalue("postgres_database")
        if url is None:
            postgres.skip_or_fail(_unreachable[0])
        with mock_qconnect(Settings(database_url=url)) as mock:
            mock.runtime.reset()
            yield Target("in-process-postgres", None, mock)
    else:
        server: ServerProcess = request.getfixturevalue("live_server")
        server.control("reset")
        yield Target("server", server.url, None)


@pytest.fixture
def make_client(target: Target) -> ClientFactory:
    return target.client


@pytest.fixture
def qc(target: Target) -> Any:
    return target.client()


@pytest.fixture
def qc_unvalidated(target: Target) -> Any:
    """A client that sends whatever it is given: the server's validation must answer."""
    return target.client(validate=False)
