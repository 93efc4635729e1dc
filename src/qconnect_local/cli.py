"""`qconnect-local serve`: the server on uvicorn. Flags override `QCONNECT_LOCAL_*` variables."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from collections.abc import Sequence
from typing import Any

from qconnect_local import __version__
from qconnect_local.blobs.factory import check_blob_url
from qconnect_local.config import Settings, parse_credentials


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qconnect-local", description="Local Amazon Q in Connect (qconnect/wisdom)."
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the API over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=4567)
    where = serve.add_mutually_exclusive_group()
    where.add_argument("--data-dir", help="keep all state in this folder (SQLite, WAL); survives restarts")
    where.add_argument(
        "--in-memory", action="store_true", help="throw-away state (the default without --data-dir)"
    )
    where.add_argument("--database-url", help="SQLAlchemy URL of the database to use instead of --data-dir")
    serve.add_argument(
        "--blob-url",
        type=_blob_url,
        help="where uploads and reports live: file:///path, s3://bucket/prefix or database"
        " (default: database on PostgreSQL, files under --data-dir otherwise)",
    )
    serve.add_argument("--blob-endpoint-url", help="S3-compatible endpoint for an s3:// --blob-url")
    serve.add_argument(
        "--job-lease-seconds", type=int, help="how long a job's claim lasts unless its worker renews it (60)"
    )
    serve.add_argument(
        "--public-url", help="base URL for links handed to clients (default: the request's Host)"
    )
    serve.add_argument("--default-account", help="account for requests whose access key id is not 12 digits")
    serve.add_argument("--default-region", help="region for unsigned requests")
    serve.add_argument("--enforce-sigv4", action="store_true", default=None, help="verify SigV4 signatures")
    serve.add_argument(
        "--credentials", type=parse_credentials, help="AKID:SECRET[,AKID:SECRET] for --enforce-sigv4"
    )
    serve.add_argument(
        "--control-token",
        type=_control_token,
        help="the operator's token for /_qconnect/ under --enforce-sigv4, sent as"
        " 'Authorization: Bearer TOKEN' (without it the control plane is closed, health aside)",
    )
    serve.add_argument("--knowledge-base-quota", type=int, help="knowledge bases per account and region (10)")
    serve.add_argument("--quick-response-quota", type=int, help="quick responses per knowledge base (1000)")
    serve.add_argument("--content-quota", type=int, help="contents per knowledge base (5000)")
    serve.add_argument("--assistant-quota", type=int, help="assistants per account and region (5)")
    serve.add_argument(
        "--assistant-association-quota", type=int, help="knowledge bases one assistant answers from (20)"
    )
    serve.add_argument("--crawl-max-pages", type=int, help="pages one MANAGED crawl fetches (500)")
    serve.add_argument("--max-upload-bytes", type=int, help="largest file a signed PUT accepts (5 MiB)")
    serve.add_argument("--worker-threads", type=int, help="jobs the server's worker runs at once (2)")
    serve.add_argument("--no-worker", dest="run_worker", action="store_false", default=None, help="API only")
    serve.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    _worker_parser(commands)
    return parser


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
    "crawl_max_pages",
    "max_upload_bytes",
    "run_worker",
    "worker_threads",
    "job_lease_seconds",
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
    raise_descriptor_limit()  # before the connection cap is computed from it
    runtime = Runtime(settings)
    default_router()  # build routes before the first request, not during it
    print(
        f"qconnect-local {__version__} on http://{args.host}:{args.port} (store: {runtime.store.url})",
        flush=True,
    )
    warning = exposure_warning(args.host, settings)
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)
    try:
        uvicorn.run(
            App(runtime),
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            access_log=False,
            **uvicorn_options(settings),  # httptools with header, timeout and connection limits
            loop="uvloop" if sys.platform != "win32" else "asyncio",
            lifespan="on",
        )
    finally:
        runtime.close()


def worker(args: argparse.Namespace) -> None:
    from qconnect_local.worker.process import run_worker_process

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = settings_from(args)
    settings.run_worker = False  # the process runs its own Worker, with --threads
    if not settings.database_url:
        print(
            "qconnect-local worker: --database-url (or QCONNECT_LOCAL_DATABASE_URL) is required",
            file=sys.stderr,
        )
        sys.exit(2)
    run_worker_process(settings, threads=args.threads, grace_seconds=args.shutdown_grace_seconds)


def main(argv: Sequence[str] | None = None) -> None:
    from qconnect_local.store.integrity import StoreUnusable
    from qconnect_local.store.migrate import StoreTooNew

    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            serve(args)
        elif args.command == "worker":
            worker(args)
    except (StoreTooNew, StoreUnusable) as refused:  # one line naming the store and the problem
        print(f"qconnect-local: {refused}", file=sys.stderr, flush=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
