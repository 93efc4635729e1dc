"""The Dockerfile, .dockerignore and compose.yaml, checked without a container engine (none runs here).

The Dockerfile is read as Docker reads it (continuation lines joined, comments dropped, one
instruction per line, ARG defaults substituted into FROM), compose.yaml with PyYAML. What is
checked is what a build or a `docker compose up` would trip over: files the image copies that
are missing or excluded by .dockerignore, a base that is not a slim Python, root as the user, a
command, subcommand, flag or variable the CLI does not have (asked of `qconnect-local --help`
itself), and a health check that does not answer; the health check's own command is run against
a real server.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from qconnect_local.config import ENV_PREFIX, Settings
from qconnect_local.testing.server import ServerProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "compose.yaml"
CLI = Path(sys.executable).parent / "qconnect-local"
HEALTH_PATH = "/_qconnect/health"


# --- reading the files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions: comments dropped, `\\` continuations joined."""
    found: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1].strip())
            continue
        pending.append(line)
        keyword, _, args = " ".join(part for part in pending if part).partition(" ")
        found.append(Instruction(keyword.upper(), args.strip(), start))
        pending = []
    assert not pending, "the Dockerfile ends inside a continued line"
    return found


def exec_form(instruction: Instruction) -> list[str]:
    """A CMD / ENTRYPOINT / HEALTHCHECK CMD in exec (JSON) form; fails on the shell form."""
    args = instruction.args
    if instruction.keyword == "HEALTHCHECK":
        args = args[args.index("CMD ") + len("CMD ") :]
    parsed = json.loads(args)
    assert isinstance(parsed, list) and all(isinstance(item, str) for item in parsed), instruction
    return parsed


def stages(found: list[Instruction]) -> list[list[Instruction]]:
    """The build stages, each from its FROM on."""
    result: list[list[Instruction]] = []
    for instruction in found:
        if instruction.keyword == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def from_image(instruction: Instruction, found: list[Instruction]) -> tuple[str, str | None]:
    """A FROM's image, its ARG defaults substituted, and the stage's name."""
    defaults = {}
    for arg in (i for i in found if i.keyword == "ARG" and i.line < instruction.line):
        name, _, value = arg.args.partition("=")
        defaults[name] = value
    words = instruction.args.split()
    image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: defaults[m.group(1) or m.group(2)], words[0])
    name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
    return image, name


def dockerignore_patterns() -> list[str]:
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves `path` out of the build context: the last pattern matching the path
    or a folder above it decides (`!` brings it back); `*` stays within one path segment."""
    parts = path.split("/")
    result = False
    for raw in patterns:
        negated = raw.startswith("!")
        pattern = raw.removeprefix("!").strip("/").split("/")
        if any(_segments_match(pattern, parts[:depth]) for depth in range(1, len(parts) + 1)):
            result = not negated
    return result


def _segments_match(pattern: list[str], parts: list[str]) -> bool:
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_segments_match(pattern[1:], parts[i:]) for i in range(len(parts) + 1))
    return (
        bool(parts) and fnmatch.fnmatchcase(parts[0], pattern[0]) and _segments_match(pattern[1:], parts[1:])
    )


def dockerfile() -> list[Instruction]:
    return instructions(DOCKERFILE.read_text())


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


# --- what the CLI offers, from its own --help ---------------------------------------------------------


@functools.cache
def cli_help(*command: str) -> str:
    done = subprocess.run([str(CLI), *command, "--help"], capture_output=True, text=True, check=True)
    return done.stdout


@functools.cache
def subcommands() -> set[str]:
    found = re.search(r"\{([\w,-]+)\}", cli_help())
    assert found is not None, cli_help()
    return set(found.group(1).split(","))


def flags_of(command: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", cli_help(command)))


def variables_the_cli_reads() -> set[str]:
    """Every setting's variable, and those the help texts name (host and port have no setting)."""
    named = set(re.findall(ENV_PREFIX + r"[A-Z0-9_]+", cli_help("serve") + cli_help("worker")))
    return named | {ENV_PREFIX + f.name.upper() for f in fields(Settings)}


def check_command(argv: list[str]) -> list[str]:
    """What is wrong with a `qconnect-local ...` argument list (empty: nothing)."""
    if not argv or argv[0] not in subcommands():
        return [f"{argv!r}: not a qconnect-local command ({', '.join(sorted(subcommands()))})"]
    known = flags_of(argv[0])
    unknown = [arg.split("=", 1)[0] for arg in argv[1:] if arg.startswith("--")]
    return [f"{argv!r}: {flag} is not a flag of `{argv[0]}`" for flag in unknown if flag not in known]


# --- the Dockerfile -----------------------------------------------------------------------------------


def test_the_image_is_built_in_stages_on_a_slim_python_the_package_supports() -> None:
    found = dockerfile()
    built = stages(found)
    assert len(built) >= 2
    names = set()
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    least = tuple(int(part) for part in requires.removeprefix(">=").split("."))
    for stage in built:
        image, name = from_image(stage[0], found)
        version = re.fullmatch(r"python:(\d+)\.(\d+)(?:\.\d+)?-slim(?:-\w+)?", image)
        assert version is not None, f"Dockerfile:{stage[0].line}: {image} is not a slim Python"
        assert (int(version.group(1)), int(version.group(2))) >= least, image
        for copy in (i for i in stage if i.keyword == "COPY" and "--from=" in i.args):
            source = re.search(r"--from=(\S+)", copy.args)
            assert source is not None and source.group(1) in names, f"Dockerfile:{copy.line}"
        names.add(name)
    # The image holds the runtime dependencies only: no `.[test]` extra is installed.
    assert all("[test]" not in i.args for i in found if i.keyword == "RUN")
    assert any(re.search(r"pip install \.(\s|$)", i.args) for i in found if i.keyword == "RUN")


