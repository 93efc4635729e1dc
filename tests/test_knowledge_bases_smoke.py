"""Smoke check of the harness: a knowledge base round trip on both targets."""

from __future__ import annotations

from typing import Any


def test_create_then_get_by_id_and_arn(qc: Any) -> None:
    created = qc.create_knowledge_base(name="support", knowledgeBaseType="QUICK_RESPONSES")["knowledgeBase"]
    by_id = qc.get_knowledge_base(knowledgeBaseId=created["knowledgeBaseId"])["knowledgeBase"]
    by_arn = qc.get_knowledge_base(knowledgeBaseId=created["knowledgeBaseArn"])["knowledgeBase"]
    assert by_id == by_arn == created
    assert created["status"] == "ACTIVE"
