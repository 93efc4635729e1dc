"""Helpers for content tests: real documents made here, the upload flow, waiting for ingestion."""

from __future__ import annotations

import io
from typing import Any

from polling import poll

HTML = "text/html"
PLAIN = "text/plain"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SETTLED = {"ACTIVE", "CREATE_FAILED", "UPDATE_FAILED", "DELETE_FAILED"}


def html_page(body: str, *, title: str = "Page", script: str = "", style: str = "") -> bytes:
    return (
        f"<!doctype html><html><head><title>{title}</title><style>{style}</style>"
        f"<script>{script}</script></head><body>{body}<script>{script}</script></body></html>"
    ).encode()


def pdf_document(*pages: str) -> bytes:
    """A real PDF, one page per text, made with fpdf2."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


def docx_document(*paragraphs: str, table: list[list[str]] | None = None) -> bytes:
    """A real DOCX, made with python-docx."""
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                grid.cell(r, c).text = cell
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def custom_kb(qc: Any, name: str = "docs", **extra: Any) -> dict[str, Any]:
    kb: dict[str, Any] = qc.create_knowledge_base(name=name, knowledgeBaseType="CUSTOM", **extra)[
        "knowledgeBase"
    ]
    return kb


def upload_file(target: Any, qc: Any, kb_id: str, data: bytes, content_type: str = PLAIN) -> str:
    """StartContentUpload and the signed PUT; the upload id."""
    up = qc.start_content_upload(knowledgeBaseId=kb_id, contentType=content_type)
    status, _headers, payload = target.http("PUT", up["url"], headers=up["headersToInclude"], data=data)
    assert status == 200, payload
    upload_id: str = up["uploadId"]
    return upload_id


def create_content(
    target: Any, qc: Any, kb_id: str, name: str, data: bytes, content_type: str = PLAIN, **extra: Any
) -> dict[str, Any]:
    upload_id = upload_file(target, qc, kb_id, data, content_type)
    content: dict[str, Any] = qc.create_content(
        knowledgeBaseId=kb_id, name=name, uploadId=upload_id, **extra
    )["content"]
    return content


def wait_for_content(
    qc: Any, kb_id: str, content_id: str, *, until: set[str] = SETTLED, timeout: float = 30.0
) -> dict[str, Any]:
    """Poll GetContent like a client does until the status is one of `until`."""
    content: dict[str, Any] = poll(
        lambda: qc.get_content(knowledgeBaseId=kb_id, contentId=content_id)["content"],
        lambda content: content["status"] in until,
        timeout=timeout,
        what=f"content {content_id}",
    )
    return content


def ingested(
    target: Any, qc: Any, kb_id: str, name: str, data: bytes, content_type: str = PLAIN, **extra: Any
) -> dict[str, Any]:
    """Create content and wait until its ingestion has settled."""
    content = create_content(target, qc, kb_id, name, data, content_type, **extra)
    return wait_for_content(qc, kb_id, content["contentId"])


def search_index(
    target: Any, kb_ids: list[str], text: str, account: str | None = None, **extra: Any
) -> list[dict[str, Any]]:
    """The passage index's answer (control plane), as retrieval will rank it."""
    body: dict[str, Any] = {"knowledgeBaseIds": kb_ids, "text": text, **extra}
    if account is not None:
        body["account"] = account
    found: list[dict[str, Any]] = target.control("passages", body)["passages"]
    return found


def inspect_content(target: Any, content_id: str, **extra: Any) -> dict[str, Any]:
    """What ingestion made of a content (control plane): status, failure reason, text, passages."""
    found: dict[str, Any] = target.control("content", {"contentId": content_id, **extra})
    return found
