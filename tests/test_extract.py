"""Text extraction (docs/content-ingestion.md), as executable examples.

Every document is built here, with the libraries a user would use: fpdf2 for PDFs, python-docx for
Word files, hand-written HTML and JSON. What is asserted is what ingestion indexes: the text, the
title, the fields, or the one-sentence failure reason.
"""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from typing import Any

import docx
import pytest
from fpdf import FPDF
from hypothesis import given, settings
from hypothesis import strategies as st

from qconnect_local.engine import extract as extract_module
from qconnect_local.engine.extract import DOCX, Extracted, ExtractionError, extract

PDF = "application/pdf"
SALESFORCE = "application/x.wisdom-json;source=salesforce"
SERVICENOW = "application/x.wisdom-json;source=servicenow"
ZENDESK = "application/x.wisdom-json;source=zendesk"
CONTENT_TYPES = ["text/plain", "text/html", "text/csv", PDF, DOCX, SALESFORCE, SERVICENOW, ZENDESK]


def make_pdf(*pages: str, title: str | None = None, user_password: str | None = None) -> bytes:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    if user_password is not None:
        pdf.set_encryption(owner_password="owner", user_password=user_password)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


def make_docx(build: Any, title: str | None = None) -> bytes:
    document = docx.Document()
    if title:
        document.core_properties.title = title
    build(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def article(content_type: str, value: Any) -> Extracted:
    return extract(content_type, json.dumps(value).encode())


def reason(content_type: str, data: bytes) -> str:
    with pytest.raises(ExtractionError) as error:
        extract(content_type, data)
    return str(error.value)


# -- content types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "TEXT/Plain",
        "text/plain; charset=utf-8",
        " text/plain ;charset=UTF-8",
        'text/plain; x="y"',
    ],
)
def test_content_type_matches_ignoring_case_and_parameters(content_type: str) -> None:
    assert extract(content_type, b"hello") == Extracted("hello", None, {})


def test_wisdom_json_source_is_case_insensitive() -> None:
    assert article("Application/X.Wisdom-JSON; Source=ZenDesk", {"title": "T"}).title == "T"


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("image/png", "Content type 'image/png' is not supported"),
        ("text/markdown", "Content type 'text/markdown' is not supported"),
        ("application/x.wisdom-json", "needs source=salesforce, servicenow or zendesk"),
        ("application/x.wisdom-json;source=jira", "needs source=salesforce, servicenow or zendesk"),
    ],
)
def test_other_content_types_fail(content_type: str, expected: str) -> None:
    assert expected in reason(content_type, b"{}")


# -- plain text and normalisation ----------------------------------------------------------------


def test_plain_text_is_normalised() -> None:
    # BOM, tabs, CRLF, blank lines, NBSP, a bare CR, a decomposed accent (e + U+0301), a NUL.
    raw = (
        "\ufeff  Title\t\tline  \r\n\r\n\r\n\r\nSecond\u00a0paragraph\rthird line \n\n\n  e\u0301t\u00e9\x00 "
    )
    assert (
        extract("text/plain", raw.encode()).text
        == "Title line\n\nSecond paragraph\nthird line\n\n\u00e9t\u00e9"
    )


def test_plain_text_has_no_title_or_fields() -> None:
    assert extract("text/plain", b"Refunds take 14 days.") == Extracted("Refunds take 14 days.", None, {})


def test_invalid_utf8_fails_naming_the_byte() -> None:
    assert (
        reason("text/plain", b"caf\xe9 au lait")
        == "The file is not valid UTF-8 text (byte 3 can't be decoded)"
    )


def test_a_charset_parameter_is_honoured() -> None:
    assert extract("text/plain; charset=iso-8859-1", b"caf\xe9").text == "caf\u00e9"
    assert reason("text/plain; charset=klingon", b"x") == "The charset 'klingon' is not supported"


@pytest.mark.parametrize("data", [b"", b"   \r\n\t\n", b"\x00\x01\x02"])
def test_a_document_without_text_fails(data: bytes) -> None:
    assert reason("text/plain", data) == "The document holds no text"


def test_text_over_the_cap_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract_module, "MAX_TEXT_CHARS", 10)
    assert extract("text/plain", b"0123456789").text == "0123456789"
    assert reason("text/plain", b"0123456789A") == "The document's text is longer than 10 characters"


