"""`qconnect-local` on the command line: the banner, the port, exit statuses and clean shutdown."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from qconnect_local import __version__
from qconnect_local.cli import build_parser

CLI = [sys.executable, "-m", "qconnect_local.cli"]


def _wait_for_port(port_file: Path, process: subprocess.Popen[str], timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while not port_file.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no port file"
        time.sleep(0.02)
    text = port_file.read_text()
    assert text.endswith("\n")
    return int(text)


def _health(port: int, timeout: float = 20.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_qconnect/health", timeout=2) as answer:
                health: dict[str, object] = json.load(answer)
                return health
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _start(
    tmp_path: Path, *args: str, command: tuple[str, ...] = ("serve",)
) -> tuple[subprocess.Popen[str], int]:
    port_file = tmp_path / "port"
    process = subprocess.Popen(
        [*CLI, *command, "--port", "0", "--port-file", str(port_file), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    port = _wait_for_port(port_file, process)
    assert _health(port)["status"] == "ok"
    return process, port


def _stop(process: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, str, str]:
    process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err


def test_port_zero_writes_the_real_port_to_the_port_file_and_the_banner_names_it(tmp_path: Path) -> None:
    process, port = _start(tmp_path)
    assert port > 0
    status, out, err = _stop(process, signal.SIGTERM)
    assert status == 0, err
    banner = out.splitlines()[0]
    assert banner.startswith(f"qconnect-local {__version__} on http://127.0.0.1:{port} ")
    assert ":0 " not in banner


def test_a_busy_port_exits_2_with_one_line_on_stderr() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*CLI, "serve", "--port", str(port)], capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 2
    assert done.stderr == f"qconnect-local: cannot listen on 127.0.0.1:{port}: address already in use\n"
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ({"QCONNECT_LOCAL_MODEL_BACKEND": "openai"}, "--model-backend openai needs --model-endpoint"),
        ({"QCONNECT_LOCAL_MODEL_BACKEND": "gpt"}, "unknown model backend 'gpt'"),
    ],
)
def test_a_model_backend_that_cannot_run_exits_2_at_start(variables: dict[str, str], says: str) -> None:
    environment = {**os.environ, **variables}
    done = subprocess.run(
        [*CLI, "serve", "--port", "0"], capture_output=True, text=True, timeout=60, env=environment
    )
    assert done.returncode == 2
    assert says in done.stderr
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_an_in_memory_server_with_status_0_and_removes_its_folder(
    tmp_path: Path, sig: signal.Signals
) -> None:
    process, _ = _start(tmp_path, "--in-memory")
    status, out, err = _stop(process, sig)
    assert status == 0, err
    assert "Traceback" not in err
    store = re.search(r"\(store: sqlite:///(.+)/qconnect\.sqlite3\)", out)
    assert store is not None, out
    folder = Path(store.group(1))
    assert folder.name.startswith("qconnect-local-")
    assert not folder.exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_a_data_dir_server_with_status_0_leaving_no_wal_or_shm(
    tmp_path: Path, sig: signal.Signals
) -> None:
    data = tmp_path / "data"
    process, _ = _start(tmp_path, "--data-dir", str(data))
    assert (data / "qconnect.sqlite3-wal").exists()  # WAL mode, while it runs
    status, _, err = _stop(process, sig)
    assert status == 0, err
    assert (data / "qconnect.sqlite3").exists()
    assert not (data / "qconnect.sqlite3-wal").exists()
    assert not (data / "qconnect.sqlite3-shm").exists()


def test_version_prints_the_version() -> None:
    done = subprocess.run([*CLI, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.strip() == f"qconnect-local {__version__}"


def test_the_bare_command_serves_with_serves_defaults(tmp_path: Path) -> None:
    process, port = _start(tmp_path, command=())
    status, out, err = _stop(process, signal.SIGTERM)
    assert status == 0, err
    assert f"on http://127.0.0.1:{port} (store: sqlite:////" in out  # in memory, as serve


def test_serve_help_names_each_flags_default_and_variable() -> None:
    done = subprocess.run(
        [*CLI, "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "contents per knowledge base (default: 5000; QCONNECT_LOCAL_CONTENT_QUOTA)" in text
    assert "(default: 4567; QCONNECT_LOCAL_PORT)" in text
    assert "QCONNECT_LOCAL_LOG_REQUESTS" in text and "QCONNECT_LOCAL_LOG_FORMAT" in text


def test_every_serve_flag_help_ends_with_its_default() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    serve = commands.choices["serve"]
    helps = {a.dest: a.help or "" for a in serve._actions if a.dest != "help"}
    assert helps
    for dest, text in helps.items():
        assert re.search(r"\(default: [^()]+(; QCONNECT_LOCAL_[A-Z_]+)?\)$", text), (dest, text)


# What start-up imports is part of its time (docs/benchmarks.md, "start-up"): the libraries of
# PDF and DOCX extraction and PostgreSQL's driver are loaded when first needed, not by serving.
_STARTUP_PROBE = """
import sys
from qconnect_local.cli import build_parser
from qconnect_local.config import Settings
from qconnect_local.protocol.router import default_router
from qconnect_local.runtime import Runtime
from qconnect_local.server.app import App
from qconnect_local.server.limits import uvicorn_options
runtime = Runtime(Settings())
App(runtime); default_router(); uvicorn_options(runtime.settings)
print(sorted(name for name in ("pypdf", "docx", "psycopg") if name in sys.modules))
runtime.close()
"""


def test_a_sqlite_server_starts_without_loading_pdf_docx_or_postgresql_libraries() -> None:
    out = subprocess.run([sys.executable, "-c", _STARTUP_PROBE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
