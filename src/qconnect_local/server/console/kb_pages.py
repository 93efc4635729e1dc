"""Console pages of knowledge bases: their quick responses, import jobs and contents.

Everything shown comes from the API's own operations (`View.call`), but for what none returns:
counts (one grouped COUNT each), an import job's worker-side record, a content's extracted text
and passages (store.console_kb), and the failed-record report, read from the blob store as the
signed link would serve it. Every read is bounded: a page of a list, the first rows of a report,
the first characters of a text, a run of passages.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from qconnect_local.server.console import shared
from qconnect_local.server.console.framework import ConsoleError, Crumb, Page, View, page
from qconnect_local.service.contents import SHOWN_STATUS
from qconnect_local.service.families import IMPORT_JOB
from qconnect_local.store import console_kb
from qconnect_local.store.passages import word_spans
from qconnect_local.store.search import words
from qconnect_local.worker.csv_format import MAX_RECORD_CHARS
from qconnect_local.worker.jobs import report_key

REPORT_ROWS: Final = 500  # failed records shown of a report
REPORT_CHARS: Final = 2_000_000  # characters read of a report at most, whatever its rows
CELL_CHARS: Final = 2_000  # characters shown of one report cell
TEXT_CHARS: Final = 200_000  # characters shown of a content's extracted text
PASSAGES_SHOWN: Final = 500  # passages shown on one content page
SNIPPET_CHARS: Final = 300  # characters of a quick response's content in a list
DELETING: Final = ("DELETE_IN_PROGRESS", "DELETED")
QUERY_CHARS: Final = 1024  # the longest SearchQuickResponses query value
CONTENT_TYPES: Final = ("CUSTOM", "EXTERNAL", "MANAGED")
EXTERNAL_TYPE: Final = "application/x.wisdom-json;source="
SEARCH_FIELDS: Final = (
    ("name", "HIGH"),
    ("shortcutKey", "HIGH"),
    ("content", "MEDIUM"),
    ("description", "LOW"),
)


# --- helpers ------------------------------------------------------------------------------------


def _cut(value: str, limit: int) -> tuple[str, int]:
    """`value` cut to `limit` characters, and how many were left out."""
    return (value, 0) if len(value) <= limit else (value[:limit], len(value) - limit)


Segments = list[tuple[str, bool]]


def _marked(value: str, terms: frozenset[str], prefix: str | None) -> Segments:
    """`value` as pieces, each marked when it is a word of the search (or starts with the last
    word, as CONTAINS_AND_PREFIX finds it): the highlights, computed as the index folds words."""
    pieces: Segments = []
    at = 0
    for begin, end, word in word_spans(value) if terms else ():
        if word in terms or (prefix is not None and word.startswith(prefix)):
            if begin > at:
                pieces.append((value[at:begin], False))
            pieces.append((value[begin:end], True))
            at = end
    if at < len(value):
        pieces.append((value[at:], False))
    return pieces


def _text_of_contents(contents: dict[str, Any] | None) -> tuple[str, str]:
    """(format, text) of a QuickResponseContents."""
    for kind in ("markdown", "plainText"):
        provider = (contents or {}).get(kind) or {}
        if provider.get("content") is not None:
            return kind, str(provider["content"])
    return "plainText", ""


# --- knowledge bases ----------------------------------------------------------------------------


@page("GET", "knowledge-bases")
def knowledge_bases(view: View) -> Page:
    items, next_token = view.page_of("ListKnowledgeBases", "knowledgeBaseSummaries")
    return Page(
        "kb_list.html",
        "Knowledge bases",
        shared.kb_crumbs(view),
        {"knowledge_bases": items, "next_token": next_token},
    )


@dataclass
class _Counts:
    quick_responses: int | None = None
    import_jobs: dict[str, int] = field(default_factory=dict)
    contents: list[tuple[str, str, int]] = field(default_factory=list)  # type, shown status, count
    delivered: list[tuple[str, str, int]] = field(default_factory=list)  # source, shown status, count


def _counts(view: View, kb: dict[str, Any]) -> _Counts:
    counts = _Counts()
    kb_id, kb_type = kb["knowledgeBaseId"], kb["knowledgeBaseType"]
    with view.runtime.store.read() as conn:
        if kb_type == "QUICK_RESPONSES":
            counts.quick_responses = console_kb.quick_response_count(conn, view.account, view.region, kb_id)
            counts.import_jobs = console_kb.import_job_counts(conn, view.account, view.region, kb_id)
        elif kb_type in CONTENT_TYPES:
            merged: dict[tuple[str, str], int] = {}
            for content_type, status, n in console_kb.content_counts(conn, view.account, view.region, kb_id):
                key = (content_type, SHOWN_STATUS.get(status, status))
                merged[key] = merged.get(key, 0) + n
            counts.contents = [(t, s, n) for (t, s), n in sorted(merged.items())]
            counts.delivered = [
                (t[len(EXTERNAL_TYPE) :], s, n) for t, s, n in counts.contents if t.startswith(EXTERNAL_TYPE)
            ]
    return counts


@page("GET", "knowledge-bases/{kb}")
def knowledge_base(view: View) -> Page:
    kb = shared.knowledge_base(view)
    config = {
        key: shared.plain(kb[key])
        for key in (
            "sourceConfiguration",
            "vectorIngestionConfiguration",
            "renderingConfiguration",
            "serverSideEncryptionConfiguration",
        )
        if kb.get(key)
    }
    return Page(
        "kb_detail.html",
        kb["name"],
        [*shared.kb_crumbs(view), Crumb(kb["name"])],
        {
            "kb": kb,
            "tags": kb.get("tags") or {},
            "config": config,
            "counts": _counts(view, kb),
            "content_types": CONTENT_TYPES,
        },
    )


# --- quick responses ----------------------------------------------------------------------------


def _search_expression(text: str) -> dict[str, Any]:
    return {
        "queries": [
            {"name": name, "values": [text], "operator": "CONTAINS_AND_PREFIX", "priority": priority}
            for name, priority in SEARCH_FIELDS
        ]
    }


@page("GET", "knowledge-bases/{kb}/quick-responses")
def quick_responses(view: View) -> Page:
    kb = shared.knowledge_base(view)
    kb_id = kb["knowledgeBaseId"]
    query = view.query.get("q", "").strip()
    cut = len(query) > QUERY_CHARS
    query = query[:QUERY_CHARS]
    terms = list(dict.fromkeys(words(query)))
    if query:
        items, next_token = view.page_of(
            "SearchQuickResponses",
            "results",
            knowledgeBaseId=kb_id,
            searchExpression=_search_expression(query),
        )
    else:
        items, next_token = view.page_of(
            "ListQuickResponses", "quickResponseSummaries", knowledgeBaseId=kb_id
        )
    wanted, prefix = frozenset(terms), terms[-1] if terms else None
    rows = []
    for item in items:
        snippet = None
        if "contents" in item:  # search results carry the text; summaries do not
            _format, text = _text_of_contents(item["contents"])
            shown, left = _cut(text, SNIPPET_CHARS)
            snippet = (_marked(shown, wanted, prefix), left)
        rows.append({"item": item, "name": _marked(item["name"], wanted, prefix), "snippet": snippet})
    return Page(
        "kb_quick_responses.html",
        "Quick responses",
        shared.kb_crumbs(view, kb, Crumb("Quick responses")),
        {"kb": kb, "q": query, "cut": cut, "rows": rows, "next_token": next_token, "searched": bool(query)},
    )


QUICK_RESPONSE_FIELDS: Final = (
    ("Name", "name"),
    ("Id", "quickResponseId"),
    ("ARN", "quickResponseArn"),
    ("Status", "status"),
    ("Content type", "contentType"),
    ("Description", "description"),
    ("Shortcut key", "shortcutKey"),
    ("Language", "language"),
    ("Channels", "channels"),
    ("Active", "isActive"),
    ("Created", "createdTime"),
    ("Last modified", "lastModifiedTime"),
    ("Last modified region", "lastModifiedRegion"),
    ("Last modified by", "lastModifiedBy"),
    ("Knowledge base id", "knowledgeBaseId"),
    ("Knowledge base ARN", "knowledgeBaseArn"),
)
_SHOWN_APART: Final = {"contents", "groupingConfiguration", "tags"}


@page("GET", "knowledge-bases/{kb}/quick-responses/{qr}")
def quick_response(view: View) -> Page:
    kb = shared.knowledge_base(view)
    qr = view.call(
        "GetQuickResponse", knowledgeBaseId=kb["knowledgeBaseId"], quickResponseId=view.labels["qr"]
    )["quickResponse"]
    known = {key for _label, key in QUICK_RESPONSE_FIELDS} | _SHOWN_APART
    other = {key: shared.plain(value) for key, value in qr.items() if key not in known and value is not None}
    content_format, content = _text_of_contents(qr.get("contents"))
    return Page(
        "kb_quick_response.html",
        qr["name"],
        shared.kb_crumbs(
            view,
            kb,
            Crumb("Quick responses", view.url("knowledge-bases", kb["knowledgeBaseId"], "quick-responses")),
            Crumb(qr["name"]),
        ),
        {
            "kb": kb,
            "qr": qr,
            "fields": QUICK_RESPONSE_FIELDS,
            "content_format": content_format,
            "content": content,
            "grouping": qr.get("groupingConfiguration"),
            "tags": qr.get("tags") or {},
            "other": other,
        },
    )


# --- import jobs --------------------------------------------------------------------------------


@page("GET", "knowledge-bases/{kb}/import-jobs")
def import_jobs(view: View) -> Page:
    kb = shared.knowledge_base(view)
    items, next_token = view.page_of(
        "ListImportJobs", "importJobSummaries", knowledgeBaseId=kb["knowledgeBaseId"]
    )
    return Page(
        "kb_import_jobs.html",
        "Import jobs",
        shared.kb_crumbs(view, kb, Crumb("Import jobs")),
        {"kb": kb, "jobs": items, "next_token": next_token},
    )


@dataclass
class _ReportRow:
    line: str
    cells: list[tuple[str, int]]  # each cell as shown, and how many characters were left out
    errors: tuple[str, int]


@dataclass
class _Report:
    header: list[str] = field(default_factory=list)  # the file's own columns (not Line, Errors)
    rows: list[_ReportRow] = field(default_factory=list)
    more: bool = False  # rows after those shown
    cut_cells: bool = False
    problem: str | None = None


def _raise_field_size_limit() -> None:
    # As the import's reader does (csv_format): a report's cell may be as long as a record;
    # the limit is process-wide and only ever raised. What is kept here is bounded below.
    if csv.field_size_limit() < MAX_RECORD_CHARS:
        csv.field_size_limit(MAX_RECORD_CHARS)


def read_report(view: View, job_id: str) -> _Report:
    """The first REPORT_ROWS failed records of the job's report, read from the blob store."""
    report = _Report()
    try:
        stream = view.runtime.blobs.open(report_key(job_id))
    except FileNotFoundError:
        report.problem = "The failed-record report is no longer stored."
        return report
    _raise_field_size_limit()
    with stream:
        reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline=""))
        read_chars = 0
        try:
            header = next(reader, None)
            if header is None:
                report.problem = "The failed-record report is empty."
                return report
            report.header = header[1:-1]
            for cells in reader:
                if len(report.rows) >= REPORT_ROWS or read_chars > REPORT_CHARS:
                    report.more = True
                    break
                read_chars += sum(len(c) for c in cells)
                if not cells:
                    continue
                line, *middle = cells
                errors = middle.pop() if middle else ""
                shown = [_cut(c, CELL_CHARS) for c in middle]
                report.cut_cells = report.cut_cells or any(left for _c, left in shown)
                report.rows.append(_ReportRow(line, shown, _cut(errors, CELL_CHARS * 4)))
        except (csv.Error, UnicodeError) as error:
            report.problem = f"The rest of the report could not be read: {error}"
    return report


