"""What AI prompts, AI agents and AI guardrails share: one lifecycle, declared once per kind.

Each kind (`service.ai_prompts`, `ai_agents`, `ai_guardrails`) says which members it keeps, how
they are checked and which SYSTEM resources an assistant has; this module does the rest for all
three, so their eight operations each behave alike. Decisions where AWS is silent
(docs/behaviour.md, "AI prompts, agents and guardrails"):

- Names are unique per assistant and kind (ConflictException). `visibilityStatus` is SAVED or
  PUBLISHED and changes nothing else here.
- Identifiers: an id or ARN; `:$LATEST` (or none) names the current state, `:<n>` version n.
  Another qualifier, or a version that does not exist, is ResourceNotFoundException. Update
  and delete take no qualifier (ValidationException: versions are immutable, and are deleted
  with Delete…Version).
- Versions are immutable snapshots of every member, numbered from 1 (numbers are never reused).
  `modifiedTime` on Create…Version guards the snapshot: if the resource changed after that
  time (to the millisecond, the precision of the wire), ConflictException.
- Deleting a version that an AI agent (its current state or a version) or the assistant's
  default agents still name, qualified with that number, is ConflictException.
- SYSTEM resources (`origin: SYSTEM`; `service.system_ai`) are listed first, readable and
  usable, never updated, versioned or deleted (ValidationException). Lists take `origin` to
  show one side only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from qconnect_local.protocol.errors import conflict, not_found, validation_error
from qconnect_local.service import assistants, resources
from qconnect_local.service.context import Call
from qconnect_local.service.families import Family
from qconnect_local.service.pagination import decode_token, encode_token, page_size
from qconnect_local.service.registry import operation
from qconnect_local.store import Connection

LATEST: Final = "$LATEST"
CUSTOMER: Final = "CUSTOMER"
SYSTEM: Final = "SYSTEM"
ACTIVE: Final = "ACTIVE"
WIRE_PRECISION: Final = timedelta(milliseconds=1)  # timestamps travel as epoch seconds with 3 decimals


@dataclass(frozen=True)
class Resource:
    """A prompt, agent or guardrail as the operations see it, stored (CUSTOMER) or SYSTEM."""

    id: str
    assistant_id: str
    name: str
    type: str | None
    visibility_status: str
    description: str | None
    config: dict[str, Any]
    status: str
    modified_at: datetime
    origin: str = CUSTOMER
    row: Any = field(default=None, compare=False)  # the stored row (None for SYSTEM ones)

    @classmethod
    def of(cls, row: Any) -> Resource:
        return cls(
            row.id,
            row.assistant_id,
            row.name,
            row.type,
            row.visibility_status,
            row.description,
            dict(row.config),
            row.status,
            row.modified_at,
            row=row,
        )

    def snapshot(self) -> dict[str, Any]:
        """What a version keeps: every member."""
        return {
            "name": self.name,
            "type": self.type,
            "visibilityStatus": self.visibility_status,
            "description": self.description,
            "config": self.config,
            "status": self.status,
        }

    @classmethod
    def of_version(cls, resource: Resource, version: Any) -> Resource:
        snap = version.snapshot
        return cls(
            resource.id,
            resource.assistant_id,
            snap["name"],
            snap["type"],
            snap["visibilityStatus"],
            snap["description"],
            dict(snap["config"]),
            snap["status"],
            version.created_at,
            resource.origin,
            resource.row,
        )


Check = Callable[[Connection, Call, Any, str | None, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Kind:
    family: Family
    versions: Family
    member: str  # "aiPrompt": the data member; f"{member}Id" / "Arn" / "Summaries" follow
    operation_stem: str  # "AIPrompt": Create{stem}, Get{stem}, ...
    members: tuple[str, ...]  # the members kept in `config`
    updatable: tuple[str, ...]  # of those, what Update… may change (the others are fixed at create)
    check: Check  # (conn, call, assistant, type, config) -> the config to store, or a modeled error
    summary_members: tuple[str, ...] = ()  # config members a summary carries too
    replaced_on_update: tuple[str, ...] = ()  # members an update replaces (absent: removed)
    system: Callable[[Call, Any], list[Resource]] = lambda _call, _assistant: []
    has_origin: bool = True  # guardrails' shapes have no `origin` (and their lists no filter)
    typed: bool = True  # nor a `type`
    precheck: Callable[[dict[str, Any]], None] | None = (
        None  # what needs no store, run before any transaction
    )

    @property
    def label(self) -> str:
        return self.family.label

    @property
    def id_member(self) -> str:
        return f"{self.member}Id"

    @property
    def version_column(self) -> str:
        """The versions' column naming their resource (`ai_prompt_id`, ...)."""
        column = self.versions.parent_column
        assert column is not None
        return column


