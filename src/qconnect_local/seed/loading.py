"""Reading seed files: a file, or a folder's `*.yaml`/`*.yml`/`*.json` files in name order."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SUFFIXES = (".yaml", ".yml", ".json")
TOP_LEVEL = frozenset({"account", "region", "knowledgeBases", "assistants"})


class SeedError(Exception):
    """A seed that cannot be applied: one line naming the file and the entry; exit status 2."""


@dataclass(frozen=True)
class SeedFile:
    """One seed document; relative paths inside it (CSV and content files) are from `path`'s folder."""

    path: Path
    document: dict[str, Any]

    def error(self, where: str, message: str) -> SeedError:
        return SeedError(f"seed {self.path}: {where}: {message}")

    def resolve(self, relative: object, where: str) -> Path:
        """A file an entry names, relative to this seed file; SeedError when it is not there."""
        if not isinstance(relative, str) or not relative:
            raise self.error(where, "a file path (text) is required")
        found = (self.path.parent / relative).resolve()
        if not found.is_file():
            raise self.error(where, f"no file {relative!r} (looked for {found})")
        return found


def seed_paths(path: Path) -> list[Path]:
    """The files `--init PATH` names: PATH itself, or the seed files of folder PATH, sorted."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
    if path.is_file():
        return [path]
    raise SeedError(f"seed {path}: no such file or folder")


def load_seed(path: Path) -> list[SeedFile]:
    """Every seed file under `path`, parsed and checked at the top level, before any is applied."""
    return [_load(file) for file in seed_paths(path)]


def _load(path: Path) -> SeedFile:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SeedError(f"seed {path}: cannot be read: {error}") from None
    try:
        document = json.loads(raw) if path.suffix.lower() == ".json" else yaml.safe_load(raw)
    except json.JSONDecodeError as error:
        raise SeedError(f"seed {path}: invalid JSON at line {error.lineno}: {error.msg}") from None
    except yaml.YAMLError as error:
        raise SeedError(f"seed {path}: invalid YAML: {_yaml_problem(error)}") from None
    document = {} if document is None else document
    if not isinstance(document, dict):
        raise SeedError(f"seed {path}: the document must be a mapping (knowledgeBases, assistants, ...)")
    unknown = sorted(set(document) - TOP_LEVEL)
    if unknown:
        raise SeedError(
            f"seed {path}: unknown key {unknown[0]!r}; expected one of {', '.join(sorted(TOP_LEVEL))}"
        )
    return SeedFile(path, document)


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return f"{problem} at line {mark.line + 1}" if mark is not None else str(problem)
