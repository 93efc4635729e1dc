"""The quick-response import file format (docs/import-format.md), as executable examples.

Small in-memory files throughout; every limit is read from botocore's model, not restated.
"""

from __future__ import annotations

import csv
import gc
import io
import uuid
from pathlib import Path
from typing import Any

import pytest

from qconnect_local.spec import operation
from qconnect_local.spec.documented import quick_response_languages
from qconnect_local.worker import csv_format
from qconnect_local.worker.csv_format import (
    ACCEPTED_HEADERS,
    MAX_RECORD_CHARS,
    ROUTING_PROFILES_QUOTA,
    TEMPLATE_MARKER,
    FailedRecordReport,
    ImportFileError,
    ImportRow,
    failed_record_report_header,
    failed_record_report_row,
    read_quick_response_rows,
)

REGION = "us-west-2"
ACCOUNT = "111122223333"
INSTANCE = "inst-0001"
INSTANCE_ARN = f"arn:aws:connect:{REGION}:{ACCOUNT}:instance/{INSTANCE}"
SAMPLE = Path(__file__).resolve().parents[1] / "docs" / "samples" / "quick-responses.csv"
INPUT = operation("CreateQuickResponse").input_shape


def model_max(member: str) -> int:
    limit: int = INPUT.members[member].metadata["max"]
    return limit


def routing_profile_limit() -> int:
    stated = INPUT.members["groupingConfiguration"].members["values"].metadata.get("max")
    return int(stated) if stated is not None else ROUTING_PROFILES_QUOTA


def read(data: str | bytes, *, instance_id: str | None = INSTANCE) -> list[ImportRow]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return list(
        read_quick_response_rows(io.BytesIO(raw), region=REGION, account=ACCOUNT, instance_id=instance_id)
    )


def one(data: str | bytes, *, instance_id: str | None = INSTANCE) -> ImportRow:
    rows = read(data, instance_id=instance_id)
    assert len(rows) == 1, rows
    return rows[0]


def file_error(data: str | bytes) -> str:
    with pytest.raises(ImportFileError) as caught:
        read(data)
    return str(caught.value)


def row_with(**cells: str) -> str:
    """A two-line file: Name and Content (filled in unless given) plus the given columns."""
    values = {"Name": "Greeting", "Content": "Hello", **cells}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(values.keys())
    writer.writerow(values.values())
    return out.getvalue()


# --- mapping rows to CreateQuickResponse ------------------------------------------------------


def test_a_minimal_row_gives_only_the_members_it_has() -> None:
    row = one("Name,Content\nGreeting,Hello\n")
    assert row.line == 2
    assert row.errors == ()
    assert row.ok
    assert row.params == {"name": "Greeting", "content": {"content": "Hello"}}


def test_every_column_maps_to_its_create_quick_response_member() -> None:
    row = one(
        "Name,Content,Content type,Description,Shortcut key,Language,Channels,Active,Routing profiles\n"
        "Greeting,Hello,markdown,Opening line,hi,en_US,chat;EMAIL,no,Sales\n"
    )
    assert row.errors == ()
    assert row.params == {
        "name": "Greeting",
        "content": {"content": "Hello"},
        "contentType": "application/x.quickresponse;format=markdown",
        "description": "Opening line",
        "shortcutKey": "hi",
        "language": "en_US",
        "channels": ["Chat", "Email"],
        "isActive": False,
        "groupingConfiguration": {
            "criteria": "RoutingProfileArn",
            "values": [
                f"{INSTANCE_ARN}/routing-profile/{uuid.uuid5(uuid.NAMESPACE_URL, INSTANCE_ARN + '/Sales')}"
            ],
        },
    }


def test_every_column_fills_a_member_of_the_model_input() -> None:
    members = set(INPUT.members)
    assert {c.member for c in csv_format._COLUMNS} <= members
    assert set(INPUT.required_members) - {"knowledgeBaseId"} == {
        c.member for c in csv_format._COLUMNS if c.required
    }
    assert list(INPUT.members["content"].members) == ["content"]


