"""Quotas and the tag limit stay exact when creates race: truly at once, on PostgreSQL.

Every call runs on a boto3 client of its own, released together by a barrier: as threads on one
in-process runtime (each call on its own database connection), and spread over two server
processes sharing one database. Each quota'd family of `service.families` has a race here,
and so does the 50-tag limit (TagResource, and the tags a resource was created with). The
same races run on SQLite, whose writers take turns, to show nothing changed there.

The last test reads a count (or a resource's tag keys) in a transaction of its own and shows
that a create waits for that transaction's commit: the lock is taken with the read and kept
until commit.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from conftest import Target
from documents import custom_kb, upload_file
from importing import quick_response_kb
from qconnect_local.config import Settings
from qconnect_local.service.families import FAMILIES, KNOWLEDGE_BASE, QUICK_RESPONSE
from qconnect_local.store import tags as tag_store
from qconnect_local.testing import postgres
from qconnect_local.testing.mock import mock_qconnect
from qconnect_local.testing.server import ServerProcess

CALLERS = 32  # creates at once
CONTENT_CALLERS = 40  # more than the store's connection pool (30): the blob store has its own
ROUNDS = 3  # races per test (on threads); each starts from an empty store
QUOTAS = {  # small, so that most callers of a race are refused
    "knowledge_base_quota": 10,
    "assistant_quota": 5,
    "quick_response_quota": 10,
    "content_quota": 10,
    "assistant_association_quota": 5,
    "message_template_quota": 10,
    "ai_guardrail_quota": 3,
}
QUOTA_EXCEEDED = "ServiceQuotaExceededException"
TOO_MANY_TAGS = "TooManyTagsException"
MAX_TAGS = 50


# -- where the calls go -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with postgres.required_database("qconnect_races") as url:
        yield url


@dataclass
class Deployment:
    """Where a race's clients point, and how to empty the store between rounds."""

    targets: list[Target]  # the callers alternate between these
    reset: Callable[[], None]
    mock: mock_qconnect | None = None

    def clients(self, count: int) -> list[Any]:
        return [self.targets[n % len(self.targets)].client() for n in range(count)]


