"""State in `--data-dir` outlives the server: stop it (or kill it), start another, find everything.

Pagination tokens and clientTokens stay valid across the restart too, because the store
keeps its signing secret and idempotency records alongside the resources.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qconnect_local.testing.server import ServerProcess

ACCOUNT = "111122223333"


def client(server: ServerProcess, region: str = "us-east-1") -> Any:
    return server.client(account=ACCOUNT, region=region)


def populate(qc: Any) -> list[dict[str, Any]]:
    created = [
        qc.create_knowledge_base(
            name=f"kb-{i}", knowledgeBaseType="CUSTOM", clientToken=f"token-{i}", tags={"n": str(i)}
        )["knowledgeBase"]
        for i in range(3)
    ]
    qc.tag_resource(resourceArn=created[0]["knowledgeBaseArn"], tags={"extra": "yes"})
    qc.update_knowledge_base_template_uri(
        knowledgeBaseId=created[1]["knowledgeBaseId"], templateUri="https://example.com/{{Id}}"
    )
    return [qc.get_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"])["knowledgeBase"] for kb in created]


@pytest.mark.parametrize("shutdown", ["stop", "kill"])
def test_everything_survives_a_restart_on_the_same_data_dir(tmp_path: Path, shutdown: str) -> None:
    with ServerProcess(data_dir=tmp_path) as first:
        qc = client(first)
        before = populate(qc)
        eu_kb = client(first, "eu-west-1").create_knowledge_base(name="eu", knowledgeBaseType="CUSTOM")
        gone = qc.create_knowledge_base(name="gone", knowledgeBaseType="CUSTOM", tags={"a": "1"})
        qc.delete_knowledge_base(knowledgeBaseId=gone["knowledgeBase"]["knowledgeBaseId"])
        page = qc.list_knowledge_bases(maxResults=1)
        getattr(first, shutdown)()

    with ServerProcess(data_dir=tmp_path) as second:
        qc = client(second)
        after = [
            qc.get_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"])["knowledgeBase"] for kb in before
        ]
        assert after == before
        assert after[1]["renderingConfiguration"] == {"templateUri": "https://example.com/{{Id}}"}
        assert qc.list_tags_for_resource(resourceArn=before[0]["knowledgeBaseArn"])["tags"] == {
            "n": "0",
            "extra": "yes",
        }
        eu_listed = client(second, "eu-west-1").list_knowledge_bases()["knowledgeBaseSummaries"]
        assert [kb["knowledgeBaseId"] for kb in eu_listed] == [eu_kb["knowledgeBase"]["knowledgeBaseId"]]

        # A nextToken issued before the restart picks up where it left off.
        rest = qc.list_knowledge_bases(nextToken=page["nextToken"])["knowledgeBaseSummaries"]
        listed = [kb["knowledgeBaseId"] for kb in page["knowledgeBaseSummaries"] + rest]
        assert sorted(listed) == sorted(kb["knowledgeBaseId"] for kb in before)

        # Deletes stay deleted, and the name they freed stays free.
        with pytest.raises(qc.exceptions.ResourceNotFoundException):
            qc.list_tags_for_resource(resourceArn=gone["knowledgeBase"]["knowledgeBaseArn"])
        qc.create_knowledge_base(name="gone", knowledgeBaseType="CUSTOM")

        # A retried create still finds the knowledge base its clientToken made.
        again = qc.create_knowledge_base(
            name="kb-2", knowledgeBaseType="CUSTOM", clientToken="token-2", tags={"n": "2"}
        )["knowledgeBase"]
        assert again["knowledgeBaseId"] == before[2]["knowledgeBaseId"]