def test_empty_cells_are_omitted_so_the_service_defaults_apply() -> None:
    row = one(row_with(**{"Content type": "", "Description": "", "Active": "", "Channels": ""}))
    assert row.errors == ()
    assert set(row.params) == {"name", "content"}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("plain", "application/x.quickresponse;format=plain"),
        ("Markdown", "application/x.quickresponse;format=markdown"),
        ("application/x.quickresponse;format=plain", "application/x.quickresponse;format=plain"),
        ("application/x.quickresponse;format=markdown", "application/x.quickresponse;format=markdown"),
    ],
)
def test_content_type_accepts_short_and_full_forms(cell: str, expected: str) -> None:
    row = one(row_with(**{"Content type": cell}))
    assert row.errors == ()
    assert row.params["contentType"] == expected


def test_an_unknown_content_type_is_a_row_error() -> None:
    row = one(row_with(**{"Content type": "html"}))
    assert row.errors == (
        "Content type: 'html' is not a content type (accepted: plain, markdown, "
        "application/x.quickresponse;format=plain, application/x.quickresponse;format=markdown)",
    )


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("Yes", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("0", False),
    ],
)
def test_active_accepts_true_false_yes_no_1_0(cell: str, expected: bool) -> None:
    assert one(row_with(Active=cell)).params["isActive"] is expected


def test_a_bad_active_value_is_a_row_error() -> None:
    row = one(row_with(Active="maybe"))
    assert row.errors == ("Active: 'maybe' is not a yes/no value (accepted: true, yes, 1, false, no, 0)",)


# --- encoding, quoting, line numbers ----------------------------------------------------------


def test_a_utf8_bom_is_ignored() -> None:
    row = one(b"\xef\xbb\xbfName,Content\r\nGreeting,Hello\r\n")
    assert row.errors == ()
    assert row.params["name"] == "Greeting"


def test_crlf_and_lf_files_read_the_same() -> None:
    crlf = read("Name,Content\r\nA,one\r\nB,two\r\n")
    lf = read("Name,Content\nA,one\nB,two\n")
    assert [(r.line, r.params) for r in crlf] == [(r.line, r.params) for r in lf]
    assert [r.line for r in crlf] == [2, 3]


def test_the_last_line_needs_no_line_break() -> None:
    assert one("Name,Content\nA,one").params["content"] == {"content": "one"}


def test_quoted_fields_hold_commas_quotes_and_line_breaks_and_lines_count_physically() -> None:
    rows = read('Name,Content\nA,"one, ""two""\nthree\nfour"\nB,five\n"C",six\n')
    assert [r.line for r in rows] == [2, 5, 6]
    assert rows[0].params["content"] == {"content": 'one, "two"\nthree\nfour'}
    assert rows[2].params["name"] == "C"


def test_a_quoted_line_break_in_a_crlf_file_is_kept_as_written() -> None:
    rows = read('Name,Content\r\nA,"one\r\ntwo"\r\nB,three\r\n')
    assert rows[0].params["content"] == {"content": "one\r\ntwo"}
    assert [r.line for r in rows] == [2, 4]


def test_non_ascii_text_and_lengths_in_characters() -> None:
    name = "é" * model_max("name")  # 2 bytes each in UTF-8: the limit counts characters
    row = one(f"Name,Content,Language\n{name},こんにちは 👋,ja_JP\n")
    assert row.errors == ()
    assert row.params["name"] == name
    assert row.params["content"] == {"content": "こんにちは 👋"}


def test_invalid_utf8_is_a_row_error_naming_the_line_and_column_and_reading_goes_on() -> None:
    rows = read(b"Name,Content\nGood,ok\nBad\xff name,ok\nAlso good,ok\n")
    assert [r.line for r in rows] == [2, 3, 4]
    assert rows[0].ok and rows[2].ok
    assert rows[1].errors == (
        "Name: the cell is not valid UTF-8 (the undecodable bytes are shown as U+FFFD in the report)",
    )
    assert rows[1].cells == ("Bad\ufffd name", "ok")


def test_invalid_utf8_in_the_header_fails_the_file() -> None:
    message = file_error(b"Na\xffme,Content\nA,b\n")
    assert "unknown column 'Na\ufffdme'" in message


