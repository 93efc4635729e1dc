"""A server killed (SIGKILL) in the middle of an import finishes the job exactly once after restart."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import Target
from importing import all_quick_responses, quick_response_kb, start_import, upload, wait_for_job
from qconnect_local.testing.server import ServerProcess

ROWS = 30_000


@pytest.mark.slow
def test_sigkill_during_an_import_then_restart_imports_every_row_once(tmp_path: Path) -> None:
    body = "Name,Content\n" + "".join(f"response {i},Content number {i}\n" for i in range(ROWS))
    server = ServerProcess("--quick-response-quota", str(ROWS * 2), data_dir=tmp_path / "data").start()
    try:
        qc = server.client()
        target = Target("server", server.url, None)
        kb = quick_response_kb(qc)
        up = upload(target, qc, kb["knowledgeBaseId"], body.encode())
        server.control("transitions", {"hold": {"status": "START_IN_PROGRESS"}})
        job = start_import(qc, kb["knowledgeBaseId"], up["uploadId"])
        server.control("transitions", {"release": True})
        time.sleep(0.4)  # the worker has claimed the job and is inserting rows
        assert (
            qc.get_import_job(knowledgeBaseId=kb["knowledgeBaseId"], importJobId=job["importJobId"])[
                "importJob"
            ]["status"]
            == "START_IN_PROGRESS"
        ), "the import must still be running when the server is killed"
        server.kill()

        server.start()
        qc = server.client()
        finished = wait_for_job(qc, kb["knowledgeBaseId"], job["importJobId"], timeout=120)

        assert finished["status"] == "COMPLETE"
        names = [qr["name"] for qr in all_quick_responses(qc, kb["knowledgeBaseId"])]
        assert len(names) == ROWS
        assert len(set(names)) == ROWS
    finally:
        server.stop()
