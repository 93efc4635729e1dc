"""`serve --init PATH`: seed files applied through the API before health is ready, idempotently."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qconnect_local.testing.server import ServerProcess

SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "samples" / "seed.yaml"


def _seed_lines(server: ServerProcess) -> list[str]:
    return [line for line in server.log_text().splitlines() if line.startswith("qconnect-local: seed ")]


def _by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


def _state(qc: Any) -> dict[str, Any]:
    kbs = _by_name(qc.list_knowledge_bases()["knowledgeBaseSummaries"])
    answers = kbs["support-answers"]["knowledgeBaseId"]
    articles = kbs["support-articles"]["knowledgeBaseId"]
    assistant = _by_name(qc.list_assistants()["assistantSummaries"])["support-assistant"]
    return {
        "kbs": sorted(kbs),
        "quick responses": sorted(
            qr["name"] for qr in qc.list_quick_responses(knowledgeBaseId=answers)["quickResponseSummaries"]
        ),
        "jobs": [j["status"] for j in qc.list_import_jobs(knowledgeBaseId=answers)["importJobSummaries"]],
        "contents": {
            c["name"]: c["status"] for c in qc.list_contents(knowledgeBaseId=articles)["contentSummaries"]
        },
        "associations": [
            a["associationData"]["knowledgeBaseAssociation"]["knowledgeBaseId"]
            for a in qc.list_assistant_associations(assistantId=assistant["assistantId"])[
                "assistantAssociationSummaries"
            ]
        ],
        "articles": articles,
        "templates": [
            (t["name"], t.get("activeVersionNumber"))
            for t in qc.list_message_templates(knowledgeBaseId=kbs["support-templates"]["knowledgeBaseId"])[
                "messageTemplateSummaries"
            ]
        ],
        "tags": qc.list_tags_for_resource(resourceArn=kbs["support-answers"]["knowledgeBaseArn"])["tags"],
    }


def test_the_sample_seed_is_applied_before_health_and_again_changes_nothing(tmp_path: Path) -> None:
    server = ServerProcess("--init", str(SAMPLE), data_dir=tmp_path / "data")
    with server:  # start() returns once health answers: by then the seed is applied
        first = _state(server.client())
        created = _seed_lines(server)
    assert first["kbs"] == ["support-answers", "support-articles", "support-templates"]
    assert {"Sign-off", "Greeting", "Refund policy"} <= set(first["quick responses"])  # entry + CSV
    assert first["jobs"] == ["COMPLETE"]
    assert first["contents"] == {"returns": "ACTIVE", "shipping": "ACTIVE"}
    assert first["associations"] == [first["articles"]]
    assert first["tags"] == {"team": "support"}
    assert first["templates"] == [("order-shipped", 1)]
    assert len(created) == 10 and all(line.endswith(": created") for line in created), created
    assert "knowledge base 'support-answers' (123456789012 us-east-1): created" in created[0]

    with server:  # the same data dir: every entry is found, nothing is added
        again = _state(server.client())
        present = _seed_lines(server)[len(created) :]
    assert again == first
    assert len(present) == 10 and all(line.endswith(": already present") for line in present), present


def test_a_folder_is_applied_in_name_order_and_entries_name_their_account(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    # 20-… after 10-…: the assistant's knowledge base comes from the other file.
    (seeds / "20-assistant.json").write_text(
        json.dumps({"assistants": [{"name": "helper", "account": "111122223333", "knowledgeBases": ["kb"]}]})
    )
    (seeds / "10-kb.yaml").write_text(
        "account: '111122223333'\n"  # the file's default for its entries
        "knowledgeBases:\n  - {name: kb, knowledgeBaseType: CUSTOM, region: eu-west-1}\n"
        "  - {name: kb, knowledgeBaseType: CUSTOM}\n"
    )
    (seeds / "notes.txt").write_text("not a seed: ignored")
    with ServerProcess("--init", str(seeds), "--no-worker") as server:
        lines = _seed_lines(server)
        eu = server.client(account="111122223333", region="eu-west-1").list_knowledge_bases()
        default = server.client().list_knowledge_bases()
    assert ["10-kb.yaml" in line for line in lines] == [True, True, False, False], lines
    assert [kb["name"] for kb in eu["knowledgeBaseSummaries"]] == ["kb"]
    assert default["knowledgeBaseSummaries"] == []  # the server's default account got nothing


@pytest.mark.parametrize(
    ("seed", "expected"),
    [
        (
            "knowledgeBases: [{name: kb, knowledgeBaseType: CUSTOM, colour: red}]",
            'knowledgeBases[0]: Unknown parameter in input: "colour"',
        ),
        (
            "knowledgeBases: [{name: kb, knowledgeBaseType: QUICK_RESPONSES, imports: [{csv: missing.csv}]}]",
            "knowledgeBases[0].imports[0].csv: no file 'missing.csv'",
        ),
        ("knowledgeBases: [{name: kb, knowledgeBaseType: NOPE}]", "knowledgeBases[0]: ValidationException"),
        ("knowledgeBases: [name: kb", "invalid YAML"),
        ("knowledgeBase: []", "unknown key 'knowledgeBase'"),
        (
            "assistants: [{name: a, knowledgeBases: [nowhere]}]",
            "assistants[0].knowledgeBases[0]: no knowledge base 'nowhere'",
        ),
    ],
)
def test_a_bad_seed_stops_the_start_with_one_line_naming_file_and_entry(
    tmp_path: Path, seed: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(seed)
    done = subprocess.run(
        [sys.executable, "-m", "qconnect_local.cli", "serve", "--port", "0", "--quiet", "--init", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    # Entries applied before the bad one are reported as they go; the error is one line, last.
    *applied, error = done.stderr.strip().splitlines()
    assert all(line.endswith(": created") for line in applied) and "Traceback" not in done.stderr, done.stderr
    assert error.startswith(f"qconnect-local: seed {path}: ") and expected in error, error