def test_a_1_mb_field_is_a_row_error_not_a_crash() -> None:
    big = "x" * 1_000_000
    rows = read(f"Name,Content\nBig,{big}\nSmall,ok\n")
    assert [r.line for r in rows] == [2, 3]
    assert rows[0].errors == (
        "Content: Value '*** Sensitive Data Redacted ***' at 'content.content' failed to satisfy constraint: "
        f"Member must have length less than or equal to {model_max_content()}",
    )
    assert rows[1].ok


def model_max_content() -> int:
    limit: int = INPUT.members["content"].members["content"].metadata["max"]
    return limit


def test_a_huge_value_is_shortened_in_the_message() -> None:
    row = one(row_with(Name="n" * 1_000_000))
    (message,) = row.errors
    assert message.startswith("Name: Value 'nnnn")
    assert "... (1000000 characters)' at 'name' failed to satisfy constraint" in message
    assert len(message) < 500


def test_the_csv_field_size_limit_is_raised_once_and_never_lowered() -> None:
    before = csv.field_size_limit()
    try:
        csv.field_size_limit(10)
        one("Name,Content\nA,b\n")
        assert csv.field_size_limit() == MAX_RECORD_CHARS
        csv.field_size_limit(MAX_RECORD_CHARS * 2)
        one("Name,Content\nA,b\n")
        assert csv.field_size_limit() == MAX_RECORD_CHARS * 2
    finally:
        csv.field_size_limit(before)


def test_a_record_longer_than_the_bound_stops_the_file_with_a_row_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(csv_format, "MAX_RECORD_CHARS", 1000)
    rows = read('Name,Content\nA,ok\nB,"never closed\n' + "more text\n" * 200 + "C,ok\n")
    assert [r.line for r in rows] == [2, 3]
    assert rows[0].ok
    assert rows[1].cells == ()
    assert rows[1].errors == (
        "the record is longer than 1000 characters (is a quote left open?); "
        "the rest of the file was not read",
    )


# --- the header -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Name,Content,Content type,Shortcut key,Routing profiles",
        "NAME,CONTENT,CONTENT TYPE,SHORTCUT KEY,ROUTING PROFILES",
        "name,content,content_type,shortcut_key,routing_profiles",
        "name,content,Content-Type,Shortcut-Key,Routing-Profiles",
        " Name ,Content,contenttype,ShortcutKey,RoutingProfiles",
    ],
)
def test_header_names_ignore_case_spaces_underscores_and_hyphens(header: str) -> None:
    row = one(f"{header}\nGreeting,Hello,plain,hi,Sales\n")
    assert row.errors == ()
    assert set(row.params) == {"name", "content", "contentType", "shortcutKey", "groupingConfiguration"}


def test_columns_may_come_in_any_order() -> None:
    row = one("Language,Content,Name\nen_US,Hello,Greeting\n")
    assert row.params == {"language": "en_US", "content": {"content": "Hello"}, "name": "Greeting"}


def assert_lists_accepted_headers(message: str) -> None:
    for header in ACCEPTED_HEADERS:
        assert header in message
    assert "Column names ignore case, spaces, '_' and '-'." in message


def test_an_unknown_column_fails_the_file_listing_the_accepted_headers() -> None:
    message = file_error("Name,Content,Colour\nA,b,c\n")
    assert message.startswith("The header row (line 1) is not valid: unknown column 'Colour'.")
    assert_lists_accepted_headers(message)


def test_a_duplicate_column_fails_the_file() -> None:
    message = file_error("Name,Content,name\nA,b,c\n")
    assert "column 'Name' appears twice (columns 1 and 3)" in message
    assert_lists_accepted_headers(message)


def test_a_missing_required_column_fails_the_file() -> None:
    message = file_error("Name,Description\nA,b\n")
    assert "required column 'Content' is missing" in message
    assert_lists_accepted_headers(message)


def test_every_header_problem_is_reported_at_once() -> None:
    message = file_error("Colour,Description,description,\n")
    assert (
        "unknown column 'Colour'; column 'Description' appears twice (columns 2 and 3); "
        "column 4 has no name; required column 'Name' is missing; required column 'Content' is missing."
    ) in message


