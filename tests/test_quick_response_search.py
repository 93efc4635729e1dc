"""SearchQuickResponses: text queries, filters, ordering, contact attributes and pages.

Queries match whole words (CONTAINS), also word beginnings (CONTAINS_AND_PREFIX), tolerate
typos on request and weigh fields by priority; filters narrow by exact value or prefix;
attributes fill `{{$.Attributes.<key>}}` placeholders in the returned contents.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from botocore.exceptions import ClientError
from sqlalchemy import create_engine, select, text

from importing import import_csv
from qconnect_local.service import quick_responses
from qconnect_local.store import Store
from qconnect_local.store.migrate import alembic_config
from qconnect_local.store.schema import quick_responses as table
from qconnect_local.store.search import FTS, TERMS, FtsIndex, ScanIndex, TextQuery, within_edits

MARKDOWN = "application/x.quickresponse;format=markdown"
ROUTING = "arn:aws:connect:us-east-1:111122223333:instance/i-1/routing-profile/"
Search = Callable[..., list[dict[str, Any]]]


def new_kb(qc: Any, name: str = "responses") -> str:
    kb_id: str = qc.create_knowledge_base(name=name, knowledgeBaseType="QUICK_RESPONSES")["knowledgeBase"][
        "knowledgeBaseId"
    ]
    return kb_id


def create(qc: Any, kb_id: str, name: str, content: str, **extra: Any) -> dict[str, Any]:
    qr: dict[str, Any] = qc.create_quick_response(
        knowledgeBaseId=kb_id, name=name, content={"content": content}, **extra
    )["quickResponse"]
    return qr


def query(name: str, *values: str, operator: str = "CONTAINS", **extra: Any) -> dict[str, Any]:
    return {"name": name, "values": list(values), "operator": operator, **extra}


def filter_(name: str, *values: str, operator: str = "EQUALS", **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "operator": operator, **extra}
    if values:
        spec["values"] = list(values)
    return spec


@pytest.fixture
def kb_id(qc: Any) -> str:
    return new_kb(qc)


@pytest.fixture
def search(qc: Any, kb_id: str) -> Search:
    """Names of the results of one search in the test's knowledge base, in order."""

    def run(**expression: Any) -> list[str]:
        results = qc.search_quick_responses(knowledgeBaseId=kb_id, searchExpression=expression)["results"]
        return [r["name"] for r in results]

    return run


