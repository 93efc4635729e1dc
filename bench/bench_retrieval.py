"""Retrieval and long polling against a real `qconnect-local serve`: QueryAssistant and Retrieve
latency at 5,000 contents, long-poll wake-up latency, and many parked long polls at once.

Run: `make bench-retrieval` (= `.venv/bin/python bench/bench_retrieval.py`); `--postgres` runs it
on a fresh temporary PostgreSQL database (`serve --database-url`) instead of a fresh `--data-dir`
(SQLite). Sizes: `--contents`, `--queries`, `--wakeups`, `--waiters 0,100,...`, `--samples`;
`--only queries|wakeup|parked`; `--json PATH`. Not part of the tests. One server process
(`ServerProcess`), whose CPU time is read from /proc/<pid>/stat around each call.

1. Queries. `--contents` plain-text documents (100-300 words each: a seeded Zipf draw over 3,000
   pseudo-words, ~15 % of them the words of one of 40 topics) are created through the API from
   `--load-threads` threads (StartContentUpload, the signed PUT, CreateContent) in one knowledge
   base associated with an assistant; ListContents is then polled until all are ACTIVE, and the
   load time is reported. Then `--queries` seeded queries of 2-6 words run one after the other
   with one boto3 client (no retries), after a 20-query warm-up: QueryAssistant (default page,
   up to 100 documents), QueryAssistant with maxResults=10, Retrieve (5 passages) and the
   baseline GetAssistant, interleaved, so that noise on the machine falls on all alike. Reported:
   p50, p99, the ratios to GetAssistant's, and the server's CPU time per call (summed per
   operation). GetAssistant is also timed back to back ("alone"): on this VM a call that follows
   a pause of 10 ms or more costs ~3x one that follows another at once, whatever ran before.
2. Wake-up. `--wakeups` times (after 2 warm-up rounds): a GetRecommendations with
   waitTimeSeconds=10 on a fresh session, in a thread; 300 ms later (it is parked) a CUSTOMER
   transcript turn made of words of one document is POSTed to the control plane, which queues a
   recommendation. Measured from just before the POST until GetRecommendations returns; the
   POST's own latency (it searches, writes and commits the recommendation) is the baseline.
3. Parked long polls. For each level of `--waiters`, that many raw HTTP GetRecommendations
   (`waitTimeSeconds=--wait-seconds`, one connection and one session each) are sent and left
   waiting; once the server's CPU goes quiet (they are parked), `--samples` GetAssistant calls
   are timed from a boto3 client. Every parked poll is then read to its end: it must still have
   been waiting during the measurement and answer 200 when its wait ends. Then a probe (one
   CreateSession, one transcript turn, one GetAssistant) checks that the server still writes
   and reads; if it does not, the higher levels are not run. Reported per level: GetAssistant
   p50/p99 and server CPU per call, the server's threads, open files and RSS, refusals, and the
   largest level at which GetAssistant p99 stays <= 20 ms with nothing refused.

The server inherits this process's open-file limit, raised (soft, up to the hard limit) to fit
the largest level. Its own connection cap (`QCONNECT_LOCAL_MAX_CONNECTIONS`) applies as set in
the environment.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import itertools
import json
import os
import random
import resource
import selectors
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _machine import process_cpu_seconds
from _results import Results, add_json_argument
from qconnect_local.engine.retrieval import STOP_WORDS
from qconnect_local.testing.server import ServerProcess

ACCOUNT = "123456789012"  # ServerProcess.client()'s access key id, and the control plane's default
REGION = "us-east-1"
# SigV4 enforcement is off by default: the credential scope alone picks account and region.
AUTHORIZATION = (
    f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20240101/{REGION}/wisdom/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)
GOAL_P99_MS = 20.0  # GetAssistant p99 with long polls parked
TOPICS = (
    "refund invoice payment charge billing",
    "password login account reset locked",
    "delivery shipping tracking courier parcel",
    "router wifi network signal modem",
    "printer paper toner driver spooler",
    "battery charger cable power adapter",
    "subscription renewal plan upgrade downgrade",
    "warranty repair replacement defect claim",
    "address profile email phone contact",
    "order cancel return exchange receipt",
    "kettle boiler heating thermostat radiator",
    "screen display monitor brightness pixel",
    "keyboard mouse trackpad bluetooth pairing",
    "speaker headset microphone volume audio",
    "camera lens photo storage memory",
    "insurance policy premium excess cover",
    "mortgage loan interest rate repayment",
    "flight booking baggage seat boarding",
    "hotel reservation checkin checkout room",
    "pharmacy prescription refill dosage doctor",
    "appointment schedule reschedule calendar reminder",
    "voucher coupon discount promotion loyalty",
    "firmware update version install rollback",
    "backup restore sync cloud folder",
    "license activation key serial registration",
    "fridge freezer ice temperature compressor",
    "washer dryer drum spin detergent",
    "vacuum filter brush suction dustbin",
    "bicycle tyre brake chain gear",
    "car engine oil service mileage",
    "solar panel inverter meter tariff",
    "water leak pipe valve plumber",
    "gas meter reading supplier switch",
    "tax return deduction receipt filing",
    "payroll salary payslip overtime pension",
    "parking permit fine ticket appeal",
    "library loan renewal overdue membership",
    "gym membership class trainer locker",
    "school enrolment uniform term fees",
    "pet food vet vaccine grooming",
)


# ---------------------------------------------------------------- measuring helpers


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc: this benchmark needs it)."""
    seconds = process_cpu_seconds(pid)
    if seconds is None:
        raise RuntimeError(f"no CPU time for process {pid}: /proc/<pid>/stat is needed")
    return seconds