# -- CSV -----------------------------------------------------------------------------------------


def test_csv_gives_one_line_per_row_cells_joined_by_spaces() -> None:
    data = b'Question,Answer\r\nRefund?,"Yes, within 14 days"\r\n"Say ""hi""",\r\n'
    assert extract("text/csv", data).text == 'Question Answer\nRefund? Yes, within 14 days\nSay "hi"'


def test_a_quoted_csv_cell_keeps_its_line_breaks() -> None:
    assert extract("text/csv", b'a,"line one\nline two",b\n').text == "a line one\nline two b"


def test_a_cell_longer_than_the_csv_modules_default_limit_is_still_a_cell() -> None:
    huge_cell = b"x" * 200_000  # the csv module's default limit is 131,072 characters
    assert extract("text/csv", b'id,"' + huge_cell + b'"\n').text == "id " + "x" * 200_000


# -- HTML ----------------------------------------------------------------------------------------

PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>  Returns &amp; refunds  </title>
  <style>body { font-family: sans-serif } .secret-style { color: red }</style>
  <script>var secretScript = "<p>not text</p>";</script>
  <link rel="stylesheet" href="x.css">
</head>
<body>
  <!-- secret comment -->
  <nav><a href="/">Home</a> &gt; <a href="/help">Help</a></nav>
  <h1>Returns</h1>
  <p>You can return   any item
     within <b>30&nbsp;days</b>.</p>
  <ul>
    <li>Unworn</li>
    <li>With receipt</li>
  </ul>
  <table>
    <tr><th>Region</th><th>Days</th></tr>
    <tr><td>EU</td><td>30</td></tr>
  </table>
  <div>Line one<br>Line two<br/><br/>After a blank line</div>
  <noscript>secret noscript</noscript>
  <template><p>secret template</p></template>
  <script type="application/ld+json">{"secret": "json-ld"}</script>
  <p>Caf&eacute; &#8364;5 &#x2014; done</p>
