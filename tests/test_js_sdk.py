"""The AWS SDK for JavaScript v3 against a real server: tests/js/flow.test.mjs, run by `node --test`.

That client is generated from the Smithy model by another code generator, so it checks our wire
format independently of botocore. Without `node` the suite is skipped locally, and fails in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from qconnect_local.testing.server import ServerProcess

JS_DIR = Path(__file__).parent / "js"


def tool(name: str) -> str:
    """The path of `name`, or skip (fail in CI, where the JavaScript suite must run)."""
    path = shutil.which(name)
    if path is None:
        message = f"`{name}` is not installed: the JavaScript SDK suite needs Node.js 20+ and npm"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(command: list[str], timeout: float, env: dict[str, str] | None = None) -> None:
    """Run `command` in tests/js; fail with its whole output unless it exits 0."""
    try:
        result = subprocess.run(
            command,
            cwd=JS_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.output.decode(errors="replace") if isinstance(exc.output, bytes) else exc.output
        pytest.fail(f"{' '.join(command)} took more than {timeout} s:\n{output or ''}")
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}"


def test_the_javascript_sdk_drives_the_import_flow(live_server: ServerProcess) -> None:
    node, npm = tool("node"), tool("npm")
    if not (JS_DIR / "node_modules" / "@aws-sdk" / "client-qconnect").is_dir():
        run([npm, "ci", "--no-audit", "--no-fund"], timeout=300)
    live_server.control("reset")
    env = {**os.environ, "QCONNECT_ENDPOINT": live_server.url, "NODE_NO_WARNINGS": "1"}
    run([node, "--test", "--test-timeout=60000", str(JS_DIR)], timeout=120, env=env)