@pytest.fixture(params=["postgres", "sqlite"])
def in_process(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """An in-process runtime; its API calls run on the callers' threads, each on a connection.

    One per test: while it is active it answers every boto3 client, the replicas' too."""
    url = request.getfixturevalue("database") if request.param == "postgres" else None
    with mock_qconnect(Settings(database_url=url, **QUOTAS)) as mock:
        yield Deployment([Target(f"in-process-{request.param}", None, mock)], mock.runtime.reset, mock)


@pytest.fixture(scope="module")
def replicas(database: str) -> Iterator[Deployment]:
    """Two `serve` processes on one PostgreSQL database."""
    flags = [arg for name, value in QUOTAS.items() for arg in ("--" + name.replace("_", "-"), str(value))]
    servers = [ServerProcess("--database-url", database, *flags) for _ in range(2)]
    with ThreadPoolExecutor(len(servers)) as pool:
        list(pool.map(lambda server: server.start(), servers))
    try:
        yield Deployment(
            [Target("server", server.url, None) for server in servers], lambda: servers[0].control("reset")
        )
    finally:
        for server in servers:
            server.stop()


def at_once(clients: list[Any], calls: list[Callable[[Any], Any]]) -> Counter[str]:
    """Run `calls[n](clients[n])` on a thread each, released together; how many answered what."""
    barrier = threading.Barrier(len(calls))

    def run(n: int) -> str:
        barrier.wait()
        try:
            calls[n](clients[n])
        except clients[n].exceptions.ClientError as error:
            return str(error.response["Error"]["Code"])
        return "ok"

    with ThreadPoolExecutor(len(calls)) as pool:
        return Counter(pool.map(run, range(len(calls))))


# -- one race per quota'd family ----------------------------------------------------------------


@dataclass(frozen=True)
class Race:
    """`prepare(deployment, qc)` makes what every caller needs; `create(prepared, n)` is caller n's call;
    `held(qc, prepared)` counts what exists afterwards."""

    quota: str  # the Settings attribute
    create: Callable[[Any, int], Callable[[Any], Any]]
    held: Callable[[Any, Any], int]
    prepare: Callable[[Deployment, Any], Any] = lambda _deployment, _qc: None
    callers: int = CALLERS


def _uploads(deployment: Deployment, qc: Any) -> tuple[str, list[str]]:
    # The worker leaves the new contents alone: the next round's reset deletes them unread.
    for target in deployment.targets:
        target.control("transitions", {"hold": {"kind": "content", "status": "CREATE_IN_PROGRESS"}})
    kb = custom_kb(qc)["knowledgeBaseId"]
    target = deployment.targets[0]
    return kb, [upload_file(target, qc, kb, f"Document {n}".encode()) for n in range(CONTENT_CALLERS)]


def _assistant_and_kbs(_deployment: Deployment, qc: Any) -> tuple[str, list[str]]:
    assistant = qc.create_assistant(name="a", type="AGENT")["assistant"]["assistantId"]
    kbs = [custom_kb(qc, f"kb{n}")["knowledgeBaseId"] for n in range(QUOTAS["knowledge_base_quota"])]
    return assistant, kbs


RACES: dict[str, Race] = {
    "knowledge-base": Race(
        "knowledge_base_quota",
        lambda _, n: lambda c: c.create_knowledge_base(name=f"kb{n}", knowledgeBaseType="CUSTOM"),
        lambda qc, _: len(qc.list_knowledge_bases(maxResults=100)["knowledgeBaseSummaries"]),
    ),
    "assistant": Race(
        "assistant_quota",
        lambda _, n: lambda c: c.create_assistant(name=f"a{n}", type="AGENT"),
        lambda qc, _: len(qc.list_assistants(maxResults=100)["assistantSummaries"]),
    ),
    "quick-response": Race(
        "quick_response_quota",
        lambda kb, n: (
            lambda c: c.create_quick_response(
                knowledgeBaseId=kb, name=f"q{n}", content={"content": f"Answer {n}"}
            )
        ),
        lambda qc, kb: len(
            qc.list_quick_responses(knowledgeBaseId=kb, maxResults=100)["quickResponseSummaries"]
        ),
        lambda _deployment, qc: quick_response_kb(qc)["knowledgeBaseId"],
    ),
    "content": Race(
        "content_quota",
        lambda p, n: lambda c: c.create_content(knowledgeBaseId=p[0], name=f"doc{n}", uploadId=p[1][n]),
        lambda qc, p: len(qc.list_contents(knowledgeBaseId=p[0], maxResults=100)["contentSummaries"]),
        _uploads,
        # Each CreateContent also checks its upload's blob while it holds the knowledge base's
        # lock: on a pool of the blob store's own, or 31 at once would wait on each other.
        callers=CONTENT_CALLERS,
    ),
    "assistant-association": Race(
        "assistant_association_quota",
        lambda p, n: (
            lambda c: c.create_assistant_association(
                assistantId=p[0], associationType="KNOWLEDGE_BASE", association={"knowledgeBaseId": p[1][n]}
            )
        ),
        lambda qc, p: len(
            qc.list_assistant_associations(assistantId=p[0], maxResults=100)["assistantAssociationSummaries"]
        ),
        _assistant_and_kbs,
        callers=QUOTAS["knowledge_base_quota"],  # one knowledge base each
    ),
    "ai-guardrail": Race(
        "ai_guardrail_quota",
        lambda assistant, n: (
            lambda c: c.create_ai_guardrail(
                assistantId=assistant,
                name=f"g{n}",
                blockedInputMessaging="No.",
                blockedOutputsMessaging="No.",
                visibilityStatus="SAVED",
            )
        ),
        lambda qc, assistant: len(
            qc.list_ai_guardrails(assistantId=assistant, maxResults=100)["aiGuardrailSummaries"]
        ),
        lambda _deployment, qc: qc.create_assistant(name="a", type="AGENT")["assistant"]["assistantId"],
    ),
    "message-template": Race(
        "message_template_quota",
        lambda kb, n: (
            lambda c: c.create_message_template(
                knowledgeBaseId=kb,
                name=f"t{n}",
                channelSubtype="SMS",
                content={"sms": {"body": {"plainText": {"content": f"Message {n}"}}}},
            )
        ),
        lambda qc, kb: len(
            qc.list_message_templates(knowledgeBaseId=kb, maxResults=100)["messageTemplateSummaries"]
        ),
        lambda _deployment, qc: qc.create_knowledge_base(name="t", knowledgeBaseType="MESSAGE_TEMPLATES")[
            "knowledgeBase"
        ]["knowledgeBaseId"],
    ),
}


# Quotas no race of distinct creates can reach, and why.
UNRACEABLE = {
    # Idempotent by content: calls at once on one unchanged $LATEST make one version. Each call
    # checks the quota under the template's row lock (test_message_templates covers the quota).
    "message-template-version": "CreateMessageTemplateVersion",
}


def test_every_quota_declared_has_a_race_here() -> None:
    assert {key for key, family in FAMILIES.items() if family.quota} == set(RACES) | set(UNRACEABLE)
    for key, race in RACES.items():
        assert FAMILIES[key].quota == race.quota


def run_race(deployment: Deployment, race: Race) -> None:
    deployment.reset()
    qc = deployment.targets[0].client()
    prepared = race.prepare(deployment, qc)
    quota = QUOTAS[race.quota]
    answers = at_once(
        deployment.clients(race.callers), [race.create(prepared, n) for n in range(race.callers)]
    )
    assert answers == Counter({"ok": quota, QUOTA_EXCEEDED: race.callers - quota})
    assert race.held(qc, prepared) == quota


@pytest.mark.parametrize("family", sorted(RACES))
def test_creates_at_once_on_threads_make_exactly_the_quota(in_process: Deployment, family: str) -> None:
    for _round in range(ROUNDS):
        run_race(in_process, RACES[family])


# -- the tag limit --------------------------------------------------------------------------------


def keys(prefix: str, count: int, value: str = "v") -> dict[str, str]:
    return {f"{prefix}-{n}": value for n in range(count)}


def tag_race(deployment: Deployment, created_with: int) -> tuple[Counter[str], dict[str, str]]:
    """16 TagResource calls at once, 10 new keys each, on a knowledge base created with tags."""
    deployment.reset()
    qc = deployment.targets[0].client()
    arn = custom_kb(qc, tags=keys("created", created_with))["knowledgeBaseArn"]
    calls = [lambda c, n=n: c.tag_resource(resourceArn=arn, tags=keys(f"caller{n}", 10)) for n in range(16)]
    answers = at_once(deployment.clients(len(calls)), calls)
    tags: dict[str, str] = qc.list_tags_for_resource(resourceArn=arn)["tags"]
    return answers, tags


@pytest.mark.parametrize("created_with", [0, 25])
def test_tags_added_at_once_stop_exactly_at_the_limit(in_process: Deployment, created_with: int) -> None:
    room = (MAX_TAGS - created_with) // 10
    for _round in range(ROUNDS):
        answers, tags = tag_race(in_process, created_with)
        assert answers == Counter({"ok": room, TOO_MANY_TAGS: 16 - room})
        assert len(tags) == created_with + room * 10


def test_the_same_keys_tagged_at_once_all_succeed_and_one_caller_wins_whole(in_process: Deployment) -> None:
    for _round in range(ROUNDS):
        in_process.reset()
        qc = in_process.targets[0].client()
        arn = custom_kb(qc)["knowledgeBaseArn"]
        calls = [
            lambda c, n=n, arn=arn: c.tag_resource(resourceArn=arn, tags=keys("shared", 10, f"caller{n}"))
            for n in range(16)
        ]
        assert at_once(in_process.clients(len(calls)), calls) == Counter({"ok": 16})
        tags = qc.list_tags_for_resource(resourceArn=arn)["tags"]
        assert len(tags) == 10
        assert len(set(tags.values())) == 1, "each TagResource is applied whole"


# -- several processes ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(RACES))
def test_creates_at_once_through_two_replicas_make_exactly_the_quota(
    replicas: Deployment, family: str
) -> None:
    run_race(replicas, RACES[family])


@pytest.mark.slow
def test_tags_added_at_once_through_two_replicas_stop_exactly_at_the_limit(replicas: Deployment) -> None:
    answers, tags = tag_race(replicas, 0)
    assert answers == Counter({"ok": 5, TOO_MANY_TAGS: 11})
    assert len(tags) == MAX_TAGS


# -- the lock a limit is read under is held until commit ------------------------------------------


def test_a_create_waits_for_a_transaction_that_read_its_count_or_tags(database: str) -> None:
    with mock_qconnect(Settings(database_url=database, **QUOTAS)) as mock:
        mock.runtime.reset()
        target = Target("in-process-postgres", None, mock)
        qc = target.client()
        kb = quick_response_kb(qc)
        store, settings = mock.runtime.store, mock.runtime.settings
        account, region = settings.default_account, settings.default_region  # the clients' scope
        readers: list[tuple[Callable[[Any], Any], Callable[[Any], Any]]] = [
            (
                lambda conn: KNOWLEDGE_BASE.repo.count(conn, account, region),
                lambda c: c.create_knowledge_base(name="next", knowledgeBaseType="CUSTOM"),
            ),
            (
                lambda conn: QUICK_RESPONSE.repo.count(conn, account, region, kb["knowledgeBaseId"]),
                lambda c: c.create_quick_response(
                    knowledgeBaseId=kb["knowledgeBaseId"], name="next", content={"content": "x"}
                ),
            ),
            (
                lambda conn: tag_store.keys_of(conn, kb["knowledgeBaseArn"]),
                lambda c: c.tag_resource(resourceArn=kb["knowledgeBaseArn"], tags={"next": "x"}),
            ),
        ]
        with ThreadPoolExecutor(1) as pool:
            for read, create in readers:
                with store.write() as conn:
                    read(conn)
                    waiting = pool.submit(create, target.client())
                    time.sleep(0.3)
                    assert not waiting.done(), "the create went ahead while the count was held"
                waiting.result(timeout=10)