</body>
</html>"""


def test_html_gives_the_visible_text_only() -> None:
    result = extract("text/html", PAGE)
    assert result.text == (
        "Home > Help\n\n"
        "Returns\n\n"
        "You can return any item within 30 days.\n\n"
        "Unworn\nWith receipt\n"
        "Region Days\nEU 30\n"
        "Line one\nLine two\n\nAfter a blank line\n\n"
        "Caf\u00e9 \u20ac5 \u2014 done"
    )
    assert "secret" not in result.text and "font-family" not in result.text


def test_html_title_is_the_title_element_not_body_text() -> None:
    result = extract("text/html", PAGE)
    assert result.title == "Returns & refunds"
    assert "refunds" not in result.text
    assert result.fields == {}


def test_html_without_title_or_head() -> None:
    assert extract("text/html", b"Just <i>some</i> text") == Extracted("Just some text", None, {})


def test_head_text_is_not_body_text_but_a_body_element_ends_the_head() -> None:
    assert extract("text/html", b"<head>stray<title>T</title></head><p>Body</p>").text == "Body"
    assert extract("text/html", b"<head><title>T</title><p>No body tag</p>").text == "No body tag"


def test_a_page_with_only_hidden_text_fails() -> None:
    assert reason("text/html", b"<script>x()</script><!-- c -->") == "The document holds no text"


def test_html_garbage_markup_does_not_stop_extraction() -> None:
    assert extract("text/html", b"a <![foo[ b ]]> c <!x> d </> e < f").text == "a c d e < f"


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (
            '<meta charset="windows-1251"><p>\u041f\u0440\u0438\u0432\u0435\u0442</p>'.encode("cp1251"),
            "\u041f\u0440\u0438\u0432\u0435\u0442",
        ),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><p>\u0434\u0430</p>'.encode(
                "koi8-r"
            ),
            "\u0434\u0430",
        ),
        (b"<p>caf\xe9 \x93quoted\x94</p>", "caf\u00e9 \u201cquoted\u201d"),  # not UTF-8: Windows-1252
        ("\ufeff<p>na\u00efve</p>".encode("utf-16-le"), "na\u00efve"),  # a BOM wins
        ('<meta charset="no-such-codec"><p>\u00fcber</p>'.encode(), "\u00fcber"),  # unknown: ignored
    ],
)
def test_html_charset(data: bytes, text: str) -> None:
    assert extract("text/html", data).text == text


def test_html_charset_parameter_wins_over_meta() -> None:
    data = '<meta charset="utf-8"><p>\u00e9</p>'.encode("latin-1")
    assert extract("text/html; charset=iso-8859-1", data).text == "\u00e9"


# -- PDF -----------------------------------------------------------------------------------------


def test_pdf_text_of_every_page_separated_by_a_blank_line() -> None:
    data = make_pdf(
        "Refunds are issued within 14 days.\nKeep your receipt.",
        "Exchanges: any store, any time.",
        title="Returns Policy",
    )
    result = extract(PDF, data)
    assert result.text == (
        "Refunds are issued within 14 days.\nKeep your receipt.\n\nExchanges: any store, any time."
    )
    assert result.title == "Returns Policy"
    assert result.fields == {}


def test_pdf_without_a_title_has_none() -> None:
    assert extract(PDF, make_pdf("Hello")).title is None


def test_pdf_without_text_fails() -> None:
    pdf = FPDF()
    pdf.add_page()  # a scanned page holds only an image; an empty page is the same to extraction
    assert reason(PDF, bytes(pdf.output())) == "The PDF holds no extractable text (scanned images?)"


def test_pdf_with_a_user_password_fails() -> None:
    data = make_pdf("Top secret", user_password="hunter2")
    assert reason(PDF, data) == "The PDF is encrypted and can't be opened without a password"


def test_pdf_encrypted_with_only_an_owner_password_opens() -> None:
    assert extract(PDF, make_pdf("Readable by anyone", user_password="")).text == "Readable by anyone"


@pytest.mark.parametrize("data", [b"", b"not a pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<"])
def test_damaged_pdfs_fail(data: bytes) -> None:
    assert reason(PDF, data) == "The file is not a readable PDF"


def test_a_truncated_pdf_fails_or_yields_its_readable_part() -> None:
    data = make_pdf("First page", "Second page")
    try:
        result = extract(PDF, data[: len(data) // 2])
    except ExtractionError:
        return
    assert result.text in {"First page", "First page\n\nSecond page"}


def test_pdf_page_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract_module, "MAX_PDF_PAGES", 2)
    assert extract(PDF, make_pdf("a", "b")).text == "a\n\nb"
    assert reason(PDF, make_pdf("a", "b", "c")) == "The PDF has more than 2 pages"


def test_pdf_text_cap_stops_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract_module, "MAX_TEXT_CHARS", 15)
    assert (
        reason(PDF, make_pdf("0123456789", "0123456789"))
        == "The document's text is longer than 15 characters"
    )


# -- DOCX ----------------------------------------------------------------------------------------


def _handbook(document: Any) -> None:
    document.add_heading("Returns", level=1)
    document.add_paragraph("Items can be returned within 30 days.")
    table = document.add_table(rows=3, cols=3)
    for row in range(3):
        for col in range(3):
            table.cell(row, col).text = f"r{row}c{col}"
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Wide"
    table.cell(1, 2).merge(table.cell(2, 2)).text = "Tall"
    document.add_paragraph("Thank you.")


def test_docx_paragraphs_and_tables_in_document_order() -> None:
    result = extract(DOCX, make_docx(_handbook, title="Staff handbook"))
    assert result.text == (
        "Returns\n\n"
        "Items can be returned within 30 days.\n\n"
        "Wide r0c2\n"  # a merged cell's text once
        "r1c0 r1c1 Tall\n"
        "r2c0 r2c1\n\n"
        "Thank you."
    )
    assert result.title == "Staff handbook"
    assert result.fields == {}


def test_docx_without_a_title_has_none() -> None:
    assert extract(DOCX, make_docx(lambda d: d.add_paragraph("Hi"))).title is None


def test_docx_without_text_fails() -> None:
    assert reason(DOCX, make_docx(lambda d: d.add_paragraph("  "))) == "The document holds no text"


def test_docx_that_is_not_a_zip_fails() -> None:
    assert reason(DOCX, b"plain text") == "The file is not a DOCX document (it is not a ZIP archive)"


def test_a_zip_that_is_not_a_docx_fails() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert reason(DOCX, out.getvalue()) == "The file is not a readable DOCX document"


def test_a_damaged_docx_fails() -> None:
    data = make_docx(_handbook)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as damaged:
        for item in source.infolist():
            body = source.read(item)
            damaged.writestr(item, body[: len(body) // 2] if item.filename == "word/document.xml" else body)
    assert reason(DOCX, out.getvalue()) == "The file is not a readable DOCX document"


def test_docx_unpacked_size_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract_module, "MAX_DOCX_UNPACKED_BYTES", 2 * 1024 * 1024)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (3 * 1024 * 1024))  # 3 MB unpacked, a few KB packed
    assert reason(DOCX, out.getvalue()) == "The DOCX document unpacks to more than 2 MB"


def test_docx_xml_size_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract_module, "MAX_DOCX_XML_BYTES", 1024 * 1024)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b" " * (2 * 1024 * 1024))
        archive.writestr("word/media/image1.png", b"\0" * (2 * 1024 * 1024))  # media does not count
    assert reason(DOCX, out.getvalue()) == "The DOCX document's XML unpacks to more than 1 MB"


# -- x.wisdom-json -------------------------------------------------------------------------------

SALESFORCE_ARTICLE = {
    "attributes": {"type": "Knowledge__kav", "url": "/services/data/v60.0/sobjects/Knowledge__kav/ka0"},
    "Id": "ka05e000000abcdAAA",
    "ArticleNumber": "000001234",
    "Title": "Reset your password",
    "Summary": "How to reset a forgotten password.",
    "UrlName": "reset-your-password",
    "Language": "en_US",
    "PublishStatus": "Online",
    "VersionNumber": 3,
    "IsLatestVersion": True,
    "LastModifiedDate": "2024-05-01T10:00:00.000+0000",
    "Body__c": "<p>Open <b>Settings</b> &gt; <i>Security</i>.</p><script>track()</script><p>Click Reset.</p>",
    "Internal_Notes__c": "Escalate to tier 2 if locked.",
    "Legacy_Content": "<div>Also works on mobile.</div>",
    "ArchivedDate": None,
}


def test_salesforce_article() -> None:
    result = article(SALESFORCE, SALESFORCE_ARTICLE)
    assert result.title == "Reset your password"
    assert result.text == (
        "Reset your password\n\n"
        "How to reset a forgotten password.\n\n"
        "Open Settings > Security.\n\nClick Reset.\n\n"
        "Escalate to tier 2 if locked.\n\n"
        "Also works on mobile."
    )


def test_article_fields_are_every_top_level_scalar_as_a_string() -> None:
    fields = article(SALESFORCE, SALESFORCE_ARTICLE).fields
    assert fields["Id"] == "ka05e000000abcdAAA"
    assert fields["VersionNumber"] == "3"
    assert fields["IsLatestVersion"] == "true"
    assert fields["Body__c"] == SALESFORCE_ARTICLE["Body__c"]  # as stored, not reduced
    assert "attributes" not in fields and "ArchivedDate" not in fields
    assert (
        "https://kb.example/${Id}".replace("${Id}", fields["Id"]) == "https://kb.example/ka05e000000abcdAAA"
    )


SERVICENOW_RECORD = {
    "sys_id": "0b48fd75474321009db4b5b08b9a71c2",
    "number": "KB0000011",
    "short_description": "How to configure VPN",
    "text": "<h2>Steps</h2><ol><li>Install the client</li><li>Sign in</li></ol>",
    "wiki": None,
    "article_type": "text",
    "workflow_state": "published",
    "kb_knowledge_base": {"link": "https://dev.service-now.com/api/now/table/kb/1", "value": "1"},
    "sys_view_count": "42",
}


def test_servicenow_article_in_its_table_api_envelope() -> None:
    result = article(SERVICENOW, {"result": SERVICENOW_RECORD})
    assert result == article(SERVICENOW, SERVICENOW_RECORD)
    assert result.title == "How to configure VPN"
    assert result.text == "How to configure VPN\n\nSteps\n\nInstall the client\nSign in"
    assert result.fields["number"] == "KB0000011"
    assert "kb_knowledge_base" not in result.fields and "wiki" not in result.fields


def test_servicenow_wiki_article() -> None:
    record = {"short_description": "Printers", "text": "", "wiki": "== Printers ==\nUse [[Floor 2]]."}
    assert article(SERVICENOW, record).text == "Printers\n\n== Printers ==\nUse [[Floor 2]]."


ZENDESK_ARTICLE = {
    "id": 360001234567,
    "url": "https://example.zendesk.com/api/v2/help_center/en-us/articles/360001234567.json",
    "html_url": "https://example.zendesk.com/hc/en-us/articles/360001234567-Shipping-times",
    "title": "Shipping times",
    "body": "<p>Orders ship in <strong>2&ndash;3</strong> days.</p><!-- internal -->",
    "locale": "en-us",
    "draft": False,
    "vote_sum": 0,
    "label_names": ["shipping"],
    "section_id": 360000123456,
}


def test_zendesk_article_in_its_api_envelope() -> None:
    result = article(ZENDESK, {"article": ZENDESK_ARTICLE})
    assert result == article(ZENDESK, ZENDESK_ARTICLE)
    assert result.title == "Shipping times"
    assert result.text == "Shipping times\n\nOrders ship in 2\u20133 days."
    assert result.fields["html_url"] == ZENDESK_ARTICLE["html_url"]
    assert result.fields["id"] == "360001234567" and result.fields["draft"] == "false"
    assert "label_names" not in result.fields


def test_an_article_with_only_a_title_or_only_a_body() -> None:
    assert article(ZENDESK, {"title": "Only a title"}).text == "Only a title"
    untitled = article(ZENDESK, {"body": "<p>Only a body</p>"})
    assert (untitled.text, untitled.title) == ("Only a body", None)


@pytest.mark.parametrize(
    ("content_type", "value", "expected"),
    [
        (
            SALESFORCE,
            {"Id": "ka0", "Title": " "},
            "The Salesforce article has neither a Title nor a body"
            " (Summary, or a custom field such as Body__c)",
        ),
        (
            SERVICENOW,
            {"result": {"sys_id": "1", "text": "<p></p>"}},
            "The ServiceNow article has neither a short_description nor a body (text or wiki)",
        ),
        (ZENDESK, {"id": 1, "title": None, "body": ""}, "The Zendesk article has neither a title nor a body"),
        (ZENDESK, [{"title": "x"}], "The Zendesk article must be a JSON object, not an array"),
        (SALESFORCE, "Title", "The Salesforce article must be a JSON object, not a string"),
        (SERVICENOW, None, "The ServiceNow article must be a JSON object, not null"),
    ],
)
def test_articles_missing_what_text_needs_fail(content_type: str, value: Any, expected: str) -> None:
    assert reason(content_type, json.dumps(value).encode()) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            b'{"title": "x",}',
            "The article is not valid JSON (Expecting property name enclosed in double quotes"
            " at line 1, column 15)",
        ),
        (b"[" * 100_000, "The article is not valid JSON"),
        (b'{"title": "x", "n": 1' + b"0" * 5000 + b"}", "The article is not valid JSON"),
        (b'{"title": "caf\xe9"}', "The file is not valid UTF-8 text (byte 14 can't be decoded)"),
    ],
)
def test_invalid_article_json_fails(data: bytes, expected: str) -> None:
    assert reason(ZENDESK, data) == expected


# -- no input raises anything but ExtractionError ------------------------------------------------


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=2000))
def test_garbage_never_raises_anything_but_extraction_error(content_type: str, data: bytes) -> None:
    try:
        result = extract(content_type, data)
    except ExtractionError as error:
        assert str(error)
        return
    text = result.text
    assert text and text == text.strip() and "\r" not in text and "\n\n\n" not in text


# The start of a real file, so that garbage gets past the first checks (the PDF header, the ZIP
# signature, the JSON opening) into the parsers' deeper paths.
HEADERS = {PDF: make_pdf("x")[:400], DOCX: make_docx(lambda d: d.add_paragraph("x"))[:600]}


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=2000))
def test_garbage_after_a_valid_header_never_raises_anything_else(content_type: str, data: bytes) -> None:
    with contextlib.suppress(ExtractionError):
        extract(content_type, HEADERS.get(content_type, b'{"title": "') + data)


def test_a_comment_left_open_hides_the_rest_of_the_page() -> None:
    assert extract("text/html", b"<p>Hello</p><!-- internal note: SECRET").text == "Hello"


def test_frames_and_embedded_fallbacks_are_not_text() -> None:
    page = b"<p>Shown</p><iframe>in a frame</iframe><noembed>no embed</noembed><noframes>no frames</noframes>"
    assert extract("text/html", page).text == "Shown"
