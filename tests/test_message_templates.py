"""Message templates: `$LATEST` as the draft, immutable versions, one active version, the content
hash, attachments with signed links, and rendering with the caller's attributes."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from conftest import Target
from qconnect_local.config import Settings
from qconnect_local.testing import mock_qconnect

EMAIL = {
    "email": {
        "subject": "Your order, {{Attributes.Customer.FirstName}}",
        "body": {
            "plainText": {
                "content": "Hello {{Attributes.Customer.FirstName}}, I am {{Attributes.Agent.FirstName}}."
            },
            "html": {"content": "<p>Hello {{Attributes.Customer.FirstName}}</p>"},
        },
    }
}
SMS = {"sms": {"body": {"plainText": {"content": "Code {{Attributes.Custom.code}}"}}}}


@pytest.fixture
def kb_id(qc: Any) -> str:
    kb = qc.create_knowledge_base(name="templates", knowledgeBaseType="MESSAGE_TEMPLATES")["knowledgeBase"]
    result: str = kb["knowledgeBaseId"]
    return result


def email_template(qc: Any, kb_id: str, name: str = "welcome", **extra: Any) -> dict[str, Any]:
    made: dict[str, Any] = qc.create_message_template(
        knowledgeBaseId=kb_id, name=name, channelSubtype="EMAIL", content=EMAIL, **extra
    )["messageTemplate"]
    return made


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def attach(qc: Any, kb_id: str, template_id: str, name: str, data: bytes) -> dict[str, Any]:
    attachment: dict[str, Any] = qc.create_message_template_attachment(
        knowledgeBaseId=kb_id,
        messageTemplateId=template_id,
        contentDisposition="ATTACHMENT",
        name=name,
        body=b64(data),
    )["attachment"]
    return attachment


def documented_sha256(
    content: Any, language: Any, defaults: Any, attachments: list[tuple[str, bytes]]
) -> str:
    """messageTemplateContentSha256 computed from docs/behaviour.md's canonical form alone."""
    document = {
        "attachments": sorted(
            ({"name": name, "sha256": hashlib.sha256(data).hexdigest()} for name, data in attachments),
            key=lambda a: a["name"],
        ),
        "content": content,
        "defaultAttributes": defaults,
        "language": language,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# -- where templates live -------------------------------------------------------------------------


def test_a_template_is_created_as_its_latest_draft_and_read_back(qc: Any, kb_id: str) -> None:
    made = email_template(qc, kb_id, language="en_US", description="first", tags={"team": "care"})
    assert made["channelSubtype"] == "EMAIL"
    assert made["messageTemplateArn"].endswith(f":message-template/{kb_id}/{made['messageTemplateId']}")
    assert made["lastModifiedBy"].endswith(":root")
    assert made["attributeTypes"] == ["AGENT", "CUSTOMER_PROFILE"]
    got = qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=made["messageTemplateArn"])[
        "messageTemplate"
    ]
    assert got["content"] == EMAIL
    assert got["tags"] == {"team": "care"}
    assert got["attachments"] == []
    assert "versionNumber" not in got
    latest = qc.get_message_template(
        knowledgeBaseId=kb_id, messageTemplateId=made["messageTemplateId"] + ":$LATEST"
    )
    assert latest["messageTemplate"]["messageTemplateContentSha256"] == made["messageTemplateContentSha256"]


def test_templates_live_only_in_message_template_knowledge_bases(qc: Any) -> None:
    kb = qc.create_knowledge_base(name="qr", knowledgeBaseType="QUICK_RESPONSES")["knowledgeBase"]
    with pytest.raises(qc.exceptions.ValidationException, match="MESSAGE_TEMPLATES"):
        email_template(qc, kb["knowledgeBaseId"])


def test_names_are_unique_per_knowledge_base(qc: Any, kb_id: str) -> None:
    email_template(qc, kb_id)
    with pytest.raises(qc.exceptions.ConflictException):
        email_template(qc, kb_id)
    other = qc.create_knowledge_base(name="other", knowledgeBaseType="MESSAGE_TEMPLATES")["knowledgeBase"]
    assert email_template(qc, other["knowledgeBaseId"])["name"] == "welcome"


