"""Reads keep answering while a write waits for an import's transaction to commit."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from conftest import Target
from importing import quick_response_kb, start_import, upload, wait_for_job
from qconnect_local.testing.server import ServerProcess

ROWS = 40_000


@pytest.mark.slow
def test_get_answers_at_once_while_a_create_waits_behind_a_running_import(tmp_path: Path) -> None:
    body = "Name,Content\n" + "".join(f"response {i},Content number {i}\n" for i in range(ROWS))
    with ServerProcess(
        "--quick-response-quota", str(ROWS), "--max-upload-bytes", str(len(body) + 1), data_dir=tmp_path
    ) as server:
        qc = server.client()
        kb = quick_response_kb(qc)
        up = upload(Target("server", server.url, None), qc, kb["knowledgeBaseId"], body.encode())
        job = start_import(qc, kb["knowledgeBaseId"], up["uploadId"])
        time.sleep(0.3)  # the worker holds the write transaction now

        writer = threading.Thread(
            target=lambda: server.client().create_knowledge_base(name="late", knowledgeBaseType="CUSTOM")
        )
        writer.start()
        time.sleep(0.1)
        started = time.monotonic()
        status = qc.get_import_job(knowledgeBaseId=kb["knowledgeBaseId"], importJobId=job["importJobId"])
        read_seconds = time.monotonic() - started
        writer.join(60)

        finished = wait_for_job(qc, kb["knowledgeBaseId"], job["importJobId"], timeout=120)
        assert finished["status"] == "COMPLETE"
        assert [k["name"] for k in qc.list_knowledge_bases()["knowledgeBaseSummaries"]] == ["support", "late"]
        assert status["importJob"]["importJobId"] == job["importJobId"]
        assert read_seconds < 1.0, f"a read waited {read_seconds:.2f}s behind a write"