def error_of(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


# --- text queries -----------------------------------------------------------------------------


def test_contains_matches_whole_words_in_the_queried_field(qc: Any, kb_id: str, search: Search) -> None:
    create(qc, kb_id, "Refund policy", "We refund within 30 days.")
    create(qc, kb_id, "Refunded", "Your order was refunded yesterday.")
    create(qc, kb_id, "Shipping", "Delivery takes three days; no REFUND needed.")

    assert sorted(search(queries=[query("content", "refund")])) == ["Refund policy", "Shipping"]
    assert search(queries=[query("name", "refund")]) == ["Refund policy"]
    assert search(queries=[query("content", "refu")]) == []


def test_every_word_of_a_value_must_match_and_any_value_may(qc: Any, kb_id: str, search: Search) -> None:
    create(qc, kb_id, "a", "late delivery apology")
    create(qc, kb_id, "b", "delivery tracking link")
    create(qc, kb_id, "c", "password reset")

    assert search(queries=[query("content", "delivery late")]) == ["a"]
    assert sorted(search(queries=[query("content", "tracking delivery", "password")])) == ["b", "c"]


def test_a_quick_response_matching_any_query_is_found(qc: Any, kb_id: str, search: Search) -> None:
    create(qc, kb_id, "Greeting", "Hello there", description="opening line", shortcutKey="hi")
    create(qc, kb_id, "Farewell", "Goodbye", description="closing line", shortcutKey="bye")

    assert search(queries=[query("description", "opening")]) == ["Greeting"]
    assert search(queries=[query("shortcutKey", "bye")]) == ["Farewell"]
    assert sorted(search(queries=[query("shortcutKey", "hi"), query("content", "goodbye")])) == [
        "Farewell",
        "Greeting",
    ]


def test_contains_and_prefix_also_matches_the_beginning_of_the_last_word(
    qc: Any, kb_id: str, search: Search
) -> None:
    create(qc, kb_id, "Refund policy", "money back")
    create(qc, kb_id, "Refunded order", "done")
    create(qc, kb_id, "Policy refresh", "new rules")

    assert sorted(search(queries=[query("name", "refu", operator="CONTAINS_AND_PREFIX")])) == [
        "Refund policy",
        "Refunded order",
    ]
    # Only the last word is a prefix: earlier words match whole.
    assert search(queries=[query("name", "policy refr", operator="CONTAINS_AND_PREFIX")]) == [
        "Policy refresh"
    ]
    assert search(queries=[query("name", "pol refresh", operator="CONTAINS_AND_PREFIX")]) == []


def test_case_and_accents_do_not_matter(qc: Any, kb_id: str, search: Search) -> None:
    create(qc, kb_id, "Café", "Crème brûlée is served")
    assert search(queries=[query("content", "CREME BRULEE")]) == ["Café"]
    assert search(queries=[query("name", "cafe")]) == ["Café"]


def test_fuzziness_finds_a_typo_that_an_exact_query_misses(qc: Any, kb_id: str, search: Search) -> None:
    create(qc, kb_id, "Refund", "How to get a refund")
    create(qc, kb_id, "Subscription", "Cancel your subscription online")
    create(qc, kb_id, "Cat", "cat")

    assert search(queries=[query("content", "refnud")]) == []
    assert search(queries=[query("content", "refnud", allowFuzziness=True)]) == ["Refund"]
    assert search(queries=[query("content", "subscirpton", allowFuzziness=True)]) == ["Subscription"]
    # Short words, and typos too far away, stay exact.
    assert search(queries=[query("content", "cap", allowFuzziness=True)]) == []
    assert search(queries=[query("content", "refnudd", allowFuzziness=True)]) == []
    assert search(queries=[query("content", "ref", allowFuzziness=True, operator="CONTAINS_AND_PREFIX")]) == [
        "Refund"
    ]


@pytest.mark.parametrize(
    ("word", "other", "edits", "within"),
    [
        ("refund", "refnud", 1, True),
        ("refund", "refun", 1, True),
        ("refund", "refunds", 1, True),
        ("refund", "rexund", 1, True),
        ("refund", "rexunx", 1, False),
        ("subscription", "subscirpton", 2, True),
        ("subscription", "sbuscirpton", 2, False),
    ],
)
def test_edit_distance_counts_inserts_deletes_replacements_and_swaps(
    word: str, other: str, edits: int, within: bool
) -> None:
    assert within_edits(word, other, edits) is within


def test_priority_changes_the_order(qc: Any, kb_id: str, search: Search) -> None:
    create(qc, kb_id, "Billing questions", "Ask us anything about your account.")
    create(qc, kb_id, "Account help", "Questions about billing go to the billing team.")
    for i in range(4):
        create(qc, kb_id, f"Filler {i}", "Nothing relevant here at all.")

    def ranked(name_priority: str, content_priority: str) -> list[str]:
        return search(
            queries=[
                query("name", "billing", priority=name_priority),
                query("content", "billing", priority=content_priority),
            ]
        )

    assert ranked("HIGH", "LOW") == ["Billing questions", "Account help"]
    assert ranked("LOW", "HIGH") == ["Account help", "Billing questions"]


def test_more_relevant_results_come_first(qc: Any, kb_id: str, search: Search) -> None:
    create(
        qc, kb_id, "Passing mention", "A long text that mentions delivery once among many other words here."
    )
    create(qc, kb_id, "All about delivery", "Delivery, delivery, delivery.")
    create(qc, kb_id, "Unrelated", "Nothing to see.")
    assert search(queries=[query("content", "delivery")]) == ["All about delivery", "Passing mention"]


def test_a_value_without_words_matches_nothing(qc: Any, kb_id: str, search: Search) -> None:
    create(qc, kb_id, "Greeting", "Hello!")
    assert search(queries=[query("content", "!!! ???")]) == []


def test_without_queries_every_quick_response_is_found_oldest_first(
    qc: Any, kb_id: str, search: Search
) -> None:
    for name in ("b", "c", "a"):
        create(qc, kb_id, name, "text")
    assert search() == ["b", "c", "a"]


def test_search_sees_only_its_own_knowledge_base(qc: Any, kb_id: str, search: Search) -> None:
    create(qc, new_kb(qc, "other"), "Elsewhere", "refund")
    create(qc, kb_id, "Here", "refund")
    assert search(queries=[query("content", "refund")]) == ["Here"]


def test_the_index_follows_updates_and_deletes(qc: Any, kb_id: str, search: Search) -> None:
    qr = create(qc, kb_id, "Greeting", "Hello there")
    ids = {"knowledgeBaseId": kb_id, "quickResponseId": qr["quickResponseId"]}

    qc.update_quick_response(**ids, content={"content": "Welcome aboard"})
    assert search(queries=[query("content", "hello")]) == []
    assert search(queries=[query("content", "aboard")]) == ["Greeting"]
    assert search(queries=[query("content", "abaord", allowFuzziness=True)]) == ["Greeting"]

    qc.delete_quick_response(**ids)
    assert search(queries=[query("content", "aboard")]) == []


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ({"queries": [query("title", "x")]}, "title"),
        ({"filters": [filter_("colour", "red")]}, "colour"),
        ({"filters": [filter_("name")]}, "needs values"),
        ({"filters": [filter_("isActive", "yes")]}, "true or false"),
        ({"filters": [filter_("createdTime", "last tuesday")]}, "not a time"),
        ({"filters": [filter_("createdTime", "2024-13")]}, "not a time"),
        ({"orderOnField": {"name": "colour"}}, "colour"),
    ],
)
def test_an_unusable_expression_is_a_validation_error(
    qc: Any, kb_id: str, expression: dict[str, Any], problem: str
) -> None:
    code, message = error_of(
        lambda: qc.search_quick_responses(knowledgeBaseId=kb_id, searchExpression=expression)
    )
    assert code == "ValidationException"
    assert problem in message


