"""The console's knowledge-base pages: lists, details, quick-response search, import jobs with their
failed records, contents with their extracted text and passages, and hostile text shown as text."""

from __future__ import annotations

from typing import Any

from browser import Console
from documents import PDF, PLAIN, custom_kb, ingested, pdf_document
from importing import import_csv, quick_response_kb
from polling import poll

HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def watch_dialogs(page: Any) -> list[str]:
    """Every dialog the page opens (the fixture accepts them; a hostile text must open none)."""
    fired: list[str] = []
    page.on("dialog", lambda dialog: fired.append(dialog.message))
    return fired


def test_an_import_with_a_bad_row_shows_the_rows_error_in_its_job_page(console: Console) -> None:
    qc = console.client()
    kb = quick_response_kb(qc, name="console-imports")
    job = import_csv(
        console.target(),
        qc,
        kb["knowledgeBaseId"],
        "Name,Content,Language\nWelcome,Hello there,en_US\nBonjour,Salut,english\n",
    )
    assert job["status"] == "COMPLETE"
    page = console.open(f"knowledge-bases/{kb['knowledgeBaseId']}")
    counts = page.locator("table.fields", has_text="Quick responses").inner_text()
    assert "Quick responses\t1" in counts and "COMPLETE: 1" in counts
    page.get_by_role("link", name="Import jobs").first.click()
    page.get_by_role("link", name=job["importJobId"]).click()
    page.wait_for_url("**/import-jobs/" + job["importJobId"])
    assert page.locator(".status-COMPLETE").first.inner_text() == "COMPLETE"
    row = page.locator("table.report tbody tr")
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[:4] == ["3", "Bonjour", "Salut", "english"]
    assert "Language: 'english' is not a supported language" in cells[4]
    assert page.locator("table.report thead th").all_inner_texts() == [
        "Line",
        "Name",
        "Content",
        "Language",
        "Errors",
    ]
    report = page.get_by_role("link", name="The failed-record report")
    status, _headers, body = console.target().http("GET", report.get_attribute("href") or "")
    assert status == 200 and b"Bonjour" in body


def test_a_pdf_contents_text_and_passages_are_on_its_page(console: Console) -> None:
    qc = console.client()
    kb = custom_kb(qc, name="console-docs")
    text = "The refund window is thirty days from the date of purchase."
    content = ingested(console.target(), qc, kb["knowledgeBaseId"], "policy.pdf", pdf_document(text), PDF)
    assert content["status"] == "ACTIVE"
    page = console.open(f"knowledge-bases/{kb['knowledgeBaseId']}")
    assert "application/pdf" in page.locator("main").inner_text()
    page.get_by_role("link", name="Contents").first.click()
    page.get_by_role("link", name="policy.pdf").click()
    page.wait_for_url("**/contents/" + content["contentId"])
    assert text in page.locator("#extracted-text").inner_text()
    passage = page.locator("#passage-0")
    assert text in passage.locator(".passage-text").inner_text()
    assert "characters 0\N{EN DASH}" in passage.inner_text()
    page.goto(page.url + "#passage-0")
    assert passage.is_visible()


def test_the_quick_response_search_finds_a_response_and_marks_its_words(console: Console) -> None:
    qc = console.client()
    kb = quick_response_kb(qc, name="console-search")
    kb_id = kb["knowledgeBaseId"]
    for name, text in [
        ("Refund policy", "Refunds are issued within 14 days."),
        ("Greeting", "Hello, how can I help?"),
        ("Farewell", "Goodbye and thank you."),
    ]:
        qc.create_quick_response(
            knowledgeBaseId=kb_id, name=name, content={"content": text}, shortcutKey=name[:4]
        )
    page = console.open(f"knowledge-bases/{kb_id}/quick-responses")
    assert page.locator("#qr-results tbody tr").count() == 3
    page.get_by_label("Search").fill("refund")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/quick-responses?q=refund")
    rows = page.locator("#qr-results tbody tr")
    assert rows.count() == 1
    assert rows.locator("mark").first.inner_text() == "Refund"
    rows.get_by_role("link", name="Refund policy").click()
    assert "Refunds are issued within 14 days." in page.locator("pre.quick-response-content").inner_text()
    fields = page.locator("table.fields").inner_text()
    assert "Shortcut key\tRefu" in fields and "Status\tCREATED" in fields


