"""Every shell and Python block of the README runs as written, top to bottom, against a fresh server.

- **Blocks** are the README's fenced code blocks, in order, found anew on every run (a section
  added later is tested with no change here). ```` ```sh ````, ```` ```bash ```` and
  ```` ```shell ```` blocks run in bash, ```` ```python ```` blocks in Python; the languages in
  `SHOWN` (text, json, yaml, ...) are displayed, not run. A fence without a language, or with
  one in neither list, fails `test_every_block_is_run_or_skipped_with_a_reason`, so no block is
  left out by accident.
- **Opting out**: a block that cannot run in a test (`make serve`, `make test`, `docker ...`,
  `pip install` from a git URL) carries `<!-- readme-test: skip (reason) -->`, on a line of its
  own right before its fence, visible in the README's source. The reason is required, and a
  marker that precedes no block is an error.
- **Where**: one fresh temporary folder is HOME and the working directory (the README's "clone
  root"); it holds a copy of the clone's `docs/`, which the examples read
  (`docs/samples/quick-responses.csv`). The environment is minimal: PATH is this venv's `bin`
  (`aws`, `python`, `pytest`, `qconnect-local`) then `/usr/bin:/bin`, plus HOME and LANG; no AWS
  variable, no `~/.aws`: whatever a block needs it must set itself, as in a fresh shell.
- **Shell blocks** run one by one under `bash -e`; the variables exported and the directory at
  the end of one are carried into the next, as in one interactive shell.
- **Python blocks** run in one interpreter (this venv's python) that keeps its names from block
  to block, as one REPL session; it starts at the first Python block, with the environment the
  shell had exported by then.
- **The server** is a fresh `qconnect-local serve` (`ServerProcess`, in-memory state) on a free
  port; every `127.0.0.1:4567` and `localhost:4567` in a run block is rewritten to that port,
  so that a `make serve` on the machine or another test never collides with it.
"""

from __future__ import annotations

