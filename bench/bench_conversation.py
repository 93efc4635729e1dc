"""Conversations on the default (`local`) backend: SendMessage until the final answer of
GetNextMessage, over a CUSTOM knowledge base of 5,000 contents, beside baselines of the same run.

Run: `.venv/bin/python bench/bench_conversation.py [--contents N] [--turns N] [--warmup N]`.
Not part of the tests. Everything runs in process (`mock_qconnect(Settings(log_requests=False))`,
SQLite, the in-process worker on its default threads) through unmodified boto3 clients.

1. Build. `--contents` plain-text contents, each a distinct few sentences drawn (seeded) from a
   small vocabulary: 40 topics of 5 words and ~40 filler words, plus a handful of hand-written
   documents about refunds. They go in the only way a CUSTOM knowledge base takes them:
   StartContentUpload, the signed PUT (in process), CreateContent, one after the other, while the
   worker ingests them; ListContents is then polled until every one is ACTIVE. (The control
   plane's `POST /_qconnect/content` only reads what ingestion made of a content, and
   `/_qconnect/knowledgeBases/{id}/ingest` is for EXTERNAL knowledge bases.) The build time is
   printed, with the upload part and the ingestion tail apart.
2. Two AGENT assistants associated with the knowledge base: "plain" (its SYSTEM SELF_SERVICE
   agent answers) and "guarded" (step 5); one session each.
3. Round trip: the time from SendMessage until the final answer has been read (GetNextMessage
   followed until no `nextMessageToken`; the in-process GetNextMessage long-polls, so there is
   one call unless it gives up). `--turns` questions that hit (the answer has citations) and
   `--turns` that miss (the documented NO_ANSWER), interleaved, after `--warmup` turns of each
   in a session of its own. The two assistants take turns, so that noise on the machine falls on
   both alike. Reported: p50 and p99 wall time, and the process CPU time per turn
   (`time.process_time()`: this thread, the worker threads and SQLite's).
4. Baselines, same run: GetSession (one boto3 call with a small answer) timed after every turn,
   and the pipeline alone: `conversation_pipeline.answer(call, turn, backend)` called directly
   for every stored turn (the worker's own call, which writes nothing but the scripted queue's
   pops; so the same turns, with the same history, are answered again, and nothing is stored).
5. Guardrail: the "guarded" assistant's SELF_SERVICE default (UpdateAssistantAIAgent) is an
   agent whose guardrail has every policy on (bench_guardrails.CONFIG: words + PROFANITY, a
   denied topic, six content filters at HIGH, all 31 PII types, a regex, grounding and
   relevance). The differences to the plain assistant are reported, per turn and per guardrail
   check (two a turn: the input, and the answer).

Figures are medians unless named otherwise. Each session grows to 2 x `--turns` turns; the
first and last tenth of its turns are reported apart, since every turn reads the session's
earlier messages (its history).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).parent))

from _results import Results, add_json_argument
from bench_guardrails import CONFIG as EVERY_POLICY
from bench_retrieval import TOPICS
from qconnect_local.config import Settings
from qconnect_local.engine.generation import NO_ANSWER
from qconnect_local.service import conversation_pipeline
from qconnect_local.service.context import Call
from qconnect_local.service.families import CONVERSATION_TURN
from qconnect_local.testing import mock_qconnect

ACCOUNT = "123456789012"  # the access key id names the account
REGION = "us-east-1"
SEED = 20240611

# The topics of bench_retrieval's corpus: 40 of 5 words each.
FILLER = (
    "customers",
    "often",
    "ask",
    "about",
    "the",
    "usual",
    "steps",
    "for",
    "a",
    "quick",
    "fix",
    "in",
    "most",
    "cases",
    "check",
    "settings",
    "first",
    "then",
    "contact",
    "support",
    "if",
    "problem",
    "stays",
    "our",
    "team",
    "answers",
    "within",
    "one",
    "working",
    "day",
    "and",
    "keeps",
    "record",
    "of",
    "each",
    "request",
    "please",
    "keep",
    "reference",
    "number",
    "ready",
    "when",
    "you",
    "call",
)
SENTENCE_FORMS = (
    "The {a} and the {b} {f1} {f2} {f3}.",
    "If the {a} fails, check the {b} {f1} {f2}.",
    "Most {a} questions {f1} {f2} the {b} {f3}.",
    "A {a} {f1} needs the {b} {f2} {f3}.",
    "Before you change the {a}, {f1} {f2} the {b}.",
)
REFUNDS = (
    "Refunds are paid within 5 business days. A refund goes back to the original card used for the order.",
    "A refund for a damaged parcel is paid once the courier confirms the damage. Refunds never go to"
    " a different card.",
    "Late refunds: if a refund has not reached your card after 5 business days, ask your bank first."
    " Then contact us with the refund reference.",
    "Refunds for cancelled subscriptions are paid for the unused days only. The refund appears on the"
    " next card statement.",
    "Partial refunds are paid when only part of an order is returned. Each refund is shown on the receipt.",
)
HITS = (
    "When are refunds paid back to my card?",
    "How long does a refund take to reach my original card?",
    "Can I get a refund for a damaged parcel?",
    "How do I reset a locked account password?",
    "My router wifi signal keeps dropping, what should I check?",
    "Where can I see the tracking of my parcel delivery?",
)
MISSES = (
    "What colour are the office chairs in Berlin?",
    "Which orchestra plays the violin concerto tonight?",
    "Is the museum gallery open on sunny afternoons?",
    "Who painted the mural beside the harbour lighthouse?",
)


# ---------------------------------------------------------------- measuring helpers


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Timed:
    """Wall times (s) of one operation and the process CPU time (s) each took."""

    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, seconds: float, cpu: float) -> None:
        self.seconds.append(seconds)
        self.cpu.append(cpu)

    def p50_ms(self) -> float:
        return statistics.median(self.seconds) * 1000 if self.seconds else float("nan")

    def p99_ms(self) -> float:
        return pct(self.seconds, 99) * 1000

    def cpu_ms(self) -> float:
        return sum(self.cpu) / len(self.cpu) * 1000 if self.cpu else float("nan")


def timed(record: Timed, call: Callable[[], Any]) -> Any:
    cpu = time.process_time()
    started = time.perf_counter()
    result = call()
    record.add(time.perf_counter() - started, time.process_time() - cpu)
    return result


# ---------------------------------------------------------------- the knowledge base


def document(rng: random.Random, index: int) -> tuple[str, str]:
    """(title, text) of content `index`: 3-5 sentences on one topic, or a refund document."""
    if index < len(REFUNDS):
        return f"refunds {index}", REFUNDS[index]
    topic = TOPICS[index % len(TOPICS)].split()
    sentences = [f"Article {index} covers {topic[0]} and {topic[1]}."]
    for _ in range(rng.randint(2, 4)):
        a, b = rng.sample(topic, 2)
        f1, f2, f3 = rng.sample(FILLER, 3)
        sentences.append(rng.choice(SENTENCE_FORMS).format(a=a, b=b, f1=f1, f2=f2, f3=f3).capitalize())
    return f"{topic[0]} {index}", " ".join(sentences)


def build(qc: Any, mock: mock_qconnect, kb_id: str, contents: int) -> tuple[float, float]:
    """Upload and create every content, then wait until all are ACTIVE: (upload s, total s)."""
    rng = random.Random(SEED)
    started = time.perf_counter()
    for index in range(contents):
        title, text = document(rng, index)
        up = qc.start_content_upload(knowledgeBaseId=kb_id, contentType="text/plain")
        response = mock.request("PUT", up["url"], headers=up["headersToInclude"], data=text.encode())
        assert response.status == 200, response.body
        qc.create_content(
            knowledgeBaseId=kb_id, name=f"doc-{index:05d}", title=title, uploadId=up["uploadId"]
        )
        if (index + 1) % 1000 == 0:
            print(f"  ... {index + 1} created ({time.perf_counter() - started:.0f} s)", flush=True)
    uploaded = time.perf_counter() - started
    deadline = time.monotonic() + 600
    while True:
        statuses: dict[str, int] = {}
        for page in qc.get_paginator("list_contents").paginate(knowledgeBaseId=kb_id):
            for summary in page["contentSummaries"]:
                statuses[summary["status"]] = statuses.get(summary["status"], 0) + 1
        if statuses.get("ACTIVE", 0) == contents:
            break
        if any(s.endswith("FAILED") for s in statuses):
            raise SystemExit(f"ingestion failed: {statuses}")
        if time.monotonic() > deadline:
            raise SystemExit(f"ingestion did not finish: {statuses}")
        time.sleep(0.5)
    return uploaded, time.perf_counter() - started


# ---------------------------------------------------------------- conversations


@dataclass
class Phase:
    """What one phase measured."""

    hit: Timed = field(default_factory=Timed)
    miss: Timed = field(default_factory=Timed)
    baseline: Timed = field(default_factory=Timed)  # GetSession after every turn
    pipeline_hit: Timed = field(default_factory=Timed)
    pipeline_miss: Timed = field(default_factory=Timed)
    send: list[float] = field(default_factory=list)  # SendMessage alone, inside the round trip
    polls: list[int] = field(default_factory=list)  # GetNextMessage calls per turn
    order: list[float] = field(default_factory=list)  # every round trip, in turn order
    outcomes: dict[str, int] = field(default_factory=dict)


def outcome(answer: dict[str, Any]) -> str:
    text = answer["response"]["value"].get("text") or {}
    if (text.get("aiGuardrailAssessment") or {}).get("blocked"):
        return "blocked"
    if text.get("citations"):
        return "cited"
    if text.get("value") == NO_ANSWER:
        return "no answer"
    return "other"


def round_trip(qc: Any, ids: dict[str, str], text: str, phase: Phase | None) -> tuple[float, float, str]:
    """SendMessage, then GetNextMessage until no token: (wall s, CPU s, outcome of the last)."""
    cpu = time.process_time()
    started = time.perf_counter()
    sent = qc.send_message(**ids, type="TEXT", message={"value": {"text": {"value": text}}})
    sent_at = time.perf_counter()
    token, last, polls = sent["nextMessageToken"], None, 0
    while token:
        answer = qc.get_next_message(**ids, nextMessageToken=token)
        polls += 1
        if (
            answer["conversationState"]["status"] != "PROCESSING"
            or answer["response"]["value"]["text"]["value"]
        ):
            last = answer
        token = answer.get("nextMessageToken")
    wall, spent = time.perf_counter() - started, time.process_time() - cpu
    assert last is not None, "no answer"
    if phase is not None:
        phase.send.append(sent_at - started)
        phase.polls.append(polls)
        phase.order.append(wall)
    return wall, spent, outcome(last)


def converse(qc: Any, assistants: dict[str, str], turns: int) -> dict[str, tuple[Phase, str]]:
    """`turns` hits and `turns` misses per assistant, in a fresh session each; the assistants take
    turns (so that noise on the machine falls on all alike), GetSession after every turn."""
    runs: dict[str, tuple[Phase, dict[str, str]]] = {}
    for label, assistant_id in assistants.items():
        session_id = qc.create_session(assistantId=assistant_id, name=label)["session"]["sessionId"]
        runs[label] = (Phase(), {"assistantId": assistant_id, "sessionId": session_id})
    for i in range(turns):
        for kind, questions in (("hit", HITS), ("miss", MISSES)):
            for phase, ids in runs.values():
                wall, spent, got = round_trip(qc, ids, questions[i % len(questions)], phase)
                (phase.hit if kind == "hit" else phase.miss).add(wall, spent)
                phase.outcomes[f"{kind}: {got}"] = phase.outcomes.get(f"{kind}: {got}", 0) + 1
                timed(phase.baseline, lambda ids=ids: qc.get_session(**ids))
    return {label: (phase, ids["sessionId"]) for label, (phase, ids) in runs.items()}


def pipeline_alone(mock: mock_qconnect, runs: dict[str, tuple[Phase, str]]) -> None:
    """conversation_pipeline.answer for every stored turn of each session, as the worker calls it
    (the sessions' turns alternating, as they were sent)."""
    runtime = mock.runtime
    backend = conversation_pipeline.backend_of(runtime)
    stored = []
    with runtime.store.read() as conn:
        for phase, session_id in runs.values():
            turns = list(CONVERSATION_TURN.repo.where(conn, session_id=session_id))
            assert len(turns) == len(phase.hit.seconds) + len(phase.miss.seconds)
            stored.append((phase, turns))
    for index in range(len(stored[0][1])):  # stored in order: hit, miss, hit, miss...
        for phase, turns in stored:
            turn = turns[index]
            call = Call(runtime, turn.account, turn.region, "SendMessage", turn.request["requestId"], "")
            record = phase.pipeline_hit if index % 2 == 0 else phase.pipeline_miss
            timed(record, lambda call=call, turn=turn: conversation_pipeline.answer(call, turn, backend))


def guard(qc: Any, assistant_id: str) -> None:
    """A guardrail with every policy on, its SELF_SERVICE agent the assistant's default."""
    guardrail = qc.create_ai_guardrail(
        assistantId=assistant_id, name="everything", visibilityStatus="PUBLISHED", **EVERY_POLICY
    )["aiGuardrail"]
    agent = qc.create_ai_agent(
        assistantId=assistant_id,
        name="guarded",
        type="SELF_SERVICE",
        visibilityStatus="PUBLISHED",
        configuration={
            "selfServiceAIAgentConfiguration": {"selfServiceAIGuardrailId": guardrail["aiGuardrailId"]}
        },
    )["aiAgent"]
    qc.update_assistant_ai_agent(
        assistantId=assistant_id, aiAgentType="SELF_SERVICE", configuration={"aiAgentId": agent["aiAgentId"]}
    )


def warm(qc: Any, assistant_id: str, turns: int) -> None:
    session_id = qc.create_session(assistantId=assistant_id, name="warm-up")["session"]["sessionId"]
    ids = {"assistantId": assistant_id, "sessionId": session_id}
    for i in range(turns):
        round_trip(qc, ids, HITS[i % len(HITS)], None)
        round_trip(qc, ids, MISSES[i % len(MISSES)], None)
        qc.get_session(**ids)


# ---------------------------------------------------------------- report


def row(label: str, record: Timed, note: str = "") -> None:
    figures = f"{record.p50_ms():>8.2f} {record.p99_ms():>8.2f} {record.cpu_ms():>9.2f}"
    print(f"  {label:<46} {figures}  {note}".rstrip())


def ends(phase: Phase) -> str:
    tenth = max(1, len(phase.order) // 10)
    first = statistics.median(phase.order[:tenth]) * 1000
    last = statistics.median(phase.order[-tenth:]) * 1000
    return f"first tenth of turns p50 {first:.2f} ms, last tenth {last:.2f} ms"


def report(plain: Phase, guarded: Phase) -> None:
    header = f"  {'':<46} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/op':>9}"
    titles = {"no guardrail (SYSTEM SELF_SERVICE agent)": plain, "guardrail, every policy on": guarded}
    for title, phase in titles.items():
        get_session = phase.baseline.p50_ms()
        print(f"{title}:")
        print(header)
        for label, record in (
            ("SendMessage -> final answer, hit", phase.hit),
            ("SendMessage -> final answer, miss", phase.miss),
        ):
            row(label, record, f"{record.p50_ms() / get_session:.1f}x GetSession")
        row("  pipeline alone (answer()), hit", phase.pipeline_hit)
        row("  pipeline alone (answer()), miss", phase.pipeline_miss)
        row("baseline: GetSession", phase.baseline)
        send = statistics.median(phase.send) * 1000
        polls = sum(phase.polls) / len(phase.polls)
        print(f"  SendMessage alone p50 {send:.2f} ms; GetNextMessage calls per turn {polls:.2f}")
        print(f"  {ends(phase)}")
        print(f"  outcomes: {', '.join(f'{k} {v}' for k, v in sorted(phase.outcomes.items()))}")
    print("guardrail cost per turn (guarded - plain), two checks a turn (input, answer):")
    print(f"  {'':<46} {'p50 ms':>8} {'CPU ms':>9} {'per check':>10}")
    for label, a, b in (
        ("round trip, hit", guarded.hit, plain.hit),
        ("round trip, miss", guarded.miss, plain.miss),
        ("pipeline alone, hit", guarded.pipeline_hit, plain.pipeline_hit),
        ("pipeline alone, miss", guarded.pipeline_miss, plain.pipeline_miss),
    ):
        wall, cpu = a.p50_ms() - b.p50_ms(), a.cpu_ms() - b.cpu_ms()
        print(f"  {label:<46} {wall:>+8.2f} {cpu:>+9.2f} {cpu / 2:>+9.2f}  (CPU)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contents", type=int, default=5000)
    parser.add_argument("--turns", type=int, default=200, help="hits, and as many misses, per phase")
    parser.add_argument("--warmup", type=int, default=10)
    add_json_argument(parser)
    args = parser.parse_args()
    results = Results("bench_conversation")
    print(f"  {args.contents} contents, {args.turns} hit + {args.turns} miss turns per phase", flush=True)
    with mock_qconnect(Settings(log_requests=False)) as mock:
        qc = boto3.client(
            "qconnect",
            region_name=REGION,
            aws_access_key_id=ACCOUNT,
            aws_secret_access_key="x",
            config=Config(retries={"max_attempts": 1}),
        )
        kb_id = qc.create_knowledge_base(name="docs", knowledgeBaseType="CUSTOM")["knowledgeBase"][
            "knowledgeBaseId"
        ]
        uploaded, built = build(qc, mock, kb_id, args.contents)
        print(
            f"build: {args.contents} contents ACTIVE in {built:.1f} s ({args.contents / built:.0f}/s);"
            f" StartContentUpload + PUT + CreateContent took {uploaded:.1f} s"
            f" ({uploaded / args.contents * 1000:.2f} ms each),"
            f" ingestion finished {built - uploaded:.1f} s later",
            flush=True,
        )
        assistants = {}
        for label in ("plain", "guarded"):
            assistant_id = qc.create_assistant(name=label, type="AGENT")["assistant"]["assistantId"]
            qc.create_assistant_association(
                assistantId=assistant_id,
                associationType="KNOWLEDGE_BASE",
                association={"knowledgeBaseId": kb_id},
            )
            assistants[label] = assistant_id
        guard(qc, assistants["guarded"])
        started = time.perf_counter()
        for assistant_id in assistants.values():
            warm(qc, assistant_id, args.warmup)
        runs = converse(qc, assistants, args.turns)
        pipeline_alone(mock, runs)
        print(f"conversations measured in {time.perf_counter() - started:.0f} s", flush=True)
        plain, guarded = runs["plain"][0], runs["guarded"][0]
        report(plain, guarded)
    results.add(f"build {args.contents:,} contents to ACTIVE", built, "s")
    for title, phase in (("", plain), ("guardrail every policy on, ", guarded)):
        for kind, record, alone in (
            ("hit", phase.hit, phase.pipeline_hit),
            ("miss", phase.miss, phase.pipeline_miss),
        ):
            name = f"{title}SendMessage to final answer, {kind}"
            results.add(f"{name} p50", record.p50_ms(), "ms", "GetSession p50", phase.baseline.p50_ms())
            results.add(f"{name} p99", record.p99_ms(), "ms", "GetSession p99", phase.baseline.p99_ms())
            results.add(
                f"{name} CPU per turn", record.cpu_ms(), "ms", "GetSession CPU", phase.baseline.cpu_ms()
            )
            results.add(f"{title}pipeline alone, {kind} p50", alone.p50_ms(), "ms")
    results.finish(args.json)


if __name__ == "__main__":
    main()
