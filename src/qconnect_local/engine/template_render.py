"""Rendering message templates: how `RenderMessageTemplate` fills in placeholders.

Pure and deterministic (no I/O, no clock): the same content and attributes always render the same.
The parts marked *documented* follow the Amazon Connect Administrator Guide ("Add personalized
content to message templates") or the API reference; the parts marked *our choice* are where AWS
publishes nothing and qconnect-local picked a systematic rule.

Placeholders
------------
A placeholder is two opening braces, a key, and two closing braces: `{{Attributes.Agent.FirstName}}`
(*documented*). Precisely:

* The key is the text between the braces with leading and trailing whitespace removed, so
  `{{ Attributes.Agent.FirstName }}` is the same placeholder. It may contain any character except
  `{`, `}`, carriage return and line feed, and after trimming is 1 to 32,767 characters long (the
  model's MessageTemplateAttributeKey).
* The braces must be exactly two on each side: a `{{` directly after another `{`, or a `}}`
  directly before another `}`, is not a placeholder. `{{{x}}}`, `{{{{x}}}}`, `{{x}}}` and any deeper
  nesting stay as written, as do `{{}}`, `{{   }}`, unbalanced braces, and braces spanning a line
  break.
* Keys are case-sensitive.

Anything that is not a placeholder is copied unchanged. Rendering is one left-to-right pass: an
inserted value is never scanned again, so a value that itself contains `{{...}}` is inserted as text.

Namespaces
----------
A key names one value of the request's `attributes` (model shape MessageTemplateAttributes).
Fixed fields are spelled as the model member with its first letter capitalised (`firstName` →
`FirstName`, `profileARN` → `ProfileARN`, `address1` → `Address1`). In map namespaces, everything
after the namespace prefix is the map key, used verbatim (it may contain dots and spaces):
`{{Attributes.Custom.order.id}}` reads `customAttributes["order.id"]`.

Spelling: (d) documented, (c) the console's attribute-finder name with our `Attributes.System.`
prefix, (o) our choice. In the table `P` stands for `customerProfileAttributes`, `R` for
`Attributes.Customer.Recommendations.[<i>]` and `r` for `P.recommendations[<i>]`.

| Placeholder                                          | Value read from MessageTemplateAttributes   |     |
|------------------------------------------------------|---------------------------------------------|-----|
| `{{Attributes.System.Name}}`                         | `systemAttributes.name`                     | (c) |
| `{{Attributes.System.CustomerEndpointAddress}}`      | `systemAttributes.customerEndpoint.address` | (c) |
| `{{Attributes.System.CustomerEndpoint.Address}}`     | `systemAttributes.customerEndpoint.address` | (o) |
| `{{Attributes.System.SystemEmailAddress}}`           | `systemAttributes.systemEndpoint.address`   | (c) |
| `{{Attributes.System.SystemEndpointAddress}}`        | `systemAttributes.systemEndpoint.address`   | (o) |
| `{{Attributes.System.SystemEndpoint.Address}}`       | `systemAttributes.systemEndpoint.address`   | (o) |
| `{{Attributes.Agent.FirstName}}`                     | `agentAttributes.firstName`                 | (d) |
| `{{Attributes.Agent.LastName}}`                      | `agentAttributes.lastName`                  | (d) |
| `{{Attributes.Customer.<Field>}}`                    | `P.<field>` (57 fields)                     | [1] |
| `{{Attributes.Customer.Attributes.<key>}}`           | `P.custom[<key>]`                           | [2] |
| `{{Attributes.Customer.Custom.<key>}}`               | `P.custom[<key>]`                           | (o) |
| `{{Attributes.Customer.CalculatedAttributes.<key>}}` | `P.calculatedAttributes[<key>]`             | [2] |
| `{{R.CatalogItem.<Field>}}`                          | `r.catalogItem.<field>`                     | [3] |
| `{{R.CatalogItem.Attributes.<key>}}`                 | `r.catalogItem.attributes[<key>]`           | (o) |
| `{{R.Score}}`                                        | `r.score`                                   | [4] |
| `{{Attributes.Custom.<key>}}`                        | `customAttributes[<key>]`                   | (o) |
| `{{Attributes.Case.<key>}}`                          | `caseAttributes[<key>]`                     | (o) |

[1] `{{Attributes.Customer.FirstName}}` is documented; the console's attribute finder lists the
    other Customer Profiles fields. The rule gives e.g. `{{Attributes.Customer.ShippingPostalCode}}`.
[2] After Amazon Connect's contact attributes `$.Customer.Attributes.<key>` and
    `$.Customer.CalculatedAttributes.<key>`.
[3] `{{Attributes.Customer.Recommendations.[0].CatalogItem.Name}}` is documented. `<i>` is a
    decimal index from 0 without leading zeros; an index past the end of the list is not
    interpolated. Catalog item fields: Id, Name, Code, Type, Category, Description,
    AdditionalInformation, ImageLink, Link, CreatedAt, UpdatedAt, Price.
[4] A number, written in its shortest decimal form (`0.87`, `1.0`).

The console names of System attributes (CustomerEndpointAddress, SystemEmailAddress, Name) are
documented; the `Attributes.System.` prefix in front of them is our choice. A key outside this
table (`{{Name}}`, `{{Attributes.Bogus.X}}`, `{{#if x}}`) is a placeholder that never has a value.

Values and precedence
---------------------
For each placeholder, the value is taken from the request's `attributes`; if the request has no
value at that exact path, from the template's `defaultAttributes`; otherwise the placeholder is kept
exactly as written, braces and inner whitespace included (*documented*). Precedence is per value: a
request that sets only `customerProfileAttributes.firstName` still gets the default `lastName`.
An empty string is a value. A value that is not a string (or, for Score, a number) counts as absent.

`attributesNotInterpolated` lists the key of every placeholder left unfilled, trimmed, once each,
in order of first appearance (*documented* that the keys are returned; the exact key text and
order are our choice). Parts are read in this order: email subject, plain-text body, HTML body,
header values; SMS body; WhatsApp data; push ADM, APNS, FCM, Baidu, each in model member order.

Which parts are rendered
------------------------
Every text part of the content (model MessageTemplateContentProvider):

* email: `subject`, `body.plainText.content`, `body.html.content`, each header's `value`;
* sms: `body.plainText.content`;
* whatsApp: `data`;
* push (adm, apns, fcm, baidu): `title`, `body.content`, `sound`, `url`, `imageUrl`,
  `imageIconUrl`, `smallImageIconUrl` (apns: `mediaUrl` instead of the three image fields) and
  `rawContent.content`.

Not rendered, copied unchanged: email header `name`s and push `action` (an enumeration).

Escaping (our choice; AWS does not document it)
-----------------------------------------------
* In the email HTML body, inserted values are HTML-escaped (`&`, `<`, `>`, `"` and `'`), so a
  customer's name can't inject markup. The template's own HTML is not touched.
* In the email subject and header values, each carriage return or line feed in an inserted value
  becomes a space, so a value can't add a header line.
* Everywhere else values are inserted as they are (push `rawContent` is not JSON-escaped).

Limits
------
The rendered text of one render call, all parts together, is at most 10,000,000 characters
(`MAX_RENDERED_CHARS`): twice the largest email template Amazon Connect allows (5,000,000
characters), room for generous substitution, while a hostile request (say 100,000 placeholders each
filled with a 32 KiB value) fails fast instead of building gigabytes. Exceeding it raises
`RenderTooLarge`, which the service answers with a ValidationException. Scanning is one linear pass
with a pattern that cannot backtrack catastrophically, so a megabyte of braces renders in
milliseconds.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, NoReturn

from qconnect_local.engine.template_attributes import attribute_path, attribute_type, lookup

MAX_RENDERED_CHARS: Final = 10_000_000  # twice the 5,000,000-character email template quota
MAX_KEY_CHARS: Final = 32_767  # model MessageTemplateAttributeKey

# Exactly two braces each side; the key can't hold a brace or line break, so each attempt ends at
# the next brace and the whole scan is linear. The "not after another {" test is a lookbehind
# placed after the literal `{{` so the regex engine can still skip ahead to each `{{` (5x faster).
PLACEHOLDER: Final = re.compile(r"\{\{(?<!\{\{\{)([^{}\r\n]*)\}\}(?!\})")


class Mode(Enum):
    """How an inserted value is written into a part."""

    PLAIN = "plain"
    HTML = "html"
    SINGLE_LINE = "single-line"


_Pattern = tuple[str, ...]  # "*" is every index of a list


def _push_slots(platform: str, media: tuple[str, ...]) -> list[tuple[_Pattern, Mode]]:
    """The text fields of one push platform, in model member order (action is an enum)."""
    fields = [("title",), ("body", "content"), ("sound",), ("url",), *((m,) for m in media)]
    return [(("push", platform, *f), Mode.PLAIN) for f in [*fields, ("rawContent", "content")]]


_IMAGES: Final = ("imageUrl", "imageIconUrl", "smallImageIconUrl")

# Every text part, in the order attributesNotInterpolated is collected.
TEXT_SLOTS: Final[tuple[tuple[_Pattern, Mode], ...]] = (
    (("email", "subject"), Mode.SINGLE_LINE),
    (("email", "body", "plainText", "content"), Mode.PLAIN),
    (("email", "body", "html", "content"), Mode.HTML),
    (("email", "headers", "*", "value"), Mode.SINGLE_LINE),
    (("sms", "body", "plainText", "content"), Mode.PLAIN),
    (("whatsApp", "data"), Mode.PLAIN),
    *_push_slots("adm", _IMAGES),
    *_push_slots("apns", ("mediaUrl",)),
    *_push_slots("fcm", _IMAGES),
    *_push_slots("baidu", _IMAGES),
)

_LINE_BREAKS: Final = str.maketrans({"\r": " ", "\n": " "})


class RenderTooLarge(ValueError):
    """The rendered content would exceed MAX_RENDERED_CHARS; the service sends a ValidationException."""


@dataclass(frozen=True)
class RenderedContent:
    """A render's result: the content (same union shape, rendered) and the unfilled keys."""

    content: dict[str, Any]
    not_interpolated: list[str]