def test_model_constraints_on_the_expression_are_checked(qc_unvalidated: Any) -> None:
    kb = new_kb(qc_unvalidated)
    expression = {"queries": [query("name", "x", operator="LIKE")] * 5}
    code, message = error_of(
        lambda: qc_unvalidated.search_quick_responses(knowledgeBaseId=kb, searchExpression=expression)
    )
    assert code == "ValidationException"
    assert "queries" in message and "operator" in message


# --- filters ----------------------------------------------------------------------------------


@pytest.fixture
def catalogue(qc: Any, kb_id: str) -> dict[str, dict[str, Any]]:
    """Three quick responses that differ in every filterable field."""
    made = [
        create(
            qc,
            kb_id,
            "Greeting",
            "Hello",
            description="Opening line",
            shortcutKey="hi",
            language="en_US",
            channels=["Chat"],
            groupingConfiguration={"criteria": "RoutingProfileArn", "values": [ROUTING + "sales"]},
        ),
        create(
            qc,
            kb_id,
            "Greeting formal",
            "Good day",
            contentType=MARKDOWN,
            language="es_ES",
            channels=["Chat", "Email"],
            isActive=False,
            groupingConfiguration={
                "criteria": "RoutingProfileArn",
                "values": [ROUTING + "support", ROUTING + "vip"],
            },
        ),
        create(qc, kb_id, "Farewell", "Bye", description="Closing line", shortcutKey="bye", language="de_DE"),
    ]
    return {qr["name"]: qr for qr in made}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (filter_("name", "Greeting"), ["Greeting"]),
        (filter_("name", "greeting"), []),
        (filter_("name", "Greet", operator="PREFIX"), ["Greeting", "Greeting formal"]),
        (filter_("name", "Farewell", "Greeting"), ["Greeting", "Farewell"]),
        (filter_("description", "Closing line"), ["Farewell"]),
        (filter_("description", "Open", operator="PREFIX"), ["Greeting"]),
        (
            filter_("description", "Open", operator="PREFIX", includeNoExistence=True),
            ["Greeting", "Greeting formal"],
        ),
        (filter_("description", includeNoExistence=True), ["Greeting formal"]),
        (filter_("shortcutKey", "bye"), ["Farewell"]),
        (filter_("shortcutKey", "b", operator="PREFIX"), ["Farewell"]),
        (filter_("isActive", "false"), ["Greeting formal"]),
        (filter_("isActive", "TRUE"), ["Greeting", "Farewell"]),
        (filter_("isActive", "t", operator="PREFIX"), ["Greeting", "Farewell"]),
        (filter_("channels", "Email"), ["Greeting formal"]),
        (filter_("channels", "Ch", operator="PREFIX"), ["Greeting", "Greeting formal"]),
        (filter_("channels", "Chat", includeNoExistence=True), ["Greeting", "Greeting formal", "Farewell"]),
        (filter_("language", "en_US"), ["Greeting"]),
        (filter_("language", "e", operator="PREFIX"), ["Greeting", "Greeting formal"]),
        (filter_("contentType", MARKDOWN), ["Greeting formal"]),
        (
            filter_("contentType", "application/x.quickresponse;format=p", operator="PREFIX"),
            ["Greeting", "Farewell"],
        ),
        (
            filter_("lastModifiedBy", "arn:aws:iam::123456789012:root"),
            ["Greeting", "Greeting formal", "Farewell"],
        ),
        (filter_("lastModifiedBy", "arn:aws:iam::999", operator="PREFIX"), []),
        (filter_("groupingConfiguration.criteria", "RoutingProfileArn"), ["Greeting", "Greeting formal"]),
        (
            filter_("groupingConfiguration.criteria", "Routing", operator="PREFIX"),
            ["Greeting", "Greeting formal"],
        ),
        (filter_("groupingConfiguration.criteria", includeNoExistence=True), ["Farewell"]),
        (filter_("groupingConfiguration.values", ROUTING + "vip"), ["Greeting formal"]),
        (
            filter_("groupingConfiguration.values", ROUTING + "s", operator="PREFIX"),
            ["Greeting", "Greeting formal"],
        ),
        (filter_("groupingConfiguration.values", ROUTING + "v"), []),
    ],
    ids=lambda value: "" if isinstance(value, list) else None,
)
def test_filters_equals_and_prefix_on_every_field(
    catalogue: dict[str, Any], search: Search, spec: dict[str, Any], expected: list[str]
) -> None:
    assert search(filters=[spec]) == expected


