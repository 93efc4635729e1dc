"""The shared machinery every family uses, driven by its declaration in `service.families`.

- Identifiers: wherever the model takes an id it also takes the ARN, and for some families a
  qualifier (`id:3`, `id:$LATEST`, `arn…:$ACTIVE_VERSION`: the model's `UuidWithQualifier`
  and `ArnWithQualifier`). An ARN of another partition, account, region, resource type or
  parent names nothing here, so it is `ResourceNotFoundException`, exactly like an id that
  does not exist.
- Create: clientToken replay, the parent's quota, the unique name, then insert with tags.
- Pages: keyset pages with the tags of the whole page read in one query.
- Delete: the row, its tags, its descendants (declared children, in order) with theirs, and
  every blob they own, deleted once the transaction has committed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qconnect_local.protocol.errors import ServiceError, conflict, not_found
from qconnect_local.service import idempotency
from qconnect_local.service.context import Call
from qconnect_local.service.families import BY_ARN_TYPE, PARENTS, Family, descendants
from qconnect_local.service.pagination import fetch_page
from qconnect_local.service.tagging import put_tags
from qconnect_local.store import Connection, Store
from qconnect_local.store import tags as tag_store


@dataclass(frozen=True, slots=True)
class ParsedArn:
    partition: str
    region: str
    account: str
    resource_type: str
    ids: tuple[str, ...]
    qualifier: str | None = None


def parse_arn(arn: str) -> ParsedArn | None:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "wisdom" or "/" not in parts[5]:
        return None
    resource_type, _, rest = parts[5].partition("/")
    rest, _, qualifier = rest.partition(":")
    return ParsedArn(parts[1], parts[3], parts[4], resource_type, tuple(rest.split("/")), qualifier or None)


def in_scope(call: Call, parsed: ParsedArn) -> bool:
    """Whether the ARN's partition, region and account are the caller's (as `Call.arn` builds them)."""
    return call.arn("") == f"arn:{parsed.partition}:wisdom:{parsed.region}:{parsed.account}:"


def arn_of(call: Call, family: Family, row: Any) -> str:
    return arn_for(call, family, *family.ids_of(row))


def arn_for(call: Call, family: Family, *ids: str) -> str:
    return call.arn(f"{family.arn_type}/{'/'.join(ids)}")


def resolve(call: Call, family: Family, value: str, parent_ids: tuple[str, ...]) -> tuple[str, str | None]:
    """The id and qualifier named by `value`: an id, `id:QUALIFIER`, or an ARN (optionally qualified)
    of `family` in the caller's scope under the parents `parent_ids`."""
    if not value.startswith("arn:"):
        row_id, _, qualifier = value.partition(":")
        return row_id, qualifier or None
    parsed = parse_arn(value)
    if (
        parsed is None
        or parsed.resource_type != family.arn_type
        or not in_scope(call, parsed)
        or parsed.ids[:-1] != parent_ids
    ):
        raise not_found(f"{family.label} not found: {value}", value)
    return parsed.ids[-1], parsed.qualifier


def named_id(value: str) -> str:
    """The id an id or ARN names (an ARN's last part), before it is checked (for messages and
    channels: `resolve` is what checks it)."""
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value


def load_qualified(
    conn: Connection, call: Call, family: Family, value: str, parent: Any = None
) -> tuple[Any, str | None]:
    """The row named by `value` (under the `parent` row, if the family has one) and its qualifier."""
    parent_ids = _ids_below(family, parent)
    row_id, qualifier = resolve(call, family, value, parent_ids)
    row = family.repo.find(conn, call.account, call.region, row_id, parent.id if parent is not None else None)
    if row is None:
        raise not_found(f"{family.label} not found: {value}", value)
    return row, qualifier


def load(conn: Connection, call: Call, family: Family, value: str, parent: Any = None) -> Any:
    """The row named by an id or ARN (no qualifier: this family has no versions), or not found."""
    row, qualifier = load_qualified(conn, call, family, value, parent)
    if qualifier is not None:
        raise not_found(f"{family.label} not found: {value}", value)
    return row


def load_tagged(
    conn: Connection, call: Call, family: Family, value: str, parent: Any = None
) -> tuple[Any, dict[str, str]]:
    """As `load`, with the row's tags read in the same query: a Get's whole read in one."""
    parent_ids = _ids_below(family, parent)
    row_id, qualifier = resolve(call, family, value, parent_ids)
    found = None
    if qualifier is None:
        arn = arn_for(call, family, *parent_ids, row_id)
        parent_id = parent.id if parent is not None else None
        found = family.repo.find_tagged(conn, call.account, call.region, row_id, arn, parent_id)
    if found is None:
        raise not_found(f"{family.label} not found: {value}", value)
    return found