def render_content(
    content: Mapping[str, Any],
    attributes: Mapping[str, Any] | None,
    defaults: Mapping[str, Any] | None,
) -> RenderedContent:
    """Fill every text part's placeholders from `attributes`, then `defaults` (see module docstring)."""
    renderer = _Renderer(attributes, defaults)
    out: dict[str, Any] = dict(content)
    copied = {id(out)}
    for path, text, mode in text_parts(content):
        _assign(out, path, renderer.render(text, mode, path), copied)
    return RenderedContent(content=out, not_interpolated=list(renderer.missing))


def attribute_types(content: Mapping[str, Any]) -> list[str]:
    """Model enum values (SYSTEM, AGENT, CUSTOMER_PROFILE, CUSTOM, CASE) of the namespaces the
    content's placeholders use, sorted; for the template's `attributeTypes`."""
    kinds = {
        kind
        for _, text, _ in text_parts(content)
        for key in placeholder_keys(text)
        if (kind := attribute_type(key)) is not None
    }
    return sorted(kinds)


def placeholder_keys(text: str) -> Iterator[str]:
    """The keys of the text's well-formed placeholders, in order, repeats included."""
    for match in PLACEHOLDER.finditer(text):
        key = _key(match)
        if key is not None:
            yield key


def text_parts(content: Mapping[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str, Mode]]:
    """(path, text, mode) of every text part present, in TEXT_SLOTS order."""
    for pattern, mode in TEXT_SLOTS:
        if pattern[0] not in content:
            continue
        for path, value in _expand(content, pattern):
            if isinstance(value, str):
                yield path, value, mode


