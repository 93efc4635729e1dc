"""The quick-response import file: a streaming CSV reader and the failed-record report writer.

Pure: no database, no HTTP, no storage. The import worker feeds an uploaded file in, gets one
`ImportRow` per data row (CreateQuickResponse parameters, or every reason the row fails) and
does what needs the knowledge base itself: uniqueness against existing quick responses, the
quota, storing. The user-facing specification is `docs/import-format.md`; keep both in step.

Every model constraint (lengths, patterns, list sizes) is read from botocore's model through
`qconnect_local.spec` and checked by the shared validator, so nothing here restates one.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import io
import re
import sys
import uuid
from collections.abc import Callable, Collection, Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Final, Protocol

import regex
from botocore.model import Shape, StructureShape

from qconnect_local.protocol.validator import Checker, checker, validate
from qconnect_local.spec import operation
from qconnect_local.spec.documented import QUICK_RESPONSE_CHANNELS, quick_response_languages

OPERATION: Final = "CreateQuickResponse"
TEMPLATE_MARKER: Final = "<*Required field>"
# One record (all its physical lines) may hold at most this many characters. It bounds memory per
# record (a file without newlines included), and is far above any valid row, so that an over-long
# value (a 1 MB field, say) is still an ordinary row error; only an unclosed quote gets near it.
MAX_RECORD_CHARS: Final = 4 * 1024 * 1024
# The service quota "routing profiles per quick response" (not adjustable). The model states no
# maximum for GroupingValues; if a future model does, that one wins (see `_routing_profile_limit`).
ROUTING_PROFILES_QUOTA: Final = 40
ROUTING_PROFILE_CRITERIA: Final = "RoutingProfileArn"
CHANNELS: Final = QUICK_RESPONSE_CHANNELS
CONTENT_FORMATS: Final = ("plain", "markdown")
CONTENT_TYPE_PREFIX: Final = "application/x.quickresponse;format="
TRUE_WORDS: Final = ("true", "yes", "1")
FALSE_WORDS: Final = ("false", "no", "0")
REPORT_LINE_COLUMN: Final = "Line"
REPORT_ERRORS_COLUMN: Final = "Errors"
REPORT_ERROR_SEPARATOR: Final = "; "

_INVALID_UTF8 = re.compile("[\udc80-\udcff]")  # what `surrogateescape` turns undecodable bytes into
_HEADER_NOISE = re.compile(r"[\s_-]+")


class ImportFileError(Exception):
    """The whole file is rejected (bad header, empty file); `str()` is the user-facing message."""


@dataclass(frozen=True)
class ImportRow:
    """One data record: where it starts, its cells, and its parameters or why it fails.

    `params` holds CreateQuickResponse members (without `knowledgeBaseId`/`clientToken`) and is
    only meaningful when `errors` is empty. `cells` are the record's cells as read (undecodable
    bytes shown as U+FFFD), for the failed-record report.
    """

    line: int
    cells: tuple[str, ...]
    params: dict[str, Any]
    errors: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.errors

    def with_errors(self, *errors: str) -> ImportRow:
        """The same row failing for more reasons: lets the worker add KB uniqueness and quota errors."""
        return replace(self, errors=self.errors + errors)


@dataclass(frozen=True)
class _Column:
    header: str  # canonical spelling, shown in messages and docs
    member: str  # CreateQuickResponse member it fills
    required: bool = False
    verbatim: bool = False  # whitespace is part of the value (Content)


_COLUMNS: Final = (
    _Column("Name", "name", required=True),
    _Column("Content", "content", required=True, verbatim=True),
    _Column("Content type", "contentType"),
    _Column("Description", "description"),
    _Column("Shortcut key", "shortcutKey"),
    _Column("Language", "language"),
    _Column("Channels", "channels"),
    _Column("Active", "isActive"),
    _Column("Routing profiles", "groupingConfiguration"),
)
ACCEPTED_HEADERS: Final[tuple[str, ...]] = tuple(c.header for c in _COLUMNS)
REQUIRED_HEADERS: Final[tuple[str, ...]] = tuple(c.header for c in _COLUMNS if c.required)


def normalize_header(name: str) -> str:
    """Header names match ignoring case, spaces, `_` and `-`."""
    return _HEADER_NOISE.sub("", name).casefold()


_BY_KEY: Final = {normalize_header(c.header): c for c in _COLUMNS}


def accepted_headers_text() -> str:
    listed = ", ".join(f"{c.header} (required)" if c.required else c.header for c in _COLUMNS)
    return f"Accepted columns: {listed}. Column names ignore case, spaces, '_' and '-'."


# --- the model -----------------------------------------------------------------------------


@functools.cache
def _input_shape() -> StructureShape:
    shape = operation(OPERATION).input_shape
    assert isinstance(shape, StructureShape)
    return shape


def _member(name: str) -> Shape:
    return _input_shape().members[name]


def _max_length(shape: Shape) -> int | None:
    value = shape.metadata.get("max")
    return int(value) if value is not None else None


def _routing_profile_limit() -> int:
    values = _member("groupingConfiguration").members["values"]
    stated = _max_length(values)
    return stated if stated is not None else ROUTING_PROFILES_QUOTA


def _model_errors(member: str, value: Any) -> list[str]:
    """Every model constraint one CreateQuickResponse member's value breaks, via the shared validator.

    Members are checked one at a time so each message names its top-level path (`name`,
    `content.content`, ...) exactly as AWS words it and lands next to its column; a missing
    required member is reported in CSV terms by the reader, not as "null" here.
    """
    errors: list[str] = []
    _member_checker(member)(value, member, errors)
    return errors  # the validator quotes at most a prefix of a huge value (protocol.errors.quoted)


@functools.cache
def _member_checker(member: str) -> Checker:
    return checker(_member(member))


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    instance_arn: str | None
    routing_profile_limit: int


class _RecordTooLarge(Exception):
    pass


class _LineFeed:
    """Hands csv one physical line at a time and stops a record growing past `MAX_RECORD_CHARS`.

    `readline(limit)` means even a file without a single newline never costs more than the bound.
    """

    def __init__(self, text: io.TextIOWrapper, limit: int) -> None:
        self._text = text
        self._limit = limit
        self.record_chars = 0

    def __iter__(self) -> Iterator[str]:
        # A generator: csv asks for every line, and resuming one costs less than a method call.
        readline = self._text.readline
        limit = self._limit
        while True:
            line = readline(limit - self.record_chars + 1)
            if not line:
                return
            self.record_chars += len(line)
            if self.record_chars > limit:
                raise _RecordTooLarge
            yield line


def _raise_field_size_limit() -> None:
    """Let csv hold a field as large as our own per-record bound.

    `csv.field_size_limit` is process-global state of the `_csv` module (there is no per-reader
    setting). It is only ever raised, never lowered or restored: restoring around each read would
    race with other threads reading CSV, and a higher limit only lets other readers accept larger
    fields. This reader's memory is bounded by `_LineFeed`, not by the csv limit.
    """
    if csv.field_size_limit() < MAX_RECORD_CHARS:
        csv.field_size_limit(MAX_RECORD_CHARS)


class ByteSource(Protocol):
    """What the reader reads a file from: a binary file, a blob, anything with `read`."""

    def read(self, size: int = -1, /) -> bytes: ...


class QuickResponseRows:
    """The data rows of a file whose header was accepted; an iterator of `ImportRow`.

    `header` is the header row as written in the file (for the failed-record report). The
    caller's stream is read, never closed.
    """

    def __init__(self, header: tuple[str, ...], rows: Generator[ImportRow, None, None]) -> None:
        self.header = header
        self._rows = rows

    def __iter__(self) -> QuickResponseRows:
        return self

    def __next__(self) -> ImportRow:
        return next(self._rows)

    def close(self) -> None:
        self._rows.close()

    def __enter__(self) -> QuickResponseRows:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_quick_response_rows(
    stream: ByteSource, *, region: str, account: str, instance_id: str | None
) -> QuickResponseRows:
    """Read the header now (raising `ImportFileError` if the file is rejected); rows come lazily.

    `instance_id` is the Connect instance routing-profile names resolve in; without one, only
    routing-profile ARNs are accepted.
    """
    feed, reader = _records(stream)
    header = _read_header(reader)
    columns = _header_columns(header)
    instance_arn = f"arn:aws:connect:{region}:{account}:instance/{instance_id}" if instance_id else None
    context = _Context(instance_arn, _routing_profile_limit())
    return QuickResponseRows(tuple(_displayable(c) for c in header), _rows(reader, feed, columns, context))


class _Borrowed(io.RawIOBase):
    """The caller's stream, read through our wrappers but never closed by them (nor by their GC)."""

    def __init__(self, stream: ByteSource) -> None:
        super().__init__()
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _records(stream: ByteSource) -> tuple[_LineFeed, Any]:
    """The file's CSV records and the line feed under them (which counts lines and record sizes):
    read once to import, again to find rows refused at publish, in exactly the same way."""
    _raise_field_size_limit()
    text = io.TextIOWrapper(
        io.BufferedReader(_Borrowed(stream)), encoding="utf-8-sig", errors="surrogateescape", newline=""
    )
    feed = _LineFeed(text, MAX_RECORD_CHARS)
    return feed, csv.reader(feed)