def _timeline(job: dict[str, Any]) -> list[tuple[datetime, str]]:
    """What the store records of the job's course: its start and its last change, no more."""
    created, modified, status = job["createdTime"], job["lastModifiedTime"], job["status"]
    events = [(created, "Started: START_IN_PROGRESS")]
    if status != "START_IN_PROGRESS" or modified != created:
        events.append((modified, f"Last change: the job is {status}"))
    return events


@page("GET", "knowledge-bases/{kb}/import-jobs/{job}")
def import_job(view: View) -> Page:
    kb = shared.knowledge_base(view)
    kb_id = kb["knowledgeBaseId"]
    job = view.call("GetImportJob", knowledgeBaseId=kb_id, importJobId=view.labels["job"])["importJob"]
    with view.runtime.store.read() as conn:
        progress = IMPORT_JOB.repo.find(conn, view.account, view.region, job["importJobId"], kb_id)
    report = None
    if job["status"] in DELETING:  # the signed links no longer serve its files: neither does this page
        report = _Report(problem=f"The job is {job['status']}: its files are no longer served.")
    elif job.get("failedRecordReport"):
        report = read_report(view, job["importJobId"])
    return Page(
        "kb_import_job.html",
        f"Import job {job['importJobId']}",
        shared.kb_crumbs(
            view,
            kb,
            Crumb("Import jobs", view.url("knowledge-bases", kb_id, "import-jobs")),
            Crumb(job["importJobId"]),
        ),
        {
            "kb": kb,
            "job": job,
            "progress": progress,
            "timeline": _timeline(job),
            "report": report,
            "report_rows": REPORT_ROWS,
            "cell_chars": CELL_CHARS,
            "metadata": job.get("metadata") or {},
            "external": shared.plain(job.get("externalSourceConfiguration")),
        },
    )


