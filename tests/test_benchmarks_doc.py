"""docs/benchmarks.md's generated section matches docs/benchmarks.json (no benchmark runs here)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmarks_doc", ROOT / "scripts" / "benchmarks_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


doc_script = _generator()


def _figure(name: str, value: float | None, unit: str, baseline: float | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "baseline_name": None if baseline is None else f"floor of {name}",
        "baseline_value": baseline,
        "ratio": value / baseline if value is not None and baseline else None,
    }


def _results() -> dict[str, Any]:
    return {
        "generated_by": "make bench-all (bench/run_all.py)",
        "mode": "full",
        "started": "2026-12-01T23:00:00+00:00",
        "finished": "2026-12-01T23:20:00+00:00",
        "seconds": 1200.0,
        "machine": {"cpus": 2, "python": "3.11.7", "system": "Linux x86_64"},
        "load_average_start": [0.5, 0.4, 0.3],
        "load_average_end": [1.5, 1.0, 0.6],
        "planned": ["bench_x", "bench_y", "bench_z"],
        "runs": [
            {
                "script": "bench_x",
                "command": "python bench/bench_x.py",
                "started": "2026-12-01T23:00:00+00:00",
                "load_average_start": [0.5, 0.4, 0.3],
                "load_average_end": [1.0, 0.5, 0.3],
                "figures": [
                    _figure("things | stuff", 2473.2, "req/s", 14530.0),
                    _figure("errors", 0, "count", 0),
                    _figure("not measured", None, "ms"),
                ],
                "seconds": 60.0,
                "returncode": 0,
            },
            {
                "script": "bench_y",
                "command": "python bench/bench_y.py",
                "started": None,
                "load_average_start": None,
                "load_average_end": None,
                "figures": [],
                "seconds": 3.0,
                "returncode": 1,
            },
        ],
    }


def test_committed_section_matches_committed_json() -> None:
    results = json.loads(doc_script.JSON.read_text())
    assert doc_script.problems(results) == []
    doc = doc_script.DOC.read_text()
    assert doc_script.replace_section(doc, doc_script.render_section(results)) == doc, (
        "docs/benchmarks.md is stale: run `.venv/bin/python scripts/benchmarks_doc.py`"
    )


def test_section_replaced_between_markers_only() -> None:
    doc = f"# Benchmarks\n\nhand-written before\n\n{doc_script.BEGIN}\nold\n{doc_script.END}\n\nafter\n"
    new = doc_script.replace_section(doc, doc_script.render_section(_results()))
    assert new.startswith("# Benchmarks\n\nhand-written before\n\n" + doc_script.BEGIN)
    assert new.endswith(doc_script.END + "\n\nafter\n")
    assert "old" not in new
    assert doc_script.replace_section(new, doc_script.render_section(_results())) == new


def test_section_content() -> None:
    section = doc_script.render_section(_results())
    assert "| things \\| stuff | 2,473 req/s | floor of things \\| stuff | 14,530 req/s | 0.17x |" in section
    assert "| errors | 0 | floor of errors | 0 |  |" in section
    assert "| not measured | - |  |  |  |" in section
    assert "1 of 3 scripts ran; failed: bench_y; not run (the run was stopped): bench_z." in section
    assert "### bench_y" in section and "**failed** (exit status 1)" in section
    assert "0.50 0.40 0.30 at the start, 1.50 1.00 0.60 at the end" in section


def test_schema_problems_found() -> None:
    results = _results()
    del results["runs"][0]["figures"][0]["ratio"]
    results["runs"][1]["load_average_end"] = [1.0]
    found = doc_script.problems(results)
    assert any("does not have exactly" in problem for problem in found)
    assert any("load_average_end" in problem for problem in found)


def test_missing_markers_refused() -> None:
    with pytest.raises(ValueError, match="bench-all:begin"):
        doc_script.replace_section("# Benchmarks\n", doc_script.render_section(_results()))