def load_with_parent(
    conn: Connection,
    call: Call,
    family: Family,
    value: str,
    parent_value: str,
    check_parent: Callable[[Any], None] | None = None,
) -> tuple[Any, Any, dict[str, str]]:
    """(parent, row, tags): the row named by `value` under the top-level parent named by
    `parent_value`, with the row's tags when its family is taggable (else none), in one query
    where both names resolve. The same rows and the same errors, in the same order, as `load`
    of the parent, `check_parent` of it, then `load_tagged` (or `load`) of the row."""
    parent_family = PARENTS[family.key]
    parent_id, parent_qualifier = resolve(call, parent_family, parent_value, ())
    row_id: str | None
    try:
        row_id, qualifier = resolve(call, family, value, (parent_id,))
    except ServiceError:  # an ARN naming no such row: the parent's errors come first, below
        row_id = qualifier = None
    if parent_qualifier is None and row_id is not None and qualifier is None:
        arn = arn_for(call, family, parent_id, row_id) if family.taggable else None
        found = family.repo.find_with_parent(conn, call.account, call.region, parent_id, row_id, arn)
        if found is not None:
            parent, row, tags = found
            if check_parent is not None:
                check_parent(parent)
            if row is None:
                raise not_found(f"{family.label} not found: {value}", value)
            return parent, row, tags or {}
    # The slow way, whose first failing step raises what the client is told.
    parent = load(conn, call, parent_family, parent_value)
    if check_parent is not None:
        check_parent(parent)
    if family.taggable:
        return (parent, *load_tagged(conn, call, family, value, parent))
    return parent, load(conn, call, family, value, parent), {}


def load_locked(conn: Connection, call: Call, family: Family, value: str, parent: Any = None) -> Any:
    """As `load`, then locked until commit and read again: for a read-modify-write of the row
    (a configuration merged, a list appended) that a concurrent writer must not undo. PostgreSQL
    locks the row; SQLite's writers already run one at a time."""
    row = load(conn, call, family, value, parent)
    family.repo.lock(conn, row.id)
    return family.repo.find_any(conn, row.id)


def _ids_below(family: Family, parent: Any) -> tuple[str, ...]:
    """The ARN ids that precede a row's own id, given its parent row (none at the top level)."""
    return PARENTS[family.key].ids_of(parent) if parent is not None else ()


def existing_arn(conn: Connection, call: Call, arn: str) -> bool:
    """Whether `arn` names a taggable resource that exists in the caller's account and region."""
    parsed = parse_arn(arn)
    family = BY_ARN_TYPE.get(parsed.resource_type) if parsed else None
    if parsed is None or family is None or not family.taggable or parsed.qualifier is not None:
        return False
    if not in_scope(call, parsed) or len(parsed.ids) != len(family.id_columns):
        return False
    row = family.repo.find(conn, call.account, call.region, parsed.ids[-1])
    return row is not None and family.ids_of(row) == parsed.ids


def tags_of(conn: Connection, call: Call, family: Family, row: Any) -> dict[str, str]:
    return tag_store.tags_of(conn, arn_of(call, family, row))


def tags_of_rows(conn: Connection, call: Call, family: Family, rows: Sequence[Any]) -> list[dict[str, str]]:
    """The tags of each row, in order, read in one query."""
    arns = [arn_of(call, family, row) for row in rows]
    found = tag_store.tags_of_many(conn, arns)
    return [found[arn] for arn in arns]


# -- create -------------------------------------------------------------------------------------


def replayed(conn: Connection, call: Call, family: Family, params: dict[str, Any], parent: Any = None) -> Any:
    """The row an earlier call with this clientToken created (None for a new token)."""
    parent_id = parent.id if parent is not None else None

    def exists(row_id: str) -> bool:
        return family.repo.find(conn, call.account, call.region, row_id, parent_id) is not None

    row_id = idempotency.replayed_resource(conn, call, params, exists)
    if row_id is None:
        return None
    return family.repo.find(conn, call.account, call.region, row_id, parent_id)


def check_room(conn: Connection, call: Call, family: Family, parent: Any = None) -> None:
    """Lock the parent's writers, then refuse with ServiceQuotaExceededException past the quota.

    Every quota'd create comes here. The count is read under its scope's lock, held until
    commit (`Repository.count`), so concurrent creates take turns from the count to the commit,
    on every process sharing the database.
    """
    if parent is not None or family.quota is None:
        lock_parent(conn, call, family, parent)  # at the top level `count` takes this very lock
    if family.quota is None:
        return
    quota = int(getattr(call.runtime.settings, family.quota))
    held = family.repo.count(conn, call.account, call.region, parent.id if parent is not None else None)
    if held >= quota:
        where = f"{PARENTS[family.key].label.lower()} {parent.id}" if parent is not None else call.region
        raise ServiceError(
            "ServiceQuotaExceededException",
            f"You have reached the quota of {quota} {family.quota_label} in {where}",
        )


def lock_parent(conn: Connection, call: Call, family: Family, parent: Any = None) -> None:
    """Serialise the writers that add to one parent (or one account and region) until commit.

    Below a parent, its row is locked: the lock the parent's other writers take too (an
    import's publish, a delete). At the top level there is no row, so the scope's own lock is
    taken, the one its count reads under.
    """
    if parent is None:
        family.repo.lock_scope(conn, call.account, call.region)
    else:
        PARENTS[family.key].repo.lock(conn, parent.id)