# --- contents -----------------------------------------------------------------------------------


@page("GET", "knowledge-bases/{kb}/contents")
def contents(view: View) -> Page:
    kb = shared.knowledge_base(view)
    items, next_token = view.page_of(
        "ListContents", "contentSummaries", knowledgeBaseId=kb["knowledgeBaseId"]
    )
    return Page(
        "kb_contents.html",
        "Contents",
        shared.kb_crumbs(view, kb, Crumb("Contents")),
        {"kb": kb, "contents": items, "next_token": next_token},
    )


def _position(view: View) -> int:
    given = view.query.get("passages", "0")
    if not given.isdigit() or len(given) > 9:
        raise ConsoleError(400, "passages= is the position of the first passage to show (a whole number).")
    return int(given)


@page("GET", "knowledge-bases/{kb}/contents/{content}")
def content(view: View) -> Page:
    kb = shared.knowledge_base(view)
    kb_id = kb["knowledgeBaseId"]
    data = view.call("GetContent", knowledgeBaseId=kb_id, contentId=view.labels["content"])["content"]
    first = _position(view)
    with view.runtime.store.read() as conn:
        inspection = console_kb.inspect_content(
            conn, view.account, view.region, kb_id, data["contentId"], TEXT_CHARS
        )
        cuts = console_kb.passages_from(
            conn, view.account, view.region, data["contentId"], first, PASSAGES_SHOWN + 1
        )
    more = len(cuts) > PASSAGES_SHOWN
    cuts = cuts[:PASSAGES_SHOWN]
    title = data.get("title") or data["name"]
    return Page(
        "kb_content.html",
        title,
        shared.kb_crumbs(
            view,
            kb,
            Crumb("Contents", view.url("knowledge-bases", kb_id, "contents")),
            Crumb(title),
        ),
        {
            "kb": kb,
            "content": data,
            "inspection": inspection,
            "passages": cuts,
            "first_position": first,
            "next_position": str(cuts[-1].position + 1) if more else None,
            "text_chars": TEXT_CHARS,
            "passages_shown": PASSAGES_SHOWN,
            "metadata": data.get("metadata") or {},
            "tags": data.get("tags") or {},
        },
    )
