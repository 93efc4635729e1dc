"""A content file's readable text, by content type: what ingestion chunks and indexes.

Pure: bytes in, `Extracted` out, or `ExtractionError` whose message becomes the content's failure
reason. No input makes it raise anything else. The user-facing specification is
`docs/content-ingestion.md`; keep both in step.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.table import Table, _Cell

# The text of one document may not exceed this (more than any text file within the default 5 MiB
# upload quota); reading a PDF stops as soon as its pages pass it.
MAX_TEXT_CHARS: Final = 10_000_000
MAX_PDF_PAGES: Final = 2_000
# A DOCX is a ZIP: its declared unpacked size is checked before python-docx inflates anything.
MAX_DOCX_UNPACKED_BYTES: Final = 100 * 1024 * 1024
# The XML parts are what python-docx holds in memory, at some 20 times their size.
MAX_DOCX_XML_BYTES: Final = 25 * 1024 * 1024

DOCX: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
WISDOM_JSON: Final = "application/x.wisdom-json"


@dataclass(frozen=True, slots=True)
class Extracted:
    """`text`: the readable text, normalised. `title`: the document's own title (HTML <title>, the
    article's title field, PDF or DOCX metadata), else None. `fields`: an x.wisdom-json article's
    top-level scalar fields as strings, for filling a templateUri; {} for other types."""

    text: str
    title: str | None
    fields: dict[str, str] = field(default_factory=dict)


class ExtractionError(Exception):
    """The file can't be read as its content type; str(error) is a one-sentence reason for a user (it
    becomes the content's failure reason)."""


def extract(content_type: str, data: bytes) -> Extracted:
    """The normalised text of `data` read as `content_type` (case-insensitive, parameters allowed)."""
    media_type, params = _parse_content_type(content_type)
    if media_type == WISDOM_JSON:
        shape = _ARTICLE_SHAPES.get(params.get("source", ""))
        if shape is None:
            raise ExtractionError(
                f"Content type {content_type!r} needs source=salesforce, servicenow or zendesk"
            )
        raw = _read_article(shape, data)
    else:
        read = _READERS.get(media_type)
        if read is None:
            raise ExtractionError(f"Content type {content_type!r} is not supported")
        raw = read(data, params.get("charset"))
    text = _normalise(raw.text)
    if not text:
        raise ExtractionError(_NO_TEXT.get(media_type, "The document holds no text"))
    if len(text) > MAX_TEXT_CHARS:
        raise ExtractionError(_too_long())
    return Extracted(text=text, title=_one_line(raw.title), fields=raw.fields)


def _parse_content_type(content_type: str) -> tuple[str, dict[str, str]]:
    media_type, *params = content_type.split(";")
    parsed = {}
    for param in params:
        name, _, value = param.partition("=")
        parsed[name.strip().lower()] = value.strip().strip('"').lower()
    return media_type.strip().lower(), parsed


# -- normalisation ---------------------------------------------------------------------------------

# Control characters that are not whitespace, and unpaired surrogates (JSON can escape them); neither
# is text, and PostgreSQL can't store U+0000.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff]")
_SPACES = re.compile(r"[^\S\n]+")
_LINE_EDGE = re.compile(r" ?\n ?")
_BLANK_LINES = re.compile(r"\n{3,}")


def _normalise(text: str) -> str:
    text = _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", text))
    return _BLANK_LINES.sub("\n\n", _LINE_EDGE.sub("\n", text)).strip()


def _one_line(text: str | None) -> str | None:
    """A title: normalised onto one line; None when nothing is left."""
    return " ".join(_normalise(text or "").split()) or None


def _too_long() -> str:
    return f"The document's text is longer than {MAX_TEXT_CHARS:,} characters"


# -- text, CSV, HTML -------------------------------------------------------------------------------


def _decode(data: bytes, charset: str | None) -> str:
    """Strict: a text file in the wrong encoding is a user error worth reporting, not guessing."""
    encoding = charset or "utf-8"
    try:
        if codecs.lookup(encoding).name == "utf-8":
            encoding = "utf-8-sig"
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise ExtractionError(
            f"The file is not valid {charset or 'UTF-8'} text (byte {error.start} can't be decoded)"
        ) from None
    except (LookupError, UnicodeError):  # unknown, or not a text encoding (rot13, zlib, undefined)
        raise ExtractionError(f"The charset {charset!r} is not supported") from None


