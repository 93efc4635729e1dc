"""What a quick response's `contents` hold: its media types, and contact attributes filled in.

Contents (the model's QuickResponseContents): a plain-text quick response
(`application/x.quickresponse;format=plain`) returns `plainText` only, its content as stored. A
markdown one returns `markdown` (as stored) and `plainText` derived from it, for channels that
cannot render markdown. The derivation, line by line:

- fenced code blocks (``` or ~~~) lose their fence lines and keep their text verbatim;
- headings (`# Title`), block quotes (`> text`) and unordered list markers (`-`, `*`, `+`) are
  removed, indentation kept; ordered lists keep their numbers (`1. step`); horizontal rules
  (`---`, `***`, `___`) become empty lines;
- inline: `**bold**`, `__bold__`, `*em*`, `_em_`, `~~struck~~` keep their text (an `_` inside a
  word, as in `snake_case`, is not emphasis); `` `code` `` keeps its text; a link `[text](url)`
  becomes `text (url)`, or just `url` when the text is the url; an image `![alt](url)` becomes
  `alt`; an autolink `<https://...>` becomes the url; backslash escapes (`\\*`) become the
  character. Attribute placeholders (below) and code spans are never altered.

Contact attributes (SearchQuickResponses `attributes`): the model links Amazon Connect's
user-defined contact attributes, which Connect references with the JSONPath
`$.Attributes.<key>` (`$.Attributes['key with spaces']` for other keys); in message text
Connect writes them inside `{{ }}`. So a placeholder is `{{$.Attributes.<key>}}`,
`{{$.Attributes['<key>']}}` (also with a dot before `[`, or double quotes), spaces allowed
inside the braces; `$.Contact.Attributes.<key>` is accepted as a synonym. A placeholder whose
key is in `attributes` is replaced by its value and the key reported in
`attributesInterpolated`; one whose key is not is left as written and the key reported in
`attributesNotInterpolated`. Other `{{...}}` text is left alone and not reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

PLAIN: Final = "application/x.quickresponse;format=plain"
MARKDOWN: Final = "application/x.quickresponse;format=markdown"

_KEY_FORMS = r"""(?:\.(?P<bare>[A-Za-z0-9_-]+)|\.?\[\s*(?:'(?P<single>[^']+)'|"(?P<double>[^"]+)")\s*\])"""
PLACEHOLDER: Final = re.compile(r"\{\{\s*\$\.(?:Contact\.)?Attributes" + _KEY_FORMS + r"\s*\}\}")


def contents_of(content_type: str, content: str) -> dict[str, Any]:
    """The model's QuickResponseContents for stored `content` of `content_type`."""
    if content_type == MARKDOWN:
        return {"markdown": {"content": content}, "plainText": {"content": markdown_to_plain(content)}}
    return {"plainText": {"content": content}}


# --- attributes -----------------------------------------------------------------------------


def _key(match: re.Match[str]) -> str:
    return match["bare"] or match["single"] or match["double"]


def referenced_attributes(text: str) -> list[str]:
    """Keys of every attribute placeholder in `text`, in order of first appearance."""
    return list(dict.fromkeys(_key(m) for m in PLACEHOLDER.finditer(text)))


def fill_attributes(text: str, attributes: dict[str, str]) -> str:
    """`text` with every placeholder whose key is in `attributes` replaced by its value."""

    def replace(match: re.Match[str]) -> str:
        value = attributes.get(_key(match))
        return match[0] if value is None else value

    return PLACEHOLDER.sub(replace, text)


def interpolate(
    contents: dict[str, Any], source: str, attributes: dict[str, str]
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Contents with attributes filled in, the keys filled, and the keys referenced but not given.

    `source` is the stored content: every variant derives from it, so its placeholders are all
    the variants' placeholders.
    """
    keys = referenced_attributes(source)
    filled = {
        media: {"content": fill_attributes(variant["content"], attributes)}
        for media, variant in contents.items()
    }
    return filled, [k for k in keys if k in attributes], [k for k in keys if k not in attributes]


# --- markdown -> plain text -------------------------------------------------------------------

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_HEADING = re.compile(r"^(\s{0,3})#{1,6}(?:\s+|$)(.*?)(?:\s+#+\s*)?$")
_QUOTE = re.compile(r"^(\s{0,3})(?:>\s?)+")
_BULLET = re.compile(r"^(\s*)[-*+]\s+")
# Spans left exactly as written: code spans (their text is kept, backticks dropped) and placeholders.
_PROTECTED = re.compile(r"(`+)(?P<code>.+?)\1|(?P<placeholder>\{\{.*?\}\})")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>~|<])")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
_AUTOLINK = re.compile(r"<((?:https?|mailto|ftp):[^>\s]+)>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_EM_STAR = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")
_EM_UNDERSCORE = re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")
# Private-use characters stand in for protected spans and escapes while the rules run.
_SLOT = "\ue000{}\ue001"
_SLOT_BACK = re.compile("\ue000(\\d+)\ue001")


def markdown_to_plain(markdown: str) -> str:
    """Plain text for a markdown quick response (the rules are in the module docstring)."""
    lines: list[str] = []
    in_fence = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        lines.append(line if in_fence else _plain_line(line))
    return "\n".join(lines)


def _plain_line(line: str) -> str:
    if _RULE.match(line):
        return ""
    kept: list[str] = []

    def keep(text: str) -> str:
        kept.append(text)
        return _SLOT.format(len(kept) - 1)

    line = _PROTECTED.sub(lambda m: keep(m["code"] if m["code"] is not None else m["placeholder"]), line)
    line = _ESCAPE.sub(lambda m: keep(m[1]), line)
    line = _HEADING.sub(r"\1\2", line)
    line = _QUOTE.sub(r"\1", line)
    line = _BULLET.sub(r"\1", line)
    for pattern, replacement in _INLINE:
        line = pattern.sub(replacement, line)
    return _SLOT_BACK.sub(lambda m: kept[int(m[1])], line)


def _link(match: re.Match[str]) -> str:
    text, url = match[1], match[2]
    return url if text.strip() == url else f"{text} ({url})"


_INLINE: Final[tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...]] = (
    (_IMAGE, r"\1"),
    (_LINK, _link),
    (_AUTOLINK, r"\1"),
    (_STRONG, r"\2"),
    (_STRIKE, r"\1"),
    (_EM_STAR, r"\1"),
    (_EM_UNDERSCORE, r"\1"),
)