# -- names -----------------------------------------------------------------------------------------


def arn(call: Call, kind: Kind, resource: Resource) -> str:
    return resources.arn_for(call, kind.family, resource.assistant_id, resource.id)


def _split(value: str) -> tuple[str, str | None]:
    """The id part and the qualifier of an id, id:qualifier or (qualified) ARN, before checks."""
    if value.startswith("arn:"):
        parsed = resources.parse_arn(value)
        return (parsed.ids[-1], parsed.qualifier) if parsed else (value, None)
    row_id, _, qualifier = value.partition(":")
    return row_id, qualifier or None


def find(conn: Connection, call: Call, kind: Kind, assistant: Any, resource_id: str) -> Resource | None:
    """The stored or SYSTEM resource with this id in the assistant, or None."""
    row = kind.family.repo.find(conn, call.account, call.region, resource_id, assistant.id)
    if row is not None:
        return Resource.of(row)
    return next((r for r in kind.system(call, assistant) if r.id == resource_id), None)


def load(conn: Connection, call: Call, kind: Kind, assistant: Any, value: str) -> tuple[Resource, str | None]:
    """The resource an id or ARN names in the assistant, and the qualifier given with it."""
    resource_id, qualifier = resources.resolve(call, kind.family, value, (assistant.id,))
    found = find(conn, call, kind, assistant, resource_id)
    if found is None:
        raise not_found(f"{kind.label} not found: {value}", value)
    return found, qualifier


def version_row(conn: Connection, kind: Kind, resource: Resource, number: int) -> Any:
    rows = kind.versions.repo.where(conn, **{kind.version_column: resource.id, "version_number": number})
    return rows[0] if rows else None


def load_state(
    conn: Connection, call: Call, kind: Kind, assistant: Any, value: str
) -> tuple[Resource, int | None]:
    """The state a possibly qualified identifier names, and its version number (None: current)."""
    resource, qualifier = load(conn, call, kind, assistant, value)
    if qualifier is None or qualifier == LATEST:
        return resource, None
    number = version_number(qualifier)
    if number is None:
        raise not_found(f"{kind.label} {resource.id} has no version {qualifier}", value)
    if resource.origin == SYSTEM:
        if number != 1:
            raise not_found(f"{kind.label} {resource.id} has no version {number}", value)
        return resource, 1
    version = version_row(conn, kind, resource, number)
    if version is None:
        raise not_found(f"{kind.label} {resource.id} has no version {number}", value)
    return Resource.of_version(resource, version), number


MAX_VERSION: Final = 2**31 - 1  # no store holds more versions; a larger number names none


def storable_version(number: int) -> bool:
    """Whether a version number could name a stored version (1 to MAX_VERSION)."""
    return 1 <= number <= MAX_VERSION


def version_number(qualifier: str) -> int | None:
    """The version a numeric qualifier names (`3`), or None for any other (`abc`, `0`, 40 digits)."""
    if not qualifier.isdigit() or len(qualifier) > 10:
        return None
    number = int(qualifier)
    return number if storable_version(number) else None


def _customer_row(conn: Connection, call: Call, kind: Kind, assistant: Any, value: str, what: str) -> Any:
    """The stored row to change: no qualifier, not SYSTEM (ValidationException otherwise)."""
    resource, qualifier = load(conn, call, kind, assistant, value)
    if qualifier is not None:
        raise validation_error(f"{what} takes the {kind.label} without a qualifier, not {value}")
    if resource.origin == SYSTEM:
        raise validation_error(
            f"{resource.name} is a SYSTEM {kind.label}: it can't be changed; create your own"
        )
    kind.family.repo.lock(conn, resource.id)
    return kind.family.repo.find_any(conn, resource.id)