def test_every_filter_must_hold(catalogue: dict[str, Any], search: Search) -> None:
    filters = [filter_("name", "Greet", operator="PREFIX"), filter_("channels", "Email")]
    assert search(filters=filters) == ["Greeting formal"]


def test_filters_narrow_query_results(catalogue: dict[str, Any], search: Search) -> None:
    assert search(queries=[query("name", "greeting")], filters=[filter_("isActive", "true")]) == ["Greeting"]


def test_time_filters_take_epoch_seconds_or_iso_8601_spans(
    qc: Any, kb_id: str, target: Any, search: Search
) -> None:
    target.control("clock", {"freeze": True})
    first = create(qc, kb_id, "First", "one")
    target.control("clock", {"advanceSeconds": 86400 * 40})
    second = create(qc, kb_id, "Second", "two")
    created = first["createdTime"].astimezone(UTC)
    later = second["createdTime"].astimezone(UTC)

    def by_time(field: str, value: str, operator: str = "EQUALS") -> list[str]:
        return search(filters=[filter_(field, value, operator=operator)])

    assert by_time("createdTime", f"{created.timestamp():.3f}") == ["First"]
    assert by_time("createdTime", str(int(later.timestamp()))) == ["Second"]
    assert by_time("createdTime", created.strftime("%Y-%m-%dT%H:%M:%SZ")) == ["First"]
    assert by_time("createdTime", created.strftime("%Y-%m-%d"), "PREFIX") == ["First"]
    assert by_time("lastModifiedTime", later.strftime("%Y-%m"), "PREFIX") == ["Second"]
    assert by_time("createdTime", created.strftime("%Y")) == (
        ["First", "Second"] if later.year == created.year else ["First"]
    )
    assert by_time("createdTime", (created - timedelta(days=1)).strftime("%Y-%m-%d")) == []


