"""The one paginator: keyset pages over a `seq` column behind an opaque, signed `nextToken`.

The token carries the last `seq` served and the scope it was issued for (operation, account,
region, parent), signed with the store's secret: a token from another list, a tampered one or
garbage is a `ValidationException`, and rows added or deleted between pages never shift what
the next page holds. Limit and token member names come from `paginators-1.json`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from typing import Any

from qconnect_local.protocol.errors import validation_error
from qconnect_local.service.context import Call
from qconnect_local.spec import operation, paginator_config


def page_size(call: Call, params: dict[str, Any]) -> int:
    """`maxResults` as given, or the model's maximum for it when absent."""
    limit_key = paginator_config().get(call.operation, {}).get("limit_key", "maxResults")
    given = params.get(limit_key)
    if given is not None:
        return int(given)
    shape = operation(call.operation).input_shape
    limit = shape.members[limit_key].metadata.get("max", 100) if shape is not None else 100
    return int(limit)


def fetch_page(
    call: Call,
    params: dict[str, Any],
    fetch: Callable[[int | None, int], Sequence[Any]],
    *,
    parent: str = "",
) -> tuple[Sequence[Any], str | None]:
    """One page and the token for the next page (None on the last).

    `fetch(after, limit)` returns up to `limit` rows after keyset position `after` (None: from
    the start), in `seq` order; rows carry `seq`.
    """
    scope = _scope(call, parent)
    size = page_size(call, params)
    token = params.get(paginator_config().get(call.operation, {}).get("input_token", "nextToken"))
    after = decode_token(call, token, scope) if token is not None else None
    rows = fetch(after, size + 1)
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    return rows, encode_token(call, int(rows[-1].seq), scope)


def _scope(call: Call, parent: str) -> str:
    return f"{call.operation}|{call.account}|{call.region}|{parent}"


def _sign(call: Call, payload: bytes) -> str:
    digest = hmac.new(call.runtime.store.secret, payload, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def encode_token(call: Call, position: int, scope: str) -> str:
    return encode_state(call, {"p": position}, scope)


def decode_token(call: Call, token: str, scope: str) -> int:
    state = decode_state(call, token, scope)
    if not isinstance(state.get("p"), int):
        raise validation_error(f"Invalid nextToken: {token[:64]}")
    return int(state["p"])


def encode_state(call: Call, state: dict[str, Any], scope: str) -> str:
    """An opaque token holding `state` (small JSON values), signed and bound to `scope`."""
    payload = json.dumps({**state, "s": scope}, separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{_sign(call, payload)}"


def decode_state(call: Call, token: str, scope: str) -> dict[str, Any]:
    """The state of a token `encode_state` made for `scope`; ValidationException for any other."""
    invalid = validation_error(f"Invalid nextToken: {token[:64]}")
    body, _, signature = token.partition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        document = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise invalid from None
    # compare_digest raises TypeError on non-ASCII str; such a signature is simply wrong.
    if not signature.isascii() or not hmac.compare_digest(signature, _sign(call, payload)):
        raise invalid
    if not isinstance(document, dict) or document.get("s") != scope:
        raise invalid
    return document