# -- data ------------------------------------------------------------------------------------------


def summary(call: Call, kind: Kind, resource: Resource, tags: dict[str, str] | None) -> dict[str, Any]:
    data = {
        "assistantId": resource.assistant_id,
        "assistantArn": assistants.assistant_arn(call, resource.assistant_id),
        kind.id_member: resource.id,
        f"{kind.member}Arn": arn(call, kind, resource),
        "name": resource.name,
        "visibilityStatus": resource.visibility_status,
        "description": resource.description,
        "status": resource.status,
        "modifiedTime": resource.modified_at,
        "lastModifiedTime": resource.modified_at,
        "lastModifiedRegion": call.region,
        "tags": tags,
        **{m: resource.config.get(m) for m in kind.summary_members},
    }
    if kind.typed:
        data["type"] = resource.type
    if kind.has_origin:
        data["origin"] = resource.origin
    return data


def data(call: Call, kind: Kind, resource: Resource, tags: dict[str, str] | None) -> dict[str, Any]:
    return {**summary(call, kind, resource, tags), **resource.config}


def _tags(conn: Connection, call: Call, kind: Kind, resource: Resource) -> dict[str, str] | None:
    return resources.tags_of(conn, call, kind.family, resource.row) if resource.row is not None else None


def answer(
    conn: Connection, call: Call, kind: Kind, resource: Resource, number: int | None = None
) -> dict[str, Any]:
    """`{aiPrompt: …}`, with `versionNumber` when the state is a version."""
    found: dict[str, Any] = {kind.member: data(call, kind, resource, _tags(conn, call, kind, resource))}
    if number is not None:
        found["versionNumber"] = number
    return found


# -- pages -----------------------------------------------------------------------------------------


def _origins(kind: Kind, params: dict[str, Any]) -> tuple[bool, bool]:
    """(SYSTEM ones, CUSTOMER ones) a list shows."""
    origin = params.get("origin") if kind.has_origin else None
    return origin in (None, SYSTEM), origin in (None, CUSTOMER)


def mixed_page(
    call: Call,
    params: dict[str, Any],
    scope: str,
    fixed: Sequence[Any],
    fetch: Callable[[int | None, int], Sequence[Any]] | None,
) -> tuple[list[Any], str | None]:
    """A page over `fixed` items (the SYSTEM ones) followed by keyset rows (`fetch(after, limit)`).

    The signed token holds a position: -(i + 1) for the i-th fixed item, else the last `seq`.
    """
    size = page_size(call, params)
    token = params.get("nextToken")
    position = decode_token(call, token, scope) if token is not None else -1
    items: list[Any] = []
    after: int | None = None
    if position < 0:
        start = -position - 1
        items = list(fixed[start : start + size])
        if len(items) == size and start + size < len(fixed):
            return items, encode_token(call, -(start + size + 1), scope)
        if len(items) == size:  # the fixed part ends exactly here: is there a row after it?
            rows = fetch(None, 1) if fetch is not None else []
            return items, encode_token(call, 0, scope) if rows else None
    else:
        after = position or None
    if fetch is None:
        return items, None
    room = size - len(items)
    rows = list(fetch(after, room + 1))
    items += rows[:room]
    if len(rows) > room:
        return items, encode_token(call, int(rows[room - 1].seq), scope)
    return items, None


def list_page(
    conn: Connection, call: Call, kind: Kind, assistant: Any, params: dict[str, Any]
) -> tuple[list[Any], str | None]:
    shows_system, shows_customer = _origins(kind, params)
    fixed = kind.system(call, assistant) if shows_system else []

    def fetch(after: int | None, limit: int) -> Sequence[Any]:
        return kind.family.repo.page(conn, call.account, call.region, assistant.id, after=after, limit=limit)

    scope = f"{call.operation}|{call.account}|{call.region}|{assistant.id}|{params.get('origin')}"
    return mixed_page(call, params, scope, fixed, fetch if shows_customer else None)


