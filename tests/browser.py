"""A real headless Chromium for the console's tests (Debian's `chromium`, driven by Playwright
with `executable_path`: Playwright downloads no browser).

Without a browser the tests skip; under CI (`CI` set) that fails instead, since `.ci/run`
installs one. Every test's last screen is kept as a PNG under `test-artefacts/screenshots/`,
and any script error or Content-Security-Policy violation on a page fails the test.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Target
from qconnect_local.testing.server import ServerProcess

CHROMIUM = os.environ.get("QCONNECT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTEFACTS = Path(os.environ.get("QCONNECT_ARTEFACTS", Path(__file__).parent.parent / "test-artefacts"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"no Chromium at {CHROMIUM}: .ci/run installs Debian's chromium")
        pytest.skip("no Chromium installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


class Console:
    """A browser tab on one server's console, in an account of the test's own."""

    def __init__(self, server: ServerProcess, page: Any, account: str) -> None:
        self.server = server
        self.page = page
        self.account = account
        self.region = "us-east-1"
        self.problems: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on(
            "console",
            lambda message: (
                self.problems.append(f"console {message.type}: {message.text}")
                if message.type == "error"
                else None
            ),
        )

    def client(self, service: str = "qconnect") -> Any:
        """A boto3 client of the same account and region the console shows."""
        return self.server.client(service, account=self.account, region=self.region)

    def target(self) -> Target:
        """The server as the test helpers' `Target` (documents.py, importing.py follow links with it)."""
        return Target("server", self.server.url, None)

    def url(self, path: str = "") -> str:
        return f"{self.server.url}/_qconnect/console/{self.account}/{self.region}/{path.lstrip('/')}"

    def open(self, path: str = "") -> Any:
        response = self.page.goto(self.url(path))
        assert response is not None and response.status == 200, response and response.status
        return self.page


@pytest.fixture
def console(browser: Any, live_server: ServerProcess, request: pytest.FixtureRequest) -> Iterator[Console]:
    """A fresh browser context and an account no other test uses, on the session's server."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.on("dialog", lambda dialog: dialog.accept())  # the console's confirmations
    tab = Console(
        live_server, context.new_page(), "9" + "".join(secrets.choice("0123456789") for _ in range(11))
    )
    try:
        yield tab
        assert not tab.problems, tab.problems
    finally:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::")[-1])
        shots = ARTEFACTS / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        try:
            tab.page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        finally:
            context.close()
