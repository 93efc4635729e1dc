"""Content: upload a document, watch it be ingested, find its text, update it, delete it.

Runs on every target (in-process SQLite and PostgreSQL, a real server). What the index holds is
read through the control plane's passage search, the interface retrieval ranks over.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import Target
from documents import (
    DOCX,
    HTML,
    PDF,
    PLAIN,
    create_content,
    custom_kb,
    docx_document,
    html_page,
    ingested,
    inspect_content,
    pdf_document,
    search_index,
    upload_file,
    wait_for_content,
)
from polling import poll
from qconnect_local.config import Settings
from qconnect_local.testing.mock import mock_qconnect

GUIDE_FLOW = "arn:aws:connect:us-east-1:123456789012:instance/7a8e2f3c/contact-flow/4f1e9d2a"


def found_contents(target: Target, kb_id: str, text: str) -> set[str]:
    return {hit["contentId"] for hit in search_index(target, [kb_id], text)}


# -- creating and ingesting ----------------------------------------------------------------------


def test_uploaded_text_is_in_progress_then_active_and_found_in_the_index(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    created = create_content(
        target, qc, kb["knowledgeBaseId"], "returns", b"Refunds are paid within 30 days."
    )
    assert created["status"] == "CREATE_IN_PROGRESS"
    assert created["title"] == "returns"  # the title defaults to the name
    assert created["contentType"] == PLAIN
    assert created["metadata"] == {}
    active = wait_for_content(qc, kb["knowledgeBaseId"], created["contentId"])
    assert active["status"] == "ACTIVE"
    assert active["revisionId"] == created["revisionId"]
    hits = search_index(target, [kb["knowledgeBaseId"]], "refunds")
    assert [(h["contentId"], h["text"]) for h in hits] == [
        (created["contentId"], "Refunds are paid within 30 days.")
    ]
    assert hits[0]["highlights"] == [[0, 7]]


def test_the_download_link_returns_exactly_the_uploaded_bytes(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    data = pdf_document("Shipping takes five days.")
    content = ingested(target, qc, kb["knowledgeBaseId"], "shipping", data, PDF)
    status, headers, body = target.http("GET", content["url"])
    assert (status, headers["content-type"], body) == (200, PDF, data)
    assert content["urlExpiry"] > content["lastModifiedTime"]


def test_html_is_reduced_to_its_visible_text(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    page = html_page(
        "<h1>Warranty</h1><p>Every kettle carries a two year warranty.</p><!-- hiddencomment -->",
        script="var trackingpixel = 1;",
        style="body { color: mauvecolour; }",
    )
    content = ingested(target, qc, kb["knowledgeBaseId"], "warranty", page, HTML)
    assert content["status"] == "ACTIVE"
    assert found_contents(target, kb["knowledgeBaseId"], "kettle warranty") == {content["contentId"]}
    for invisible in ("trackingpixel", "mauvecolour", "hiddencomment"):
        assert found_contents(target, kb["knowledgeBaseId"], invisible) == set(), invisible
    text = inspect_content(target, content["contentId"])["extractedText"]
    assert "Every kettle carries a two year warranty." in text
    assert "trackingpixel" not in text


def test_pdf_and_docx_text_is_extracted(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    pdf = ingested(
        target, qc, kb["knowledgeBaseId"], "manual", pdf_document("Descale monthly.", "Unplug first."), PDF
    )
    docx = ingested(
        target,
        qc,
        kb["knowledgeBaseId"],
        "policy",
        docx_document("Exchanges need a receipt.", table=[["Region", "Carrier"], ["Norway", "Posten"]]),
        DOCX,
    )
    assert (pdf["status"], docx["status"]) == ("ACTIVE", "ACTIVE")
    assert found_contents(target, kb["knowledgeBaseId"], "unplug") == {pdf["contentId"]}
    assert found_contents(target, kb["knowledgeBaseId"], "receipt") == {docx["contentId"]}
    assert found_contents(target, kb["knowledgeBaseId"], "posten") == {docx["contentId"]}  # table cells too


def test_a_file_that_cannot_be_read_ends_create_failed_with_the_reason(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    content = ingested(target, qc, kb["knowledgeBaseId"], "broken", b"%PDF-1.7 not really a pdf", PDF)
    assert content["status"] == "CREATE_FAILED"
    inspected = inspect_content(target, content["contentId"])
    assert inspected["failureReason"]
    assert inspected["passages"] == []


def test_passages_follow_the_knowledge_base_chunking_configuration(target: Target, qc: Any) -> None:
    chunking = {
        "chunkingStrategy": "FIXED_SIZE",
        "fixedSizeChunkingConfiguration": {"maxTokens": 20, "overlapPercentage": 10},
    }
    kb = custom_kb(qc, vectorIngestionConfiguration={"chunkingConfiguration": chunking})
    words = " ".join(f"word{i}" for i in range(100))
    content = ingested(target, qc, kb["knowledgeBaseId"], "long", words.encode())
    inspected = inspect_content(target, content["contentId"])
    cuts = inspected["passages"]
    assert len(cuts) > 1
    text = inspected["extractedText"]
    for cut in cuts:
        assert len(text[cut["start"] : cut["end"]].split()) <= 20
    assert cuts[1]["start"] < cuts[0]["end"]  # consecutive passages overlap


def test_metadata_tags_and_override_link_are_kept(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    content = create_content(
        target,
        qc,
        kb["knowledgeBaseId"],
        "faq",
        b"Questions",
        title="Frequently asked",
        metadata={"team": "care"},
        tags={"stage": "beta"},
        overrideLinkOutUri="https://help.example.com/faq",
    )
    got = qc.get_content(knowledgeBaseId=kb["knowledgeBaseArn"], contentId=content["contentArn"])["content"]
    assert (got["title"], got["metadata"], got["tags"]) == (
        "Frequently asked",
        {"team": "care"},
        {"stage": "beta"},
    )
    assert got["linkOutUri"] == "https://help.example.com/faq"
    assert (
        got["contentArn"]
        == f"{kb['knowledgeBaseArn'].replace(':knowledge-base/', ':content/')}/{got['contentId']}"
    )
    assert qc.list_tags_for_resource(resourceArn=got["contentArn"])["tags"] == {"stage": "beta"}
    summary = qc.get_content_summary(knowledgeBaseId=kb["knowledgeBaseId"], contentId=got["contentId"])
    assert "url" not in summary["contentSummary"]
    assert summary["contentSummary"]["name"] == "faq"


def test_the_link_out_uri_comes_from_the_knowledge_base_template(target: Target, qc: Any) -> None:
    kb = custom_kb(qc, renderingConfiguration={"templateUri": "https://kb.example.com/articles/${Id}"})
    content = create_content(target, qc, kb["knowledgeBaseId"], "doc", b"text")
    assert content["linkOutUri"] == f"https://kb.example.com/articles/{content['contentId']}"
    updated = qc.update_content(
        knowledgeBaseId=kb["knowledgeBaseId"],
        contentId=content["contentId"],
        overrideLinkOutUri="https://x.example",
    )["content"]
    assert updated["linkOutUri"] == "https://x.example"
    removed = qc.update_content(
        knowledgeBaseId=kb["knowledgeBaseId"], contentId=content["contentId"], removeOverrideLinkOutUri=True
    )["content"]
    assert removed["linkOutUri"] == content["linkOutUri"]


# -- rules ---------------------------------------------------------------------------------------


def test_names_are_unique_within_a_knowledge_base(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    create_content(target, qc, kb["knowledgeBaseId"], "same", b"one")
    with pytest.raises(qc.exceptions.ConflictException, match="same"):
        create_content(target, qc, kb["knowledgeBaseId"], "same", b"two")
    other = custom_kb(qc, name="other")
    create_content(target, qc, other["knowledgeBaseId"], "same", b"three")  # another knowledge base: fine


def test_an_upload_gives_its_file_to_one_content_only(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    upload_id = upload_file(target, qc, kb["knowledgeBaseId"], b"text")
    qc.create_content(knowledgeBaseId=kb["knowledgeBaseId"], name="first", uploadId=upload_id)
    with pytest.raises(qc.exceptions.ValidationException, match="already used"):
        qc.create_content(knowledgeBaseId=kb["knowledgeBaseId"], name="second", uploadId=upload_id)


def test_an_upload_without_its_file_or_of_another_knowledge_base_is_refused(target: Target, qc: Any) -> None:
    kb, other = custom_kb(qc), custom_kb(qc, name="other")
    pending = qc.start_content_upload(knowledgeBaseId=kb["knowledgeBaseId"], contentType=PLAIN)["uploadId"]
    with pytest.raises(qc.exceptions.ValidationException, match="no file yet"):
        qc.create_content(knowledgeBaseId=kb["knowledgeBaseId"], name="a", uploadId=pending)
    foreign = upload_file(target, qc, other["knowledgeBaseId"], b"x")
    with pytest.raises(qc.exceptions.ValidationException, match="another knowledge base"):
        qc.create_content(knowledgeBaseId=kb["knowledgeBaseId"], name="a", uploadId=foreign)
    with pytest.raises(qc.exceptions.ValidationException, match="does not exist"):
        qc.create_content(knowledgeBaseId=kb["knowledgeBaseId"], name="a", uploadId="no-such-upload")


@pytest.mark.parametrize("kb_type", ["QUICK_RESPONSES", "MESSAGE_TEMPLATES"])
def test_content_needs_a_content_knowledge_base(target: Target, qc: Any, kb_type: str) -> None:
    kb = qc.create_knowledge_base(name="wrong", knowledgeBaseType=kb_type)["knowledgeBase"]
    with pytest.raises(qc.exceptions.ValidationException, match=kb_type):
        qc.list_contents(knowledgeBaseId=kb["knowledgeBaseId"])
    with pytest.raises(qc.exceptions.ValidationException, match=kb_type):
        qc.create_content(knowledgeBaseId=kb["knowledgeBaseId"], name="x", uploadId="u")


def test_create_content_is_idempotent_with_a_client_token(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    upload_id = upload_file(target, qc, kb["knowledgeBaseId"], b"text")
    first = qc.create_content(
        knowledgeBaseId=kb["knowledgeBaseId"], name="a", uploadId=upload_id, clientToken="t1"
    )
    again = qc.create_content(
        knowledgeBaseId=kb["knowledgeBaseId"], name="a", uploadId=upload_id, clientToken="t1"
    )
    assert again["content"]["contentId"] == first["content"]["contentId"]
    with pytest.raises(qc.exceptions.ConflictException, match="clientToken"):
        qc.create_content(
            knowledgeBaseId=kb["knowledgeBaseId"], name="b", uploadId=upload_id, clientToken="t1"
        )


def test_content_is_invisible_to_other_accounts(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    content = create_content(target, qc, kb["knowledgeBaseId"], "private", b"secret words")
    intruder = target.client(account="210987654321")
    with pytest.raises(intruder.exceptions.ResourceNotFoundException):
        intruder.get_content(knowledgeBaseId=kb["knowledgeBaseId"], contentId=content["contentId"])
    with pytest.raises(intruder.exceptions.ResourceNotFoundException):
        intruder.get_content(knowledgeBaseId=kb["knowledgeBaseArn"], contentId=content["contentArn"])
    wait_for_content(qc, kb["knowledgeBaseId"], content["contentId"])
    assert search_index(target, [kb["knowledgeBaseId"]], "secret", account="210987654321") == []


# -- updating ------------------------------------------------------------------------------------


def test_every_update_changes_the_revision_and_a_stale_revision_is_refused(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    content = create_content(target, qc, kb["knowledgeBaseId"], "doc", b"text")
    updated = qc.update_content(
        knowledgeBaseId=kb["knowledgeBaseId"],
        contentId=content["contentId"],
        revisionId=content["revisionId"],
        title="New title",
        metadata={"v": "2"},
    )["content"]
    assert updated["revisionId"] != content["revisionId"]
    assert (updated["title"], updated["metadata"]) == ("New title", {"v": "2"})
    with pytest.raises(qc.exceptions.PreconditionFailedException):
        qc.update_content(
            knowledgeBaseId=kb["knowledgeBaseId"],
            contentId=content["contentId"],
            revisionId=content["revisionId"],
        )


def test_a_new_upload_is_re_ingested_while_the_content_stays_active(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    kb_id = kb["knowledgeBaseId"]
    content = ingested(target, qc, kb_id, "doc", b"The old wording about lanterns.")
    target.control("transitions", {"hold": {"kind": "content", "status": "UPDATE_IN_PROGRESS"}})
    new_upload = upload_file(target, qc, kb_id, b"The new wording about bicycles.")
    updating = qc.update_content(knowledgeBaseId=kb_id, contentId=content["contentId"], uploadId=new_upload)[
        "content"
    ]
    assert updating["status"] == "ACTIVE"
    assert found_contents(target, kb_id, "lanterns") == {content["contentId"]}  # the old text until indexed
    target.control("transitions", {"release": True})
    wait_for_content(qc, kb_id, content["contentId"], until={"ACTIVE"})
    _wait_until(lambda: found_contents(target, kb_id, "bicycles") == {content["contentId"]})
    assert found_contents(target, kb_id, "lanterns") == set()
    status, _headers, body = target.http(
        "GET", qc.get_content(knowledgeBaseId=kb_id, contentId=content["contentId"])["content"]["url"]
    )
    assert (status, body) == (200, b"The new wording about bicycles.")


def test_a_new_upload_that_cannot_be_read_leaves_the_previous_text_searchable(
    target: Target, qc: Any
) -> None:
    kb = custom_kb(qc)
    kb_id = kb["knowledgeBaseId"]
    content = ingested(target, qc, kb_id, "doc", b"Original text about harbours.")
    bad = upload_file(target, qc, kb_id, b"\x00\x01 not a pdf", PDF)
    qc.update_content(knowledgeBaseId=kb_id, contentId=content["contentId"], uploadId=bad)
    failed = wait_for_content(qc, kb_id, content["contentId"], until={"UPDATE_FAILED"})
    assert failed["contentType"] == PLAIN
    assert found_contents(target, kb_id, "harbours") == {content["contentId"]}
    assert inspect_content(target, content["contentId"])["failureReason"]


# -- deleting ------------------------------------------------------------------------------------


def test_delete_goes_through_delete_in_progress_then_the_content_and_its_file_are_gone(
    target: Target, qc: Any
) -> None:
    kb = custom_kb(qc)
    kb_id = kb["knowledgeBaseId"]
    content = ingested(target, qc, kb_id, "doc", b"Words about meadows.")
    target.control("transitions", {"hold": {"kind": "content", "status": "DELETE_IN_PROGRESS"}})
    qc.delete_content(knowledgeBaseId=kb_id, contentId=content["contentId"])
    held = qc.get_content(knowledgeBaseId=kb_id, contentId=content["contentId"])["content"]
    assert held["status"] == "DELETE_IN_PROGRESS"
    with pytest.raises(qc.exceptions.ConflictException):
        qc.delete_content(knowledgeBaseId=kb_id, contentId=content["contentId"])
    target.control("transitions", {"release": True})
    _wait_until(lambda: not qc.list_contents(knowledgeBaseId=kb_id)["contentSummaries"])
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.get_content(knowledgeBaseId=kb_id, contentId=content["contentId"])
    status, _headers, body = target.http("GET", content["url"])
    assert status == 404 and b"NoSuchKey" in body
    assert found_contents(target, kb_id, "meadows") == set()


def test_a_failed_delete_can_be_retried(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    kb_id = kb["knowledgeBaseId"]
    content = ingested(target, qc, kb_id, "doc", b"text")
    target.control("transitions", {"failNext": {"kind": "content", "status": "DELETE_IN_PROGRESS"}})
    qc.delete_content(knowledgeBaseId=kb_id, contentId=content["contentId"])
    assert wait_for_content(qc, kb_id, content["contentId"])["status"] == "DELETE_FAILED"
    qc.delete_content(knowledgeBaseId=kb_id, contentId=content["contentId"])
    _wait_until(lambda: not qc.list_contents(knowledgeBaseId=kb_id)["contentSummaries"])


def test_fail_next_makes_an_ingestion_end_create_failed(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    target.control("transitions", {"failNext": {"kind": "content", "status": "CREATE_IN_PROGRESS"}})
    content = ingested(target, qc, kb["knowledgeBaseId"], "doc", b"fine text")
    assert content["status"] == "CREATE_FAILED"
    assert "control plane" in inspect_content(target, content["contentId"])["failureReason"]


def test_deleting_the_knowledge_base_removes_its_contents_associations_and_files(
    target: Target, qc: Any
) -> None:
    kb = custom_kb(qc)
    kb_id = kb["knowledgeBaseId"]
    content = ingested(target, qc, kb_id, "doc", b"Words about glaciers.")
    qc.create_content_association(
        knowledgeBaseId=kb_id,
        contentId=content["contentId"],
        associationType="AMAZON_CONNECT_GUIDE",
        association={"amazonConnectGuideAssociation": {"flowId": GUIDE_FLOW}},
    )
    qc.delete_knowledge_base(knowledgeBaseId=kb_id)
    status, _headers, _body = target.http("GET", content["url"])
    assert status == 404
    assert found_contents(target, kb_id, "glaciers") == set()
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.list_tags_for_resource(resourceArn=content["contentArn"])


def test_content_changes_move_the_knowledge_base_last_content_modification_time(
    target: Target, qc: Any
) -> None:
    kb = custom_kb(qc)
    assert "lastContentModificationTime" not in kb
    target.control("clock", {"freeze": True})
    try:
        content = create_content(target, qc, kb["knowledgeBaseId"], "doc", b"text")
        first = qc.get_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"])["knowledgeBase"][
            "lastContentModificationTime"
        ]
        target.control("clock", {"advanceSeconds": 60})
        qc.update_content(knowledgeBaseId=kb["knowledgeBaseId"], contentId=content["contentId"], title="T")
        second = qc.get_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"])["knowledgeBase"][
            "lastContentModificationTime"
        ]
        assert (second - first).total_seconds() >= 60
    finally:
        target.control("clock", {"reset": True})


# -- listing and searching -----------------------------------------------------------------------


def test_list_contents_pages_through_every_content(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    names = {f"doc-{i}" for i in range(5)}
    for name in sorted(names):
        create_content(target, qc, kb["knowledgeBaseId"], name, name.encode())
    pages = list(
        qc.get_paginator("list_contents").paginate(
            knowledgeBaseId=kb["knowledgeBaseId"], PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(p["contentSummaries"]) for p in pages] == [2, 2, 1]
    assert {s["name"] for p in pages for s in p["contentSummaries"]} == names


def test_search_content_finds_a_content_by_its_name(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    for name in ("alpha", "beta"):
        create_content(target, qc, kb["knowledgeBaseId"], name, b"x")
    by_name = {"filters": [{"field": "NAME", "operator": "EQUALS", "value": "beta"}]}
    found = qc.search_content(knowledgeBaseId=kb["knowledgeBaseId"], searchExpression=by_name)
    assert [s["name"] for s in found["contentSummaries"]] == ["beta"]
    nothing = {"filters": [{"field": "NAME", "operator": "EQUALS", "value": "gamma"}]}
    assert (
        qc.search_content(knowledgeBaseId=kb["knowledgeBaseId"], searchExpression=nothing)["contentSummaries"]
        == []
    )


# -- content associations ------------------------------------------------------------------------


def test_a_content_has_at_most_one_guide_association(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    kb_id = kb["knowledgeBaseId"]
    content = create_content(target, qc, kb_id, "doc", b"x")
    guide = {"amazonConnectGuideAssociation": {"flowId": GUIDE_FLOW}}
    made = qc.create_content_association(
        knowledgeBaseId=kb_id,
        contentId=content["contentId"],
        associationType="AMAZON_CONNECT_GUIDE",
        association=guide,
        tags={"t": "1"},
    )["contentAssociation"]
    assert made["associationData"] == guide
    assert made["contentArn"] == content["contentArn"]
    assert made["contentAssociationArn"].endswith(
        f":content-association/{kb_id}/{content['contentId']}/{made['contentAssociationId']}"
    )
    with pytest.raises(qc.exceptions.ConflictException):
        qc.create_content_association(
            knowledgeBaseId=kb_id,
            contentId=content["contentId"],
            associationType="AMAZON_CONNECT_GUIDE",
            association=guide,
        )
    got = qc.get_content_association(
        knowledgeBaseId=kb_id,
        contentId=content["contentId"],
        contentAssociationId=made["contentAssociationArn"],
    )["contentAssociation"]
    assert got == made
    listed = qc.list_content_associations(knowledgeBaseId=kb_id, contentId=content["contentId"])
    assert [a["contentAssociationId"] for a in listed["contentAssociationSummaries"]] == [
        made["contentAssociationId"]
    ]
    assert qc.list_tags_for_resource(resourceArn=made["contentAssociationArn"])["tags"] == {"t": "1"}
    qc.delete_content_association(
        knowledgeBaseId=kb_id,
        contentId=content["contentId"],
        contentAssociationId=made["contentAssociationId"],
    )
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.get_content_association(
            knowledgeBaseId=kb_id,
            contentId=content["contentId"],
            contentAssociationId=made["contentAssociationId"],
        )
    # One may be made again once the first is gone.
    qc.create_content_association(
        knowledgeBaseId=kb_id,
        contentId=content["contentId"],
        associationType="AMAZON_CONNECT_GUIDE",
        association=guide,
    )


def test_deleting_content_removes_its_association(target: Target, qc: Any) -> None:
    kb = custom_kb(qc)
    kb_id = kb["knowledgeBaseId"]
    content = create_content(target, qc, kb_id, "doc", b"x")
    made = qc.create_content_association(
        knowledgeBaseId=kb_id,
        contentId=content["contentId"],
        associationType="AMAZON_CONNECT_GUIDE",
        association={"amazonConnectGuideAssociation": {"flowId": GUIDE_FLOW}},
    )["contentAssociation"]
    qc.delete_content(knowledgeBaseId=kb_id, contentId=content["contentId"])
    _wait_until(lambda: not qc.list_contents(knowledgeBaseId=kb_id)["contentSummaries"])
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.list_tags_for_resource(resourceArn=made["contentAssociationArn"])


# -- replica keys --------------------------------------------------------------------------------


def test_replica_keys_are_appended_to_the_encryption_configuration(target: Target, qc: Any) -> None:
    kb = custom_kb(
        qc, serverSideEncryptionConfiguration={"kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/a"}
    )
    key = {"arn": "arn:aws:kms:us-west-2:123456789012:key/b"}
    registered = qc.register_knowledge_base_replica_key(
        knowledgeBaseId=kb["knowledgeBaseId"], replicaKmsKey=key
    )
    encryption = registered["knowledgeBase"]["serverSideEncryptionConfiguration"]
    assert encryption == {"kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/a", "replicaKmsKeys": [key]}
    with pytest.raises(qc.exceptions.ConflictException):
        qc.register_knowledge_base_replica_key(knowledgeBaseId=kb["knowledgeBaseId"], replicaKmsKey=key)
    for i in range(4):
        qc.register_knowledge_base_replica_key(
            knowledgeBaseId=kb["knowledgeBaseId"],
            replicaKmsKey={"arn": f"arn:aws:kms:eu-west-{i}:123456789012:key/c"},
        )
    with pytest.raises(qc.exceptions.ValidationException, match="at most 5"):
        qc.register_knowledge_base_replica_key(
            knowledgeBaseId=kb["knowledgeBaseId"], replicaKmsKey={"arn": "arn:x"}
        )


# -- EXTERNAL knowledge bases --------------------------------------------------------------------


def external_kb(qc: Any, **extra: Any) -> dict[str, Any]:
    source = {
        "appIntegrations": {
            "appIntegrationArn": "arn:aws:app-integrations:us-east-1:123456789012:data-integration/abc"
        }
    }
    kb: dict[str, Any] = qc.create_knowledge_base(
        name="salesforce", knowledgeBaseType="EXTERNAL", sourceConfiguration=source, **extra
    )["knowledgeBase"]
    return kb


ARTICLE = {
    "Id": "ka0000000000001",
    "ArticleNumber": "000001001",
    "Title": "Resetting a router",
    "Summary": "How to reset",
    "Body__c": "<p>Hold the <b>reset</b> button for ten seconds.</p>",
}


def test_articles_delivered_to_an_external_knowledge_base_become_content(target: Target, qc: Any) -> None:
    kb = external_kb(qc, renderingConfiguration={"templateUri": "https://org.example.com/articles/${Id}"})
    kb_id = kb["knowledgeBaseId"]
    delivered = target.control(
        f"knowledgeBases/{kb_id}/ingest", {"source": "salesforce", "articles": [ARTICLE]}
    )
    [entry] = delivered["contents"]
    content = wait_for_content(qc, kb_id, entry["contentId"])
    assert content["status"] == "ACTIVE"
    assert content["name"] == "ka0000000000001"
    assert content["title"] == "Resetting a router"
    assert content["contentType"] == "application/x.wisdom-json;source=salesforce"
    assert content["linkOutUri"] == "https://org.example.com/articles/ka0000000000001"
    assert found_contents(target, kb_id, "reset button") == {content["contentId"]}
    status, _headers, body = target.http("GET", content["url"])
    assert status == 200 and json.loads(body) == ARTICLE
    # Delivered again with new wording: the same content, re-ingested.
    changed = {**ARTICLE, "Body__c": "<p>Unplug the router for a minute.</p>"}
    again = target.control(f"knowledgeBases/{kb_id}/ingest", {"source": "salesforce", "articles": [changed]})
    assert again["contents"][0]["contentId"] == content["contentId"]
    _wait_until(lambda: found_contents(target, kb_id, "unplug") == {content["contentId"]})


def test_uploads_and_create_content_are_refused_on_an_external_knowledge_base(
    target: Target, qc: Any
) -> None:
    kb = external_kb(qc)
    with pytest.raises(qc.exceptions.ValidationException, match="EXTERNAL"):
        qc.start_content_upload(knowledgeBaseId=kb["knowledgeBaseId"], contentType=PLAIN)


def test_the_ingest_endpoint_refuses_bad_deliveries(target: Target, qc: Any) -> None:
    kb = external_kb(qc)
    custom = custom_kb(qc)
    url = f"{target.endpoint_url or 'http://local'}/_qconnect/knowledgeBases/{kb['knowledgeBaseId']}/ingest"
    cases = [
        ({"source": "sharepoint", "articles": [ARTICLE]}, 400, b"source"),
        ({"source": "salesforce", "articles": []}, 400, b"articles"),
        ({"source": "salesforce", "articles": [{"Title": "no id"}]}, 400, b"Id"),
        ({"source": "salesforce", "articles": ["text"]}, 400, b"not a JSON object"),
    ]
    for body, status, message in cases:
        got, _headers, payload = target.http("POST", url, data=json.dumps(body).encode())
        assert (got, message in payload) == (status, True), payload
    wrong = url.replace(kb["knowledgeBaseId"], custom["knowledgeBaseId"])
    got, _headers, payload = target.http(
        "POST", wrong, data=json.dumps({"source": "salesforce", "articles": [ARTICLE]}).encode()
    )
    assert got == 400 and b"EXTERNAL" in payload
    missing = url.replace(kb["knowledgeBaseId"], "00000000-0000-0000-0000-000000000000")
    got, _headers, payload = target.http(
        "POST", missing, data=json.dumps({"source": "salesforce", "articles": [ARTICLE]}).encode()
    )
    assert got == 404 and b"ResourceNotFoundException" in payload
    assert qc.list_contents(knowledgeBaseId=kb["knowledgeBaseId"])["contentSummaries"] == []


def _wait_until(condition: Any) -> None:
    poll(condition, bool, what="the condition")


def test_the_content_quota_bounds_each_knowledge_base() -> None:
    with mock_qconnect(Settings(content_quota=2)) as mock:
        target = Target("in-process", None, mock)
        qc = target.client()
        kb = custom_kb(qc)
        for name in ("one", "two"):
            create_content(target, qc, kb["knowledgeBaseId"], name, b"x")
        with pytest.raises(qc.exceptions.ServiceQuotaExceededException, match="quota of 2 contents"):
            create_content(target, qc, kb["knowledgeBaseId"], "three", b"x")
        other = custom_kb(qc, name="other")
        create_content(target, qc, other["knowledgeBaseId"], "three", b"x")  # the quota is per knowledge base


def _docx_unpacking_to(xml_bytes: int) -> bytes:
    """A small DOCX whose document part unpacks to `xml_bytes` of paragraphs."""
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(docx_document("seed")))
    paragraph = b"<w:p><w:r><w:t>a</w:t></w:r></w:p>"
    body = paragraph * (xml_bytes // len(paragraph))
    document = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document '
        b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        + body
        + b"</w:body></w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in source.infolist():
            bomb.writestr(item, document if item.filename == "word/document.xml" else source.read(item))
    return out.getvalue()


def test_a_document_that_takes_too_long_to_read_fails_and_the_service_goes_on() -> None:
    with mock_qconnect(Settings(read_timeout_seconds=1)) as mock:
        target = Target("in-process", None, mock)
        qc = target.client()
        kb = custom_kb(qc)
        hostile = ingested(target, qc, kb["knowledgeBaseId"], "comments", b"<!--" * 100_000, HTML)
        assert hostile["status"] == "CREATE_FAILED"
        assert "longer than 1 s" in inspect_content(target, hostile["contentId"])["failureReason"]
        after = ingested(target, qc, kb["knowledgeBaseId"], "plain", b"Still reading files.")
        assert after["status"] == "ACTIVE"


def test_a_document_that_needs_too_much_memory_fails_and_the_service_goes_on() -> None:
    with mock_qconnect(Settings(read_memory_mb=200)) as mock:
        target = Target("in-process", None, mock)
        qc = target.client()
        kb = custom_kb(qc)
        bomb = _docx_unpacking_to(20 * 2**20)  # under the XML cap; python-docx needs some 400 MB for it
        assert len(bomb) < 1_000_000
        hostile = ingested(target, qc, kb["knowledgeBaseId"], "bomb", bomb, DOCX)
        assert hostile["status"] == "CREATE_FAILED"
        # lxml reports running out of memory as an unreadable document; either way, a reason.
        assert inspect_content(target, hostile["contentId"])["failureReason"]
        after = ingested(target, qc, kb["knowledgeBaseId"], "plain", b"Still reading files.")
        assert after["status"] == "ACTIVE"


def test_a_job_every_worker_died_on_is_failed_instead_of_run_again() -> None:
    from sqlalchemy import update

    from qconnect_local.store.schema import contents

    with mock_qconnect(Settings(run_worker=False)) as mock:
        target = Target("in-process", None, mock)
        qc = target.client()
        kb = custom_kb(qc)
        content = create_content(target, qc, kb["knowledgeBaseId"], "poison", b"text")
        with mock.runtime.store.write() as conn:  # as five workers that died on it would leave it
            conn.execute(update(contents).where(contents.c.id == content["contentId"]).values(attempts=5))
        mock.runtime.start_worker()
        failed = wait_for_content(qc, kb["knowledgeBaseId"], content["contentId"])
        assert failed["status"] == "CREATE_FAILED"
        assert "gave up after 5 attempts" in inspect_content(target, content["contentId"])["failureReason"]