def _read_text(data: bytes, charset: str | None) -> Extracted:
    return Extracted(_decode(data, charset), None)


def _read_csv(data: bytes, charset: str | None) -> Extracted:
    text = _decode(data, charset)
    # The csv module's field limit is process-global (the quick-response importer raises it
    # too): raised, never lowered, so that what a file yields never depends on what ran before.
    if csv.field_size_limit() < MAX_TEXT_CHARS:
        csv.field_size_limit(MAX_TEXT_CHARS)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:  # the text is still worth indexing as it is
        return Extracted(text, None)
    return Extracted("\n".join(" ".join(row) for row in rows), None)


_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# Labels the HTML standard reads differently from their name (WHATWG Encoding, "get an encoding").
_WHATWG_CODECS: Final = {
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "utf-16": "utf-8",
    "utf-16-le": "utf-8",
    "utf-16-be": "utf-8",
    "utf-32": "utf-8",
    "utf-32-le": "utf-8",
    "utf-32-be": "utf-8",
}


def _decode_html(data: bytes, charset: str | None) -> str:
    """As a browser does: byte-order mark, then the declared charset, then UTF-8, then Windows-1252.

    Lenient, unlike plain text: a page with a few stray bytes is still a page."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, "replace")
    meta = _META_CHARSET.search(data, 0, 1024)
    for label in (charset, meta and meta.group(1).decode("ascii")):
        if label:
            try:
                name = codecs.lookup(label).name
                return data.decode(_WHATWG_CODECS.get(name, name), "replace")
            except (LookupError, UnicodeError):  # unknown or not a text encoding: ignored, as browsers do
                continue
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _read_html(data: bytes, charset: str | None) -> Extracted:
    text, title = _html_text(_decode_html(data, charset))
    return Extracted(text, title)


_HIDDEN: Final = frozenset(
    {"script", "style", "noscript", "template", "title", "iframe", "noembed", "noframes"}
)
# What may stand in <head>; any other start tag ends the head, as the HTML parsing algorithm does.
_HEAD_CONTENT: Final = frozenset(
    {"base", "basefont", "bgsound", "link", "meta", "noscript", "script", "style", "template", "title"}
)
_PARAGRAPHS: Final = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6"})
_BLOCKS: Final = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
        "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header",
        "hgroup", "hr", "html", "legend", "li", "main", "menu", "nav", "ol", "option", "pre", "section",
        "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
    }
)  # fmt: skip
_CELLS: Final = frozenset({"td", "th"})
_PREFORMATTED: Final = frozenset({"pre", "textarea", "listing"})
_HTML_WHITESPACE = re.compile(r"[ \t\n\f\r]+")


class _VisibleText(HTMLParser):
    """Collects what a browser would show as text, and the first non-empty <title>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: str | None = None
        self._title_parts: list[str] = []
        self._hidden = dict.fromkeys(_HIDDEN, 0)
        self._in_head = False
        self._preformatted = 0
        self._pending_breaks = 0  # line breaks owed before the next text: 1 a new line, 2 a blank line

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self._in_head = True
        elif tag == "body" or tag not in _HEAD_CONTENT:
            self._in_head = False
        if tag in _HIDDEN:
            self._hidden[tag] += 1
        self._preformatted += tag in _PREFORMATTED
        if tag == "br":  # unlike block edges, consecutive <br>s add up
            self._pending_breaks = min(2, self._pending_breaks + 1)
        self._block_edge(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """HTML ignores the self-closing slash (`<br/>` is `<br>`, `<div/>` opens a div)."""
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._in_head = False
        if self._hidden.get(tag):
            self._hidden[tag] -= 1
            if tag == "title" and self.title is None:
                self.title = _one_line("".join(self._title_parts))
                self._title_parts.clear()
        if tag in _PREFORMATTED and self._preformatted:
            self._preformatted -= 1
        self._block_edge(tag)

    def handle_data(self, data: str) -> None:
        if self._hidden["title"]:
            if self.title is None:
                self._title_parts.append(data)
        elif not self._in_head and not any(self._hidden.values()):
            self._write(data if self._preformatted else _HTML_WHITESPACE.sub(" ", data))

    def parse_marked_section(self, i: int, report: bool = True) -> int:
        """HTML reads `<![…` (outside SVG/MathML) as a bogus comment; the base class raises
        AssertionError on any keyword but CDATA/IF/…, which garbage input easily has."""
        return self.parse_bogus_comment(i, report)

    def _block_edge(self, tag: str) -> None:
        """Adjacent block edges make one break, the widest: `</li><li>` is one new line."""
        if tag in _PARAGRAPHS:
            self._pending_breaks = 2
        elif tag in _BLOCKS:
            self._pending_breaks = max(1, self._pending_breaks)
        elif tag in _CELLS:
            self._write(" ")

    def _write(self, text: str) -> None:
        if self._pending_breaks:
            if not text.strip():  # source indentation between blocks is not text
                return
            if self.parts:
                self.parts.append("\n" * self._pending_breaks)
            self._pending_breaks = 0
        self.parts.append(text)


def _html_text(markup: str) -> tuple[str, str | None]:
    # A comment left open runs to the end of the document, as browsers read it (HTMLParser
    # would hand it back as text).
    opened = markup.rfind("<!--")
    if opened >= 0 and markup.find("-->", opened + 4) < 0:
        markup = markup[:opened]
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts), parser.title