def test_a_template_needs_a_name(qc: Any, kb_id: str) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match="name"):
        qc.create_message_template(knowledgeBaseId=kb_id, channelSubtype="SMS", content=SMS)


def test_the_content_must_be_the_channel_subtypes(qc: Any, kb_id: str) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match=r"content\.sms"):
        qc.create_message_template(knowledgeBaseId=kb_id, name="x", channelSubtype="SMS", content=EMAIL)


def test_a_source_configuration_is_for_whatsapp_only(qc: Any, kb_id: str) -> None:
    source = {"whatsApp": {"businessAccountId": "waba-123", "templateId": "987"}}
    with pytest.raises(qc.exceptions.ValidationException, match="WHATSAPP"):
        qc.create_message_template(
            knowledgeBaseId=kb_id, name="x", channelSubtype="SMS", content=SMS, sourceConfiguration=source
        )
    made = qc.create_message_template(
        knowledgeBaseId=kb_id,
        name="wa",
        channelSubtype="WHATSAPP",
        content={"whatsApp": {"data": "{}"}},
        sourceConfiguration=source,
    )["messageTemplate"]
    assert made["sourceConfigurationSummary"]["whatsApp"]["status"] == "VALID"
    summary = qc.list_message_templates(knowledgeBaseId=kb_id)["messageTemplateSummaries"][0]
    assert summary["sourceConfiguration"] == source


def test_an_sms_body_holds_at_most_800_characters(qc: Any, kb_id: str) -> None:
    body = {"sms": {"body": {"plainText": {"content": "x" * 801}}}}
    with pytest.raises(qc.exceptions.ValidationException, match="800"):
        qc.create_message_template(knowledgeBaseId=kb_id, name="long", channelSubtype="SMS", content=body)
    body["sms"]["body"]["plainText"]["content"] = "x" * 800
    qc.create_message_template(knowledgeBaseId=kb_id, name="long", channelSubtype="SMS", content=body)


def test_an_unsupported_language_is_refused(qc: Any, kb_id: str) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match="en_US"):
        email_template(qc, kb_id, language="xx_YY")


def test_the_quota_of_templates_per_knowledge_base() -> None:
    with mock_qconnect(Settings(message_template_quota=2)):
        qc = Target("in-process", None, None).client()
        kb_id = qc.create_knowledge_base(name="t", knowledgeBaseType="MESSAGE_TEMPLATES")["knowledgeBase"][
            "knowledgeBaseId"
        ]
        email_template(qc, kb_id, "a")
        email_template(qc, kb_id, "b")
        with pytest.raises(qc.exceptions.ServiceQuotaExceededException):
            email_template(qc, kb_id, "c")


# -- $LATEST, metadata and the hash -----------------------------------------------------------------


def test_update_changes_only_latest(qc: Any, kb_id: str) -> None:
    made = email_template(qc, kb_id)
    template_id = made["messageTemplateId"]
    qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    new_content = {"email": {"subject": "New", "body": {"plainText": {"content": "new"}}}}
    updated = qc.update_message_template(
        knowledgeBaseId=kb_id, messageTemplateId=template_id, content=new_content, language="fr_FR"
    )["messageTemplate"]
    assert updated["content"] == new_content
    assert updated["language"] == "fr_FR"
    assert updated["messageTemplateContentSha256"] != made["messageTemplateContentSha256"]
    version = qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:1")
    assert version["messageTemplate"]["content"] == EMAIL
    assert "language" not in version["messageTemplate"]


def test_a_partial_update_keeps_what_it_does_not_name(qc: Any, kb_id: str) -> None:
    made = email_template(qc, kb_id, language="en_US")
    defaults = {"agentAttributes": {"firstName": "Ann"}}
    updated = qc.update_message_template(
        knowledgeBaseId=kb_id, messageTemplateId=made["messageTemplateId"], defaultAttributes=defaults
    )["messageTemplate"]
    assert updated["content"] == EMAIL
    assert updated["language"] == "en_US"
    assert updated["defaultAttributes"] == defaults