# --- order ------------------------------------------------------------------------------------


def test_order_on_field_sorts_text_ignoring_case(qc: Any, kb_id: str, search: Search) -> None:
    for name in ("banana", "Apple", "cherry"):
        create(qc, kb_id, name, "fruit")
    assert search(orderOnField={"name": "name"}) == ["Apple", "banana", "cherry"]
    assert search(orderOnField={"name": "name", "order": "DESC"}) == ["cherry", "banana", "Apple"]
    assert search(queries=[query("content", "fruit")], orderOnField={"name": "name", "order": "ASC"}) == [
        "Apple",
        "banana",
        "cherry",
    ]


def test_order_puts_quick_responses_without_the_field_last(qc: Any, kb_id: str, search: Search) -> None:
    create(qc, kb_id, "none", "x")
    create(qc, kb_id, "zed", "x", shortcutKey="z")
    create(qc, kb_id, "aye", "x", shortcutKey="a")
    assert search(orderOnField={"name": "shortcutKey"}) == ["aye", "zed", "none"]
    assert search(orderOnField={"name": "shortcutKey", "order": "DESC"}) == ["zed", "aye", "none"]


def test_order_on_times_and_flags(qc: Any, kb_id: str, target: Any, search: Search) -> None:
    for name in ("old", "middle", "new"):
        create(qc, kb_id, name, "x", isActive=name != "middle")
        target.control("clock", {"advanceSeconds": 5})
    assert search(orderOnField={"name": "createdTime", "order": "DESC"}) == ["new", "middle", "old"]
    assert search(orderOnField={"name": "isActive"}) == ["middle", "old", "new"]


# --- contact attributes -----------------------------------------------------------------------


def test_attributes_fill_placeholders_and_are_reported(qc: Any, kb_id: str) -> None:
    content = (
        "Hi {{$.Attributes.firstName}}, order {{ $.Attributes['order id'] }} ships "
        "{{$.Contact.Attributes.day}}. Thanks, {{$.Attributes.firstName}}!"
    )
    create(qc, kb_id, "Shipping", content)
    result = qc.search_quick_responses(
        knowledgeBaseId=kb_id,
        searchExpression={},
        attributes={"firstName": "Ann", "order id": "42", "unused": "x"},
    )["results"][0]

    assert result["contents"] == {
        "plainText": {"content": "Hi Ann, order 42 ships {{$.Contact.Attributes.day}}. Thanks, Ann!"}
    }
    assert result["attributesInterpolated"] == ["firstName", "order id"]
    assert result["attributesNotInterpolated"] == ["day"]


