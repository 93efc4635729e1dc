"""`qconnect-local export` / `import`: a populated store moves SQLite -> PostgreSQL -> SQLite and
every API-visible read answers the same on each; archives are refused when they cannot be exact."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from polling import poll
from qconnect_local.blobs import BlobStore
from qconnect_local.cli import main
from qconnect_local.config import Settings
from qconnect_local.testing import mock_qconnect
from qconnect_local.testing.postgres import required_database

# The `blobs` fixture: a store of each backend (filesystem, database on both dialects, S3 on moto).
from test_blob_stores import blobs, moto_url, postgres_store, postgres_url  # noqa: F401

SAMPLES = Path(__file__).resolve().parent.parent / "docs" / "samples"
ARTICLE = b"<html><body><h1>Returns</h1><p>Refunds are issued within 14 days of the return.</p></body></html>"


def _client() -> Any:
    return boto3.client("qconnect", region_name="us-east-1")


def _put(m: mock_qconnect, upload: dict[str, Any], body: bytes) -> None:
    answer = m.request("PUT", upload["url"], headers=upload["headersToInclude"], data=body)
    assert answer.status == 200, answer.body


def _populate(m: mock_qconnect) -> str:
    """Knowledge bases, quick responses from an import, content with its file, tags, an assistant
    with an association, and a session."""
    qc = _client()
    answers = qc.create_knowledge_base(
        name="answers", knowledgeBaseType="QUICK_RESPONSES", tags={"team": "support"}
    )["knowledgeBase"]["knowledgeBaseId"]
    qc.create_quick_response(knowledgeBaseId=answers, name="Sign-off", content={"content": "Bye for now"})
    upload = qc.start_content_upload(knowledgeBaseId=answers, contentType="text/csv")
    _put(m, upload, (SAMPLES / "quick-responses.csv").read_bytes())
    job = qc.start_import_job(
        knowledgeBaseId=answers, importJobType="QUICK_RESPONSES", uploadId=upload["uploadId"]
    )
    poll(
        lambda: qc.get_import_job(knowledgeBaseId=answers, importJobId=job["importJob"]["importJobId"])[
            "importJob"
        ],
        lambda found: found["status"] == "COMPLETE",
        what="the import",
    )
    articles = qc.create_knowledge_base(name="articles", knowledgeBaseType="CUSTOM")["knowledgeBase"]
    upload = qc.start_content_upload(knowledgeBaseId=articles["knowledgeBaseId"], contentType="text/html")
    _put(m, upload, ARTICLE)
    content = qc.create_content(
        knowledgeBaseId=articles["knowledgeBaseId"],
        name="returns",
        uploadId=upload["uploadId"],
        tags={"a": "b"},
    )["content"]
    poll(
        lambda: qc.get_content(knowledgeBaseId=articles["knowledgeBaseId"], contentId=content["contentId"])[
            "content"
        ],
        lambda found: found["status"] == "ACTIVE",
        what="the ingestion",
    )
    assistant = qc.create_assistant(name="helper", type="AGENT", tags={"team": "support"})["assistant"]
    qc.create_assistant_association(
        assistantId=assistant["assistantId"],
        associationType="KNOWLEDGE_BASE",
        association={"knowledgeBaseId": articles["knowledgeBaseId"]},
    )
    session = qc.create_session(assistantId=assistant["assistantId"], name="call-1", tags={"x": "y"})
    return str(session["session"]["sessionArn"])


def _fetched(m: mock_qconnect, value: Any) -> Any:
    """A read with its signed links replaced by what they serve (a link's signature and expiry
    are made at each read; the bytes behind it are the state)."""
    if isinstance(value, dict):
        return {
            k: (m.request("GET", v).body if k in ("url", "failedRecordReport") else _fetched(m, v))
            for k, v in value.items()
            if k not in ("urlExpiry", "ResponseMetadata")
        }
    if isinstance(value, list):
        return [_fetched(m, v) for v in value]
    return value


def _reads(m: mock_qconnect, session_arn: str) -> dict[str, Any]:
    """Every list and get of the populated state, searches over both full-text indexes included."""
    qc = _client()
    seen: dict[str, Any] = {}

    def read(name: str, value: Any) -> Any:
        seen[name] = _fetched(m, value)
        return value

    kbs = read("kbs", qc.list_knowledge_bases())["knowledgeBaseSummaries"]
    for kb in kbs:
        kb_id, arn = kb["knowledgeBaseId"], kb["knowledgeBaseArn"]
        read(f"kb {kb_id}", qc.get_knowledge_base(knowledgeBaseId=kb_id))
        read(f"tags {arn}", qc.list_tags_for_resource(resourceArn=arn))
        if kb["knowledgeBaseType"] == "QUICK_RESPONSES":
            for qr in read(f"qrs {kb_id}", qc.list_quick_responses(knowledgeBaseId=kb_id))[
                "quickResponseSummaries"
            ]:
                read(
                    f"qr {qr['quickResponseId']}",
                    qc.get_quick_response(knowledgeBaseId=kb_id, quickResponseId=qr["quickResponseId"]),
                )
            for job in read(f"jobs {kb_id}", qc.list_import_jobs(knowledgeBaseId=kb_id))[
                "importJobSummaries"
            ]:
                read(
                    f"job {job['importJobId']}",
                    qc.get_import_job(knowledgeBaseId=kb_id, importJobId=job["importJobId"]),
                )
            for words in ("refund", "helo", "contacting us"):  # exact, fuzzy, several words
                read(
                    f"search {kb_id} {words}",
                    qc.search_quick_responses(
                        knowledgeBaseId=kb_id,
                        searchExpression={
                            "queries": [
                                {
                                    "name": "content",
                                    "values": [words],
                                    "operator": "CONTAINS",
                                    "allowFuzziness": True,
                                }
                            ]
                        },
                    ),
                )
        else:
            for content in read(f"contents {kb_id}", qc.list_contents(knowledgeBaseId=kb_id))[
                "contentSummaries"
            ]:
                cid = content["contentId"]
                read(f"content {cid}", qc.get_content(knowledgeBaseId=kb_id, contentId=cid))
                read(
                    f"tags {content['contentArn']}",
                    qc.list_tags_for_resource(resourceArn=content["contentArn"]),
                )
    for assistant in read("assistants", qc.list_assistants())["assistantSummaries"]:
        aid = assistant["assistantId"]
        read(f"assistant {aid}", qc.get_assistant(assistantId=aid))
        read(
            f"tags {assistant['assistantArn']}",
            qc.list_tags_for_resource(resourceArn=assistant["assistantArn"]),
        )
        read(f"associations {aid}", qc.list_assistant_associations(assistantId=aid))
        read(f"query {aid}", qc.query_assistant(assistantId=aid, queryText="refunds"))
    aid, sid = session_arn.rsplit("/", 2)[-2:]
    read("session", qc.get_session(assistantId=aid, sessionId=sid))
    read(f"tags {session_arn}", qc.list_tags_for_resource(resourceArn=session_arn))
    return seen


def _query_ids_dropped(reads: dict[str, Any]) -> dict[str, Any]:
    """QueryAssistant names each answer with a new result id: everything else must match."""
    for name, value in reads.items():
        if name.startswith("query "):
            for result in value.get("results", []):
                result.pop("resultId", None)
    return reads


def _state(settings: Settings, session_arn: str) -> dict[str, Any]:
    with mock_qconnect(settings) as m:
        return _query_ids_dropped(_reads(m, session_arn))


def _tables(archive: Path) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(archive) as opened:
        for member in opened:
            if member.name.startswith(("tables/", "blobs/")):
                handle = opened.extractfile(member)
                assert handle is not None
                yield member.name, handle.read()


def test_a_populated_store_round_trips_sqlite_postgresql_sqlite_with_every_read_unchanged(
    tmp_path: Path,
) -> None:
    source, back = tmp_path / "source", tmp_path / "back"
    with mock_qconnect(Settings(data_dir=str(source))) as m:
        session = _populate(m)
    with required_database("qconnect_snapshot") as url:
        main(["export", "--data-dir", str(source), str(tmp_path / "one.tar.gz")])
        main(["import", "--database-url", url, str(tmp_path / "one.tar.gz")])
        main(["export", "--database-url", url, str(tmp_path / "two.tar.gz")])
        main(["import", "--data-dir", str(back), str(tmp_path / "two.tar.gz")])
        # Stored values, not only reads: each table and blob is byte for byte what was exported.
        assert dict(_tables(tmp_path / "one.tar.gz")) == dict(_tables(tmp_path / "two.tar.gz"))
        before = _state(Settings(data_dir=str(source), run_worker=False), session)
        assert _state(Settings(database_url=url, run_worker=False), session) == before
    assert _state(Settings(data_dir=str(back), run_worker=False), session) == before
    assert len(before) > 20
    assert any(name.startswith("query ") and value["results"] for name, value in before.items())
    assert any(name.startswith("search ") and value["results"] for name, value in before.items())


def test_a_restored_store_keeps_adding_rows_after_the_imported_ones(tmp_path: Path) -> None:
    source = tmp_path / "source"
    with mock_qconnect(Settings(data_dir=str(source), run_worker=False)):
        qc = _client()
        for name in ("a", "b", "c"):
            qc.create_knowledge_base(name=name, knowledgeBaseType="QUICK_RESPONSES")
        qc.delete_knowledge_base(
            knowledgeBaseId=qc.list_knowledge_bases()["knowledgeBaseSummaries"][-1]["knowledgeBaseId"]
        )
    main(["export", "--data-dir", str(source), str(tmp_path / "s.tar.gz")])
    with required_database("qconnect_snapshot") as url:
        main(["import", "--database-url", url, str(tmp_path / "s.tar.gz")])
        with mock_qconnect(Settings(database_url=url, run_worker=False)):
            qc = _client()
            qc.create_knowledge_base(name="d", knowledgeBaseType="QUICK_RESPONSES")
            pages = qc.list_knowledge_bases(maxResults=1)
            names = [pages["knowledgeBaseSummaries"][0]["name"]]
            while "nextToken" in pages:
                pages = qc.list_knowledge_bases(maxResults=1, nextToken=pages["nextToken"])
                names += [kb["name"] for kb in pages["knowledgeBaseSummaries"]]
    assert names == ["a", "b", "d"]


def _exit_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()  # what came before
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_import_refuses_a_store_that_is_not_empty_unless_replace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    for folder, name in ((source, "from-archive"), (target, "already-there")):
        with mock_qconnect(Settings(data_dir=str(folder), run_worker=False)):
            _client().create_knowledge_base(name=name, knowledgeBaseType="QUICK_RESPONSES")
    main(["export", "--data-dir", str(source), str(tmp_path / "s.tar.gz")])
    assert "not empty" in _exit_line(
        ["import", "--data-dir", str(target), str(tmp_path / "s.tar.gz")], capsys
    )
    main(["import", "--data-dir", str(target), "--replace", str(tmp_path / "s.tar.gz")])
    with mock_qconnect(Settings(data_dir=str(target), run_worker=False)):
        assert [kb["name"] for kb in _client().list_knowledge_bases()["knowledgeBaseSummaries"]] == [
            "from-archive"
        ]


def _rewritten(archive: Path, out: Path, **manifest: Any) -> Path:
    """`archive` with its manifest's fields changed."""
    with tarfile.open(archive) as source, tarfile.open(out, "w:gz") as target:
        for member in source:
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                data = json.dumps({**json.loads(data), **manifest}).encode()
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    return out