def test_metadata_applies_to_latest_and_every_version(qc: Any, kb_id: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"]
    qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    grouping = {"criteria": "RoutingProfileArn", "values": ["arn:aws:connect:us-east-1:123456789012:rp/1"]}
    qc.update_message_template_metadata(
        knowledgeBaseId=kb_id,
        messageTemplateId=template_id,
        name="renamed",
        description="now described",
        groupingConfiguration=grouping,
    )
    for qualifier in ("", ":1"):
        got = qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id + qualifier)
        assert got["messageTemplate"]["name"] == "renamed"
        assert got["messageTemplate"]["description"] == "now described"
        assert got["messageTemplate"]["groupingConfiguration"] == grouping


def test_renaming_to_a_taken_name_is_a_conflict(qc: Any, kb_id: str) -> None:
    email_template(qc, kb_id, "a")
    b = email_template(qc, kb_id, "b")
    with pytest.raises(qc.exceptions.ConflictException):
        qc.update_message_template_metadata(
            knowledgeBaseId=kb_id, messageTemplateId=b["messageTemplateId"], name="a"
        )


def test_the_content_hash_follows_the_documented_canonical_form(qc: Any, kb_id: str) -> None:
    defaults = {"customAttributes": {"code": "1234"}}
    made = email_template(qc, kb_id, language="en_US", defaultAttributes=defaults)
    assert made["messageTemplateContentSha256"] == documented_sha256(EMAIL, "en_US", defaults, [])
    attach(qc, kb_id, made["messageTemplateId"], "terms.pdf", b"%PDF terms")
    got = qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=made["messageTemplateId"])
    assert got["messageTemplate"]["messageTemplateContentSha256"] == documented_sha256(
        EMAIL, "en_US", defaults, [("terms.pdf", b"%PDF terms")]
    )


def test_metadata_does_not_change_the_content_hash(qc: Any, kb_id: str) -> None:
    made = email_template(qc, kb_id)
    renamed = qc.update_message_template_metadata(
        knowledgeBaseId=kb_id, messageTemplateId=made["messageTemplateId"], name="other", description="d"
    )["messageTemplate"]
    assert renamed["messageTemplateContentSha256"] == made["messageTemplateContentSha256"]


@pytest.mark.parametrize("operation", ["update", "metadata", "version", "attach"])
def test_operations_on_latest_refuse_a_qualifier(qc: Any, kb_id: str, operation: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"] + ":1"
    calls = {
        "update": lambda: qc.update_message_template(
            knowledgeBaseId=kb_id, messageTemplateId=template_id, language="en_US"
        ),
        "metadata": lambda: qc.update_message_template_metadata(
            knowledgeBaseId=kb_id, messageTemplateId=template_id, name="n"
        ),
        "version": lambda: qc.create_message_template_version(
            knowledgeBaseId=kb_id, messageTemplateId=template_id
        ),
        "attach": lambda: attach(qc, kb_id, template_id, "a.txt", b"a"),
    }
    with pytest.raises(qc.exceptions.ValidationException, match="qualifier"):
        calls[operation]()


@pytest.mark.parametrize("qualifier", [":7", ":$ACTIVE_VERSION", ":$SAVED"])
def test_a_qualifier_naming_no_version_is_not_found(qc: Any, kb_id: str, qualifier: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"]
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id + qualifier)


# -- versions and activation -------------------------------------------------------------------------


def test_versions_are_numbered_from_one_and_made_once_per_content(qc: Any, kb_id: str) -> None:
    made = email_template(qc, kb_id)
    template_id = made["messageTemplateId"]
    first = qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    assert first["messageTemplate"]["versionNumber"] == 1
    assert first["messageTemplate"]["messageTemplateArn"] == made["messageTemplateArn"] + ":1"
    assert first["messageTemplate"]["isActive"] is False
    again = qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    assert again["messageTemplate"]["versionNumber"] == 1
    qc.update_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, language="de_DE")
    second = qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    assert second["messageTemplate"]["versionNumber"] == 2
    listed = qc.list_message_template_versions(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    assert [v["versionNumber"] for v in listed["messageTemplateVersionSummaries"]] == [1, 2]


def test_a_stale_content_hash_is_a_conflict(qc: Any, kb_id: str) -> None:
    made = email_template(qc, kb_id)
    template_id = made["messageTemplateId"]
    qc.update_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, language="de_DE")
    with pytest.raises(qc.exceptions.ConflictException, match="changed"):
        qc.create_message_template_version(
            knowledgeBaseId=kb_id,
            messageTemplateId=template_id,
            messageTemplateContentSha256=made["messageTemplateContentSha256"],
        )
    current = qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id)["messageTemplate"]
    version = qc.create_message_template_version(
        knowledgeBaseId=kb_id,
        messageTemplateId=template_id,
        messageTemplateContentSha256=current["messageTemplateContentSha256"],
    )
    assert version["messageTemplate"]["versionNumber"] == 1