def _expand(node: Any, pattern: _Pattern) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """The concrete paths matching a slot pattern (depth ≤ 4, so no deep recursion on hostile input)."""
    frontier: list[tuple[tuple[str | int, ...], Any]] = [((), node)]
    for step in pattern:
        following: list[tuple[tuple[str | int, ...], Any]] = []
        for path, value in frontier:
            if step == "*":
                if isinstance(value, list):
                    following.extend(((*path, i), item) for i, item in enumerate(value))
            elif isinstance(value, Mapping) and step in value:
                following.append(((*path, step), value[step]))
        frontier = following
    return iter(frontier)


def _assign(out: dict[str, Any], path: tuple[str | int, ...], value: str, copied: set[int]) -> None:
    """Set `path` in `out`, copying each container on the way once so the input is never mutated."""
    node: Any = out
    for step in path[:-1]:
        child = node[step]
        if id(child) not in copied:
            child = dict(child) if isinstance(child, Mapping) else list(child)
            node[step] = child
            copied.add(id(child))
        node = child
    node[path[-1]] = value


def _key(match: re.Match[str]) -> str | None:
    """The trimmed key of a brace match, or None when it is not a well-formed placeholder."""
    key = match.group(1).strip()
    return key if 0 < len(key) <= MAX_KEY_CHARS else None