def test_the_accepted_headers_are_the_documented_ones() -> None:
    assert ACCEPTED_HEADERS == (
        "Name",
        "Content",
        "Content type",
        "Description",
        "Shortcut key",
        "Language",
        "Channels",
        "Active",
        "Routing profiles",
    )


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n", b"\r\n\r\n", b",,\nA,b\n"])
def test_an_empty_file_or_a_missing_header_fails_the_file(data: bytes) -> None:
    message = file_error(data)
    assert "header row" in message
    assert_lists_accepted_headers(message)


def test_a_header_only_file_has_zero_rows() -> None:
    assert read("Name,Content\n") == []
    assert read("Name,Content") == []


def test_the_header_is_checked_when_reading_starts_before_any_row_is_asked_for() -> None:
    with pytest.raises(ImportFileError):
        read_quick_response_rows(
            io.BytesIO(b"Nom,Contenu\n"), region=REGION, account=ACCOUNT, instance_id=None
        )


def test_the_header_is_kept_as_written_for_the_report() -> None:
    rows = read_quick_response_rows(
        io.BytesIO(b"\xef\xbb\xbf name,CONTENT\nA,b\n"), region=REGION, account=ACCOUNT, instance_id=None
    )
    assert rows.header == (" name", "CONTENT")


# --- row rules --------------------------------------------------------------------------------


def test_completely_empty_lines_are_skipped_and_do_not_shift_line_numbers() -> None:
    rows = read("Name,Content\n\nA,one\n,\n\r\nB,two\n")
    assert [(r.line, r.params["name"]) for r in rows] == [(3, "A"), (6, "B")]


@pytest.mark.parametrize("cells", ["Greeting", "Greeting,Hello,extra"])
def test_a_row_with_more_or_fewer_cells_than_the_header_is_a_row_error(cells: str) -> None:
    row = one(f"Name,Content\n{cells}\n")
    assert row.errors[0] == f"the row has {cells.count(',') + 1} cells but the header has 2"


def test_a_short_row_still_reports_its_missing_required_values() -> None:
    row = one("Name,Content,Description\nGreeting\n")
    assert row.errors == ("the row has 1 cells but the header has 3", "Content: a value is required")


@pytest.mark.parametrize("column", ["Name", "Content"])
def test_required_values_must_not_be_empty(column: str) -> None:
    assert one(row_with(**{column: ""})).errors == (f"{column}: a value is required",)


@pytest.mark.parametrize("cell", [TEMPLATE_MARKER, f"Greeting {TEMPLATE_MARKER}", f"x{TEMPLATE_MARKER}y"])
def test_the_template_marker_anywhere_in_a_cell_is_a_row_error(cell: str) -> None:
    row = one(row_with(Name=cell))
    assert row.errors == (f"Name: remove the template marker '{TEMPLATE_MARKER}'",)


@pytest.mark.parametrize("cell", [" Greeting", "Greeting ", "Greeting\t", "\u00a0Greeting"])
def test_leading_or_trailing_whitespace_is_a_row_error_naming_the_column(cell: str) -> None:
    row = one(row_with(Name=cell))
    assert row.errors == ("Name: remove the leading or trailing whitespace",)


def test_content_is_taken_verbatim_whitespace_included() -> None:
    row = one('Name,Content\nGreeting,"  indented\n  markdown\n"\n')
    assert row.errors == ()
    assert row.params["content"] == {"content": "  indented\n  markdown\n"}


def test_every_reason_a_row_fails_is_collected() -> None:
    row = one(row_with(Name=" Greeting", Language="english", Channels="Fax", Active="maybe"))
    assert row.errors == (
        "Name: remove the leading or trailing whitespace",
        "Language: 'english' is not a supported language (accepted: de_DE, en_US, es_ES, fr_FR, id_ID, "
        "it_IT, ja_JP, ko_KR, pt_BR, zh_CN, zh_TW)",
        "Channels: 'Fax' is not a channel (accepted: Chat, Email)",
        "Active: 'maybe' is not a yes/no value (accepted: true, yes, 1, false, no, 0)",
    )