def _read_header(reader: Any) -> list[str]:
    try:
        header: list[str] = next(reader)
    except StopIteration:
        raise ImportFileError(
            f"The file is empty: its first line must be the header row. {accepted_headers_text()}"
        ) from None
    except _RecordTooLarge:
        raise ImportFileError(
            f"The header row (line 1) is longer than {MAX_RECORD_CHARS} characters: this is not a "
            f"quick-response file. {accepted_headers_text()}"
        ) from None
    except csv.Error as error:
        raise ImportFileError(f"The header row (line 1) cannot be read: {csv_problem(error)}.") from None
    if not any(header):
        raise ImportFileError(f"Line 1 is empty: it must be the header row. {accepted_headers_text()}")
    return header


def csv_problem(error: csv.Error) -> str:
    """What the csv module's complaint means for the file, in its author's terms (the module's
    own wording speaks of fields, limits and file modes of Python, not of the file)."""
    message = str(error)
    if "NUL" in message:
        return "it contains a NUL character (a zero byte): save the file as CSV text"
    if "new-line character" in message:
        return "a line break inside a field that is not quoted: enclose such a value in double quotes"
    if "field larger than field limit" in message:
        return f"a cell is longer than {MAX_RECORD_CHARS} characters"
    return "it is not valid CSV"