# -- PDF -------------------------------------------------------------------------------------------


def _read_pdf(data: bytes, charset: str | None) -> Extracted:
    # Imported on the first PDF (as python-docx on the first DOCX): together they cost every
    # start-up about 0.1 s, and most servers never see either.
    import pypdf
    from pypdf import PasswordType
    from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise ExtractionError("The PDF is encrypted and can't be opened without a password")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise ExtractionError(f"The PDF has more than {MAX_PDF_PAGES:,} pages")
        pages: list[str] = []
        size = 0
        for page in reader.pages:
            pages.append(page.extract_text())
            size += len(pages[-1])
            if size > MAX_TEXT_CHARS:
                raise ExtractionError(_too_long())
        title = reader.metadata.title if reader.metadata else None
    except ExtractionError:
        raise
    except FileNotDecryptedError:
        raise ExtractionError("The PDF is encrypted and can't be opened without a password") from None
    except DependencyError:
        raise ExtractionError("The PDF uses an encryption this installation can't open") from None
    except PyPdfError as error:
        raise ExtractionError("The file is not a readable PDF") from error
    except MemoryError:  # the reader's limit, not the file's fault: said as such by the sandbox
        raise
    # pypdf's parsers let arbitrary types (KeyError, RecursionError, …) escape on damaged files.
    except Exception as error:
        raise ExtractionError("The file is not a readable PDF") from error
    return Extracted("\n\n".join(pages), title if isinstance(title, str) else None)


# -- DOCX ------------------------------------------------------------------------------------------


def _read_docx(data: bytes, charset: str | None) -> Extracted:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            xml = sum(
                info.file_size for info in archive.infolist() if info.filename.endswith((".xml", ".rels"))
            )
    except Exception as error:  # BadZipFile mostly; zipfile lets struct, OS and EOF errors through
        raise ExtractionError("The file is not a DOCX document (it is not a ZIP archive)") from error
    if unpacked > MAX_DOCX_UNPACKED_BYTES:
        raise ExtractionError(f"The DOCX document unpacks to more than {MAX_DOCX_UNPACKED_BYTES // 2**20} MB")
    if xml > MAX_DOCX_XML_BYTES:
        raise ExtractionError(
            f"The DOCX document's XML unpacks to more than {MAX_DOCX_XML_BYTES // 2**20} MB"
        )
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        text = "\n\n".join(_docx_blocks(document))
        title = document.core_properties.title
    except MemoryError:
        raise
    # python-docx and lxml raise KeyError, ValueError, XMLSyntaxError, … on damaged files.
    except Exception as error:
        raise ExtractionError("The file is not a readable DOCX document") from error
    return Extracted(text, title)


def _docx_blocks(container: DocxDocument | _Cell) -> Iterator[str]:
    """Paragraphs and tables in document order; a table row is one line, its cells joined by spaces."""
    from docx.text.paragraph import Paragraph

    for item in container.iter_inner_content():
        if isinstance(item, Paragraph):
            yield item.text
        else:
            yield "\n".join(_docx_rows(item))


