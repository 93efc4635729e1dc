"""ARNs of this service, and the one resolver that accepts an id or an ARN wherever the model does.

An ARN of another partition, account, region or resource type names nothing here, so it resolves to
`ResourceNotFoundException`, exactly like an id that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from qconnect_local.protocol.errors import not_found
from qconnect_local.service.context import Call


@dataclass(frozen=True, slots=True)
class ParsedArn:
    partition: str
    region: str
    account: str
    resource_type: str
    ids: tuple[str, ...]


def parse_arn(arn: str) -> ParsedArn | None:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "wisdom" or "/" not in parts[5]:
        return None
    resource_type, _, rest = parts[5].partition("/")
    return ParsedArn(parts[1], parts[3], parts[4], resource_type, tuple(rest.split("/")))


def in_scope(call: Call, parsed: ParsedArn) -> bool:
    """Whether the ARN's partition, region and account are the caller's (as `Call.arn` builds them)."""
    return call.arn("") == f"arn:{parsed.partition}:wisdom:{parsed.region}:{parsed.account}:"


def resolve_id(
    call: Call, value: str, resource_type: str, label: str, *, parents: tuple[str, ...] | None = None
) -> str:
    """The resource id named by `value` (an id, or an ARN of `resource_type` in the caller's scope).

    `parents`, when given, are the ids the ARN must carry before the resource's own
    (`()` for a top-level resource such as a knowledge base, `(kb_id,)` for its content).
    """
    if not value.startswith("arn:"):
        return value
    parsed = parse_arn(value)
    if (
        parsed is None
        or parsed.resource_type != resource_type
        or not in_scope(call, parsed)
        or (parents is not None and parsed.ids[:-1] != parents)
    ):
        raise not_found(f"{label} not found: {value}", value)
    return parsed.ids[-1]