def _header_columns(header: Sequence[str]) -> tuple[_Column, ...]:
    problems: list[str] = []
    columns: list[_Column] = []
    first_at: dict[str, int] = {}
    for position, raw in enumerate(header, start=1):
        column = _BY_KEY.get(normalize_header(raw))
        if column is None:
            shown = _displayable(raw)
            problems.append(
                f"column {position} has no name" if not shown.strip() else f"unknown column '{shown}'"
            )
            continue
        if column.header in first_at:
            problems.append(
                f"column '{column.header}' appears twice (columns {first_at[column.header]} and {position})"
            )
            continue
        first_at[column.header] = position
        columns.append(column)
    for required in REQUIRED_HEADERS:
        if required not in first_at:
            problems.append(f"required column '{required}' is missing")
    if problems:
        raise ImportFileError(
            f"The header row (line 1) is not valid: {'; '.join(problems)}. {accepted_headers_text()}"
        )
    # Problems above reject unknown and duplicate columns, so positions line up with the header.
    return tuple(columns)


def _rows(
    reader: Any, feed: _LineFeed, columns: tuple[_Column, ...], context: _Context
) -> Generator[ImportRow, None, None]:
    """Yield one `ImportRow` per non-empty record; a record the reader cannot delimit ends the file."""
    seen_names = _SeenValues()
    seen_keys = _SeenValues()
    name_max = _max_length(_member("name"))
    key_max = _max_length(_member("shortcutKey"))
    quick = _quick_parser(columns, context)
    has_key = any(column.member == "shortcutKey" for column in columns)
    while True:
        line = reader.line_num + 1  # the record starts on the line after the previous record ended
        feed.record_chars = 0
        try:
            cells: list[str] = next(reader)
        except StopIteration:
            return
        except (_RecordTooLarge, csv.Error) as error:
            reason = (
                f"the record is longer than {MAX_RECORD_CHARS} characters (is a quote left open?)"
                if isinstance(error, _RecordTooLarge)
                else f"the record cannot be read ({csv_problem(error)})"
            )
            yield ImportRow(line, (), {}, (f"{reason}; the rest of the file was not read",))
            return
        if not any(cells):
            continue
        params = quick(cells)
        if params is not None:
            # Every cell passed every check (so each is as the report would show it); only the
            # file's own repeats are left to look for, as `_check_unique` does.
            name_digest = value_digest(params["name"])
            key = params.get("shortcutKey") if has_key else None
            key_digest = value_digest(key) if key is not None else None
            if seen_names.line_of(name_digest) is None and (
                key_digest is None or seen_keys.line_of(key_digest) is None
            ):
                seen_names.add(name_digest, line)
                if key_digest is not None:
                    seen_keys.add(key_digest, line)
                yield ImportRow(line, tuple(cells), params, ())
                continue
        row = _parse_row(line, cells, columns, context)
        errors = list(row.errors)
        _check_unique(row, "name", "Name", seen_names, name_max, errors)
        _check_unique(row, "shortcutKey", "Shortcut key", seen_keys, key_max, errors)
        yield row if len(errors) == len(row.errors) else replace(row, errors=tuple(errors))


