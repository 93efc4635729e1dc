"""A real `qconnect-local serve` in a subprocess on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qconnect_local.runtime import Runtime


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """Start, stop, SIGKILL and restart a server; `url` is its base URL."""

    def __init__(
        self,
        *args: str,
        data_dir: str | os.PathLike[str] | None = None,
        port: int | None = None,
        control_token: str | None = None,
    ) -> None:
        self.args = list(args)
        # What `control()` sends as `Authorization: Bearer …`: `control_token`, else the
        # --control-token given; a server started with --enforce-sigv4 and neither gets a random
        # one, so that its control plane stays usable from the test that started it.
        self.control_token = control_token or _flag_value(args, "--control-token")
        if self.control_token is None and "--enforce-sigv4" in args:
            # Hex, never token_urlsafe: a token starting with "-" would be taken for a flag.
            self.control_token = secrets.token_hex(24)
        if self.control_token is not None and _flag_value(args, "--control-token") is None:
            self.args += ["--control-token", self.control_token]
        self.data_dir = str(data_dir) if data_dir is not None else None
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        # Its stderr (the request log among it) goes to a file: never a full pipe that blocks it.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115

    def log_text(self) -> str:
        """Everything the server wrote to stderr so far (its request log, warnings, errors)."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "qconnect_local.cli", "serve", "--port", str(self.port), *self.args]
        if self.data_dir is not None:
            cmd += ["--data-dir", self.data_dir]
        return cmd

    def start(self, timeout: float = 20.0) -> ServerProcess:
        self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=self.log)
        self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"qconnect-local exited with {self.process.returncode}: {self.log_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_qconnect/health", timeout=1) as response:
                    health: dict[str, Any] = json.load(response)
                    return health
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def client(
        self, service: str = "qconnect", *, account: str = "123456789012", region: str = "us-east-1"
    ) -> Any:
        """A boto3 client on this server (no retries, so a test sees each answer as it is)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=account,
            aws_secret_access_key="secret",
            config=Config(retries={"total_max_attempts": 1}),
        )

    def control(self, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body or {}).encode()
        request = urllib.request.Request(f"{self.url}/_qconnect/{name}", data=data, method="POST")
        if self.control_token is not None:
            request.add_header("Authorization", f"Bearer {self.control_token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            result: dict[str, Any] = json.load(response)
            return result

    def stop(self) -> None:
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers run, as in a crash."""
        self._end(signal.SIGKILL)

    def _end(self, sig: signal.Signals) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class WorkerProcess:
    """A `qconnect-local worker` subprocess: start (until it says it is ready), stop, SIGKILL."""

    def __init__(self, *args: str) -> None:
        self.args = list(args)
        self.process: subprocess.Popen[bytes] | None = None
        # Its stderr goes to a file: never a full pipe that blocks it. Closed with the object.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115

    def log_text(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def start(self, timeout: float = 20.0) -> WorkerProcess:
        cmd = [sys.executable, "-m", "qconnect_local.cli", "worker", *self.args]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log)
        assert self.process.stdout is not None
        ready = selectors.DefaultSelector()
        ready.register(self.process.stdout, selectors.EVENT_READ)
        if not ready.select(timeout) or b"ready" not in self.process.stdout.readline():
            self.kill()
            raise RuntimeError(f"qconnect-local worker did not start within {timeout}s: {self.log_text()}")
        return self

    def stop(self) -> int | None:
        """SIGTERM and wait; the exit status (None if it was not running)."""
        return self._end(signal.SIGTERM)

    def kill(self) -> None:
        self._end(signal.SIGKILL)

    def _end(self, sig: signal.Signals) -> int | None:
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout:
            process.stdout.close()
        return process.returncode

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _flag_value(args: tuple[str, ...], flag: str) -> str | None:
    """The value given to `flag` in a command line (`--flag VALUE` or `--flag=VALUE`), if any."""
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1 :]
    return None


def data_dir_for(tmp: Path) -> str:
    path = tmp / "qconnect-data"
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


@contextlib.contextmanager
def app_in_thread(runtime: Runtime) -> Iterator[int]:
    """The ASGI app of `runtime` under uvicorn (with the server's limits) in a thread of this
    process, on a free port (yielded): for tests that need the real server and the runtime's
    insides at once. The runtime is closed on exit."""
    import uvicorn

    from qconnect_local.server.app import App
    from qconnect_local.server.limits import uvicorn_options

    config = uvicorn.Config(
        App(runtime), host="127.0.0.1", port=0, log_level="error", **uvicorn_options(runtime.settings)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(10)
        runtime.close()