@pytest.mark.parametrize(
    "member, column", [("name", "Name"), ("description", "Description"), ("shortcutKey", "Shortcut key")]
)
def test_text_longer_than_the_model_allows_is_a_row_error(member: str, column: str) -> None:
    limit = model_max(member)
    assert one(row_with(**{column: "a" * limit})).errors == ()
    row = one(row_with(**{column: "a" * (limit + 1)}))
    assert row.errors == (
        f"{column}: Value '{'a' * (limit + 1)}' at '{member}' failed to satisfy constraint: "
        f"Member must have length less than or equal to {limit}",
    )


@pytest.mark.parametrize("cell", ["english", "e", "xx_YY", "en_us"])
def test_a_language_the_model_does_not_document_is_a_row_error(cell: str) -> None:
    (message,) = one(row_with(Language=cell)).errors
    assert message.startswith(f"Language: '{cell}' is not a supported language (accepted: de_DE, en_US")


@pytest.mark.parametrize("cell", ["de_DE", "en_US", "zh_TW"])
def test_the_languages_listed_in_the_model_documentation_are_accepted(cell: str) -> None:
    assert one(row_with(Language=cell)).params["language"] == cell


@pytest.mark.parametrize(
    ("cell", "expected"), [("Chat", ["Chat"]), ("email", ["Email"]), ("CHAT ; Email", ["Chat", "Email"])]
)
def test_channels_are_case_insensitive_and_separated_by_semicolons(cell: str, expected: list[str]) -> None:
    row = one(row_with(Channels=cell))
    assert row.errors == ()
    assert row.params["channels"] == expected


@pytest.mark.parametrize(
    ("cell", "error"),
    [
        ("Chat;Fax", "Channels: 'Fax' is not a channel (accepted: Chat, Email)"),
        ("Chat;chat", "Channels: 'chat' is listed twice"),
        ("Chat;", "Channels: an item is empty (two ';' in a row, or a ';' at either end)"),
    ],
)
def test_a_bad_channel_list_is_a_row_error(cell: str, error: str) -> None:
    assert one(row_with(Channels=cell)).errors == (error,)


def test_duplicate_names_and_shortcut_keys_within_the_file_name_the_earlier_line() -> None:
    rows = read(
        "Name,Content,Shortcut key\n"
        "Greeting,one,hi\n"
        '"Multi\nline",two,ml\n'
        "greeting,three,bye\n"  # names match exactly: a different case is a different name
        "Greeting,four,ml\n"
    )
    assert [r.errors for r in rows] == [
        (),
        (),
        (),
        ("Name: 'Greeting' is already used on line 2", "Shortcut key: 'ml' is already used on line 3"),
    ]


def test_a_failed_row_still_claims_its_name() -> None:
    rows = read("Name,Content,Language\nGreeting,one,english\nGreeting,two,en_US\n")
    assert not rows[0].ok
    assert rows[1].errors == ("Name: 'Greeting' is already used on line 2",)


# --- routing profiles -------------------------------------------------------------------------


def rp_arn(name: str) -> str:
    return f"{INSTANCE_ARN}/routing-profile/{uuid.uuid5(uuid.NAMESPACE_URL, f'{INSTANCE_ARN}/{name}')}"


def test_routing_profile_names_resolve_to_stable_arns_of_the_instance() -> None:
    given = "arn:aws:connect:us-west-2:111122223333:instance/other/routing-profile/rp-1"
    row = one(row_with(**{"Routing profiles": f"Sales; Basic Routing Profile;{given}"}))
    assert row.errors == ()
    assert row.params["groupingConfiguration"] == {
        "criteria": "RoutingProfileArn",
        "values": [rp_arn("Sales"), rp_arn("Basic Routing Profile"), given],
    }
    assert rp_arn("Sales") != rp_arn("sales")  # names are case-sensitive


def test_routing_profile_names_without_an_instance_are_a_row_error() -> None:
    row = one(row_with(**{"Routing profiles": "Sales;Support"}), instance_id=None)
    assert row.errors == (
        "Routing profiles: routing-profile names need a Connect instance to resolve them and none is set: "
        "'Sales', 'Support' (give routing-profile ARNs instead)",
    )


def test_routing_profile_arns_need_no_instance() -> None:
    arn = "arn:aws:connect:us-west-2:111122223333:instance/i-1/routing-profile/rp-1"
    row = one(row_with(**{"Routing profiles": arn}), instance_id=None)
    assert row.errors == ()
    assert row.params["groupingConfiguration"]["values"] == [arn]