def find_rows_by_name(
    stream: ByteSource, names: Collection[str]
) -> tuple[tuple[str, ...], dict[str, ImportRow]]:
    """The header row and, for each of `names`, the first record whose Name cell it is.

    For rows the import had accepted and then turned down when it published them (a name taken
    meanwhile, the quota reached by other writes): their line and cells, for the report. Reads
    records exactly as `read_quick_response_rows` does (same line numbers, same cells) but checks
    nothing, so a pass costs little. The first record with a name is the one the import took:
    within a file a name may appear once, and a later row with it was refused already. A file
    whose header the reader accepted is the precondition (the header is not checked again).
    """
    feed, reader = _records(stream)
    header = _read_header(reader)
    position = [column.member for column in _header_columns(header)].index("name")
    wanted = set(names)
    found: dict[str, ImportRow] = {}
    while wanted:
        line = reader.line_num + 1
        feed.record_chars = 0
        try:
            cells: list[str] = next(reader)
        except (StopIteration, _RecordTooLarge, csv.Error):  # where the import stopped reading too
            break
        name = cells[position] if position < len(cells) else ""
        if name in wanted:
            wanted.discard(name)
            found[name] = ImportRow(line, tuple(map(_displayable, cells)), {}, ())
    return tuple(_displayable(c) for c in header), found


def _check_unique(
    row: ImportRow, member: str, header: str, seen: _SeenValues, max_length: int | None, errors: list[str]
) -> None:
    """Within the file, a name or shortcut key may appear once (exact match).

    Every row counts, failed or not: the file itself must not repeat a value. Values longer than
    the model allows fail anyway and are not remembered.
    """
    value = row.params.get(member)
    if not isinstance(value, str):
        return
    digest = value_digest(value)
    earlier = seen.line_of(digest)
    if earlier is not None:
        errors.append(f"{header}: '{value}' is already used on line {earlier}")
    elif max_length is None or len(value) <= max_length:
        seen.add(digest, row.line)