import json
import re
import selectors
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from qconnect_local.testing.server import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_ADDRESSES = ("127.0.0.1:4567", "localhost:4567")
SHELL = frozenset({"sh", "bash", "shell"})
PYTHON = frozenset({"python"})
SHOWN = frozenset({"text", "json", "yaml", "csv", "toml", "ini", "dockerfile", "http", "xml"})
BLOCK_TIMEOUT = 120.0  # seconds one block may take before the test fails rather than hangs

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<lang>[^`\s]*)\s*$")
MARKER = re.compile(r"<!--\s*readme-test:(?P<body>.*?)-->")
SKIP = re.compile(r"^skip\s*\((?P<reason>.*)\)$")


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, text and first line of code (1-based) in the README."""

    lang: str
    code: str
    line: int
    skip_reason: str | None = None


def parse(text: str) -> tuple[list[Block], list[str]]:
    """The fenced blocks of a Markdown text, and the problems found with their markers."""
    lines = text.splitlines()
    blocks: list[Block] = []
    problems: list[str] = []
    pending: tuple[int, str] | None = None  # a marker waiting for its block: (line, body)
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = FENCE.match(line)
        if fence is None:
            marker = MARKER.fullmatch(line.strip())  # a line of its own (prose may quote one)
            if pending is not None and line.strip():
                problems.append(f"README.md:{pending[0]}: readme-test marker not right before a block")
                pending = None
            if marker is not None:
                pending = (index + 1, marker.group("body").strip())
            index += 1
            continue
        indent, closing = fence.group("indent"), fence.group("fence")
        end = index + 1
        while end < len(lines) and lines[end].strip() != closing:
            end += 1
        body = lines[index + 1 : end]
        code = "\n".join(row[len(indent) :] if row.startswith(indent) else row for row in body)
        reason = None
        if pending is not None:
            skip = SKIP.match(pending[1])
            reason = skip.group("reason").strip() if skip else ""
            if not reason:
                problems.append(
                    f"README.md:{pending[0]}: write the marker as <!-- readme-test: skip (reason) -->"
                    f" with a reason, not {pending[1]!r}"
                )
            pending = None
        blocks.append(Block(fence.group("lang").lower(), code + "\n", index + 2, reason))
        index = end + 1
    if pending is not None:
        problems.append(f"README.md:{pending[0]}: readme-test marker not right before a block")
    return blocks, problems


def readme_blocks() -> list[Block]:
    blocks, _ = parse(README.read_text())
    return blocks


# --- the structure of the README -------------------------------------------------------------------


def test_every_block_is_run_or_skipped_with_a_reason() -> None:
    blocks, problems = parse(README.read_text())
    for block in blocks:
        if block.lang not in SHELL | PYTHON | SHOWN:
            problems.append(
                f"README.md:{block.line}: block language {block.lang or '(none)'!r} is neither run "
                f"({', '.join(sorted(SHELL | PYTHON))}) nor shown ({', '.join(sorted(SHOWN))})"
            )
    assert problems == []
    run = [block for block in blocks if block.lang in SHELL | PYTHON and block.skip_reason is None]
    assert {block.lang for block in run} >= {"sh", "python"}, "the README test would run nothing"


def test_a_marker_without_a_reason_or_a_block_is_reported() -> None:
    text = (
        "<!-- readme-test: skip () -->\n```sh\nmake serve\n```\n\n"
        "<!-- readme-test: skip -->\n```sh\nmake test\n```\n\n"
        "<!-- readme-test: skip (fine) -->\n```sh\ndocker ps\n```\n\n"
        "<!-- readme-test: skip (nothing follows) -->\nsome prose\n"
    )
    blocks, problems = parse(text)
    assert [(b.line, b.skip_reason) for b in blocks] == [(3, ""), (8, ""), (13, "fine")]
    assert [problem.split(":")[1] for problem in problems] == ["1", "6", "16"]


def test_the_import_example_reads_a_file_that_exists() -> None:
    sample = "docs/samples/quick-responses.csv"
    assert any(sample in block.code for block in readme_blocks() if block.skip_reason is None)
    assert (ROOT / sample).is_file()


# --- running it ------------------------------------------------------------------------------------


class Shell:
    """Runs shell blocks as one interactive shell would: exports and `cd` carry over."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.state = home.parent / "shell-state"
        self.state.mkdir()
        self.env = dict(env)

    def exported(self) -> dict[str, str]:
        """The environment the shell has exported so far."""
        dump = self.state / "env"
        if not dump.exists():
            return dict(self.env)
        pairs = (item.split("=", 1) for item in dump.read_bytes().decode().split("\0") if "=" in item)
        return dict(pairs)

    def run(self, block: Block, code: str) -> str:
        state = self.state
        carried = (
            f'[ -f {state}/exports ] && source {state}/exports\ncd "$(cat {state}/cwd 2>/dev/null || pwd)"\n'
        )
        save = f"trap 'export -p > {state}/exports; env -0 > {state}/env; pwd > {state}/cwd' EXIT\n"
        script = state / f"block-{block.line}.sh"
        script.write_text(carried + save + code)
        done = subprocess.run(
            ["bash", "-e", str(script)],
            cwd=self.home,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=BLOCK_TIMEOUT,
            check=False,
        )
        output = done.stdout.decode(errors="replace")
        assert done.returncode == 0, f"README.md:{block.line}: exit status {done.returncode}\n{output}"
        return output


DRIVER = """
import contextlib, io, json, os, sys, traceback
protocol = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)  # output of subprocesses goes to stderr, never into the protocol
namespace = {"__name__": "__main__"}
for request in sys.stdin:
    block = json.loads(request)
    printed, ok = io.StringIO(), True
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        try:
            code = "\\n" * (block["line"] - 1) + block["code"]
            exec(compile(code, "README.md", "exec"), namespace)
        except BaseException:
            ok = False
            traceback.print_exc()
    protocol.write(json.dumps({"ok": ok, "printed": printed.getvalue()}) + "\\n")
    protocol.flush()
"""


class Interpreter:
    """One Python process that runs the Python blocks one after the other in one namespace."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", DRIVER],
            cwd=home,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def run(self, block: Block, code: str) -> str:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps({"line": block.line, "code": code}) + "\n")
        stdin.flush()
        answer = _read_line(stdout, BLOCK_TIMEOUT)
        assert answer, f"README.md:{block.line}: the interpreter died or took over {BLOCK_TIMEOUT} s"
        result: dict[str, Any] = json.loads(answer)
        assert result["ok"], f"README.md:{block.line}: raised\n{result['printed']}"
        return str(result["printed"])

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


def _read_line(stream: IO[str], timeout: float) -> str:
    with selectors.DefaultSelector() as ready:
        ready.register(stream, selectors.EVENT_READ)
        return stream.readline() if ready.select(timeout) else ""


@pytest.fixture
def fresh_home(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """An empty HOME and working directory with the clone's docs/, and a minimal environment."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copytree(ROOT / "docs", home / "docs")
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }
    yield home, env


def test_the_readme_runs_top_to_bottom(fresh_home: tuple[Path, dict[str, str]]) -> None:
    home, env = fresh_home
    blocks = [b for b in readme_blocks() if b.lang in SHELL | PYTHON and b.skip_reason is None]
    shell = Shell(home, env)
    python: Interpreter | None = None
    printed: list[str] = []
    with ServerProcess() as server:
        try:
            for block in blocks:
                code = block.code
                for address in README_ADDRESSES:
                    code = code.replace(address, f"127.0.0.1:{server.port}")
                if block.lang in SHELL:
                    printed.append(shell.run(block, code))
                else:
                    if python is None:
                        python = Interpreter(home, shell.exported())
                    printed.append(python.run(block, code))
        except AssertionError as failure:
            log = server.log_text()[-3000:]
            raise AssertionError(f"{failure}\n--- server log (tail) ---\n{log}") from None
        finally:
            if python is not None:
                python.close()
    # What the README's comments say the user sees.
    output = "\n".join(printed)
    promised = ("ACTIVE", "COMPLETE None", "Refund policy refund", '"from-the-cli"', "2 passed")
    for seen in (*promised, "<p>Hi &lt;Bob&gt;, I am Ann.</p>", "['manual']", "Let's keep it friendly."):
        assert seen in output, f"{seen!r} not printed by the README's examples:\n{output}"
