"""`qconnect-local serve`: the server on uvicorn. Flags override `QCONNECT_LOCAL_*` variables."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import logging
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from qconnect_local import __version__
from qconnect_local.blobs.factory import check_blob_url
from qconnect_local.config import ENV_PREFIX, Settings, parse_credentials


def _help(text: str, default: object, variable: str | None = None) -> str:
    """A flag's help: what it does, then its default and the variable that sets it, if any."""
    where = f"; {ENV_PREFIX}{variable.upper()}" if variable else ""
    return f"{text} (default: {default}{where})"


def _env_default(name: str, default: str) -> str:
    """The default of a flag that has no setting (host, port), from its variable if set."""
    return os.environ.get(ENV_PREFIX + name.upper(), default)


COMMANDS = ("serve", "worker", "export", "import")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qconnect-local",
        description="Local Amazon Q in Connect (qconnect/wisdom). Without a command: serve.",
    )
    parser.add_argument("--version", action="version", version=f"qconnect-local {__version__}")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="serve the API over HTTP (the default command)")
    serve.add_argument(
        "--host",
        default=_env_default("host", "127.0.0.1"),
        help=_help("address to listen on", "127.0.0.1", "host"),
    )
    serve.add_argument(
        "--port",
        type=int,
        default=_env_default("port", "4567"),
        help=_help("port to listen on; 0 picks a free one (see --port-file)", 4567, "port"),
    )
    serve.add_argument(
        "--port-file",
        metavar="PATH",
        help=_help("once listening, write the port (then a newline) to this file, for scripts", "none"),
    )
    where = serve.add_mutually_exclusive_group()
    where.add_argument(
        "--data-dir",
        help=_help("keep all state in this folder (SQLite, WAL); survives restarts", "none", "data_dir"),
    )
    where.add_argument(
        "--in-memory",
        action="store_true",
        help=_help("throw-away state, removed on exit", "on without --data-dir or --database-url"),
    )
    where.add_argument(
        "--database-url",
        help=_help("SQLAlchemy URL of the database to use instead of --data-dir", "none", "database_url"),
    )
    serve.add_argument(
        "--blob-url",
        type=_blob_url,
        help=_help(
            "where uploads and reports live: file:///path, s3://bucket/prefix or database",
            "database on PostgreSQL, files under --data-dir otherwise",
            "blob_url",
        ),
    )
    serve.add_argument(
        "--blob-endpoint-url",
        help=_help("S3-compatible endpoint for an s3:// --blob-url", "AWS's", "blob_endpoint_url"),
    )
    serve.add_argument(
        "--job-lease-seconds",
        type=int,
        help=_help("how long a job's claim lasts unless its worker renews it", 60, "job_lease_seconds"),
    )
    serve.add_argument(
        "--public-url",
        help=_help("base URL for links handed to clients", "the request's Host", "public_url"),
    )
    serve.add_argument(
        "--default-account",
        help=_help(
            "account for requests whose access key id is not 12 digits", "123456789012", "default_account"
        ),
    )
    serve.add_argument(
        "--default-region", help=_help("region for unsigned requests", "us-east-1", "default_region")
    )
    serve.add_argument(
        "--enforce-sigv4",
        action="store_true",
        default=None,
        help=_help("verify SigV4 signatures", "off", "enforce_sigv4"),
    )
    serve.add_argument(
        "--credentials",
        type=parse_credentials,
        help=_help("AKID:SECRET[,AKID:SECRET] for --enforce-sigv4", "none", "credentials"),
    )
    serve.add_argument(
        "--control-token",
        type=_control_token,
        help=_help(
            "the operator's token for /_qconnect/ under --enforce-sigv4, sent as"
            " 'Authorization: Bearer TOKEN'; without it the control plane is closed, health aside",
            "none",
            "control_token",
        ),
    )
    quotas = (
        ("--knowledge-base-quota", "knowledge bases per account and region", 10),
        ("--quick-response-quota", "quick responses per knowledge base", 1000),
        ("--content-quota", "contents per knowledge base", 5000),
        ("--assistant-quota", "assistants per account and region", 5),
        ("--assistant-association-quota", "knowledge bases one assistant answers from", 20),
        ("--message-template-quota", "message templates per knowledge base", 200),
        ("--message-template-version-quota", "versions per message template", 20),
        ("--message-template-attachment-quota", "attachments per email template", 10),
        ("--ai-guardrail-quota", "custom AI guardrails per assistant", 3),
        ("--crawl-max-pages", "pages one MANAGED crawl fetches", 500),
        ("--max-upload-bytes", "largest file a signed PUT accepts", "5 MiB"),
        ("--worker-threads", "jobs the server's worker runs at once", 2),
    )
    for flag, text, default in quotas:
        serve.add_argument(flag, type=int, help=_help(text, default, flag[2:].replace("-", "_")))
    serve.add_argument(
        "--no-worker",
        dest="run_worker",
        action="store_false",
        default=None,
        help=_help("API only: no import or delete jobs run here", "a worker runs", "run_worker"),
    )
    serve.add_argument(
        "--model-backend",
        choices=["local", "scripted", "bedrock", "openai"],
        help=_help(
            "what answers the AI prompts: offline rules, control-plane scripts, Amazon Bedrock or an"
            " OpenAI-compatible server (docs/generation.md)",
            "local",
            "model_backend",
        ),
    )
    serve.add_argument(
        "--model-endpoint",
        metavar="URL",
        help=_help(
            "base URL of the OpenAI-compatible server for --model-backend openai, e.g."
            " http://127.0.0.1:11434",
            "none",
            "model_endpoint",
        ),
    )
    serve.add_argument(
        "--model-api-key",
        metavar="KEY",
        help=_help("Bearer token for --model-endpoint", "none", "model_api_key"),
    )
    serve.add_argument(
        "--quiet",
        dest="log_requests",
        action="store_false",
        default=None,
        help=_help("do not log each request", "requests are logged", "log_requests"),
    )
    serve.add_argument(
        "--log-format",
        choices=["text", "json"],
        help=_help("how request logs are written", "text", "log_format"),
    )
    serve.add_argument(
        "--log-level",
        default="warning",
        choices=["debug", "info", "warning", "error"],
        help=_help("the least severe message logged", "warning"),
    )
    serve.add_argument(
        "--init",
        metavar="PATH",
        default=_env_default("init", ""),
        help=_help(
            "seed file, or folder of them (applied in name order), applied before health is ready"
            " (docs/seed-and-snapshots.md)",
            "none",
            "init",
        ),
    )
    _worker_parser(commands)
    _snapshot_parsers(commands)
    return parser


