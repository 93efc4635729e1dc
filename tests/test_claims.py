"""Claims: each claim is fenced on its own token, so a run that was overtaken commits nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import Target
from documents import create_content, custom_kb, upload_file
from qconnect_local.config import Settings
from qconnect_local.testing.mock import mock_qconnect
from qconnect_local.worker import claims


def test_a_run_overtaken_by_a_new_file_cannot_finish_even_on_the_same_worker() -> None:
    with mock_qconnect(Settings(run_worker=False)) as mock:
        target = Target("in-process", None, mock)
        qc = target.client()
        kb = custom_kb(qc)
        content = create_content(target, qc, kb["knowledgeBaseId"], "doc", b"first file")
        store, now, lease = mock.runtime.store, mock.runtime.clock.now(), timedelta(seconds=60)
        first = claims.claim_next(store, "worker-1", now, lease)
        assert first is not None and first.job.id == content["contentId"]
        # A new file arrives while the first run reads the old one: the job starts over.
        new_upload = upload_file(target, qc, kb["knowledgeBaseId"], b"second file")
        qc.update_content(
            knowledgeBaseId=kb["knowledgeBaseId"], contentId=content["contentId"], uploadId=new_upload
        )
        second = claims.claim_next(store, "worker-1", now, lease)  # the same worker, another thread
        assert second is not None and second.job.id == content["contentId"]
        assert second.token != first.token
        with pytest.raises(claims.LostClaim), store.write() as conn:
            claims.finish(conn, first, status="ACTIVE")
        with store.write() as conn:
            claims.finish(conn, second, status="ACTIVE")


def test_a_stopping_worker_releases_only_its_own_claims() -> None:
    with mock_qconnect(Settings(run_worker=False)) as mock:
        target = Target("in-process", None, mock)
        qc = target.client()
        kb = custom_kb(qc)
        for name in ("a", "b"):
            create_content(target, qc, kb["knowledgeBaseId"], name, b"x")
        store, now, lease = mock.runtime.store, mock.runtime.clock.now(), timedelta(seconds=60)
        mine = claims.claim_next(store, "worker-1", now, lease)
        theirs = claims.claim_next(store, "worker-10", now, lease)  # a prefix of "worker-1" plus a digit
        assert mine is not None and theirs is not None
        assert claims.release_worker(store, "worker-1") == 1
        with store.write() as conn:
            claims.finish(conn, theirs, status="ACTIVE")
