"""Foundation benchmark (`make bench`): HTTP throughput, the in-process mock, and start-up time.

1. HTTP: `qconnect-local serve` (in-memory) against a bare ASGI app on the same uvicorn
   settings that answers every GET with a JSON body of the same size; both loaded with
   GetKnowledgeBase by `wrk --latency -t2 -c16` when wrk is on PATH, else by a closed-loop
   generator in a separate process (raw sockets, keep-alive). Goal: >= 50 % of the bare app's
   req/s and p99 <= 5 ms.
2. Mock: GetKnowledgeBase calls/s through `mock_qconnect()` against boto3's own floor (the
   same client type answered by a canned `before-send` response with the same body).
   Goal: >= 75 % of the floor.
3. Start-up: launching the `qconnect-local` console script to the first 200 from
   `/_qconnect/health`. Goal: <= 0.5 s.

The machine is noisy, so every comparison alternates its two sides over several rounds and
reports medians. `--quick` makes each part short (a smoke run, not figures to publish).
"""

from __future__ import annotations

import argparse
import compileall
import json
import multiprocessing
import re
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _machine import process_cpu_seconds
from _results import Results, add_json_argument
from qconnect_local.config import Settings

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "111122223333"
REGION = "us-east-1"
# SigV4 enforcement is off by default: the credential scope alone picks account and region.
AUTHORIZATION = (
    f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20240101/{REGION}/wisdom/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)
REQUEST_HEADERS = {"Authorization": AUTHORIZATION, "X-Amz-Date": "20240101T000000Z"}

GOAL_HTTP_RATIO = 0.50
GOAL_P99_MS = 5.0
GOAL_MOCK_RATIO = 0.75
GOAL_STARTUP_S = 0.5


@dataclass
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int = 0
    requests: int = 0  # answered during the load (the generator's own count)
    cpu_us_per_request: float | None = None  # the server process's CPU time per request


def measured(
    load: Callable[[str, int, float], LoadResult], pid: int, url: str, connections: int, seconds: float
) -> LoadResult:
    """`load` against the server `pid`, with that process's own CPU time (utime + stime) around it.

    The generator runs in another process, and the server is idle before and after the load, so
    the CPU time read around it is the server's work for the requests counted.
    """
    before = process_cpu_seconds(pid)
    result = load(url, connections, seconds)
    after = process_cpu_seconds(pid)
    if before is not None and after is not None and result.requests:
        result.cpu_us_per_request = (after - before) / result.requests * 1e6
    return result


@dataclass
class Report:
    generator: str = ""
    http_rounds: list[dict[str, Any]] = field(default_factory=list)
    http: dict[str, Any] = field(default_factory=dict)
    mock: dict[str, Any] = field(default_factory=dict)
    startup: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- load generators


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(url: str, connections: int, seconds: float) -> LoadResult:
    cmd = ["wrk", "--latency", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    for name, value in REQUEST_HEADERS.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _wrk_ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _wrk_ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    socket_errors = re.search(r"Socket errors:.*", out)
    errors = int(bad.group(1)) if bad else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(0)))
    return LoadResult(rps, p50, p99, errors, requests)


