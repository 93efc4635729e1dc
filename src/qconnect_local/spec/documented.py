"""Values the model states only in its documentation strings (e.g. the supported language codes).

Some members are plain strings in the shapes but list their accepted values in the member's
documentation (`<code>de_DE</code>, <code>en_US</code>, …`). Reading them from there keeps
the model the single source, as for every other constraint.
"""

from __future__ import annotations

import functools
import re

from qconnect_local.spec.model import operation

_CODE = re.compile(r"<code>([^<]+)</code>")


@functools.cache
def documented_codes(operation_name: str, member: str) -> tuple[str, ...]:
    """The `<code>` values in the documentation of `member` of `operation_name`'s input."""
    shape = operation(operation_name).input_shape
    documentation = shape.members[member].documentation if shape is not None else ""
    return tuple(_CODE.findall(documentation or ""))


def quick_response_languages() -> tuple[str, ...]:
    """de_DE, en_US, es_ES, …: the languages CreateQuickResponse documents as supported."""
    return documented_codes("CreateQuickResponse", "language")


def message_template_languages() -> tuple[str, ...]:
    """The languages CreateMessageTemplate documents as supported."""
    return documented_codes("CreateMessageTemplate", "language")


# The model's channel members are free strings and their documentation lists no values; AWS's
# admin guide names these two channels for quick responses. The one place both the API and the
# CSV import read them from.
QUICK_RESPONSE_CHANNELS: tuple[str, ...] = ("Chat", "Email")