def test_managed_and_external_knowledge_bases_show_what_they_were_given(console: Console) -> None:
    qc = console.client()
    seed = f"{console.server.url}/_qconnect/no-such-page"
    crawler = {"urlConfiguration": {"seedUrls": [{"url": seed}]}}
    managed = qc.create_knowledge_base(
        name="console-site",
        knowledgeBaseType="MANAGED",
        sourceConfiguration={"managedSourceConfiguration": {"webCrawlerConfiguration": crawler}},
    )["knowledgeBase"]
    external = qc.create_knowledge_base(
        name="console-salesforce",
        knowledgeBaseType="EXTERNAL",
        sourceConfiguration={
            "appIntegrations": {
                "appIntegrationArn": "arn:aws:app-integrations:us-east-1:123456789012:data-integration/a"
            }
        },
    )["knowledgeBase"]
    article = {"Id": "ka01", "Title": "Resetting a router", "Body__c": "<p>Hold the reset button.</p>"}
    console.server.control(
        f"knowledgeBases/{external['knowledgeBaseId']}/ingest",
        {"account": console.account, "source": "salesforce", "articles": [article]},
    )
    synced = poll(
        lambda: qc.get_knowledge_base(knowledgeBaseId=managed["knowledgeBaseId"])["knowledgeBase"],
        lambda kb: kb["ingestionStatus"] != "CREATE_IN_PROGRESS",
        what="the crawl",
    )
    assert synced["ingestionStatus"] == "SYNC_FAILED"
    page = console.open("knowledge-bases")
    page.get_by_role("link", name="console-site").click()
    assert page.locator(".status-SYNC_FAILED").inner_text() == "SYNC_FAILED"
    assert seed in page.locator("ul.failure-reasons").inner_text()
    page = console.open("knowledge-bases")
    page.get_by_role("link", name="console-salesforce").click()
    delivered = page.locator("h2:has-text('Delivered articles') + p + table tbody tr")
    assert delivered.count() == 1
    source, _status, articles = delivered.locator("td").all_inner_texts()
    assert (source, articles) == ("salesforce", "1")


def test_hostile_names_cells_and_documents_are_shown_as_text(console: Console) -> None:
    qc = console.client()
    fired = watch_dialogs(console.page)
    link = console.target()
    kb = quick_response_kb(qc, name=HOSTILE)
    job = import_csv(link, qc, kb["knowledgeBaseId"], f'Name,Content\nfine,ok\n"{HOSTILE}",\n')
    qc.create_quick_response(
        knowledgeBaseId=kb["knowledgeBaseId"], name="x" + HOSTILE, content={"content": HOSTILE}
    )
    docs = custom_kb(qc, name="console-hostile-docs")
    content = ingested(link, qc, docs["knowledgeBaseId"], HOSTILE, HOSTILE.encode(), PLAIN)
    pages = [
        ("knowledge-bases", "main table"),
        (f"knowledge-bases/{kb['knowledgeBaseId']}", "h1"),
        (f"knowledge-bases/{kb['knowledgeBaseId']}/import-jobs/{job['importJobId']}", "table.report"),
        (f"knowledge-bases/{kb['knowledgeBaseId']}/quick-responses?q=img", "#qr-results"),
        (f"knowledge-bases/{docs['knowledgeBaseId']}/contents", "main table"),
        (f"knowledge-bases/{docs['knowledgeBaseId']}/contents/{content['contentId']}", "#passage-0"),
    ]
    for path, where in pages:
        page = console.open(path)
        assert HOSTILE in page.locator(where).first.inner_text(), path
        assert page.locator("img[src=x]").count() == 0, path
        assert page.locator("main script").count() == 0, path
    assert fired == []