def _docx_rows(table: Table) -> Iterator[str]:
    seen: set[object] = set()  # a merged cell appears in every grid position it spans: its text once
    for row in table.rows:
        cells = []
        for cell in row.cells:
            if cell._tc not in seen:
                seen.add(cell._tc)
                cells.append(" ".join(_docx_blocks(cell)).replace("\n", " "))
        yield " ".join(cells)


# -- x.wisdom-json articles ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ArticleShape:
    """Where one knowledge system's article export keeps its title and body."""

    system: str
    envelope: str | None  # the key an API response wraps the article in ({"result": {...}})
    read: Callable[[dict[str, object]], tuple[str | None, list[str]]]  # (title, bodies)
    missing: str  # what a user must add, for the error message


_LOOKS_LIKE_HTML = re.compile(r"</?[A-Za-z][^<>]*>")


def _string(article: dict[str, object], key: str) -> str | None:
    value = article.get(key)
    return value if isinstance(value, str) else None


def _html_body(value: str | None) -> str:
    return _html_text(value)[0] if value else ""


def _plain_or_html(value: str) -> str:
    return _html_body(value) if _LOOKS_LIKE_HTML.search(value) else value


def _salesforce(article: dict[str, object]) -> tuple[str | None, list[str]]:
    bodies = [_string(article, "Summary") or ""]
    bodies += [
        _plain_or_html(value)
        for key, value in article.items()
        if isinstance(value, str)
        and key not in ("Title", "Summary")
        and (key.endswith("__c") or _LOOKS_LIKE_HTML.search(value))
    ]
    return _string(article, "Title"), bodies


def _servicenow(article: dict[str, object]) -> tuple[str | None, list[str]]:
    body = _html_body(_string(article, "text"))
    if not _normalise(body):
        body = _string(article, "wiki") or ""
    return _string(article, "short_description"), [body]


def _zendesk(article: dict[str, object]) -> tuple[str | None, list[str]]:
    return _string(article, "title") or _string(article, "name"), [_html_body(_string(article, "body"))]


_ARTICLE_SHAPES: Final = {
    "salesforce": _ArticleShape(
        "Salesforce", None, _salesforce, "a Title nor a body (Summary, or a custom field such as Body__c)"
    ),
    "servicenow": _ArticleShape(
        "ServiceNow", "result", _servicenow, "a short_description nor a body (text or wiki)"
    ),
    "zendesk": _ArticleShape("Zendesk", "article", _zendesk, "a title nor a body"),
}
_JSON_KINDS: Final = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
}


def _read_article(shape: _ArticleShape, data: bytes) -> Extracted:
    try:
        article = json.loads(_decode(data, None))
    except json.JSONDecodeError as error:
        raise ExtractionError(
            f"The article is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from None
    except (ValueError, RecursionError):  # a number over Python's digit limit; nesting too deep
        raise ExtractionError("The article is not valid JSON") from None
    if shape.envelope and isinstance(article, dict) and list(article) == [shape.envelope]:
        article = article[shape.envelope]
    if not isinstance(article, dict):
        kind = _JSON_KINDS.get(type(article), "null")
        raise ExtractionError(f"The {shape.system} article must be a JSON object, not {kind}")
    title, bodies = shape.read(article)
    title = _one_line(title)
    bodies = [body for body in bodies if _normalise(body)]
    if not title and not bodies:
        raise ExtractionError(f"The {shape.system} article has neither {shape.missing}")
    fields = {  # as given, but without what no database can store (U+0000, unpaired surrogates)
        _CONTROL.sub("", key): _CONTROL.sub("", value) if isinstance(value, str) else json.dumps(value)
        for key, value in article.items()
        if value is not None and not isinstance(value, dict | list)
    }
    return Extracted("\n\n".join([title or "", *bodies]), title, fields)


_READERS: Final[dict[str, Callable[[bytes, str | None], Extracted]]] = {
    "text/plain": _read_text,
    "text/csv": _read_csv,
    "text/html": _read_html,
    "application/pdf": _read_pdf,
    DOCX: _read_docx,
}
_NO_TEXT: Final = {"application/pdf": "The PDF holds no extractable text (scanned images?)"}