# The values a file has used (names, shortcut keys) are remembered by a 128-bit BLAKE2b digest:
# two different values of a file share one with odds below 10^-26 even at 10^6 rows (a 64-bit
# `hash()` was below 10^-7, and a false repeat refuses a good row). Each value is one 22-byte
# record (its digest, then its line in 6 bytes: 2^48 lines would take a 256 TiB file) in one of
# 2^16 bytearrays, picked by the digest's first two bytes: no Python object per value. At
# 1,000,000 names that is 28 MB, where a dict of hash -> line held 105 MB (its int objects, and
# the table, copied whenever it grew); reading such a file alone peaked at +34 MB, not +115 MB,
# and the server importing it at 144-152 MB, not 228-236 MB (bench_import.py --only memory).
DIGEST_BYTES: Final = 16
_LINE_BYTES: Final = 6
_RECORD: Final = DIGEST_BYTES + _LINE_BYTES
_BUCKETS: Final = 1 << 16  # indexed by the digest's first two bytes (inlined: once or twice a row)


def value_digest(value: str) -> bytes:
    """The digest a value is remembered by; `surrogatepass` keeps undecodable bytes distinct."""
    return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=DIGEST_BYTES).digest()


class _SeenValues:
    """Digests of the values met so far in a file, each with the line it was first met on."""

    __slots__ = ("_buckets",)

    def __init__(self) -> None:
        self._buckets: list[bytearray | None] = [None] * _BUCKETS

    def line_of(self, digest: bytes) -> int | None:
        """The line of the value with this digest, or None if the file has not had it yet."""
        bucket = self._buckets[digest[0] << 8 | digest[1]]
        if bucket is None:
            return None
        at = bucket.find(digest)
        while at >= 0:
            if at % _RECORD == 0:  # not a match straddling two records
                return int.from_bytes(bucket[at + DIGEST_BYTES : at + _RECORD], "big")
            at = bucket.find(digest, at + 1)
        return None

    def add(self, digest: bytes, line: int) -> None:
        """Remember a value not met before (`line_of` said None) as first met on `line`."""
        index = digest[0] << 8 | digest[1]
        bucket = self._buckets[index]
        if bucket is None:
            bucket = self._buckets[index] = bytearray()
        bucket += digest
        bucket += line.to_bytes(_LINE_BYTES, "big")


_SLOW: Final = object()  # a quick cell check's answer: the cell needs `_parse_row` to say why


_MEMO_CELLS: Final = 256  # distinct cells remembered per column of few values (channels, ...)


def _quick_cell(column: _Column, context: _Context) -> Callable[[str], Any]:
    """The value of a non-empty cell of `column` that passes every check `_parse_row` makes, or
    `_SLOW`: the same value `_parse_row` gives (it says why a `_SLOW` cell fails). Compiled once
    per file; a model constraint is only tested where the member has one, and a column of few
    values (language, channels, ...) remembers the cells it has seen."""
    parse = _PARSERS[column.member]
    shape = _member(column.member)
    valid = _quick_valid(shape)
    strip = not column.verbatim
    marker = TEMPLATE_MARKER
    invalid = _INVALID_UTF8.search

    def checked(cell: str) -> Any:
        if (
            (not cell.isascii() and invalid(cell))
            or marker in cell
            or (strip and (cell[0].isspace() or cell[-1].isspace()))
        ):
            return _SLOW
        value, errors = parse(cell, context)
        if errors or value is None or (valid is not None and not valid(value)):
            return _SLOW
        return value

    lengths = None
    if parse is _text:
        lengths = _string_lengths(shape)
    elif parse is _content and isinstance(shape, StructureShape) and list(shape.members) == ["content"]:
        lengths = _string_lengths(shape.members["content"])
    if lengths is not None:
        low, high = lengths
        wrap = parse is _content

        def text(cell: str) -> Any:
            if (
                (not cell.isascii() and invalid(cell))
                or marker in cell
                or (strip and (cell[0].isspace() or cell[-1].isspace()))
                or not low <= len(cell) <= high
            ):
                return _SLOW
            return {"content": cell} if wrap else cell

        return text
    if parse in (_text, _content):
        return checked

    memo: dict[str, Any] = {}

    def remembered(cell: str) -> Any:
        value = memo.get(cell, _SLOW)
        if value is _SLOW:
            value = checked(cell)
            if value is _SLOW or isinstance(value, dict) or len(memo) >= _MEMO_CELLS:
                return value
            memo[cell] = tuple(value) if isinstance(value, list) else value
        return list(value) if isinstance(value, tuple) else value  # a row's own list

    return remembered