def check_name(
    conn: Connection,
    call: Call,
    family: Family,
    name: str,
    parent: Any = None,
    *,
    except_id: str | None = None,
) -> None:
    parent_id = parent.id if parent is not None else None
    if family.repo.name_taken(conn, call.account, call.region, parent_id, name, except_id=except_id):
        where = f" in {PARENTS[family.key].label.lower()} {parent_id}" if parent_id else ""
        article = "An" if family.label[0] in "AEIOU" else "A"
        raise conflict(f"{article} {family.label.lower()} named {name} already exists{where}")


def insert(
    conn: Connection, call: Call, family: Family, params: dict[str, Any], values: Mapping[str, Any]
) -> Any:
    """Insert the row, tag it with `params["tags"]`, remember the clientToken; returns the row."""
    row_values = {"account": call.account, "region": call.region, **values}
    family.repo.insert(conn, row_values)
    return insert_tags(conn, call, family, params, row_values)


def insert_tags(
    conn: Connection, call: Call, family: Family, params: dict[str, Any], row_values: Mapping[str, Any]
) -> Any:
    """After a family's own insert of `row_values`: its tags and clientToken, as `insert` does."""
    ids = tuple(str(row_values[column]) for column in family.id_columns)
    if family.taggable:
        put_tags(conn, arn_for(call, family, *ids), params.get("tags"))
    idempotency.remember(conn, call, params, ids[-1])
    return family.repo.find(conn, call.account, call.region, ids[-1])


def enter_job_status(runtime: Any, family: Family, status: str, now: Any) -> dict[str, Any]:
    """Column values that put a row into job `status`: for a worker to claim afresh (a job still
    running on the row loses its claim, so its fenced completion commits nothing), with the
    control plane's hold and failure knobs for (family, status) stamped on."""
    return {
        family.job_status_column: status,
        "claimed_by": None,
        "lease_until": None,
        **runtime.transitions.for_new_job(family.key, status, now),
    }


def wake_worker_after_commit(conn: Connection, call: Call) -> None:
    """New work was queued in this transaction: wake the worker once it is visible."""
    Store.after_commit(conn, call.runtime.wake_worker)


# -- read pages ---------------------------------------------------------------------------------


def page(
    conn: Connection,
    call: Call,
    family: Family,
    params: dict[str, Any],
    parent: Any = None,
    *,
    descending: bool = False,
    where: Mapping[str, Any] | None = None,
) -> tuple[Sequence[Any], str | None]:
    """One keyset page of the family's rows (under `parent`) and the next page's token."""
    parent_id = parent.id if parent is not None else None

    def fetch(after: int | None, limit: int) -> Sequence[Any]:
        return family.repo.page(
            conn,
            call.account,
            call.region,
            parent_id,
            after=after,
            limit=limit,
            descending=descending,
            where=where,
        )

    return fetch_page(call, params, fetch, parent=parent_id or "")


Describe = Callable[[Call, Any, dict[str, str]], dict[str, Any]]


def described_page(
    conn: Connection,
    call: Call,
    family: Family,
    params: dict[str, Any],
    describe: Describe,
    parent: Any = None,
    **options: Any,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page (as `page`) described by `describe(call, row, tags)`, its tags read in one query."""
    rows, next_token = page(conn, call, family, params, parent, **options)
    tags = tags_of_rows(conn, call, family, rows)
    return [describe(call, row, row_tags) for row, row_tags in zip(rows, tags, strict=True)], next_token


# -- delete -------------------------------------------------------------------------------------


def delete(conn: Connection, call: Call, family: Family, row: Any) -> None:
    """Delete `row`, its tags, everything below it and their tags; blobs go once this commits."""
    ids = family.ids_of(row)
    blobs: list[str] = []
    for child in descendants(family):
        column = child.id_columns[len(ids) - 1]
        if child.owned_blobs is not None:
            blobs += _blobs_of(child, child.repo.under(conn, column, row.id))
        child.repo.delete_under(conn, column, row.id)
        if child.taggable:
            tag_store.drop_under(conn, arn_for(call, child, *ids) + "/")
    if family.owned_blobs is not None:
        blobs += _blobs_of(family, [row])
    if family.taggable:
        tag_store.drop(conn, arn_for(call, family, *ids))
    family.repo.delete(conn, row.seq)
    delete_blobs_after_commit(conn, call.runtime.blobs, blobs)


def _blobs_of(family: Family, rows: Sequence[Any]) -> list[str]:
    assert family.owned_blobs is not None
    return [key for row in rows for key in family.owned_blobs(row) if key]


def delete_blobs_after_commit(conn: Connection, blobs: Any, keys: Sequence[str]) -> None:
    """Delete these blob keys (or prefixes) once `conn` commits; never for a write rolled back."""
    if not keys:
        return

    def remove() -> None:
        for key in keys:
            blobs.delete_prefix(key)

    Store.after_commit(conn, remove)
