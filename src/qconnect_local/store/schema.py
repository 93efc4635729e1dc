"""The one schema definition, shared by SQLite and PostgreSQL.

Every resource row carries `account` and `region`: isolation is a column, not a process.
`seq` is a monotonically increasing key that list operations page on, so pages stay correct
while rows are added or deleted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)

from qconnect_local.store.types import UtcDateTime

metadata = MetaData()

# SQLite only gives AUTOINCREMENT semantics to INTEGER PRIMARY KEY; BigInteger elsewhere.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


def _resource(*, parent: str | None = "knowledge_base_id", id_length: int = 36) -> list[Column[Any]]:
    """The columns every resource row starts with: its paging key, id, scope and parent."""
    columns: list[Column[Any]] = [
        Column("seq", SeqType, primary_key=True, autoincrement=True),
        Column("id", String(id_length), nullable=False, unique=True),
        Column("account", String(12), nullable=False),
        Column("region", String(32), nullable=False),
    ]
    if parent is not None:
        columns.append(Column(parent, String(36), nullable=False))
    return columns


def _row(*parents: str) -> list[Column[Any]]:
    """The columns of a row that belongs to a resource but is no resource itself (no id of its
    own, never addressed by ARN): its paging key, scope and the ids of its parents."""
    return [
        Column("seq", SeqType, primary_key=True, autoincrement=True),
        Column("account", String(12), nullable=False),
        Column("region", String(32), nullable=False),
        *(Column(parent, String(36), nullable=False) for parent in parents),
    ]


def _job(*, added_later: bool = False) -> list[Column[Any]]:
    """The worker's columns on a row with asynchronous work (worker.claims), and the control
    plane's: keep the job in its transitional status (`hold_until`), end it failed (`force_failure`).

    Columns added to an existing table take their default from the database (`added_later`).
    """
    zero: dict[str, Any] = {"server_default": text("0")} if added_later else {"default": 0}
    return [
        Column("claimed_by", String(128)),
        Column("lease_until", UtcDateTime),
        Column("attempts", Integer, nullable=False, **zero),
        Column("hold_until", UtcDateTime),
        Column("force_failure", Integer, nullable=False, **zero),
    ]


settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

knowledge_bases = Table(
    "knowledge_bases",
    metadata,
    *_resource(parent=None),
    Column("name", String(255), nullable=False),
    Column("type", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("description", String(255)),
    Column("config", JSON, nullable=False),  # the model's configuration members, as given
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    Column("content_modified_at", UtcDateTime),  # lastContentModificationTime
    # MANAGED: the crawl's ingestionStatus and ingestionFailureReasons, and its job columns.
    Column("ingestion_status", String(32)),
    Column("ingestion_failure_reasons", JSON),
    *_job(added_later=True),
    UniqueConstraint("account", "region", "name", name="uq_knowledge_base_name"),
    Index("ix_knowledge_bases_scope", "account", "region", "seq"),
    sqlite_autoincrement=True,  # seq never reused: keyset pages stay exact
)

tags = Table(
    "tags",
    metadata,
    Column("resource_arn", String(2048), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
)

idempotency_tokens = Table(
    "idempotency_tokens",
    metadata,
    Column("account", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("operation", String(64), primary_key=True),
    Column("client_token", String(4096), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("resource_id", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

uploads = Table(
    "uploads",
    metadata,
    *_resource(id_length=64),
    Column("content_type", String(128), nullable=False),
    Column("url_expiry", UtcDateTime, nullable=False),
    Column("blob_key", String(256)),  # set once the signed PUT stored the bytes
    Column("size", BigInteger),
    Column("etag", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("uploaded_at", UtcDateTime),
    Index("ix_uploads_knowledge_base_id", "knowledge_base_id"),
    sqlite_autoincrement=True,  # seq never reused: keyset pages stay exact
)

import_jobs = Table(
    "import_jobs",
    metadata,
    *_resource(),
    Column("upload_id", String(64), nullable=False),
    Column("job_type", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("metadata", JSON),
    Column("external_source", JSON),
    Column("upload_blob_key", String(256)),
    Column("report_blob_key", String(256)),
    Column("failure_reason", Text),
    Column("imported_count", Integer),
    Column("failed_count", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    *_job(),
    Index("ix_import_jobs_kb", "knowledge_base_id", "seq"),
    Index("ix_import_jobs_status", "status"),
    Index("ix_import_jobs_claim", "status", "hold_until"),  # the worker's claim query
    sqlite_autoincrement=True,  # seq never reused: keyset pages stay exact
)

quick_responses = Table(
    "quick_responses",
    metadata,
    *_resource(),
    Column("name", String(100), nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Column("description", String(255)),
    Column("shortcut_key", String(10)),
    Column("language", String(5)),
    Column("channels", JSON),
    Column("is_active", Integer, nullable=False, default=1),
    Column("grouping", JSON),
    # Derived from `channels` / `grouping` on every write, for SearchQuickResponses filters and
    # ordering on any dialect: list values as text delimited by store.search.LIST_SEPARATOR.
    Column("channel_list", Text),
    Column("grouping_criteria", String(100)),
    Column("grouping_value_list", Text),
    Column("status", String(32), nullable=False),
    Column("last_modified_by", String(2048)),
    Column("import_job_id", String(36)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    UniqueConstraint("knowledge_base_id", "name", name="uq_quick_response_name"),
    # NULLs are distinct in a unique constraint on SQLite and PostgreSQL: many rows may lack a key.
    UniqueConstraint("knowledge_base_id", "shortcut_key", name="uq_quick_response_shortcut"),
    Index("ix_quick_responses_kb", "knowledge_base_id", "seq"),
    sqlite_autoincrement=True,  # seq never reused: keyset pages stay exact
)
# SearchQuickResponses orders by name ignoring case: an index in that order keeps it a range walk.
Index(
    "ix_quick_responses_name_folded", quick_responses.c.knowledge_base_id, func.lower(quick_responses.c.name)
)

# Documents of CUSTOM, EXTERNAL and MANAGED knowledge bases. `status` is ContentStatus, plus
# the internal UPDATE_IN_PROGRESS (shown as ACTIVE) while a new upload is re-ingested; the job
# columns are the worker's, as on import_jobs.
contents = Table(
    "contents",
    metadata,
    *_resource(),
    Column("name", String(255), nullable=False),
    Column("title", String(255), nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("status", String(32), nullable=False),
    Column("revision_id", String(64), nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("override_link_out_uri", String(4096)),
    Column("source_fields", JSON),  # the fields a templateUri `${variable}` may name
    Column("upload_id", String(64)),  # the upload the current (or pending) file came from
    Column("blob_key", String(256)),  # the file the content was last ingested from
    Column("pending_blob_key", String(256)),  # a new file waiting to be ingested
    Column("pending_content_type", String(128)),
    Column("file_size", BigInteger),
    Column("extracted_text", Text),
    Column("failure_reason", Text),
    Column("source_url", String(2048)),  # MANAGED: the crawled page; EXTERNAL: the article's link
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    *_job(),
    UniqueConstraint("knowledge_base_id", "name", name="uq_content_name"),
    Index("ix_contents_kb", "knowledge_base_id", "seq"),
    Index("ix_contents_claim", "status", "seq"),  # the worker's claim query, oldest first
    sqlite_autoincrement=True,
)

content_associations = Table(
    "content_associations",
    metadata,
    *_resource(),
    Column("content_id", String(36), nullable=False),
    Column("association_type", String(64), nullable=False),
    Column("association", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # One association per content: the unique constraint closes the race the check cannot.
    UniqueConstraint("content_id", name="uq_content_association_content"),
    Index("ix_content_associations_kb", "knowledge_base_id", "seq"),
    sqlite_autoincrement=True,
)

# The passage index: each content's extracted text cut into passages that keep their offsets
# (`text == extracted_text[start_offset:end_offset]`). Full-text search over `text` is kept
# by store.passages (FTS5 on SQLite, a GIN index on PostgreSQL).
passages = Table(
    "passages",
    metadata,
    *_row("knowledge_base_id", "content_id"),
    Column("position", Integer, nullable=False),  # order within the content, from 0
    Column("start_offset", Integer, nullable=False),
    Column("end_offset", Integer, nullable=False),
    # HIERARCHICAL chunking: the parent passage a child belongs to (what retrieval returns).
    Column("parent_start", Integer),
    Column("parent_end", Integer),
    Column("text", Text, nullable=False),
    Index("ix_passages_content", "content_id", "position"),
    Index("ix_passages_kb", "knowledge_base_id"),
    sqlite_autoincrement=True,
)

# Assistants: the runtime half. `status` is ACTIVE from creation unless the control plane holds
# (or fails) new assistants in CREATE_IN_PROGRESS, which the worker then moves on.
assistants = Table(
    "assistants",
    metadata,
    *_resource(parent=None),
    Column("name", String(255), nullable=False),
    Column("type", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("description", String(255)),
    Column("config", JSON, nullable=False),  # serverSideEncryptionConfiguration, as given and extended
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    *_job(),
    UniqueConstraint("account", "region", "name", name="uq_assistant_name"),
    Index("ix_assistants_scope", "account", "region", "seq"),
    Index("ix_assistants_claim", "status", "seq"),
    sqlite_autoincrement=True,
)

assistant_associations = Table(
    "assistant_associations",
    metadata,
    *_resource(parent="assistant_id"),
    Column("association_type", String(64), nullable=False),
    Column("knowledge_base_id", String(36)),  # KNOWLEDGE_BASE associations
    Column("association", JSON, nullable=False),  # the association as given
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    # One association per knowledge base and assistant: the constraint closes the race.
    UniqueConstraint("assistant_id", "knowledge_base_id", name="uq_assistant_association_kb"),
    Index("ix_assistant_associations_assistant", "assistant_id", "seq"),
    sqlite_autoincrement=True,
)

sessions = Table(
    "sessions",
    metadata,
    *_resource(parent="assistant_id"),
    Column("name", String(255), nullable=False),
    Column("description", String(255)),
    Column("config", JSON, nullable=False),  # tagFilter, aiAgentConfiguration, orchestrator list, contactArn
    Column("data", JSON, nullable=False),  # UpdateSessionData: namespace -> key -> value
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    Index("ix_sessions_assistant", "assistant_id", "seq"),
    Index("ix_sessions_name", "assistant_id", "name"),
    sqlite_autoincrement=True,
)

# The live contact's transcript, as the control plane feeds it (Contact Lens' part in AWS).
transcript_turns = Table(
    "transcript_turns",
    metadata,
    *_row("assistant_id", "session_id"),
    Column("participant", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_transcript_turns_session", "session_id", "seq"),
    sqlite_autoincrement=True,
)

# What produced recommendations (a query derived from the transcript), and the session's queue.
recommendation_triggers = Table(
    "recommendation_triggers",
    metadata,
    *_resource(parent="assistant_id"),
    Column("session_id", String(36), nullable=False),
    Column("type", String(32), nullable=False),
    Column("source", String(32), nullable=False),
    Column("query_text", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_recommendation_triggers_session", "session_id"),
    sqlite_autoincrement=True,
)

recommendations = Table(
    "recommendations",
    metadata,
    *_resource(parent="assistant_id"),
    Column("session_id", String(36), nullable=False),
    Column("trigger_id", String(36), nullable=False),
    Column("type", String(64), nullable=False),
    Column("content_id", String(36)),  # what it recommends (a content is recommended once per session)
    Column("payload", JSON, nullable=False),  # RecommendationData members but the id
    Column("received", Integer, nullable=False),  # 1 once NotifyRecommendationsReceived named it
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_recommendations_queue", "session_id", "received", "seq"),
    sqlite_autoincrement=True,
)

# QueryAssistant's results, remembered so that PutFeedback can name them (RESULT targets).
query_results = Table(
    "query_results",
    metadata,
    *_resource(parent="assistant_id"),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_query_results_age", "assistant_id", "created_at"),
    sqlite_autoincrement=True,
)

# PutFeedback: one per target (its id is the target's), a later call overwrites it.
feedback = Table(
    "feedback",
    metadata,
    *_resource(parent="assistant_id"),
    Column("target_type", String(32), nullable=False),
    Column("content_feedback", JSON, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    Index("ix_feedback_assistant", "assistant_id", "seq"),
    sqlite_autoincrement=True,
)

# Message templates of MESSAGE_TEMPLATES knowledge bases. The row is `$LATEST`: `draft` holds
# what its messageTemplateContentSha256 covers (content, language, defaultAttributes; the
# attachments are rows of their own). Name, description and grouping are every version's.
message_templates = Table(
    "message_templates",
    metadata,
    *_resource(),
    Column("name", String(255), nullable=False),
    Column("description", String(255)),
    Column("channel_subtype", String(16), nullable=False),
    Column("grouping", JSON),
    Column("grouping_criteria", String(100)),  # derived, for search filters and ordering
    Column("grouping_value_list", Text),  # derived: store.search.list_text
    Column("language", String(5)),  # $LATEST's, for search
    Column("draft", JSON, nullable=False),
    Column("source_configuration", JSON),
    Column("content_sha256", String(64), nullable=False),  # $LATEST's messageTemplateContentSha256
    Column("active_version", Integer),
    Column("last_version", Integer, nullable=False),  # numbers are never reused
    Column("last_modified_by", String(2048), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    UniqueConstraint("knowledge_base_id", "name", name="uq_message_template_name"),
    Index("ix_message_templates_kb", "knowledge_base_id", "seq"),
    sqlite_autoincrement=True,
)

# Immutable snapshots of a template's `$LATEST` (CreateMessageTemplateVersion).
message_template_versions = Table(
    "message_template_versions",
    metadata,
    *_row("knowledge_base_id", "message_template_id"),
    Column("version_number", Integer, nullable=False),
    Column("language", String(5)),
    Column("snapshot", JSON, nullable=False),  # the draft as it was
    Column("source_configuration", JSON),
    Column("attachment_ids", JSON, nullable=False),  # the attachments it was made with
    Column("content_sha256", String(64), nullable=False),
    Column("last_modified_by", String(2048), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    UniqueConstraint("message_template_id", "version_number", name="uq_message_template_version"),
    sqlite_autoincrement=True,
)

# Attachment files. `on_latest` is 1 while the file belongs to `$LATEST`; a file deleted from
# `$LATEST` that a version still names stays, with 0, until no version names it.
message_template_attachments = Table(
    "message_template_attachments",
    metadata,
    *_resource(),
    Column("message_template_id", String(36), nullable=False),
    Column("name", String(256), nullable=False),
    Column("content_disposition", String(16), nullable=False),
    Column("blob_key", String(256), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("on_latest", Integer, nullable=False),
    Column("uploaded_at", UtcDateTime, nullable=False),
    Index("ix_message_template_attachments_template", "message_template_id", "seq"),
    sqlite_autoincrement=True,
)


# AI prompts, agents and guardrails of an assistant (the customer's; the SYSTEM ones are not
# stored, see service.system_ai) and their versions: immutable snapshots of the resource's
# members (`snapshot`), numbered from 1 (`last_version` is the highest made; never reused).
def _ai_resource_table(name: str) -> Table:
    return Table(
        name,
        metadata,
        *_resource(parent="assistant_id"),
        Column("name", String(255), nullable=False),
        Column("type", String(64)),  # AIPromptType / AIAgentType; guardrails have none
        Column("visibility_status", String(16), nullable=False),
        Column("description", String(255)),
        Column("config", JSON, nullable=False),  # the family's other members, as given
        Column("status", String(32), nullable=False),
        Column("last_version", Integer, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("modified_at", UtcDateTime, nullable=False),
        UniqueConstraint("assistant_id", "name", name=f"uq_{name}_name"),
        Index(f"ix_{name}_assistant", "assistant_id", "seq"),
        sqlite_autoincrement=True,
    )


def _ai_version_table(name: str, parent: str) -> Table:
    return Table(
        name,
        metadata,
        *_resource(parent="assistant_id"),
        Column(parent, String(36), nullable=False),
        Column("version_number", Integer, nullable=False),
        Column("snapshot", JSON, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        UniqueConstraint(parent, "version_number", name=f"uq_{name}_number"),
        sqlite_autoincrement=True,
    )


ai_prompts = _ai_resource_table("ai_prompts")
ai_prompt_versions = _ai_version_table("ai_prompt_versions", "ai_prompt_id")
ai_agents = _ai_resource_table("ai_agents")
ai_agent_versions = _ai_version_table("ai_agent_versions", "ai_agent_id")
ai_guardrails = _ai_resource_table("ai_guardrails")
ai_guardrail_versions = _ai_version_table("ai_guardrail_versions", "ai_guardrail_id")

# Conversations (SendMessage / GetNextMessage): one turn per SendMessage, answered by the worker
# (`status` PROCESSING until it is DONE or FAILED); the messages of both sides, and the spans
# (ListSpans) of each turn.
conversation_turns = Table(
    "conversation_turns",
    metadata,
    *_resource(parent="assistant_id"),
    Column("session_id", String(36), nullable=False),
    Column("request_message_id", String(36), nullable=False),
    Column("status", String(32), nullable=False),
    Column("request", JSON, nullable=False),  # what the worker needs of the SendMessage
    Column("outcome", JSON),  # conversationState, session data, or the error
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    *_job(),
    Index("ix_conversation_turns_session", "session_id", "seq"),
    Index("ix_conversation_turns_claim", "status", "seq"),
    sqlite_autoincrement=True,
)

messages = Table(
    "messages",
    metadata,
    *_resource(parent="assistant_id"),
    Column("session_id", String(36), nullable=False),
    Column("turn_id", String(36), nullable=False),
    Column("participant", String(16), nullable=False),
    Column("type", String(32), nullable=False),
    Column("value", JSON, nullable=False),  # MessageData members
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_messages_session", "session_id", "seq"),
    Index("ix_messages_turn", "turn_id", "seq"),
    sqlite_autoincrement=True,
)

spans = Table(
    "spans",
    metadata,
    *_resource(parent="assistant_id"),
    Column("session_id", String(36), nullable=False),
    Column("turn_id", String(36), nullable=False),
    Column("payload", JSON, nullable=False),  # the Span members but spanId
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_spans_session", "session_id", "seq"),
    sqlite_autoincrement=True,
)

# The scripted generation backend's queue (POST /_qconnect/ai/responses): entries for one
# session, one assistant (any of its sessions) or any, taken oldest first, the most specific first.
scripted_responses = Table(
    "scripted_responses",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("account", String(12), nullable=False),
    Column("assistant_id", String(36)),
    Column("session_id", String(36)),
    Column("entry", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    sqlite_autoincrement=True,
)

# Blobs kept in the database itself (the default blob backend when the store is PostgreSQL, so
# replicas share files with no extra service): an object row, written last, makes its chunks
# visible; chunks keep any single value small enough to stream.
blob_objects = Table(
    "blob_objects",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

blob_chunks = Table(
    "blob_chunks",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("chunk", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

__all__ = [
    "ai_agent_versions",
    "ai_agents",
    "ai_guardrail_versions",
    "ai_guardrails",
    "ai_prompt_versions",
    "ai_prompts",
    "assistant_associations",
    "assistants",
    "blob_chunks",
    "blob_objects",
    "content_associations",
    "contents",
    "conversation_turns",
    "feedback",
    "idempotency_tokens",
    "import_jobs",
    "knowledge_bases",
    "message_template_attachments",
    "message_template_versions",
    "message_templates",
    "messages",
    "metadata",
    "passages",
    "query_results",
    "quick_responses",
    "recommendation_triggers",
    "recommendations",
    "scripted_responses",
    "sessions",
    "settings",
    "spans",
    "tags",
    "transcript_turns",
    "uploads",
]
