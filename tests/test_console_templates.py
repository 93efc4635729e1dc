"""The console's message templates: the knowledge base's list, a template's versions with the
active one marked, its attachments' signed links, and a live RenderMessageTemplate preview."""

from __future__ import annotations

import base64
from typing import Any

from browser import Console

SMS = {
    "sms": {
        "body": {
            "plainText": {"content": "Hi {{Attributes.Customer.FirstName}}, code {{Attributes.Custom.code}}"}
        }
    }
}


def _templates_kb(qc: Any) -> str:
    kb = qc.create_knowledge_base(name="console-templates", knowledgeBaseType="MESSAGE_TEMPLATES")
    kb_id: str = kb["knowledgeBase"]["knowledgeBaseId"]
    return kb_id


def test_the_preview_renders_as_attributes_are_typed_and_lists_what_stays_unfilled(console: Console) -> None:
    qc = console.client()
    kb_id = _templates_kb(qc)
    qc.create_message_template(
        knowledgeBaseId=kb_id,
        name="order-code",
        channelSubtype="SMS",
        content=SMS,
        defaultAttributes={"customerProfileAttributes": {"firstName": "friend"}},
    )
    page = console.open(f"knowledge-bases/{kb_id}/message-templates")
    page.get_by_role("link", name="Preview order-code").click()
    page.wait_for_url("**/message-templates/*/preview")
    preview = page.locator("#template-preview")
    assert "Hi friend, code {{Attributes.Custom.code}}" in preview.inner_text()
    assert page.locator("#not-interpolated").inner_text().strip() == "Attributes.Custom.code"
    assert page.get_by_label("Attributes.Customer.FirstName").input_value() == "friend"

    page.evaluate("window.stillTheSamePage = true")
    page.get_by_label("Attributes.Custom.code").fill("7731")
    page.get_by_label("Attributes.Customer.FirstName").fill("<i>Ann</i>")
    page.locator("#template-preview", has_text="Hi <i>Ann</i>, code 7731").wait_for()
    assert page.evaluate("window.stillTheSamePage === true")  # updated in place, no reload
    assert page.locator("#template-preview i").count() == 0  # a value is text, never markup
    assert page.locator("#not-interpolated").inner_text() == "Every placeholder was filled."

    page.get_by_role("button", name="Render").click()  # without the script the form still works
    page.wait_for_url("**/preview?submitted=1*")
    assert "Hi <i>Ann</i>, code 7731" in page.locator("#template-preview").inner_text()


def test_a_template_shows_its_versions_the_active_one_and_its_attachments(console: Console) -> None:
    qc = console.client()
    kb_id = _templates_kb(qc)
    first = {
        "email": {
            "subject": "Welcome {{Attributes.Customer.FirstName}}",
            "body": {"html": {"content": "<p>First</p>"}},
        }
    }
    made = qc.create_message_template(
        knowledgeBaseId=kb_id, name="welcome", channelSubtype="EMAIL", content=first
    )["messageTemplate"]
    template_id = made["messageTemplateId"]
    qc.create_message_template_attachment(
        knowledgeBaseId=kb_id,
        messageTemplateId=template_id,
        contentDisposition="ATTACHMENT",
        name="terms.txt",
        body=base64.b64encode(b"the terms").decode(),
    )
    qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    qc.activate_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, versionNumber=1)
    second = {"email": {"subject": "Hello again", "body": {"html": {"content": "<p>Second</p>"}}}}
    qc.update_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, content=second)
    qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)

    page = console.open(f"knowledge-bases/{kb_id}/message-templates")
    page.get_by_role("link", name="welcome", exact=True).click()
    page.wait_for_url(f"**/message-templates/{template_id}")
    versions = page.locator("#template-versions li")
    assert versions.nth(1).inner_text() == "Version 1 active"
    assert versions.nth(2).inner_text() == "Version 2"
    assert page.locator("pre[data-part='email.subject']").inner_text() == "Hello again"
    link = page.locator("#template-attachments").get_by_role("link", name="Download")
    assert "signature=" in (link.get_attribute("href") or "")

    page.get_by_role("link", name="Version 1").click()
    page.wait_for_url("**?version=1")
    assert (
        page.locator("pre[data-part='email.subject']").inner_text()
        == "Welcome {{Attributes.Customer.FirstName}}"
    )
    assert page.locator("pre[data-part='email.body.html.content']").inner_text() == "<p>First</p>"