class _Conn:
    """One keep-alive connection of the built-in generator and the response it is reading."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buf = b""
        self.sent_at = 0.0

    def response_end(self) -> tuple[int, int] | None:
        """(status, bytes used) once a whole response is buffered (Content-Length or chunked)."""
        head_end = self.buf.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = self.buf[:head_end].decode("latin-1").lower()
        status = int(head.split(" ", 2)[1])
        body_start = head_end + 4
        length = re.search(r"\r\ncontent-length:\s*(\d+)", head)
        if length is not None:
            end = body_start + int(length.group(1))
            return (status, end) if len(self.buf) >= end else None
        pos = body_start  # chunked
        while True:
            line_end = self.buf.find(b"\r\n", pos)
            if line_end < 0:
                return None
            size = int(self.buf[pos:line_end].split(b";")[0], 16)
            pos = line_end + 2 + size + 2
            if len(self.buf) < pos:
                return None
            if size == 0:
                return status, pos


def _closed_loop(url: str, connections: int, seconds: float, out: Any) -> None:
    """Keep `connections` requests in flight for `seconds`; put (count, latencies, errors) on `out`."""
    host_port, path = url.removeprefix("http://").split("/", 1)
    host, port = host_port.split(":")
    headers = "".join(f"{name}: {value}\r\n" for name, value in REQUEST_HEADERS.items())
    request = f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\n{headers}\r\n".encode()
    selector = selectors.DefaultSelector()
    conns = [_Conn(host, int(port)) for _ in range(connections)]
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    deadline = started + seconds
    for conn in conns:
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        conn.sent_at = time.perf_counter()
        conn.sock.sendall(request)
    in_flight = len(conns)
    while in_flight:
        for key, _ in selector.select(timeout=1.0):
            conn = key.data
            chunk = conn.sock.recv(65536)
            if not chunk:
                raise RuntimeError("server closed a keep-alive connection")
            conn.buf += chunk
            done = conn.response_end()
            if done is None:
                continue
            now = time.perf_counter()
            status, used = done
            conn.buf = conn.buf[used:]
            latencies.append(now - conn.sent_at)
            errors += status != 200
            if now < deadline:
                conn.sent_at = now
                conn.sock.sendall(request)
            else:
                in_flight -= 1
    elapsed = time.perf_counter() - started
    for conn in conns:
        conn.sock.close()
    out.put((len(latencies) / elapsed, latencies, errors))


def run_builtin(url: str, connections: int, seconds: float) -> LoadResult:
    """The fallback generator, in its own process so it does not share a GIL with anything measured."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_closed_loop, args=(url, connections, seconds, queue))
    process.start()
    rps, latencies, errors = queue.get(timeout=seconds + 60)
    process.join()
    ordered = sorted(latencies)
    return LoadResult(
        rps,
        ordered[len(ordered) // 2] * 1e3,
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3,
        errors,
        len(latencies),
    )


# ---------------------------------------------------------------- 1. HTTP


def _get(url: str) -> bytes:
    request = urllib.request.Request(url, headers=REQUEST_HEADERS)
    with urllib.request.urlopen(request, timeout=10) as response:
        body: bytes = response.read()
        return body


def _wait_until_up(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _get(url)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def bench_http(report: Report, rounds: int, seconds: float, connections: int, generator: str) -> None:

    from qconnect_local.testing.server import ServerProcess, free_port

    use_wrk = generator == "wrk" or (generator == "auto" and wrk_available())
    load: Callable[[str, int, float], LoadResult] = run_wrk if use_wrk else run_builtin
    report.generator = (
        f"wrk --latency -t2 -c{connections}" if load is run_wrk else f"built-in closed loop, c{connections}"
    )
    # --quiet: the bare app writes no access log either (the request log's cost is not the router's).
    with ServerProcess("--in-memory", "--quiet") as server, tempfile.TemporaryDirectory() as tmp:
        client = server.client(account=ACCOUNT, region=REGION)
        kb = client.create_knowledge_base(
            name="bench", knowledgeBaseType="QUICK_RESPONSES", description="benchmark", tags={"team": "bench"}
        )["knowledgeBase"]
        ours = f"{server.url}/knowledgeBases/{kb['knowledgeBaseId']}"
        body = _get(ours)
        assert json.loads(body)["knowledgeBase"]["knowledgeBaseId"] == kb["knowledgeBaseId"]
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body)
        bare_port = free_port()
        bare_app = Path(__file__).with_name("bare_app.py")
        bare = subprocess.Popen(
            [sys.executable, str(bare_app), "--port", str(bare_port), "--body-file", str(body_file)]
        )
        try:
            bare_url = f"http://127.0.0.1:{bare_port}{ours.removeprefix(server.url)}"
            _wait_until_up(bare_url)
            assert len(_get(bare_url)) == len(body)
            for url in (ours, bare_url):  # warm-up: caches, connection setup, CPU frequency
                load(url, connections, min(2.0, seconds))
            results: dict[str, list[LoadResult]] = {"qconnect-local": [], "bare ASGI": []}
            assert server.process is not None
            for index in range(rounds):
                order = [("qconnect-local", server.process.pid, ours), ("bare ASGI", bare.pid, bare_url)]
                for name, pid, url in order if index % 2 == 0 else reversed(order):
                    result = measured(load, pid, url, connections, seconds)
                    results[name].append(result)
                    report.http_rounds.append({"round": index + 1, "server": name, **asdict(result)})
                    cpu = result.cpu_us_per_request
                    print(
                        f"  round {index + 1} {name:15s} {result.rps:9.0f} req/s  p50 {result.p50_ms:6.2f} ms"
                        f"  p99 {result.p99_ms:6.2f} ms  errors {result.errors}"
                        + (f"  server CPU {cpu:.0f} us/request" if cpu is not None else ""),
                        flush=True,
                    )
        finally:
            bare.terminate()
            bare.wait(10)
    summary: dict[str, Any] = {
        name: {
            "rps": statistics.median(r.rps for r in runs),
            "p50_ms": statistics.median(r.p50_ms for r in runs),
            "p99_ms": statistics.median(r.p99_ms for r in runs),
            "errors": sum(r.errors for r in runs),
            "cpu_us_per_request": _median_or_none([r.cpu_us_per_request for r in runs]),
        }
        for name, runs in results.items()
    }
    summary["ratio"] = summary["qconnect-local"]["rps"] / summary["bare ASGI"]["rps"]
    summary["body_bytes"] = len(body)
    report.http = summary


def _median_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


# ---------------------------------------------------------------- 2. in-process mock


def bench_mock(report: Report, rounds: int, calls: int) -> None:
    import boto3
    from botocore.awsrequest import AWSResponse
    from botocore.config import Config

    from qconnect_local.testing import mock as mock_module

    def new_client() -> Any:
        return boto3.client(
            "qconnect",
            region_name=REGION,
            aws_access_key_id=ACCOUNT,
            aws_secret_access_key="secret",
            config=Config(retries={"max_attempts": 1}),
        )

    with mock_module.mock_qconnect(Settings(log_requests=False)):  # the floor logs nothing either
        mocked = new_client()
        kb_id = mocked.create_knowledge_base(
            name="bench", knowledgeBaseType="QUICK_RESPONSES", description="benchmark", tags={"team": "bench"}
        )["knowledgeBase"]["knowledgeBaseId"]
        seen: dict[str, Any] = {}

        def capture(http_response: Any, **_kwargs: Any) -> None:
            seen["headers"], seen["body"] = dict(http_response.headers), http_response.content

        mocked.meta.events.register("after-call.qconnect.GetKnowledgeBase", capture)
        expected = mocked.get_knowledge_base(knowledgeBaseId=kb_id)["knowledgeBase"]
        mocked.meta.events.unregister("after-call.qconnect.GetKnowledgeBase", capture)

        # The floor: boto3's whole client pipeline (serialize, sign, events, parse) with the
        # network replaced by a canned answer. The mock's own handler is taken off this client
        # so that the canned response, registered first, is what answers.
        floor = new_client()
        canned_calls = 0

        def canned(request: Any, **_kwargs: Any) -> AWSResponse:
            nonlocal canned_calls
            canned_calls += 1
            return AWSResponse(request.url, 200, seen["headers"], mock_module._RawBody(seen["body"]))

        for _ in range(4):  # it may be registered more than once (built-in, boto3's default session)
            floor.meta.events.unregister("before-send.qconnect", mock_module._before_send)
        floor.meta.events.register_first("before-send.qconnect", canned)
        assert floor.get_knowledge_base(knowledgeBaseId=kb_id)["knowledgeBase"] == expected
        # Any mock handler left on this client would run before `canned` and answer 404 here.
        assert floor.get_knowledge_base(knowledgeBaseId=str(uuid.uuid4()))["knowledgeBase"] == expected
        assert canned_calls == 2, "the canned handler must answer the floor client"

        def rate(client: Any) -> tuple[float, float]:
            """(calls per wall-clock second, calls per CPU second of this thread)."""
            started, started_cpu = time.perf_counter(), time.thread_time()
            for _ in range(calls):
                client.get_knowledge_base(knowledgeBaseId=kb_id)
            return calls / (time.perf_counter() - started), calls / (time.thread_time() - started_cpu)

        rate(mocked), rate(floor)  # warm-up
        rates: dict[str, list[tuple[float, float]]] = {"mock": [], "floor": []}
        for index in range(rounds):
            pair = [("mock", mocked), ("floor", floor)]
            for name, client in pair if index % 2 == 0 else reversed(pair):
                rates[name].append(rate(client))
    mock_rate, floor_rate = (statistics.median(wall for wall, _ in rates[n]) for n in ("mock", "floor"))
    mock_cpu, floor_cpu = (statistics.median(cpu for _, cpu in rates[n]) for n in ("mock", "floor"))
    report.mock = {
        "mock_calls_per_s": mock_rate,
        "floor_calls_per_s": floor_rate,
        "ratio": mock_rate / floor_rate,
        "ours_us_per_call": 1e6 / mock_rate - 1e6 / floor_rate,
        "cpu_ratio": mock_cpu / floor_cpu,
        "ours_cpu_us_per_call": 1e6 / mock_cpu - 1e6 / floor_cpu,
        "rounds": rounds,
        "calls_per_round": calls,
    }
    print(
        f"  mock {mock_rate:.0f} calls/s, floor {floor_rate:.0f} calls/s; our code "
        f"{report.mock['ours_us_per_call']:.0f} us per call "
        f"({report.mock['ours_cpu_us_per_call']:.0f} us of CPU time)",
        flush=True,
    )


# ---------------------------------------------------------------- 3. start-up


# What qconnect-local cannot start faster than: the interpreter plus its dependencies' imports.
IMPORT_FLOOR = "import sqlalchemy, botocore.loaders, botocore.model, uvicorn, uvloop, httptools, regex"


def _time_to_health(script: Path) -> float:
    from qconnect_local.testing.server import free_port

    port = free_port()
    health = f"http://127.0.0.1:{port}/_qconnect/health"
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(script), "serve", "--in-memory", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(health, timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError("qconnect-local serve exited during start-up") from None
                if time.perf_counter() - started > 30:
                    raise
                time.sleep(0.002)
    finally:
        process.terminate()
        process.wait(10)


def _time_to_import_floor() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", IMPORT_FLOOR], check=True)
    return time.perf_counter() - started


def bench_startup(report: Report, runs: int) -> None:
    script = Path(sys.executable).with_name("qconnect-local")
    if not script.exists():
        raise SystemExit(f"{script} not found: install the project (make) first")
    # A normal install has bytecode for the package; this checkout may not have written it
    # (PYTHONDONTWRITEBYTECODE), which would add compiling every module to each start.
    compileall.compile_dir(ROOT / "src", quiet=1)
    times: list[float] = []
    floors: list[float] = []
    for _ in range(runs):
        times.append(_time_to_health(script))
        floors.append(_time_to_import_floor())
    report.startup = {
        "median_s": statistics.median(times),
        "runs_s": times,
        "import_floor_median_s": statistics.median(floors),
        "import_floor_runs_s": floors,
    }
    print(f"  start-up runs: {', '.join(f'{t:.3f}' for t in times)} s", flush=True)
    print(f"  import floor:  {', '.join(f'{t:.3f}' for t in floors)} s ({IMPORT_FLOOR})", flush=True)


# ---------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def print_table(report: Report) -> None:
    rows: list[tuple[str, str, str, str]] = []
    if report.http:
        ours, bare = report.http["qconnect-local"], report.http["bare ASGI"]
        cpu_ours, cpu_bare = ours["cpu_us_per_request"], bare["cpu_us_per_request"]
        rows += [
            ("HTTP GetKnowledgeBase req/s (ours / bare)", f"{ours['rps']:.0f} / {bare['rps']:.0f}", "", ""),
            (
                "HTTP ratio to bare",
                f"{report.http['ratio']:.0%}",
                f">= {GOAL_HTTP_RATIO:.0%}",
                verdict(report.http["ratio"] >= GOAL_HTTP_RATIO),
            ),
            ("HTTP p50 (ours / bare)", f"{ours['p50_ms']:.2f} / {bare['p50_ms']:.2f} ms", "", ""),
            (
                "HTTP p99 (ours / bare)",
                f"{ours['p99_ms']:.2f} / {bare['p99_ms']:.2f} ms",
                f"<= {GOAL_P99_MS:g} ms",
                verdict(ours["p99_ms"] <= GOAL_P99_MS),
            ),
            (
                "HTTP server CPU per request (ours / bare)",
                f"{cpu_ours:.0f} / {cpu_bare:.0f} us ({cpu_ours / cpu_bare:.1f}x)"
                if cpu_ours is not None and cpu_bare
                else "unknown (no /proc)",
                "",
                "",
            ),
            ("HTTP non-200 / socket errors", f"{ours['errors']} / {bare['errors']}", "0", ""),
        ]
    if report.mock:
        mock = report.mock
        rows += [
            ("mock GetKnowledgeBase calls/s", f"{mock['mock_calls_per_s']:.0f}", "", ""),
            ("boto3 floor calls/s", f"{mock['floor_calls_per_s']:.0f}", "", ""),
            (
                "mock ratio to floor",
                f"{mock['ratio']:.0%}",
                f">= {GOAL_MOCK_RATIO:.0%}",
                verdict(mock["ratio"] >= GOAL_MOCK_RATIO),
            ),
            ("our code per mock call", f"{mock['ours_us_per_call']:.0f} us", "", ""),
            ("mock ratio, by CPU time", f"{mock['cpu_ratio']:.0%}", "", ""),
        ]
    if report.startup:
        median = report.startup["median_s"]
        rows.append(
            (
                "start-up to first health 200",
                f"{median:.3f} s",
                f"<= {GOAL_STARTUP_S} s",
                verdict(median <= GOAL_STARTUP_S),
            )
        )
        rows.append(
            ("dependencies' import floor", f"{report.startup['import_floor_median_s']:.3f} s", "", "")
        )
    widths = [max(len(row[i]) for row in [("measure", "median", "goal", ""), *rows]) for i in range(4)]
    print(f"\nload generator: {report.generator or '-'}")
    for row in [("measure", "median", "goal", ""), tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def record(report: Report, results: Results) -> None:
    """The table's figures, each beside the baseline measured in the same run (bench/_results.py)."""
    if report.http:
        ours, bare = report.http["qconnect-local"], report.http["bare ASGI"]
        for label, key, unit in (
            ("req/s", "rps", "req/s"),
            ("p50", "p50_ms", "ms"),
            ("p99", "p99_ms", "ms"),
            ("server CPU per request", "cpu_us_per_request", "µs"),
            ("non-200 and socket errors", "errors", "count"),
        ):
            results.add(f"HTTP GetKnowledgeBase {label}", ours[key], unit, f"bare ASGI {label}", bare[key])
    if report.mock:
        mock = report.mock
        results.add(
            "mock GetKnowledgeBase calls/s",
            mock["mock_calls_per_s"],
            "calls/s",
            "boto3 floor calls/s",
            mock["floor_calls_per_s"],
        )
        results.add("our code per mock call", mock["ours_us_per_call"], "µs")
        results.add("our code per mock call, CPU time", mock["ours_cpu_us_per_call"], "µs")
    if report.startup:
        results.add(
            "start-up to first health 200",
            report.startup["median_s"],
            "s",
            "dependencies' import floor",
            report.startup["import_floor_median_s"],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="qconnect-local foundation benchmark")
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke test, not figures")
    parser.add_argument("--only", choices=["http", "mock", "startup"], action="append", help="run just these")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--generator",
        choices=["auto", "wrk", "builtin"],
        default="auto",
        help="HTTP load generator: wrk when on PATH (auto), else the built-in one",
    )
    add_json_argument(parser)
    args = parser.parse_args()
    parts = args.only or ["http", "mock", "startup"]
    report = Report()
    results = Results("bench_api", f"({'quick' if args.quick else 'full'}), python {sys.version.split()[0]}")
    if "http" in parts:
        print("HTTP GetKnowledgeBase vs bare ASGI app:", flush=True)
        bench_http(
            report,
            rounds=1 if args.quick else 3,
            seconds=2 if args.quick else 10,
            connections=args.connections,
            generator=args.generator,
        )
    if "mock" in parts:
        print("mock_qconnect() vs boto3 floor:", flush=True)
        bench_mock(report, rounds=3 if args.quick else 7, calls=300 if args.quick else 2000)
    if "startup" in parts:
        print("start-up:", flush=True)
        bench_startup(report, runs=3 if args.quick else 7)
    print_table(report)
    record(report, results)
    results.finish(args.json)


if __name__ == "__main__":
    main()