def test_at_most_the_routing_profile_limit() -> None:
    limit = routing_profile_limit()
    assert one(row_with(**{"Routing profiles": ";".join(f"rp{i}" for i in range(limit))})).errors == ()
    row = one(row_with(**{"Routing profiles": ";".join(f"rp{i}" for i in range(limit + 1))}))
    assert row.errors == (
        f"Routing profiles: {limit + 1} routing profiles are listed; at most {limit} are allowed",
    )


def test_a_routing_profile_listed_twice_is_a_row_error() -> None:
    row = one(row_with(**{"Routing profiles": "Sales;Sales"}))
    assert row.errors == ("Routing profiles: 'Sales' is listed twice",)


# --- streaming --------------------------------------------------------------------------------


class GeneratedCsv(io.RawIOBase):
    """A file of `rows` rows made on demand, counting how much of it was read."""

    def __init__(self, rows: int) -> None:
        super().__init__()
        self._pending = b"Name,Content,Shortcut key\n"
        self._next = 0
        self._rows = rows
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while len(self._pending) < len(buffer) and self._next < self._rows:
            self._pending += f'Response {self._next},"Hello, customer {self._next}",k{self._next}\n'.encode()
            self._next += 1
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.bytes_read += size
        return size

    @property
    def exhausted(self) -> bool:
        return self._next == self._rows and not self._pending


def test_a_200000_row_file_is_read_lazily() -> None:
    source = GeneratedCsv(200_000)
    rows = read_quick_response_rows(source, region=REGION, account=ACCOUNT, instance_id=None)  # type: ignore[arg-type]
    first = next(rows)
    assert first.line == 2 and first.ok
    assert not source.exhausted
    assert source.bytes_read < 100_000  # a few buffers, out of about 8 MB
    count = 1 + sum(1 for row in rows if row.ok)
    assert count == 200_000
    assert source.exhausted


def test_the_callers_stream_is_never_closed() -> None:
    stream = io.BytesIO(b"Name,Content\nA,b\n")
    rows = read_quick_response_rows(stream, region=REGION, account=ACCOUNT, instance_id=None)
    del rows
    gc.collect()
    assert not stream.closed
    with pytest.raises(ImportFileError):
        read_quick_response_rows(
            stream := io.BytesIO(b"Nope\n"), region=REGION, account=ACCOUNT, instance_id=None
        )
    gc.collect()
    assert not stream.closed


# --- the failed-record report -----------------------------------------------------------------


def test_the_failed_record_report_has_line_original_cells_and_joined_errors() -> None:
    header = ("Name", "content", "Language")
    row = ImportRow(
        line=7, cells=("Greeting", "Hi, there"), params={}, errors=("first reason", "second reason")
    )
    assert failed_record_report_header(header) == ["Line", "Name", "content", "Language", "Errors"]
    assert failed_record_report_row(row, 3) == [
        "7",
        "Greeting",
        "Hi, there",
        "",
        "first reason; second reason",
    ]
    long_row = ImportRow(line=8, cells=("a", "b", "c", "d"), params={}, errors=("x",))
    assert failed_record_report_row(long_row, 3) == ["8", "a", "b", "c", "x"]


def test_the_report_is_utf8_with_bom_and_crlf_and_the_callers_stream_stays_open() -> None:
    data = (
        b"Name,Content,Language\nOk,fine,en_US\n"
        b'"Sal\xc3\xbado","Hola,\nmundo",espa\xc3\xb1ol\n'
        b"Bad\xff,x,en_US\n"
    )
    rows = read_quick_response_rows(io.BytesIO(data), region=REGION, account=ACCOUNT, instance_id=None)
    out = io.BytesIO()
    with FailedRecordReport(out, rows.header) as report:
        for row in rows:
            if not row.ok:
                report.write(row)
    assert report.rows_written == 2
    assert not out.closed
    text = out.getvalue().decode("utf-8")
    assert text.startswith("\ufeffLine,Name,Content,Language,Errors\r\n")
    assert list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))) == [
        ["Line", "Name", "Content", "Language", "Errors"],
        [
            "3",
            "Salúdo",
            "Hola,\nmundo",
            "español",
            "Language: 'español' is not a supported language (accepted: de_DE, en_US, es_ES, fr_FR, id_ID, "
            "it_IT, ja_JP, ko_KR, pt_BR, zh_CN, zh_TW)",
        ],
        [
            "5",
            "Bad\ufffd",
            "x",
            "en_US",
            "Name: the cell is not valid UTF-8 (the undecodable bytes are shown as U+FFFD in the report)",
        ],
    ]