def _snapshot_parsers(commands: Any) -> None:
    """`export` and `import`: a whole state moved through one archive (docs/seed-and-snapshots.md)."""
    export = commands.add_parser("export", help="write a store's whole state, blobs included, to FILE")
    load = commands.add_parser("import", help="load a state written by export into an empty store")
    for parser, verb in ((export, "read"), (load, "fill")):
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--data-dir", help=_help(f"the folder of the store to {verb}", "none", "data_dir"))
        where.add_argument(
            "--database-url", help=_help(f"SQLAlchemy URL of the store to {verb}", "none", "database_url")
        )
        parser.add_argument(
            "--blob-url",
            type=_blob_url,
            help=_help(
                "the store's blobs, as for serve",
                "database on PostgreSQL, files under --data-dir otherwise",
                "blob_url",
            ),
        )
        parser.add_argument(
            "--blob-endpoint-url",
            help=_help("S3-compatible endpoint for an s3:// --blob-url", "AWS's", "blob_endpoint_url"),
        )
        parser.add_argument("file", metavar="FILE", help="the archive (.tar.gz); - for stdout or stdin")
    load.add_argument(
        "--replace",
        action="store_true",
        help=_help("empty a store that is not empty first, instead of refusing", "off"),
    )


def _worker_parser(commands: Any) -> None:
    worker = commands.add_parser(
        "worker", help="run import and delete jobs only, on a shared database (with serve --no-worker)"
    )
    worker.add_argument(
        "--database-url", help="the database the replicas use (or QCONNECT_LOCAL_DATABASE_URL)"
    )
    worker.add_argument("--blob-url", type=_blob_url, help="as for serve (default: database)")
    worker.add_argument("--blob-endpoint-url", help="S3-compatible endpoint for an s3:// --blob-url")
    worker.add_argument("--quick-response-quota", type=int, help="same value as the replicas' (1000)")
    worker.add_argument("--content-quota", type=int, help="same value as the replicas' (5000)")
    worker.add_argument("--crawl-max-pages", type=int, help="pages a crawl fetches (500)")
    worker.add_argument(
        "--job-lease-seconds", type=int, help="how long a job's claim lasts unless renewed (60)"
    )
    worker.add_argument(
        "--model-backend",
        choices=["local", "scripted", "bedrock", "openai"],
        help="as for serve (local, or QCONNECT_LOCAL_MODEL_BACKEND)",
    )
    worker.add_argument(
        "--model-endpoint", metavar="URL", help="as for serve (or QCONNECT_LOCAL_MODEL_ENDPOINT)"
    )
    worker.add_argument(
        "--model-api-key", metavar="KEY", help="as for serve (or QCONNECT_LOCAL_MODEL_API_KEY)"
    )
    worker.add_argument("--threads", type=int, default=1, help="jobs run at the same time (1)")
    worker.add_argument(
        "--shutdown-grace-seconds",
        type=float,
        default=10.0,
        help="on SIGTERM/SIGINT, how long running jobs may take to finish before being abandoned",
    )
    worker.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])