def test_attributes_fill_both_markdown_and_plain_text(qc: Any, kb_id: str) -> None:
    create(qc, kb_id, "Welcome", "**Welcome**, {{$.Attributes.name}}", contentType=MARKDOWN)
    result = qc.search_quick_responses(
        knowledgeBaseId=kb_id, searchExpression={}, attributes={"name": "Ann_Lee"}
    )["results"][0]
    assert result["contents"] == {
        "markdown": {"content": "**Welcome**, Ann_Lee"},
        "plainText": {"content": "Welcome, Ann_Lee"},
    }
    assert result["attributesInterpolated"] == ["name"]
    assert "attributesNotInterpolated" not in result


def test_without_attributes_placeholders_are_reported_as_not_interpolated(qc: Any, kb_id: str) -> None:
    create(qc, kb_id, "Welcome", "Hello {{$.Attributes.name}} {{other}}")
    result = qc.search_quick_responses(knowledgeBaseId=kb_id, searchExpression={})["results"][0]
    assert result["contents"]["plainText"]["content"] == "Hello {{$.Attributes.name}} {{other}}"
    assert result["attributesNotInterpolated"] == ["name"]
    assert "attributesInterpolated" not in result


def test_results_carry_the_quick_response_and_its_tags(qc: Any, kb_id: str) -> None:
    made = create(qc, kb_id, "Greeting", "Hello", tags={"team": "support"}, shortcutKey="hi")
    result = qc.search_quick_responses(knowledgeBaseId=kb_id, searchExpression={})["results"][0]
    for member in (
        "quickResponseArn",
        "quickResponseId",
        "knowledgeBaseArn",
        "name",
        "contents",
        "createdTime",
    ):
        assert result[member] == made[member]
    assert result["tags"] == {"team": "support"}
    assert result["isActive"] is True


# --- pages ------------------------------------------------------------------------------------


def test_results_come_in_pages_that_add_up_to_the_whole(qc: Any, kb_id: str) -> None:
    for i in range(7):
        create(qc, kb_id, f"qr{i}", "refund " * (i + 1))
    expression = {"queries": [query("content", "refund")]}
    whole = [
        r["name"]
        for r in qc.search_quick_responses(knowledgeBaseId=kb_id, searchExpression=expression)["results"]
    ]

    pages = qc.get_paginator("search_quick_responses").paginate(
        knowledgeBaseId=kb_id, searchExpression=expression, PaginationConfig={"PageSize": 3}
    )
    sizes, paged = [], []
    for page in pages:
        sizes.append(len(page["results"]))
        paged += [r["name"] for r in page["results"]]

    assert sizes == [3, 3, 1]
    assert paged == whole
    assert sorted(whole) == [f"qr{i}" for i in range(7)]


def test_a_next_token_only_continues_the_same_search(qc: Any, kb_id: str) -> None:
    for i in range(3):
        create(qc, kb_id, f"qr{i}", "refund")
    expression = {"queries": [query("content", "refund")]}
    token = qc.search_quick_responses(knowledgeBaseId=kb_id, searchExpression=expression, maxResults=1)[
        "nextToken"
    ]

    other = {"queries": [query("content", "refund", priority="HIGH")]}
    for attempt in (other, expression):
        kb = new_kb(qc, "other") if attempt is expression else kb_id
        code, _ = error_of(
            lambda kb=kb, attempt=attempt: qc.search_quick_responses(
                knowledgeBaseId=kb, searchExpression=attempt, nextToken=token
            )
        )
        assert code == "ValidationException"
    garbage = lambda: qc.search_quick_responses(  # noqa: E731
        knowledgeBaseId=kb_id, searchExpression=expression, nextToken="garbage"
    )
    assert error_of(garbage)[0] == "ValidationException"


def test_imported_quick_responses_are_searchable(qc: Any, kb_id: str, target: Any, search: Search) -> None:
    job = import_csv(target, qc, kb_id, "Name,Content,Shortcut key\nReturns,Send the parcel back,ret\n")
    assert job["status"] == "COMPLETE"
    assert search(queries=[query("content", "parcl", allowFuzziness=True)]) == ["Returns"]
    assert search(filters=[filter_("shortcutKey", "ret")]) == ["Returns"]