# What one brace match becomes in one mode: its key (None if malformed) and the text to insert
# (None: keep the placeholder as written).
_Entry = tuple[str | None, str | None]


class _Renderer:
    """One render call's state: value caches, unfilled keys, and the remaining size budget."""

    def __init__(self, attributes: Mapping[str, Any] | None, defaults: Mapping[str, Any] | None) -> None:
        self._attributes = attributes
        self._defaults = defaults
        self._resolved: dict[str, str | None] = {}
        self._entries: dict[Mode, dict[str, _Entry]] = {mode: {} for mode in Mode}
        self.missing: dict[str, None] = {}  # ordered set
        self._budget = MAX_RENDERED_CHARS

    def render(self, text: str, mode: Mode, path: tuple[str | int, ...]) -> str:
        """One part, rendered; raises RenderTooLarge as soon as the output passes the budget."""
        entries = self._entries[mode]
        missing = self.missing
        budget = self._budget
        written = 0  # characters of output so far; output only grows, so this bounds memory
        last_end = 0

        def replace(match: re.Match[str]) -> str:
            nonlocal written, last_end
            inner = match.group(1)
            entry = entries.get(inner)
            if entry is None:
                entry = entries[inner] = self._entry(inner, mode)
            key, value = entry
            if value is None:
                if key is not None:
                    missing.setdefault(key)
                value = match.group(0)
            start, end = match.span()
            written += start - last_end + len(value)
            last_end = end
            return value if written <= budget else self._too_large(path)

        rendered = PLACEHOLDER.sub(replace, text)
        if len(rendered) > budget:
            self._too_large(path)
        self._budget -= len(rendered)
        return rendered

    def _entry(self, inner: str, mode: Mode) -> _Entry:
        """The key and written value for one brace match's inner text, in one mode."""
        key = inner.strip()
        if not 0 < len(key) <= MAX_KEY_CHARS:
            return None, None
        return key, _written(self._resolve(key), mode)

    def _resolve(self, key: str) -> str | None:
        """Request attributes first, then the template's defaults, at the same path; once per key."""
        if key not in self._resolved:
            self._resolved[key] = self._lookup(key)
        return self._resolved[key]

    def _lookup(self, key: str) -> str | None:
        """Uncached resolution: None for a key outside the namespace table or with no value."""
        path = attribute_path(key)
        if path is None:
            return None
        value = lookup(self._attributes, path)
        return value if value is not None else lookup(self._defaults, path)

    @staticmethod
    def _too_large(path: tuple[str | int, ...]) -> NoReturn:
        """Fail with a message the service can return as a ValidationException as it stands."""
        where = ".".join(str(step) for step in path)
        raise RenderTooLarge(
            f"The rendered message template would exceed {MAX_RENDERED_CHARS:,} characters "
            f"(limit reached in {where}); use shorter attribute values or fewer placeholders."
        )


def _written(value: str | None, mode: Mode) -> str | None:
    """A value as inserted into a part of the given mode (escaping rules in the module docstring)."""
    if value is None or mode is Mode.PLAIN:
        return value
    if mode is Mode.HTML:
        return html.escape(value, quote=True)
    return value.translate(_LINE_BREAKS)