def test_the_files_the_image_copies_exist_and_are_in_the_build_context() -> None:
    patterns = dockerignore_patterns()
    copied: list[str] = []
    for copy in (i for i in dockerfile() if i.keyword == "COPY" and "--from=" not in i.args):
        *sources, _destination = shlex.split(copy.args)
        copied += sources
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert {"pyproject.toml", project["readme"], "src"} <= set(copied)
    for source in copied:
        path = ROOT / source
        assert path.exists(), f"COPY {source}: no such file"
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            artefact = "__pycache__" in relative or ".egg-info" in relative or relative.endswith(".pyc")
            assert ignored(relative, patterns) == artefact, f"{relative}: .dockerignore"
    # What the image does not need stays out of the context: the venv, git, tests, local state.
    for path in (".venv/bin/python", ".git/HEAD", "tests/test_cli.py", ".qconnect-data/qconnect.sqlite3"):
        assert ignored(path, patterns), path


def test_the_server_runs_as_a_user_created_without_privileges() -> None:
    final = stages(dockerfile())[-1]
    users = [i.args for i in final if i.keyword == "USER"]
    assert users, "the final stage sets no USER: the server would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    created = " ".join(i.args for i in final if i.keyword == "RUN" and "useradd" in i.args)
    assert re.search(rf"--uid {user}\b", created) or re.search(rf"\b{user}\b", created), created


def test_the_command_is_the_cli_in_exec_form_as_pid_1() -> None:
    final = stages(dockerfile())[-1]
    entrypoint = [exec_form(i) for i in final if i.keyword == "ENTRYPOINT"][-1]
    cmd = [exec_form(i) for i in final if i.keyword == "CMD"][-1]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint == ["qconnect-local"] and "qconnect-local" in scripts
    assert check_command(cmd) == []
    assert [i.args for i in final if i.keyword == "STOPSIGNAL"] in ([], ["SIGTERM"])
    # The variables the image sets are the CLI's, and the port it listens on is the one exposed.
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(i.args for i in final if i.keyword == "ENV")))
    settings = {name for name in env if name.startswith(ENV_PREFIX)}
    assert settings <= variables_the_cli_reads()
    assert env[ENV_PREFIX + "HOST"] == "0.0.0.0"
    assert [i.args for i in final if i.keyword == "EXPOSE"] == [env[ENV_PREFIX + "PORT"]]


def test_the_health_check_passes_on_a_healthy_server_and_fails_without_one() -> None:
    final = stages(dockerfile())[-1]
    checks = [i for i in final if i.keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    command = exec_form(checks[0])
    assert HEALTH_PATH in " ".join(command)
    assert command[0] == "python"  # the venv's, first on the image's PATH
    local = [sys.executable, *command[1:]]
    with ServerProcess() as server:
        env = {**os.environ, ENV_PREFIX + "PORT": str(server.port)}
        assert subprocess.run(local, env=env, capture_output=True, timeout=10).returncode == 0
    env = {**os.environ, ENV_PREFIX + "PORT": str(free_port())}
    assert subprocess.run(local, env=env, capture_output=True, timeout=10).returncode != 0


# --- compose.yaml --------------------------------------------------------------------------------------


def qconnect_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items() if "build" in s}


def test_compose_runs_postgresql_two_api_replicas_and_a_worker() -> None:
    services = compose()["services"]
    databases = [name for name, s in services.items() if str(s.get("image", "")).startswith("postgres:")]
    assert len(databases) == 1
    ours = qconnect_services()
    replicas = [name for name, s in ours.items() if s["command"][0] == "serve"]
    workers = [name for name, s in ours.items() if s["command"][0] == "worker"]
    assert len(replicas) == 2 and len(workers) >= 1
    # API replicas run no jobs of their own: the workers do (docs/deploy.md).
    assert all("--no-worker" in ours[name]["command"] for name in replicas)
    # A worker serves no HTTP: the image's health check is turned off for it.
    assert all(ours[name]["healthcheck"] == {"disable": True} for name in workers)
    published = [port for name in replicas for port in ours[name]["ports"]]
    assert len({port.rsplit(":", 2)[-2] for port in published}) == 2  # two host ports
    assert {port.rsplit(":", 1)[-1] for port in published} == {"4567"}


def test_compose_services_use_commands_flags_and_variables_the_cli_has() -> None:
    for name, service in qconnect_services().items():
        assert (ROOT / service["build"] / "Dockerfile").is_file(), name
        assert check_command(service["command"]) == [], name
        variables = set(service.get("environment", {}))
        assert variables <= variables_the_cli_reads(), f"{name}: {variables - variables_the_cli_reads()}"


def test_compose_services_reach_the_database_it_defines() -> None:
    services = compose()["services"]
    for name, service in qconnect_services().items():
        url = service["environment"][ENV_PREFIX + "DATABASE_URL"]
        found = re.fullmatch(r"postgresql://(\w+):(\w+)@([\w-]+):5432/(\w+)", url)
        assert found is not None, url
        user, password, host, database = found.groups()
        db = services[host]
        assert db["environment"] == {
            "POSTGRES_USER": user,
            "POSTGRES_PASSWORD": password,
            "POSTGRES_DB": database,
        }
        # Started once the database answers, which its health check tells.
        assert service["depends_on"] == {host: {"condition": "service_healthy"}}, name
        assert "pg_isready" in db["healthcheck"]["test"]