def proc_status(pid: int) -> dict[str, Any]:
    """The server's threads, open file descriptors, RSS (MB) and open-files limit."""
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    limit = next(
        line.split()[3]
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines()
        if line.startswith("Max open files")
    )
    return {
        "threads": int(status["Threads"]),
        "open_files": len(os.listdir(f"/proc/{pid}/fd")),
        "rss_mb": int(status["VmRSS"].split()[0]) / 1024,
        "open_files_limit": int(limit),
    }


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
    """Latencies (s) of one operation, and the server CPU time (s) spent while it ran."""

    seconds: list[float] = field(default_factory=list)
    cpu: float = 0.0

    def p50_ms(self) -> float:
        return statistics.median(self.seconds) * 1000 if self.seconds else float("nan")

    def p99_ms(self) -> float:
        return pct(self.seconds, 99) * 1000

    def cpu_ms(self) -> float:
        return self.cpu / len(self.seconds) * 1000 if self.seconds else float("nan")


def timed(pid: int, record: Timed, call: Callable[[], Any]) -> Any:
    cpu = cpu_seconds(pid)
    started = time.perf_counter()
    result = call()
    record.seconds.append(time.perf_counter() - started)
    record.cpu += cpu_seconds(pid) - cpu
    return result


class StderrDrain:
    """The server's stderr so far (ServerProcess keeps it in a file, never a pipe that fills): its
    line count and last lines are findings."""

    def __init__(self, server: ServerProcess) -> None:
        self._server = server

    @property
    def count(self) -> int:
        return len(self._server.log_text().splitlines())

    @property
    def lines(self) -> list[str]:
        return self._server.log_text().splitlines()[-40:]


# ---------------------------------------------------------------- the corpus


@dataclass
class Corpus:
    vocabulary: list[str]
    documents: list[tuple[str, str, str]]  # (name, title, text)
    topic_words: list[list[str]]