def test_import_refuses_another_schema_revision_or_a_truncated_archive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with mock_qconnect(Settings(data_dir=str(tmp_path / "source"), run_worker=False)):
        _client().create_knowledge_base(name="kb", knowledgeBaseType="QUICK_RESPONSES")
    archive = tmp_path / "s.tar.gz"
    main(["export", "--data-dir", str(tmp_path / "source"), str(archive)])

    other = _rewritten(archive, tmp_path / "other.tar.gz", schemaRevision="0001")
    line = _exit_line(["import", "--data-dir", str(tmp_path / "a"), str(other)], capsys)
    assert "schema revision 0001" in line

    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    assert "snapshot" in _exit_line(["import", "--data-dir", str(tmp_path / "b"), str(truncated)], capsys)
    with mock_qconnect(Settings(data_dir=str(tmp_path / "b"), run_worker=False)):
        assert _client().list_knowledge_bases()["knowledgeBaseSummaries"] == []  # nothing half-imported

    assert "no store" in _exit_line(
        ["export", "--data-dir", str(tmp_path / "missing"), str(tmp_path / "x")], capsys
    )


def test_every_blob_store_lists_its_committed_keys_in_code_point_order(blobs: BlobStore) -> None:  # noqa: F811
    """`BlobStore.keys()`, which an export copies: committed blobs only, sorted, by prefix."""
    keys = ["a.txt", "a/b", "a/c/d", "a_b", "uploads/x/1", "uploads/y/2", "é"]
    for key in reversed(keys):
        writer = blobs.writer(key)
        writer.write(b"x")
        writer.commit()
    pending = blobs.writer("uploads/z/3")
    pending.write(b"not yet")
    try:
        assert list(blobs.keys()) == sorted(keys)
        assert list(blobs.keys("uploads/")) == ["uploads/x/1", "uploads/y/2"]
        assert list(blobs.keys("a/")) == ["a/b", "a/c/d"]
        assert list(blobs.keys("none/")) == []
    finally:
        pending.abort()