def test_the_quota_of_versions_per_template() -> None:
    with mock_qconnect(Settings(message_template_version_quota=2)):
        qc = Target("in-process", None, None).client()
        kb_id = qc.create_knowledge_base(name="t", knowledgeBaseType="MESSAGE_TEMPLATES")["knowledgeBase"][
            "knowledgeBaseId"
        ]
        template_id = email_template(qc, kb_id)["messageTemplateId"]
        for language in ("en_US", "de_DE"):
            qc.update_message_template(
                knowledgeBaseId=kb_id, messageTemplateId=template_id, language=language
            )
            qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
        qc.update_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, language="fr_FR")
        with pytest.raises(qc.exceptions.ServiceQuotaExceededException):
            qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)


def test_one_version_is_active_at_a_time(qc: Any, kb_id: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"]
    for language in ("en_US", "de_DE"):
        qc.update_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, language=language)
        qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    activated = qc.activate_message_template(
        knowledgeBaseId=kb_id, messageTemplateId=template_id, versionNumber=1
    )
    assert activated["versionNumber"] == 1
    assert activated["messageTemplateArn"].endswith(f"/{template_id}:1")
    active = qc.get_message_template(
        knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:$ACTIVE_VERSION"
    )
    assert active["messageTemplate"]["language"] == "en_US"
    qc.activate_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, versionNumber=2)
    listed = qc.list_message_template_versions(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    assert [(v["versionNumber"], v["isActive"]) for v in listed["messageTemplateVersionSummaries"]] == [
        (1, False),
        (2, True),
    ]
    summary = qc.list_message_templates(knowledgeBaseId=kb_id)["messageTemplateSummaries"][0]
    assert summary["activeVersionNumber"] == 2


def test_deactivating_leaves_no_active_version(qc: Any, kb_id: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"]
    qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    qc.activate_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, versionNumber=1)
    qc.deactivate_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, versionNumber=1)
    active = f"{template_id}:$ACTIVE_VERSION"
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=active)
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.render_message_template(knowledgeBaseId=kb_id, messageTemplateId=active, attributes={})
    with pytest.raises(qc.exceptions.ConflictException, match="not active"):
        qc.deactivate_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, versionNumber=1)


def test_activating_a_version_that_does_not_exist_is_not_found(qc: Any, kb_id: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"]
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.activate_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, versionNumber=3)


def test_deleting_a_version_keeps_the_others_and_never_reuses_its_number(qc: Any, kb_id: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"]
    for language in ("en_US", "de_DE"):
        qc.update_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, language=language)
        qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    qc.activate_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, versionNumber=1)
    with pytest.raises(qc.exceptions.ConflictException, match="active"):
        qc.delete_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:1")
    qc.delete_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:2")
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:2")
    qc.update_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, language="fr_FR")
    third = qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    assert third["messageTemplate"]["versionNumber"] == 3
    qc.delete_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:1")


# -- attachments -----------------------------------------------------------------------------------


def test_an_attachment_link_serves_exactly_its_bytes(target: Target, qc: Any, kb_id: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"]
    data = bytes(range(256)) * 40
    attachment = attach(qc, kb_id, template_id, "price list.pdf", data)
    assert attachment["contentDisposition"] == "ATTACHMENT"
    status, headers, body = target.http("GET", attachment["url"])
    assert (status, body) == (200, data)
    assert headers["content-type"] == "application/pdf"
    got = qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id)["messageTemplate"]
    assert [a["attachmentId"] for a in got["attachments"]] == [attachment["attachmentId"]]