def _quick_parser(
    columns: tuple[_Column, ...], context: _Context
) -> Callable[[list[str]], dict[str, Any] | None]:
    """`cells` -> the row's parameters when every cell passes every check, else None (the row
    then goes through `_parse_row`, which finds the same values and says what fails)."""
    plan = tuple((column.member, column.required, _quick_cell(column, context)) for column in columns)
    width = len(columns)

    def quick(cells: list[str]) -> dict[str, Any] | None:
        if len(cells) != width:
            return None
        params: dict[str, Any] = {}
        for (member, required, value_of), cell in zip(plan, cells, strict=True):
            if not cell:
                if required:
                    return None
                continue
            value = value_of(cell)
            if value is _SLOW:
                return None
            params[member] = value
        return params

    return quick


def _string_lengths(shape: Shape) -> tuple[int, int] | None:
    """(min, max) of a string shape whose only constraints are lengths; None for any other."""
    if shape.type_name != "string" or set(shape.metadata) - {"min", "max", "documentation", "sensitive"}:
        return None
    high = shape.metadata.get("max")
    return int(shape.metadata.get("min", 0)), int(high) if high is not None else sys.maxsize


def _quick_valid(shape: Shape) -> Callable[[Any], bool] | None:
    """A test that `value` breaks none of `shape`'s constraints (exactly when the shared
    validator finds nothing); None when the shape states none at all."""
    meta = shape.metadata
    if meta.get("document"):
        return None
    kind = shape.type_name
    if kind == "string":
        low, high = meta.get("min"), meta.get("max")
        enum = frozenset(meta.get("enum") or ())
        pattern = regex.compile(meta["pattern"]) if meta.get("pattern") else None
        if low is None and high is None and not enum and pattern is None:
            return None
        least = 0 if low is None else int(low)
        most = sys.maxsize if high is None else int(high)

        def string(value: Any) -> bool:
            return (
                least <= len(value) <= most
                and (not enum or value in enum)
                and (pattern is None or pattern.search(value) is not None)
            )

        return string
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        required = tuple(shape.required_members)
        union = bool(meta.get("union"))
        children = tuple((name, _quick_valid(member)) for name, member in shape.members.items())

        def structure(value: Any) -> bool:
            if any(value.get(name) is None for name in required):
                return False
            present = 0
            for name, child in children:
                item = value.get(name)
                if item is not None:
                    present += 1
                    if child is not None and not child(item):
                        return False
            return not union or present == 1

        return structure
    if kind == "list":
        low, high = meta.get("min"), meta.get("max")
        least = 0 if low is None else int(low)
        most = sys.maxsize if high is None else int(high)
        item_valid = _quick_valid(shape.member)

        def listed(value: Any) -> bool:
            return least <= len(value) <= most and all(
                item is not None and (item_valid is None or item_valid(item)) for item in value
            )

        return listed
    if kind == "boolean":
        return None
    # Maps, numbers and the rest: the validator itself (no column's member is one today).
    return lambda value: not validate(shape, value)


