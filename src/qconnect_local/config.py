"""Run-time settings: one dataclass, filled from flags or `QCONNECT_LOCAL_*` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields

ENV_PREFIX = "QCONNECT_LOCAL_"


@dataclass
class Settings:
    """Everything configurable. Defaults mirror AWS's default quotas where AWS has one."""

    data_dir: str | None = None  # None: a throw-away store (see Store.temporary)
    database_url: str | None = None  # overrides data_dir for the database
    blob_url: str | None = None  # file:///path, s3://bucket/prefix or database; see blobs.open_blob_store
    blob_endpoint_url: str | None = None  # the S3-compatible endpoint of an s3:// blob_url
    default_account: str = "123456789012"
    default_region: str = "us-east-1"
    public_url: str | None = None  # base for signed links; default: the request's Host
    enforce_sigv4: bool = False
    credentials: dict[str, str] = field(default_factory=dict)  # access key id -> secret, for --enforce-sigv4
    # The operator's token for the control plane (`/_qconnect/`, health aside) under
    # --enforce-sigv4, sent as `Authorization: Bearer <token>`; None: the control plane is closed.
    control_token: str | None = field(default=None, repr=False)
    knowledge_base_quota: int = 10
    quick_response_quota: int = 1000
    content_quota: int = 5000  # contents per knowledge base (AWS default)
    assistant_quota: int = 5  # per account and region (not adjustable in AWS; here, for tests)
    assistant_association_quota: int = 20  # per assistant
    message_template_quota: int = 200  # per knowledge base (AWS default)
    message_template_version_quota: int = 20  # per message template (AWS: not adjustable)
    message_template_attachment_quota: int = 10  # per email template's $LATEST (AWS default)
    ai_guardrail_quota: int = 3  # custom AI guardrails per assistant (AWS default)
    max_upload_bytes: int = 5 * 1024 * 1024  # the "maximum size per document" quota
    default_upload_ttl_minutes: int = 15
    run_worker: bool = True
    # Jobs the server's own worker runs at once: a long crawl or a slow document never holds up
    # every other job (`qconnect-local worker` has --threads instead).
    worker_threads: int = 2
    job_lease_seconds: int = 60  # how long a worker's claim on a job lasts unless renewed
    crawl_max_pages: int = 500  # pages one MANAGED knowledge base's crawl fetches at most
    # Reading one document (extraction and chunking, in a child process): at most this long and
    # this much memory, or the content ends *_FAILED with the reason.
    read_timeout_seconds: int = 60
    read_memory_mb: int = 1024
    # The generation engine (docs/generation.md): which backend answers the AI prompts, one of
    # local (offline, deterministic), scripted (queued by the control plane), bedrock, openai.
    model_backend: str = "local"
    model_endpoint: str | None = None  # base URL of an OpenAI-compatible server, for openai
    model_api_key: str | None = field(default=None, repr=False)  # sent as a Bearer token, for openai
    model_timeout_seconds: float = 60.0  # one model call (bedrock, openai) at most this long
    # Bounded requests: what one client can make the server hold (server/limits.py explains each).
    # The largest body any API call or control request needs (signed PUTs: max_upload_bytes).
    max_request_bytes: int = 10 * 1024 * 1024
    max_header_bytes: int = 64 * 1024  # the request line and header section of one request
    max_header_count: int = 100
    header_timeout_seconds: int = 10  # from connecting (or a request's first byte) to its last header
    body_timeout_seconds: int = 20  # longest silence while a request body is being received
    idle_timeout_seconds: int = 5  # an idle keep-alive connection is closed after this
    max_connections: int = 10_000  # waiting long polls count; beyond: idle ones make room, health answers
    # Check every handler output against the model's output shape: the test suite's mode, on by
    # the variable even for Settings built in code (an output that does not fit answers 500).
    # The request log (server/request_log.py): one line per request on stderr; "text" or "json".
    log_requests: bool = True
    log_format: str = "text"
    strict_outputs: bool = field(default_factory=lambda: _flag(os.environ.get(ENV_PREFIX + "STRICT_OUTPUTS")))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then `QCONNECT_LOCAL_<FIELD>` variables, then explicit overrides (flags)."""
        env = os.environ if environ is None else environ
        settings = cls()
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            setattr(settings, f.name, _convert(getattr(settings, f.name), raw, f.name))
        for name, value in overrides.items():
            if value is not None:
                setattr(settings, name, value)
        return settings


def _flag(raw: str | None) -> bool:
    return raw is not None and raw.strip().lower() in ("1", "true", "yes", "on")


def _convert(current: object, raw: str, name: str) -> object:
    if isinstance(current, bool):
        return _flag(raw)
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, dict):
        return parse_credentials(raw)
    return raw


def parse_credentials(raw: str) -> dict[str, str]:
    """`AKID:SECRET,AKID2:SECRET2` -> mapping; the format of --credentials and its variable."""
    pairs = (item.split(":", 1) for item in raw.split(",") if item.strip())
    return {key.strip(): secret.strip() for key, secret in pairs}