# --- the index itself (store level) -----------------------------------------------------------


def _insert(store: Store, kb_id: str, items: list[dict[str, Any]]) -> int:
    with store.write() as conn:
        return quick_responses.insert_many(
            conn,
            account="123456789012",
            region="us-east-1",
            kb_id=kb_id,
            items=items,
            import_job_id=None,
            now=datetime.now(UTC),
            modified_by="arn:aws:iam::123456789012:root",
        )


def _names(store: Store, index: Any, queries: list[TextQuery]) -> set[str]:
    with store.read() as conn:
        found = index.matching(conn, queries)
        if found is None:
            return set()
        source, _score = found
        return set(conn.execute(select(table.c.name).select_from(source)).scalars())


ITEMS = [
    {"name": "Refund policy", "content": {"content": "We refund within 30 days"}, "shortcutKey": "rp"},
    {"name": "Delivery", "content": {"content": "Tracking your parcel"}, "description": "refund not needed"},
    {"name": "Password", "content": {"content": "Reset your password"}},
]


def test_insert_many_keeps_the_index_in_step(tmp_path: Path) -> None:
    store = Store.in_dir(tmp_path)
    try:
        kb_id = str(uuid.uuid4())
        assert _insert(store, kb_id, ITEMS) == 3
        with store.read() as conn:
            assert quick_responses.count(conn, "123456789012", "us-east-1", kb_id) == 3
            assert quick_responses.existing_names_and_shortcuts(conn, kb_id) == (
                {"Refund policy", "Delivery", "Password"},
                {"rp"},
            )
        fuzzy = TextQuery("content", ("pasword",), prefix=False, fuzzy=True, weight=1.0)
        assert _names(store, FtsIndex(), [fuzzy]) == {"Password"}
    finally:
        store.close()


def test_an_index_missing_from_an_existing_database_is_built_on_open(tmp_path: Path) -> None:
    # A store from before migrations: the first revision's tables, rows, and no search index.
    engine = create_engine(f"sqlite:///{tmp_path / 'qconnect.sqlite3'}")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    with engine.begin() as conn:
        quick_responses.insert_many(
            conn,
            account="123456789012",
            region="us-east-1",
            kb_id=str(uuid.uuid4()),
            items=ITEMS,
            import_job_id=None,
            now=datetime.now(UTC),
            modified_by="arn:aws:iam::123456789012:root",
        )
        for name in (f"{FTS}_insert", f"{FTS}_delete", f"{FTS}_update"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        conn.execute(text(f"DROP TABLE {FTS}"))
        conn.execute(text(f"DROP TABLE {TERMS}"))
        conn.execute(text("DROP TABLE alembic_version"))
    engine.dispose()

    reopened = Store.in_dir(tmp_path)
    try:
        queries = [TextQuery("content", ("refnd",), prefix=False, fuzzy=True, weight=1.0)]
        assert _names(reopened, FtsIndex(), queries) == {"Refund policy"}
    finally:
        reopened.close()


def test_the_portable_index_finds_what_the_full_text_index_finds(tmp_path: Path) -> None:
    store = Store.in_dir(tmp_path)
    try:
        _insert(store, str(uuid.uuid4()), ITEMS)
        cases = [
            [TextQuery("content", ("refund",), prefix=False, fuzzy=False, weight=2.0)],
            [TextQuery("name", ("refund policy", "password"), prefix=False, fuzzy=False, weight=1.0)],
            [
                TextQuery("description", ("refund",), prefix=False, fuzzy=False, weight=1.0),
                TextQuery("shortcut_key", ("rp",), prefix=False, fuzzy=False, weight=4.0),
            ],
        ]
        for queries in cases:
            assert _names(store, ScanIndex(), queries) == _names(store, FtsIndex(), queries)
    finally:
        store.close()