def make_corpus(count: int, seed: int = 20261201) -> Corpus:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    topic_words = [topic.split() for topic in TOPICS]
    reserved = STOP_WORDS | {w for words in topic_words for w in words}
    pseudo: set[str] = set()
    while len(pseudo) < 3000:
        word = "".join(rng.choices(letters, k=rng.randint(4, 10)))
        if word not in reserved:
            pseudo.add(word)
    vocabulary = sorted(pseudo)
    rng.shuffle(vocabulary)  # Zipf rank order, independent of spelling
    cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(vocabulary))))
    documents = []
    for i in range(count):
        topic = i % len(TOPICS)
        length = rng.randint(100, 300)
        body = rng.choices(vocabulary, cum_weights=cumulative, k=length)
        for position in rng.sample(range(length), k=length // 7):  # ~15 % topic words
            body[position] = rng.choice(topic_words[topic])
        sentences, start = [], 0
        while start < length:
            end = min(length, start + rng.randint(8, 16))
            sentence = " ".join(body[start:end])
            sentences.append(sentence[0].upper() + sentence[1:] + ".")
            start = end
        title = f"{topic_words[topic][0].capitalize()} {topic_words[topic][1]} guide {i}"
        documents.append((f"doc-{i:05d}", title, " ".join(sentences)))
    return Corpus(vocabulary, documents, topic_words)


def make_queries(corpus: Corpus, count: int, seed: int = 99) -> list[str]:
    """2-6 words: each a topic word with probability 0.3, else any word of the vocabulary."""
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        words = [
            rng.choice(rng.choice(corpus.topic_words))
            if rng.random() < 0.3
            else rng.choice(corpus.vocabulary)
            for _ in range(rng.randint(2, 6))
        ]
        queries.append(" ".join(words))
    return queries


def customer_turn(corpus: Corpus, index: int) -> str:
    """A CUSTOMER utterance made of four distinct words of the first sentence of one document."""
    _name, _title, text = corpus.documents[index % len(corpus.documents)]
    words = list(dict.fromkeys(text.split(".")[0].lower().split()))[:4]
    return "Hi, I have a problem with " + " ".join(words) + " please"


# ---------------------------------------------------------------- loading


class Http:
    """One keep-alive HTTP connection to the server (signed PUTs, the control plane, raw calls)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Any:
        self.conn.request(method, path, body=body, headers=headers or {})
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data) if data else None

    def close(self) -> None:
        self.conn.close()


def load_corpus(server: ServerProcess, kb_id: str, corpus: Corpus, threads: int) -> dict[str, float]:
    clients = [server.client() for _ in range(threads)]
    started = time.perf_counter()
    failures: list[str] = []

    def load(part: int) -> None:
        qc, put = clients[part], Http(server.url)
        try:
            for name, title, text in corpus.documents[part::threads]:
                up = qc.start_content_upload(knowledgeBaseId=kb_id, contentType="text/plain")
                target = urlsplit(up["url"])
                put.request("PUT", f"{target.path}?{target.query}", text.encode(), up["headersToInclude"])
                qc.create_content(knowledgeBaseId=kb_id, name=name, title=title, uploadId=up["uploadId"])
        except Exception as error:  # reported below, with the others
            failures.append(repr(error))
        finally:
            put.close()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(load, range(threads)))
    if failures:
        raise RuntimeError(f"loading failed: {failures[:3]}")
    created = time.perf_counter() - started
    qc = clients[0]
    while True:
        statuses: dict[str, int] = {}
        for page in qc.get_paginator("list_contents").paginate(
            knowledgeBaseId=kb_id, PaginationConfig={"PageSize": 100}
        ):
            for summary in page["contentSummaries"]:
                statuses[summary["status"]] = statuses.get(summary["status"], 0) + 1
        if statuses.get("CREATE_FAILED"):
            raise RuntimeError(f"contents failed to ingest: {statuses}")
        if statuses.get("ACTIVE", 0) >= len(corpus.documents):
            break
        time.sleep(1.0)
    return {"created_s": created, "active_s": time.perf_counter() - started}


# ---------------------------------------------------------------- 1. queries


def bench_queries(
    server: ServerProcess, pid: int, assistant_id: str, association_id: str, queries: list[str]
) -> dict[str, Any]:
    qc = server.client()
    retrieval_configuration = {"knowledgeSource": {"assistantAssociationIds": [association_id]}}
    calls: dict[str, Callable[[str], Any]] = {
        "QueryAssistant": lambda text: qc.query_assistant(assistantId=assistant_id, queryText=text),
        "QueryAssistant maxResults=10": lambda text: qc.query_assistant(
            assistantId=assistant_id, queryText=text, maxResults=10
        ),
        "Retrieve": lambda text: qc.retrieve(
            assistantId=assistant_id,
            retrievalQuery=text,
            retrievalConfiguration=retrieval_configuration,
        ),
        "GetAssistant": lambda _text: qc.get_assistant(assistantId=assistant_id),
    }
    results = {name: Timed() for name in calls}
    found: dict[str, list[int]] = {name: [] for name in calls if name != "GetAssistant"}

    def run(text: str, record: dict[str, Timed]) -> None:
        for name, call in calls.items():
            answer = timed(pid, record[name], functools.partial(call, text))
            if name in found:
                found[name].append(len(answer["results"]))

    warm = {name: Timed() for name in results}
    for text in queries[:20]:  # warm-up: caches, connection, the database's pages
        run(text, warm)
    for counts in found.values():
        counts.clear()
    for text in queries:
        run(text, results)
    alone = Timed()  # the baseline again, not interleaved: what the heavier calls leave behind
    for _ in queries:
        timed(pid, alone, lambda: qc.get_assistant(assistantId=assistant_id))
    figures: dict[str, Any] = {}
    base = results["GetAssistant"]
    results["GetAssistant alone"] = alone
    for name, record in results.items():
        figures[name] = {
            "p50_ms": record.p50_ms(),
            "p99_ms": record.p99_ms(),
            "cpu_ms": record.cpu_ms(),
            "ratio_p50": record.p50_ms() / base.p50_ms(),
            "ratio_p99": record.p99_ms() / base.p99_ms(),
            "samples": len(record.seconds),
        }
    for name, counts in found.items():
        figures[name]["median_results"] = statistics.median(counts)
        figures[name]["empty"] = sum(1 for c in counts if c == 0)
    return figures


# ---------------------------------------------------------------- 2. wake-up


def bench_wakeup(
    server: ServerProcess, assistant_id: str, corpus: Corpus, repetitions: int
) -> dict[str, Any]:
    qc, poller = server.client(), server.client()
    control = Http(server.url)
    wake: list[float] = []
    post: list[float] = []
    after_post: list[float] = []
    try:
        for index in range(repetitions + 2):  # the first two are a warm-up
            session_id = qc.create_session(assistantId=assistant_id, name=f"wake-{index}")["session"][
                "sessionId"
            ]
            answer: dict[str, Any] = {}

            def poll(session_id: str = session_id, answer: dict[str, Any] = answer) -> None:
                started = time.perf_counter()
                answer["body"] = poller.get_recommendations(
                    assistantId=assistant_id, sessionId=session_id, waitTimeSeconds=10
                )
                answer["end"] = time.perf_counter()
                answer["took"] = answer["end"] - started

            thread = threading.Thread(target=poll)
            thread.start()
            time.sleep(0.3)  # the poll is parked by now
            body = json.dumps({"participant": "CUSTOMER", "text": customer_turn(corpus, index * 37)}).encode()
            path = f"/_qconnect/assistants/{assistant_id}/sessions/{session_id}/transcript"
            started = time.perf_counter()
            said = control.request("POST", path, body, {"Content-Type": "application/json"})
            posted = time.perf_counter()
            thread.join(15)
            if said["trigger"] is None or not answer.get("body", {}).get("recommendations"):
                raise RuntimeError(f"no recommendation woke the poll: {said}, {answer}")
            if answer["took"] < 0.25:
                raise RuntimeError("GetRecommendations returned before the transcript turn")
            if index >= 2:
                wake.append(answer["end"] - started)
                post.append(posted - started)
                after_post.append(answer["end"] - posted)
    finally:
        control.close()
    return {
        "wake_p50_ms": statistics.median(wake) * 1000,
        "wake_p99_ms": pct(wake, 99) * 1000,
        "post_p50_ms": statistics.median(post) * 1000,
        "post_p99_ms": pct(post, 99) * 1000,
        "after_post_p50_ms": statistics.median(after_post) * 1000,
        "after_post_p99_ms": pct(after_post, 99) * 1000,
        "samples": len(wake),
    }


# ---------------------------------------------------------------- 3. parked long polls


def _create_sessions(server: ServerProcess, assistant_id: str, count: int, threads: int = 4) -> list[str]:
    clients = [server.client() for _ in range(threads)]

    def create(part: int) -> list[str]:
        return [
            clients[part].create_session(assistantId=assistant_id, name=f"parked-{i}")["session"]["sessionId"]
            for i in range(part, count, threads)
        ]

    with ThreadPoolExecutor(threads) as pool:
        return [s for part in pool.map(create, range(threads)) for s in part]


def _response_status(buffer: bytes) -> int | None:
    """The status of a whole response in `buffer` (Content-Length framed), else None."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = buffer[:head_end].decode("latin-1").lower()
    length = next(
        (int(line.split(":", 1)[1]) for line in head.split("\r\n") if line.startswith("content-length:")),
        0,
    )
    return int(head.split(" ", 2)[1]) if len(buffer) >= head_end + 4 + length else None


def _wait_quiet(pid: int, limit: float, window: float = 0.2, busy: float = 0.03) -> float:
    """Sleep until the server uses under `busy` of a core over `window` s (at most `limit` s)."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        cpu = cpu_seconds(pid)
        time.sleep(window)
        if (cpu_seconds(pid) - cpu) / window < busy:
            break
    return time.perf_counter() - started


def raise_open_files(wanted: int) -> tuple[int, int]:
    """Raise this process's soft open-files limit to `wanted` (up to the hard limit); (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft, hard


def bench_parked(
    server: ServerProcess,
    pid: int,
    assistant_id: str,
    levels: list[int],
    samples: int,
    wait_seconds: int,
    drain: StderrDrain,
) -> list[dict[str, Any]]:
    sessions = _create_sessions(server, assistant_id, max(levels))
    qc = server.client()
    for _ in range(50):  # warm-up
        qc.get_assistant(assistantId=assistant_id)
    host = urlsplit(server.url)
    rows = []
    for level in levels:
        errors_before = drain.count
        socks: list[socket.socket] = []
        connect_errors: list[str] = []
        sent_started = time.perf_counter()
        for session_id in sessions[:level]:
            request = (
                f"GET /assistants/{assistant_id}/sessions/{session_id}/recommendations"
                f"?waitTimeSeconds={wait_seconds} HTTP/1.1\r\nHost: {host.netloc}\r\n"
                f"Authorization: {AUTHORIZATION}\r\nX-Amz-Date: 20240101T000000Z\r\n\r\n"
            ).encode()
            try:
                sock = socket.create_connection((host.hostname, host.port), timeout=10)
                sock.sendall(request)
            except OSError as error:
                connect_errors.append(repr(error))
                continue
            socks.append(sock)
        sent = time.perf_counter() - sent_started
        parking = _wait_quiet(pid, limit=wait_seconds / 2) if level else 0.0
        status = proc_status(pid)
        record = Timed()
        failed: list[str] = []  # GetAssistant calls refused or failed while the polls were parked
        for _ in range(samples):
            try:
                timed(pid, record, lambda: qc.get_assistant(assistantId=assistant_id))
            except Exception as failure:  # the finding, counted
                failed.append(f"{type(failure).__name__}: {str(failure)[:160]}")
        measured_until = time.perf_counter()
        selector = selectors.DefaultSelector()
        buffers: dict[socket.socket, bytes] = {}
        for sock in socks:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
            buffers[sock] = b""
        early = sum(1 for _key, _ in selector.select(timeout=0))  # answered before the measurement ended
        statuses: dict[int, int] = {}
        answered_at: list[float] = []
        deadline = time.perf_counter() + wait_seconds + 30
        pending = set(socks)
        while pending and time.perf_counter() < deadline:
            for key, _ in selector.select(timeout=1.0):
                sock = key.fileobj  # type: ignore[assignment]
                try:
                    chunk = sock.recv(65536)
                except OSError:
                    chunk = b""
                buffers[sock] += chunk
                code = _response_status(buffers[sock]) if chunk else -1
                if code is not None:
                    statuses[code] = statuses.get(code, 0) + 1
                    answered_at.append(time.perf_counter())
                    selector.unregister(sock)
                    pending.discard(sock)
        for sock in socks:
            sock.close()
        probe = _probe_writes(server, qc, assistant_id, level)
        row = {
            "waiters": level,
            "connected": len(socks),
            "connect_errors": len(connect_errors),
            "first_connect_error": connect_errors[0] if connect_errors else None,
            "send_s": sent,
            "parking_s": parking,
            "p50_ms": record.p50_ms(),
            "p99_ms": record.p99_ms(),
            "cpu_ms": record.cpu_ms(),
            "samples": samples,
            "failed": len(failed),
            "first_failure": failed[0] if failed else None,
            "answered_early": early,
            "statuses": statuses,
            "unanswered": len(pending),
            "expiry_spread_s": (max(answered_at) - min(answered_at)) if answered_at else 0.0,
            "after_measurement_s": (min(answered_at) - measured_until) if answered_at else None,
            "server_stderr_lines": drain.count - errors_before,
            "probe": probe,
            **status,
        }
        rows.append(row)
        print(
            f"  {level:>5} parked: GetAssistant p50 {row['p50_ms']:6.2f} ms  p99 {row['p99_ms']:6.2f} ms  "
            f"CPU {row['cpu_ms']:.2f} ms/call  threads {status['threads']}  open files "
            f"{status['open_files']}  RSS {status['rss_mb']:.0f} MB  parking {parking:.1f} s  "
            f"answers {statuses} early {early} unanswered {len(pending)} "
            f"connect errors {len(connect_errors)}  GetAssistant failures {len(failed)}"
            + (f" ({failed[0]})" if failed else ""),
            flush=True,
        )
        print(f"        then: {probe['text']}", flush=True)
        if not probe["ok"]:
            print(
                "        the server no longer serves every request: the levels above are not run", flush=True
            )
            break
    return rows


def _probe_writes(server: ServerProcess, qc: Any, assistant_id: str, level: int) -> dict[str, Any]:
    """Once a level's polls have ended: does the server still write (CreateSession, a transcript
    turn) and read (GetAssistant)? Each call's seconds and error, if any."""
    control = Http(server.url)
    session: dict[str, str] = {}
    calls: list[tuple[str, Callable[[], Any]]] = [
        (
            "CreateSession",
            lambda: session.update(
                qc.create_session(assistantId=assistant_id, name=f"probe-{level}")["session"]
            ),
        ),
        (
            "transcript POST",
            lambda: control.request(
                "POST",
                f"/_qconnect/assistants/{assistant_id}/sessions/{session['sessionId']}/transcript",
                json.dumps({"participant": "CUSTOMER", "text": "hello probe"}).encode(),
                {"Content-Type": "application/json"},
            ),
        ),
        ("GetAssistant", lambda: qc.get_assistant(assistantId=assistant_id)),
    ]
    results: list[dict[str, Any]] = []
    try:
        for name, call in calls:
            started = time.perf_counter()
            try:
                call()
                error = None
            except Exception as failure:  # the finding, reported as it is
                error = f"{type(failure).__name__}: {str(failure)[:160]}"
            seconds = time.perf_counter() - started
            results.append({"call": name, "seconds": seconds, "error": error})
            if error is not None and name == "CreateSession":
                break
    finally:
        control.close()
    text = ", ".join(
        f"{r['call']} {r['seconds'] * 1000:.0f} ms "
        + ("ok" if r["error"] is None else f"FAILED ({r['error']})")
        for r in results
    )
    return {"ok": all(r["error"] is None for r in results), "calls": results, "text": text}


# ---------------------------------------------------------------- the run


@contextlib.contextmanager
def served(postgres: bool, contents: int) -> Iterator[tuple[ServerProcess, str]]:
    quota = ["--content-quota", str(max(contents + 10, 5000))]
    if postgres:
        from qconnect_local.testing.postgres import temporary_database

        with (
            temporary_database("qconnect_bench") as url,
            ServerProcess("--database-url", url, *quota) as server,
        ):
            yield server, "postgresql"
    else:
        with (
            tempfile.TemporaryDirectory(prefix="qconnect-bench-") as tmp,
            ServerProcess(*quota, data_dir=tmp) as server,
        ):
            yield server, "sqlite"


def print_table(report: dict[str, Any]) -> None:
    print(f"\nsummary ({report['store']}, {report['contents']:,} contents):")
    rows: list[tuple[str, ...]] = [("measure", "p50", "p99", "ratio to baseline p50 / p99", "server CPU/op")]
    if "queries" in report:
        q = report["queries"]
        for name, f in q.items():
            ratio = "baseline" if name == "GetAssistant" else f"{f['ratio_p50']:.1f}x / {f['ratio_p99']:.1f}x"
            rows.append(
                (name, f"{f['p50_ms']:.2f} ms", f"{f['p99_ms']:.2f} ms", ratio, f"{f['cpu_ms']:.2f} ms")
            )
    if "wakeup" in report:
        w = report["wakeup"]
        rows.append(
            (
                "long-poll wake-up (POST start -> answer)",
                f"{w['wake_p50_ms']:.1f} ms",
                f"{w['wake_p99_ms']:.1f} ms",
                "",
                "",
            )
        )
        rows.append(
            (
                "  transcript POST alone (baseline)",
                f"{w['post_p50_ms']:.1f} ms",
                f"{w['post_p99_ms']:.1f} ms",
                "",
                "",
            )
        )
        rows.append(
            (
                "  answer after the POST returned",
                f"{w['after_post_p50_ms']:.1f} ms",
                f"{w['after_post_p99_ms']:.1f} ms",
                "",
                "",
            )
        )
    for row in report.get("parked", []):
        rows.append(
            (
                f"GetAssistant, {row['waiters']} long polls parked",
                f"{row['p50_ms']:.2f} ms",
                f"{row['p99_ms']:.2f} ms",
                f"threads {row['threads']}, open files {row['open_files']}, RSS {row['rss_mb']:.0f} MB",
                f"{row['cpu_ms']:.2f} ms",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("  " + "  ".join("-" * w for w in widths))
    if "load" in report:
        load = report["load"]
        print(
            f"  loading {report['contents']:,} contents: API calls {load['created_s']:.1f} s, "
            f"all ACTIVE after {load['active_s']:.1f} s "
            f"({report['contents'] / load['active_s']:.0f} contents/s)"
        )
    if "queries" in report:
        q = report["queries"]
        counts = ", ".join(
            f"{name} {f['median_results']:g} (none: {f['empty']})" for name, f in q.items() if "empty" in f
        )
        print(f"  results per query, median: {counts}")
    parked = report.get("parked", [])
    if parked:
        ok = [r["waiters"] for r in parked if r["p99_ms"] <= GOAL_P99_MS and _clean(r)]
        print(f"  largest level with GetAssistant p99 <= {GOAL_P99_MS:g} ms: {max(ok) if ok else 'none'}")
        for r in parked:
            bad = {k: v for k, v in r["statuses"].items() if k != 200}
            if not _clean(r):
                print(
                    f"  level {r['waiters']}: non-200 answers {bad}, unanswered {r['unanswered']}, answered "
                    f"before the measurement ended {r['answered_early']}, "
                    f"connect errors {r['connect_errors']} ({r['first_connect_error']}), "
                    f"GetAssistant failures {r['failed']} ({r['first_failure']}); "
                    f"afterwards: {r['probe']['text']}"
                )


def _clean(row: dict[str, Any]) -> bool:
    """Whether a level of parked polls went as it should: every poll connected, waited through
    the measurement and answered 200, and the server still wrote and read afterwards."""
    return (
        set(row["statuses"]) <= {200}
        and not row["unanswered"]
        and not row["answered_early"]
        and not row["connect_errors"]
        and not row["failed"]
        and row["probe"]["ok"]
    )


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--contents", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--wakeups", type=int, default=20)
    parser.add_argument("--waiters", default="0,100,250,500,1000", help="levels of parked long polls")
    parser.add_argument("--samples", type=int, default=400, help="GetAssistant calls per level")
    parser.add_argument("--wait-seconds", type=int, default=20, help="waitTimeSeconds of the parked polls")
    parser.add_argument("--load-threads", type=int, default=4)
    parser.add_argument("--only", choices=["queries", "wakeup", "parked"], action="append")
    parser.add_argument(
        "--postgres", action="store_true", help="a fresh PostgreSQL database instead of SQLite"
    )
    add_json_argument(parser)
    args = parser.parse_args(argv)
    parts = args.only or ["queries", "wakeup", "parked"]
    levels = sorted({int(n) for n in args.waiters.split(",")})
    soft, hard = raise_open_files(max(levels) + 256)  # the server inherits this limit
    report: dict[str, Any] = {"contents": args.contents, "bench_open_files_limit": [soft, hard]}
    results = Results(
        "bench_retrieval", f"({'postgresql' if args.postgres else 'sqlite'}), open files limit {soft}/{hard}"
    )
    with served(args.postgres, args.contents) as (server, store):
        assert server.process is not None
        pid = server.process.pid
        drain = StderrDrain(server)
        report["store"] = store
        qc = server.client()
        kb_id = qc.create_knowledge_base(name="bench", knowledgeBaseType="CUSTOM")["knowledgeBase"][
            "knowledgeBaseId"
        ]
        assistant_id = qc.create_assistant(name="bench", type="AGENT")["assistant"]["assistantId"]
        association_id = qc.create_assistant_association(
            assistantId=assistant_id, associationType="KNOWLEDGE_BASE", association={"knowledgeBaseId": kb_id}
        )["assistantAssociation"]["assistantAssociationId"]
        corpus = make_corpus(args.contents)
        if "queries" in parts or "wakeup" in parts:
            print(
                f"loading {args.contents:,} contents ({store}) from {args.load_threads} threads...",
                flush=True,
            )
            report["load"] = load_corpus(server, kb_id, corpus, args.load_threads)
            print(f"  all ACTIVE after {report['load']['active_s']:.1f} s", flush=True)
        if "queries" in parts:
            print(
                f"{args.queries} queries (QueryAssistant, Retrieve, GetAssistant interleaved)...", flush=True
            )
            report["queries"] = bench_queries(
                server, pid, assistant_id, association_id, make_queries(corpus, args.queries)
            )
        if "wakeup" in parts:
            print(f"{args.wakeups} long-poll wake-ups...", flush=True)
            report["wakeup"] = bench_wakeup(server, assistant_id, corpus, args.wakeups)
        if "parked" in parts:
            print(f"parked long polls at {levels} (waitTimeSeconds={args.wait_seconds})...", flush=True)
            report["parked"] = bench_parked(
                server, pid, assistant_id, levels, args.samples, args.wait_seconds, drain
            )
        report["server_stderr_lines"] = drain.count
        report["server_stderr_tail"] = list(drain.lines)
    print_table(report)
    if drain.count:
        print(f"\nserver stderr: {drain.count} lines; the last ones:")
        for line in list(drain.lines)[-10:]:
            print(f"  {line}")
    record(report, results)
    results.finish(args.json)
    return 0


def record(report: dict[str, Any], results: Results) -> None:
    """The summary's figures beside their baselines (bench/_results.py)."""
    store = report["store"]
    if "load" in report:
        results.add(
            f"load {report['contents']:,} contents to ACTIVE ({store})", report["load"]["active_s"], "s"
        )
    queries = report.get("queries", {})
    base = queries.get("GetAssistant")
    for name, f in queries.items():
        if name == "GetAssistant" or base is None:
            continue
        for level in ("p50", "p99"):
            results.add(
                f"{name} {level} ({store})",
                f[f"{level}_ms"],
                "ms",
                f"GetAssistant {level}",
                base[f"{level}_ms"],
            )
        results.add(
            f"{name} server CPU per call ({store})", f["cpu_ms"], "ms", "GetAssistant", base["cpu_ms"]
        )
    if "wakeup" in report:
        w = report["wakeup"]
        for level in ("p50", "p99"):
            results.add(
                f"long-poll wake-up {level}, POST start to answer ({store})",
                w[f"wake_{level}_ms"],
                "ms",
                f"transcript POST alone {level}",
                w[f"post_{level}_ms"],
            )
    parked = report.get("parked", [])
    if parked:
        first = parked[0]
        for row in parked:
            results.add(
                f"GetAssistant p99, {row['waiters']:,} long polls parked ({store})",
                row["p99_ms"],
                "ms",
                *((f"{first['waiters']:,} parked", first["p99_ms"]) if row is not first else ()),
            )
        results.add(
            f"parked long-poll levels that went wrong ({store})", sum(not _clean(r) for r in parked), "count"
        )


if __name__ == "__main__":
    raise SystemExit(main())