def _described(conn: Connection, call: Call, kind: Kind, items: Sequence[Any]) -> list[dict[str, Any]]:
    resources_ = [item if isinstance(item, Resource) else Resource.of(item) for item in items]
    stored = [r.row for r in resources_ if r.row is not None]
    tags = dict(
        zip((r.id for r in stored), resources.tags_of_rows(conn, call, kind.family, stored), strict=True)
    )
    return [summary(call, kind, r, tags.get(r.id)) for r in resources_]


# -- the operations, registered once per kind ------------------------------------------------------


def register(
    kind: Kind, referenced_by: Callable[[Connection, Call, Any, Resource, int | None], str | None]
) -> None:
    """Register the eight operations of `kind`.

    `referenced_by(conn, call, assistant, resource, number)` names what still uses the resource
    (version `number`, or any version when None), for the deletes that must refuse (None: free).
    """
    stem, member = kind.operation_stem, kind.member

    def prechecked(params: dict[str, Any]) -> None:
        if kind.precheck is not None and set(kind.updatable) == set(kind.members):  # nothing merged in
            kind.precheck({m: params[m] for m in kind.members if params.get(m) is not None})

    @operation(f"Create{stem}")
    def create(call: Call, params: dict[str, Any]) -> dict[str, Any]:
        prechecked(params)
        with call.runtime.store.write() as conn:
            assistant = assistants.load(conn, call, params["assistantId"])
            row = resources.replayed(conn, call, kind.family, params, assistant)
            if row is None:
                resources.check_room(conn, call, kind.family, assistant)
                resources.check_name(conn, call, kind.family, params["name"], assistant)
                config = {m: params[m] for m in kind.members if params.get(m) is not None}
                config = kind.check(conn, call, assistant, params.get("type"), config)
                now = call.now()
                values = {
                    "id": str(uuid.uuid4()),
                    "assistant_id": assistant.id,
                    "name": params["name"],
                    "type": params.get("type"),
                    "visibility_status": params["visibilityStatus"],
                    "description": params.get("description"),
                    "config": config,
                    "status": ACTIVE,
                    "last_version": 0,
                    "created_at": now,
                    "modified_at": now,
                }
                row = resources.insert(conn, call, kind.family, params, values)
            return {
                member: data(call, kind, Resource.of(row), resources.tags_of(conn, call, kind.family, row))
            }

    @operation(f"Get{stem}")
    def get(call: Call, params: dict[str, Any]) -> dict[str, Any]:
        with call.runtime.store.read() as conn:
            assistant = assistants.load(conn, call, params["assistantId"])
            resource, number = load_state(conn, call, kind, assistant, params[kind.id_member])
            return answer(conn, call, kind, resource, number)

    @operation(f"Update{stem}")
    def update(call: Call, params: dict[str, Any]) -> dict[str, Any]:
        prechecked(params)
        with call.runtime.store.write() as conn:
            assistant = assistants.load(conn, call, params["assistantId"])
            row = _customer_row(conn, call, kind, assistant, params[kind.id_member], f"Update{stem}")
            config = {k: v for k, v in row.config.items() if k not in kind.replaced_on_update}
            config.update({m: params[m] for m in kind.updatable if params.get(m) is not None})
            config = kind.check(conn, call, assistant, row.type, config)
            changes = {
                "config": config,
                "visibility_status": params["visibilityStatus"],
                "modified_at": call.now(),
            }
            if params.get("description") is not None:
                changes["description"] = params["description"]
            kind.family.repo.update(conn, row.seq, changes)
            return answer(conn, call, kind, Resource.of(kind.family.repo.find_any(conn, row.id)))

    @operation(f"Delete{stem}")
    def delete(call: Call, params: dict[str, Any]) -> None:
        with call.runtime.store.write() as conn:
            assistant = assistants.load(conn, call, params["assistantId"])
            row = _customer_row(conn, call, kind, assistant, params[kind.id_member], f"Delete{stem}")
            user = referenced_by(conn, call, assistant, Resource.of(row), None)
            if user is not None:
                raise conflict(f"{kind.label} {row.id} is still used by {user}")
            resources.delete(conn, call, kind.family, row)

    @operation(f"List{stem}s")
    def list_(call: Call, params: dict[str, Any]) -> dict[str, Any]:
        with call.runtime.store.read() as conn:
            assistant = assistants.load(conn, call, params["assistantId"])
            items, next_token = list_page(conn, call, kind, assistant, params)
            return {f"{member}Summaries": _described(conn, call, kind, items), "nextToken": next_token}

    @operation(f"Create{stem}Version")
    def create_version(call: Call, params: dict[str, Any]) -> dict[str, Any]:
        with call.runtime.store.write() as conn:
            assistant = assistants.load(conn, call, params["assistantId"])
            row = _customer_row(conn, call, kind, assistant, params[kind.id_member], f"Create{stem}Version")
            replayed = resources.replayed(conn, call, kind.versions, params, row)
            if replayed is not None:
                return answer(
                    conn, call, kind, Resource.of_version(Resource.of(row), replayed), replayed.version_number
                )
            seen = params.get("modifiedTime")
            if seen is not None and row.modified_at - seen >= WIRE_PRECISION:
                raise conflict(
                    f"{kind.label} {row.id} was modified at {row.modified_at.isoformat()}, after the "
                    f"modifiedTime given ({seen.isoformat()})"
                )
            number = int(row.last_version) + 1
            resource = Resource.of(row)
            values = {
                "id": str(uuid.uuid4()),
                "assistant_id": assistant.id,
                kind.version_column: row.id,
                "version_number": number,
                "snapshot": resource.snapshot(),
                "created_at": call.now(),
            }
            version = resources.insert(conn, call, kind.versions, params, values)
            kind.family.repo.update(conn, row.seq, {"last_version": number})
            return answer(conn, call, kind, Resource.of_version(resource, version), number)

    @operation(f"List{stem}Versions")
    def list_versions(call: Call, params: dict[str, Any]) -> dict[str, Any]:
        with call.runtime.store.read() as conn:
            assistant = assistants.load(conn, call, params["assistantId"])
            resource, qualifier = load(conn, call, kind, assistant, params[kind.id_member])
            if qualifier is not None:
                raise validation_error(f"List{stem}Versions takes the {kind.label} without a qualifier")
            shows_system, shows_customer = _origins(kind, params)
            scope = f"{call.operation}|{call.account}|{call.region}|{resource.id}|{params.get('origin')}"
            if resource.origin == SYSTEM:
                fixed = [(resource, 1)] if shows_system else []
                items, next_token = mixed_page(call, params, scope, fixed, None)
                versions = [(r, n) for r, n in items]
            else:

                def fetch(after: int | None, limit: int) -> Sequence[Any]:
                    return kind.versions.repo.page(
                        conn, call.account, call.region, resource.id, after=after, limit=limit
                    )

                rows, next_token = mixed_page(call, params, scope, [], fetch if shows_customer else None)
                versions = [(Resource.of_version(resource, row), int(row.version_number)) for row in rows]
            tags = _tags(conn, call, kind, resource)
        return {
            f"{member}VersionSummaries": [
                {f"{member}Summary": summary(call, kind, r, tags), "versionNumber": n} for r, n in versions
            ],
            "nextToken": next_token,
        }

    @operation(f"Delete{stem}Version")
    def delete_version(call: Call, params: dict[str, Any]) -> None:
        with call.runtime.store.write() as conn:
            assistant = assistants.load(conn, call, params["assistantId"])
            row = _customer_row(conn, call, kind, assistant, params[kind.id_member], f"Delete{stem}Version")
            number = int(params["versionNumber"])
            version = version_row(conn, kind, Resource.of(row), number) if storable_version(number) else None
            if version is None:
                raise not_found(f"{kind.label} {row.id} has no version {number}", str(number))
            user = referenced_by(conn, call, assistant, Resource.of(row), number)
            if user is not None:
                raise conflict(f"Version {number} of {kind.label} {row.id} is still used by {user}")
            kind.versions.repo.delete(conn, version.seq)