def _blob_url(value: str) -> str:
    try:
        return check_blob_url(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _control_token(value: str) -> str:
    if not value.strip() or not value.isascii() or not value.isprintable() or " " in value:
        raise argparse.ArgumentTypeError("a control token is printable ASCII without spaces, and not empty")
    return value


def is_loopback(host: str) -> bool:
    """True for `localhost` and 127.0.0.0/8 or ::1 addresses; any other name or address is not."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False  # a host name: it may resolve to any interface
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def exposure_warning(host: str, settings: Settings) -> str | None:
    """The start-up warning for a server anyone on the network may control; None if there is none."""
    if settings.enforce_sigv4 or is_loopback(host):
        return None
    return (
        f"qconnect-local: WARNING: listening on {host}, not only loopback, without --enforce-sigv4:"
        " anyone who can reach the port can read and delete every account's data and reset the server.\n"
        "qconnect-local: bind 127.0.0.1, or add --enforce-sigv4 --credentials AKID:SECRET --control-token"
        " TOKEN (see docs/deploy.md)."
    )


SHUTDOWN_GRACE_SECONDS = 5

_SETTING_FLAGS = (
    "data_dir",
    "database_url",
    "blob_url",
    "blob_endpoint_url",
    "public_url",
    "default_account",
    "default_region",
    "enforce_sigv4",
    "credentials",
    "control_token",
    "knowledge_base_quota",
    "quick_response_quota",
    "content_quota",
    "assistant_quota",
    "assistant_association_quota",
    "message_template_quota",
    "message_template_version_quota",
    "message_template_attachment_quota",
    "ai_guardrail_quota",
    "crawl_max_pages",
    "max_upload_bytes",
    "run_worker",
    "worker_threads",
    "job_lease_seconds",
    "log_requests",
    "log_format",
    "model_backend",
    "model_endpoint",
    "model_api_key",
)


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the flags a command has (a flag it lacks leaves the variable or default)."""
    return Settings.from_env(**{name: getattr(args, name, None) for name in _SETTING_FLAGS})


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from qconnect_local.protocol.router import default_router
    from qconnect_local.runtime import Runtime
    from qconnect_local.server.app import App
    from qconnect_local.server.limits import raise_descriptor_limit, uvicorn_options

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = settings_from(args)
    check_model_backend(settings)
    raise_descriptor_limit()  # before the connection cap is computed from it
    sock = listen(args.host, args.port)  # first: a busy port costs no store
    try:
        runtime = Runtime(settings)
    except BaseException:
        sock.close()
        raise
    try:
        default_router()  # build routes before the first request, not during it
        if args.init:  # before uvicorn serves, so health is ready only once the seed is applied
            from qconnect_local.seed.apply import apply_seed

            apply_seed(runtime, Path(args.init), _address(sock))
        config = uvicorn.Config(
            App(runtime),
            host=args.host,
            port=sock.getsockname()[1],
            log_level=args.log_level,
            access_log=False,
            **uvicorn_options(settings),  # httptools with header, timeout and connection limits
            loop="uvloop" if sys.platform != "win32" else "asyncio",
            lifespan="on",
            # On SIGTERM/SIGINT requests in flight finish; a long poll still waiting after this
            # is cut (its client retries), so a stop never waits its whole 20 seconds.
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )
        server = _graceful_server(config)
        print(
            f"qconnect-local {__version__} on {_address(sock)} (store: {runtime.store.url})",
            flush=True,
        )
        warning = exposure_warning(args.host, settings)
        if warning is not None:
            print(warning, file=sys.stderr, flush=True)
        if args.port_file:
            _write_port_file(args.port_file, sock.getsockname()[1])
        server.run(sockets=[sock])
    finally:
        sock.close()
        runtime.close()  # the worker stops, the WAL is checkpointed, a temporary store removed


class BadModelBackend(Exception):
    """`--model-backend` names no backend, or one whose requirement is missing."""


def check_model_backend(settings: Settings) -> None:
    """Refuse at start, in one line, what the first conversation would otherwise fail on."""
    from qconnect_local.engine.generation import InMemoryScriptedQueue, backend_for

    try:
        backend_for(settings, scripted_queue=InMemoryScriptedQueue())
    except ValueError as error:
        raise BadModelBackend(str(error)) from None


class CannotListen(Exception):
    """The address is busy, or not this machine's: one line, exit status 2."""


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host`:`port` (0: a free port), as uvicorn would bind it."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except OSError as error:
        raise CannotListen(f"cannot listen on {host}:{port}: {_reason(error)}") from error
    sock = socket.socket(family, kind, proto)
    try:
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)  # uvicorn's default backlog; connections queue until it serves
    except OSError as error:
        sock.close()
        raise CannotListen(f"cannot listen on {host}:{port}: {_reason(error)}") from error
    sock.set_inheritable(True)
    return sock


def _reason(error: OSError) -> str:
    reason = error.strerror or str(error)
    return reason[:1].lower() + reason[1:]


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _write_port_file(path: str, port: int) -> None:
    """Written whole or not at all: a script polling for the file never reads half of it."""
    partial = f"{path}.{os.getpid()}.tmp"
    with open(partial, "w", encoding="ascii") as file:
        file.write(f"{port}\n")
    os.replace(partial, path)


def _graceful_server(config: Any) -> Any:
    """A uvicorn.Server that, stopped by SIGTERM or SIGINT, returns instead of re-raising it.

    uvicorn's own `capture_signals` shuts down gracefully, then raises the captured signal
    again with the original handlers back: SIGTERM's default handler ends the process at once
    (exit status 143) before `runtime.close()` has run, and SIGINT becomes a
    KeyboardInterrupt. Here the handlers are restored and the signal is not raised again, so
    `serve` closes the runtime and exits 0.
    """
    import signal
    import threading

    import uvicorn
    from uvicorn.server import HANDLED_SIGNALS

    class GracefulServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            original = {sig: signal.signal(sig, self.handle_exit) for sig in HANDLED_SIGNALS}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return GracefulServer(config)


def worker(args: argparse.Namespace) -> None:
    from qconnect_local.worker.process import run_worker_process

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = settings_from(args)
    check_model_backend(settings)
    settings.run_worker = False  # the process runs its own Worker, with --threads
    if not settings.database_url:
        print(
            "qconnect-local worker: --database-url (or QCONNECT_LOCAL_DATABASE_URL) is required",
            file=sys.stderr,
        )
        sys.exit(2)
    run_worker_process(settings, threads=args.threads, grace_seconds=args.shutdown_grace_seconds)


def snapshot(args: argparse.Namespace) -> None:
    """`export` / `import`: open the store named by the flags (no worker), move the state, close."""
    from qconnect_local.runtime import Runtime
    from qconnect_local.snapshot import SnapshotError, export_state, import_state

    settings = settings_from(args)
    settings.run_worker = False
    settings.log_requests = False
    if not settings.data_dir and not settings.database_url:
        raise SnapshotError(f"{args.command}: --data-dir or --database-url names the store")
    if args.command == "export" and not settings.database_url and not Path(str(settings.data_dir)).is_dir():
        raise SnapshotError(f"export: no store at {settings.data_dir}")
    runtime = Runtime(settings)
    try:
        if args.command == "export":
            summary = export_state(runtime.store, runtime.blobs, args.file)
            done = f"exported {summary.describe()} to {args.file}"
        else:
            summary = import_state(runtime.store, runtime.blobs, args.file, replace=args.replace)
            done = f"imported {summary.describe()} from {args.file}"
    finally:
        runtime.close()
    print(f"qconnect-local: {done}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    from qconnect_local.seed import SeedError
    from qconnect_local.snapshot import SnapshotError
    from qconnect_local.store.integrity import StoreUnusable
    from qconnect_local.store.migrate import StoreTooNew

    args = build_parser().parse_args(_with_command(sys.argv[1:] if argv is None else list(argv)))
    try:
        if args.command == "serve":
            serve(args)
        elif args.command == "worker":
            worker(args)
        elif args.command in ("export", "import"):
            snapshot(args)
    except (StoreTooNew, StoreUnusable, CannotListen, BadModelBackend, SeedError, SnapshotError) as refused:
        print(f"qconnect-local: {refused}", file=sys.stderr, flush=True)
        sys.exit(2)


def _with_command(argv: list[str]) -> list[str]:
    """Without a command, `serve` (as `moto_server` serves): `qconnect-local --port 0` serves."""
    if argv and (argv[0] in COMMANDS or argv[0] in ("-h", "--help", "--version")):
        return argv
    return ["serve", *argv]


if __name__ == "__main__":
    main()