class WriteOnlySink:
    """Like a blob writer: `write` and nothing else."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)


def test_the_report_needs_only_a_write_method_on_its_sink() -> None:
    sink = WriteOnlySink()
    report = FailedRecordReport(sink, ("Name", "Content"))
    report.write(ImportRow(line=2, cells=("Ünï", "x"), params={}, errors=("reason",)))
    report.close()
    assert sink.data == "\ufeffLine,Name,Content,Errors\r\n2,Ünï,x,reason\r\n".encode()


def test_the_worker_can_add_reasons_to_a_row() -> None:
    row = one("Name,Content\nA,b\n").with_errors("Name: 'A' already exists in the knowledge base")
    assert not row.ok
    assert row.errors == ("Name: 'A' already exists in the knowledge base",)


# --- the documented sample --------------------------------------------------------------------


@pytest.mark.parametrize("instance_id", [INSTANCE, None])
def test_the_documented_sample_parses_without_errors(instance_id: str | None) -> None:
    with SAMPLE.open("rb") as stream:
        rows = list(read_quick_response_rows(stream, region=REGION, account=ACCOUNT, instance_id=instance_id))
    assert [(r.line, r.errors) for r in rows] == [(2, ()), (3, ()), (7, ()), (8, ())]
    assert rows[1].params["contentType"] == "application/x.quickresponse;format=markdown"
    assert rows[3].params == {
        "name": "Holiday hours",
        "content": {"content": "We are closed on public holidays."},
        "isActive": False,
    }


# --- the user documentation stays true --------------------------------------------------------

DOC = Path(__file__).resolve().parents[1] / "docs" / "import-format.md"


def doc_table_row(header: str) -> str:
    (line,) = [line for line in DOC.read_text("utf-8").splitlines() if line.startswith(f"| `{header}` |")]
    return line


@pytest.mark.parametrize(
    ("header", "path"),
    [
        ("Name", ("name",)),
        ("Content", ("content", "content")),
        ("Description", ("description",)),
        ("Shortcut key", ("shortcutKey",)),
    ],
)
def test_the_documented_lengths_are_the_models(header: str, path: tuple[str, ...]) -> None:
    shape = INPUT
    for member in path:
        shape = shape.members[member]
    assert f"{shape.metadata['min']}\N{EN DASH}{shape.metadata['max']} characters" in doc_table_row(header)


def test_the_documented_languages_are_the_models() -> None:
    assert all(f"`{code}`" in doc_table_row("Language") for code in quick_response_languages())


def test_the_documented_columns_and_limits_are_the_readers() -> None:
    text = DOC.read_text("utf-8")
    for header in ACCEPTED_HEADERS:
        doc_table_row(header)
    assert f"at most {routing_profile_limit()}" in doc_table_row("Routing profiles")
    assert f"{MAX_RECORD_CHARS:,} characters" in text
    assert f"longer than {MAX_RECORD_CHARS} characters" in text


def doc_csv_blocks() -> list[str]:
    parts = DOC.read_text("utf-8").split("```csv\n")[1:]
    return [part.split("```", 1)[0] for part in parts]


def test_the_documented_report_example_is_what_the_reader_writes() -> None:
    example, expected_report, _sample = doc_csv_blocks()
    rows = read_quick_response_rows(
        io.BytesIO(example.encode()), region=REGION, account=ACCOUNT, instance_id=None
    )
    out = io.BytesIO()
    with FailedRecordReport(out, rows.header) as report:
        for row in rows:
            if not row.ok:
                report.write(row)
    assert out.getvalue().decode("utf-8-sig").replace("\r\n", "\n") == expected_report


def test_the_documented_sample_is_the_sample_file() -> None:
    *_, sample = doc_csv_blocks()
    assert sample == SAMPLE.read_text("utf-8")