def test_a_tampered_attachment_link_is_refused(target: Target, qc: Any, kb_id: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"]
    url = attach(qc, kb_id, template_id, "a.txt", b"secret")["url"]
    status, _headers, body = target.http("GET", url.replace("signature=", "signature=0"))
    assert status == 403
    assert b"SignatureDoesNotMatch" in body


def test_a_version_keeps_the_attachments_it_was_made_with(target: Target, qc: Any, kb_id: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"]
    kept = attach(qc, kb_id, template_id, "kept.txt", b"kept")
    qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    qc.delete_message_template_attachment(
        knowledgeBaseId=kb_id, messageTemplateId=template_id, attachmentId=kept["attachmentId"]
    )
    latest = qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id)["messageTemplate"]
    assert latest["attachments"] == []
    version = qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:1")[
        "messageTemplate"
    ]
    assert [a["name"] for a in version["attachments"]] == ["kept.txt"]
    assert target.http("GET", version["attachments"][0]["url"])[2] == b"kept"
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.delete_message_template_attachment(
            knowledgeBaseId=kb_id, messageTemplateId=template_id, attachmentId=kept["attachmentId"]
        )


def test_a_deleted_attachment_no_version_names_is_gone(target: Target, qc: Any, kb_id: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"]
    doomed = attach(qc, kb_id, template_id, "doomed.txt", b"bye")
    qc.delete_message_template_attachment(
        knowledgeBaseId=kb_id, messageTemplateId=template_id, attachmentId=doomed["attachmentId"]
    )
    assert target.http("GET", doomed["url"])[0] == 404


def test_attachment_names_are_unique_in_latest(qc: Any, kb_id: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"]
    attach(qc, kb_id, template_id, "a.txt", b"1")
    with pytest.raises(qc.exceptions.ConflictException):
        attach(qc, kb_id, template_id, "a.txt", b"2")


def test_attachments_belong_to_email_templates(qc: Any, kb_id: str) -> None:
    sms = qc.create_message_template(knowledgeBaseId=kb_id, name="s", channelSubtype="SMS", content=SMS)
    with pytest.raises(qc.exceptions.ValidationException, match="EMAIL"):
        attach(qc, kb_id, sms["messageTemplate"]["messageTemplateId"], "a.txt", b"1")


@pytest.mark.parametrize("body", ["not base64!", "YWJj=", "YQ"])
def test_an_attachment_body_must_be_base64(qc: Any, kb_id: str, body: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"]
    with pytest.raises(qc.exceptions.ValidationException, match="base64"):
        qc.create_message_template_attachment(
            knowledgeBaseId=kb_id,
            messageTemplateId=template_id,
            contentDisposition="ATTACHMENT",
            name="a.txt",
            body=body,
        )


def test_an_attachment_holds_at_most_one_mebibyte(qc: Any, kb_id: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"]
    with pytest.raises(qc.exceptions.ValidationException, match="1,048,576"):
        attach(qc, kb_id, template_id, "big.bin", b"x" * (1024 * 1024 + 1))
    attach(qc, kb_id, template_id, "fits.bin", b"x" * (1024 * 1024))


def test_the_quota_of_attachments_per_template() -> None:
    with mock_qconnect(Settings(message_template_attachment_quota=2)):
        qc = Target("in-process", None, None).client()
        kb_id = qc.create_knowledge_base(name="t", knowledgeBaseType="MESSAGE_TEMPLATES")["knowledgeBase"][
            "knowledgeBaseId"
        ]
        template_id = email_template(qc, kb_id)["messageTemplateId"]
        first = attach(qc, kb_id, template_id, "1.txt", b"1")
        attach(qc, kb_id, template_id, "2.txt", b"2")
        with pytest.raises(qc.exceptions.ServiceQuotaExceededException):
            attach(qc, kb_id, template_id, "3.txt", b"3")
        qc.delete_message_template_attachment(
            knowledgeBaseId=kb_id, messageTemplateId=template_id, attachmentId=first["attachmentId"]
        )
        attach(qc, kb_id, template_id, "3.txt", b"3")


def test_a_client_token_replays_the_attachment(qc: Any, kb_id: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"]
    request = dict(
        knowledgeBaseId=kb_id,
        messageTemplateId=template_id,
        contentDisposition="ATTACHMENT",
        name="a.txt",
        body=b64(b"1"),
        clientToken="once",
    )
    first = qc.create_message_template_attachment(**request)["attachment"]
    again = qc.create_message_template_attachment(**request)["attachment"]
    assert again["attachmentId"] == first["attachmentId"]


# -- rendering -----------------------------------------------------------------------------------


def test_render_fills_request_values_over_defaults_and_lists_what_is_missing(qc: Any, kb_id: str) -> None:
    template_id = email_template(
        qc,
        kb_id,
        defaultAttributes={
            "agentAttributes": {"firstName": "Ann"},
            "customerProfileAttributes": {"firstName": "friend"},
        },
    )["messageTemplateId"]
    rendered = qc.render_message_template(
        knowledgeBaseId=kb_id,
        messageTemplateId=template_id,
        attributes={"customerProfileAttributes": {"firstName": "Bob <b>"}},
    )
    email = rendered["content"]["email"]
    assert email["subject"] == "Your order, Bob <b>"
    assert email["body"]["plainText"]["content"] == "Hello Bob <b>, I am Ann."
    assert email["body"]["html"]["content"] == "<p>Hello Bob &lt;b&gt;</p>"
    assert rendered["attributesNotInterpolated"] == []


def test_render_keeps_placeholders_it_has_no_value_for(qc: Any, kb_id: str) -> None:
    made = qc.create_message_template(knowledgeBaseId=kb_id, name="s", channelSubtype="SMS", content=SMS)
    rendered = qc.render_message_template(
        knowledgeBaseId=kb_id, messageTemplateId=made["messageTemplate"]["messageTemplateId"], attributes={}
    )
    assert rendered["content"]["sms"]["body"]["plainText"]["content"] == "Code {{Attributes.Custom.code}}"
    assert rendered["attributesNotInterpolated"] == ["Attributes.Custom.code"]


def test_render_a_version_with_fresh_attachment_links(target: Target, qc: Any, kb_id: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"]
    attach(qc, kb_id, template_id, "a.txt", b"data")
    qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    qc.update_message_template(
        knowledgeBaseId=kb_id,
        messageTemplateId=template_id,
        content={"email": {"subject": "changed", "body": {"plainText": {"content": "x"}}}},
    )
    rendered = qc.render_message_template(
        knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:1", attributes={}
    )
    assert rendered["content"]["email"]["subject"] == "Your order, {{Attributes.Customer.FirstName}}"
    assert [a["name"] for a in rendered["attachments"]] == ["a.txt"]
    assert target.http("GET", rendered["attachments"][0]["url"])[2] == b"data"


# -- lists and search ------------------------------------------------------------------------------


def test_list_pages_through_every_template(qc: Any, kb_id: str) -> None:
    names = [f"t{i}" for i in range(5)]
    for name in names:
        email_template(qc, kb_id, name)
    seen, token = [], None
    while True:
        page = qc.list_message_templates(
            knowledgeBaseId=kb_id, maxResults=2, **({"nextToken": token} if token else {})
        )
        seen += [s["name"] for s in page["messageTemplateSummaries"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == names


def test_search_by_name_and_description_words(qc: Any, kb_id: str) -> None:
    email_template(qc, kb_id, "order shipped", description="sent when the parcel leaves")
    email_template(qc, kb_id, "refund issued", description="money back")
    email_template(qc, kb_id, "password reset")

    def search(**expression: Any) -> list[str]:
        results = qc.search_message_templates(knowledgeBaseId=kb_id, searchExpression=expression)["results"]
        return [r["name"] for r in results]

    assert search(queries=[{"name": "name", "values": ["refund"], "operator": "CONTAINS"}]) == [
        "refund issued"
    ]
    assert search(queries=[{"name": "name", "values": ["ship"], "operator": "CONTAINS"}]) == []
    assert search(queries=[{"name": "name", "values": ["ship"], "operator": "CONTAINS_AND_PREFIX"}]) == [
        "order shipped"
    ]
    fuzzy = [{"name": "description", "values": ["parsel"], "operator": "CONTAINS", "allowFuzziness": True}]
    assert search(queries=fuzzy) == ["order shipped"]
    both = [
        {"name": "name", "values": ["password"], "operator": "CONTAINS", "priority": "LOW"},
        {"name": "description", "values": ["money"], "operator": "CONTAINS", "priority": "HIGH"},
    ]
    assert search(queries=both) == ["refund issued", "password reset"]
    assert search(orderOnField={"name": "name", "order": "DESC"}) == [
        "refund issued",
        "password reset",
        "order shipped",
    ]


def test_search_filters_and_the_qualifier(qc: Any, kb_id: str) -> None:
    first = email_template(qc, kb_id, "first", language="en_US")["messageTemplateId"]
    email_template(qc, kb_id, "second")
    qc.create_message_template(knowledgeBaseId=kb_id, name="text", channelSubtype="SMS", content=SMS)
    qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=first)
    qc.activate_message_template(knowledgeBaseId=kb_id, messageTemplateId=first, versionNumber=1)

    def search(*filters: dict[str, Any]) -> list[tuple[str, Any]]:
        results = qc.search_message_templates(
            knowledgeBaseId=kb_id, searchExpression={"filters": list(filters)}
        )
        return [(r["name"], r.get("versionNumber")) for r in results["results"]]

    assert search({"name": "channelSubtype", "values": ["SMS"], "operator": "EQUALS"}) == [("text", None)]
    assert search({"name": "name", "values": ["s"], "operator": "PREFIX"}) == [("second", None)]
    assert search(
        {"name": "language", "values": ["en_US"], "operator": "EQUALS", "includeNoExistence": True}
    ) == [
        ("first", None),
        ("second", None),
        ("text", None),
    ]
    assert search({"name": "qualifier", "values": ["$ACTIVE_VERSION"], "operator": "EQUALS"}) == [
        ("first", 1)
    ]
    assert (
        len(search({"name": "qualifier", "values": ["$LATEST", "$ACTIVE_VERSION"], "operator": "EQUALS"}))
        == 4
    )


def test_search_pages_are_bound_to_their_expression(qc: Any, kb_id: str) -> None:
    for i in range(3):
        email_template(qc, kb_id, f"t{i}")
    first = qc.search_message_templates(knowledgeBaseId=kb_id, searchExpression={}, maxResults=2)
    second = qc.search_message_templates(
        knowledgeBaseId=kb_id, searchExpression={}, maxResults=2, nextToken=first["nextToken"]
    )
    assert [r["name"] for r in first["results"] + second["results"]] == ["t0", "t1", "t2"]
    assert "nextToken" not in second
    with pytest.raises(qc.exceptions.ValidationException):
        qc.search_message_templates(
            knowledgeBaseId=kb_id,
            searchExpression={"filters": [{"name": "name", "values": ["t"], "operator": "PREFIX"}]},
            nextToken=first["nextToken"],
        )


def test_an_unknown_search_field_is_refused(qc: Any, kb_id: str) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match="content"):
        qc.search_message_templates(
            knowledgeBaseId=kb_id,
            searchExpression={"queries": [{"name": "content", "values": ["x"], "operator": "CONTAINS"}]},
        )


def test_search_results_carry_their_tags(qc: Any, kb_id: str) -> None:
    email_template(qc, kb_id, tags={"team": "care"})
    result = qc.search_message_templates(knowledgeBaseId=kb_id, searchExpression={})["results"][0]
    assert result["tags"] == {"team": "care"}


def test_a_version_number_too_large_for_any_store_names_nothing(qc: Any, kb_id: str) -> None:
    template_id = email_template(qc, kb_id)["messageTemplateId"]
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:{'9' * 30}")


@pytest.mark.parametrize("value", ["99999999999999999999", "9999-12-31", "9999-12-31T23:59:59.9"])
def test_a_time_filter_beyond_any_date_is_refused(qc: Any, kb_id: str, value: str) -> None:
    expression = {"filters": [{"name": "createdTime", "operator": "EQUALS", "values": [value]}]}
    with pytest.raises(qc.exceptions.ValidationException):
        qc.search_message_templates(knowledgeBaseId=kb_id, searchExpression=expression)