def _parse_row(line: int, cells: list[str], columns: tuple[_Column, ...], context: _Context) -> ImportRow:
    errors: list[str] = []
    if len(cells) != len(columns):
        errors.append(f"the row has {len(cells)} cells but the header has {len(columns)}")
    params: dict[str, Any] = {}
    for position, column in enumerate(columns):
        cell = cells[position] if position < len(cells) else ""
        if cell == "":
            if column.required:
                errors.append(f"{column.header}: a value is required")
            continue
        problem = _cell_problem(column, cell)
        if problem is not None:
            errors.append(f"{column.header}: {problem}")
            continue
        value, cell_errors = _PARSERS[column.member](cell, context)
        if value is not None:
            params[column.member] = value
            cell_errors += _model_errors(column.member, value)
        if cell_errors:
            errors.extend(f"{column.header}: {e}" for e in cell_errors)
    return ImportRow(line, tuple(map(_displayable, cells)), params, tuple(errors))


def _cell_problem(column: _Column, cell: str) -> str | None:
    """A problem with the cell as text, which makes its value meaningless: reported alone."""
    if not cell.isascii() and _INVALID_UTF8.search(cell):
        return "the cell is not valid UTF-8 (the undecodable bytes are shown as U+FFFD in the report)"
    if TEMPLATE_MARKER in cell:
        return f"remove the template marker '{TEMPLATE_MARKER}'"
    if not column.verbatim and cell != cell.strip():
        return "remove the leading or trailing whitespace"
    return None


def _displayable(text: str) -> str:
    return text if text.isascii() else _INVALID_UTF8.sub("\ufffd", text)


# --- cell parsers: (value or None, errors) --------------------------------------------------

Parsed = tuple[Any, list[str]]


def _text(cell: str, context: _Context) -> Parsed:
    return cell, []


def _language(cell: str, context: _Context) -> Parsed:
    supported = quick_response_languages()
    if cell not in supported:
        return None, [f"'{cell}' is not a supported language (accepted: {', '.join(supported)})"]
    return cell, []


def _content(cell: str, context: _Context) -> Parsed:
    return {"content": cell}, []


_CONTENT_TYPES: Final = {
    **{f: CONTENT_TYPE_PREFIX + f for f in CONTENT_FORMATS},
    **{CONTENT_TYPE_PREFIX + f: CONTENT_TYPE_PREFIX + f for f in CONTENT_FORMATS},
}


def _content_type(cell: str, context: _Context) -> Parsed:
    full = _CONTENT_TYPES.get(cell.lower())
    if full is None:
        return None, [f"'{cell}' is not a content type (accepted: {', '.join(_CONTENT_TYPES)})"]
    return full, []


def _active(cell: str, context: _Context) -> Parsed:
    word = cell.lower()
    if word in TRUE_WORDS:
        return True, []
    if word in FALSE_WORDS:
        return False, []
    return None, [f"'{cell}' is not a yes/no value (accepted: {', '.join(TRUE_WORDS + FALSE_WORDS)})"]


def _split(cell: str) -> tuple[list[str], list[str]]:
    """`;`-separated items, spaces around `;` ignored; an empty item is an error (callers reject repeats)."""
    items = [item.strip() for item in cell.split(";")]
    errors: list[str] = []
    if "" in items:
        errors.append("an item is empty (two ';' in a row, or a ';' at either end)")
    return [item for item in items if item], errors


_CHANNELS_BY_WORD: Final = {c.casefold(): c for c in CHANNELS}


def _channels(cell: str, context: _Context) -> Parsed:
    items, errors = _split(cell)
    channels: list[str] = []
    for item in items:
        channel = _CHANNELS_BY_WORD.get(item.casefold())
        if channel is None:
            errors.append(f"'{item}' is not a channel (accepted: {', '.join(CHANNELS)})")
        elif channel in channels:
            errors.append(f"'{item}' is listed twice")
        else:
            channels.append(channel)
    return (channels or None), errors


def routing_profile_arn(instance_arn: str, name: str) -> str:
    """The stable ARN a routing-profile name stands for in the emulated Connect instance."""
    return f"{instance_arn}/routing-profile/{uuid.uuid5(uuid.NAMESPACE_URL, instance_arn + '/' + name)}"


def _routing_profiles(cell: str, context: _Context) -> Parsed:
    items, errors = _split(cell)
    if len(items) > context.routing_profile_limit:
        errors.append(
            f"{len(items)} routing profiles are listed; at most {context.routing_profile_limit} are allowed"
        )
    arns: list[str] = []
    unresolved: list[str] = []
    for item in items:
        if item.startswith("arn:"):
            arn = item
        elif context.instance_arn is not None:
            arn = routing_profile_arn(context.instance_arn, item)
        else:
            unresolved.append(f"'{item}'")
            continue
        if arn in arns:
            errors.append(f"'{item}' is listed twice")
        else:
            arns.append(arn)
    if unresolved:
        errors.append(
            f"routing-profile names need a Connect instance to resolve them and none is set: "
            f"{', '.join(unresolved)} (give routing-profile ARNs instead)"
        )
    if not arns:
        return None, errors
    return {"criteria": ROUTING_PROFILE_CRITERIA, "values": arns}, errors


_PARSERS: Final[dict[str, Callable[[str, _Context], Parsed]]] = {
    "name": _text,
    "content": _content,
    "contentType": _content_type,
    "description": _text,
    "shortcutKey": _text,
    "language": _language,
    "channels": _channels,
    "isActive": _active,
    "groupingConfiguration": _routing_profiles,
}


# --- the failed-record report ---------------------------------------------------------------


def failed_record_report_header(file_header: Sequence[str]) -> list[str]:
    """`Line`, the imported file's header cells as written, then `Errors`."""
    return [REPORT_LINE_COLUMN, *map(_displayable, file_header), REPORT_ERRORS_COLUMN]


def failed_record_report_row(row: ImportRow, width: int) -> list[str]:
    """The row's line, its cells padded or cut to the header's `width`, and its reasons joined.

    Cutting keeps the report rectangular (a ragged row's extra cells are still in the original
    file, at the line given).
    """
    cells = list(row.cells[:width]) + [""] * max(0, width - len(row.cells))
    return [str(row.line), *map(_displayable, cells), _displayable(REPORT_ERROR_SEPARATOR.join(row.errors))]


class ByteSink(Protocol):
    """Anything bytes can be written to: a binary file, `BytesIO`, a blob writer."""

    def write(self, data: bytes, /) -> Any: ...


class _Utf8Text:
    """The text side csv.writer needs, encoding each write straight into the sink (no buffer to flush)."""

    def __init__(self, out: ByteSink) -> None:
        self._out = out

    def write(self, text: str) -> Any:
        return self._out.write(text.encode("utf-8"))


class FailedRecordReport:
    """Writes the failed-record report CSV to a byte sink: UTF-8 with BOM, CRLF, RFC 4180.

    The BOM makes spreadsheet programs read non-ASCII text correctly; the reader accepts it back.
    Only `write` is used on `out`, so any blob writer works; the report never closes it.
    """

    def __init__(self, out: ByteSink, file_header: Sequence[str], *, continued: bool = False) -> None:
        """`continued`: `out` already holds the start of this report (its BOM and header row)."""
        self._writer = csv.writer(_Utf8Text(out), lineterminator="\r\n")
        self._width = len(file_header)
        self.rows_written = 0
        if not continued:
            out.write(codecs.BOM_UTF8)
            self._writer.writerow(failed_record_report_header(file_header))

    def write(self, row: ImportRow) -> None:
        self._writer.writerow(failed_record_report_row(row, self._width))
        self.rows_written += 1

    def close(self) -> None:
        """Nothing is buffered here; kept so the report can be used in a `with` block."""

    def __enter__(self) -> FailedRecordReport:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
