"""What each resource family is, declared once: table, ARN, parent, tags, names, quota, children.

The shared machinery in `service.resources` reads these declarations to load a resource by
id or ARN, check a quota or a name, tag it, page through it and delete it with everything
below it. Deletion follows `children` in the order written here (depth first), so the
order of a cascade is a fact of this file, not of which module was imported first.

`id_columns` is the chain of ids in the family's ARN (`content/<kb>/<content>`), the parent's
id column being the one before last; a family with no `arn_type` is never addressed by ARN
(import jobs, uploads, passages) but still belongs to its parent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from qconnect_local.store import Table, schema
from qconnect_local.store.repository import Repository

UPLOAD_BLOBS = "uploads/"  # uploaded files (and the files content was ingested from)
REPORT_BLOBS = "reports/"  # import jobs' failed-record reports
ATTACHMENT_BLOBS = "attachments/"  # message templates' attachment files
# Every blob of every family: what reset empties.
BLOB_FOLDERS = (UPLOAD_BLOBS, REPORT_BLOBS, ATTACHMENT_BLOBS)


@dataclass(frozen=True, eq=False)
class Family:
    key: str  # also the job kind of the family's asynchronous work, when it has any
    label: str  # how messages name one ("Knowledge base")
    table: Table
    id_columns: tuple[str, ...]
    arn_type: str | None = None
    taggable: bool = False
    name_column: str | None = None  # unique within the parent (ConflictException)
    quota: str | None = None  # the Settings attribute bounding how many one parent holds
    quota_label: str = ""  # "knowledge bases", for the quota message
    children: tuple[str, ...] = ()
    owned_blobs: Callable[[Any], Iterable[str | None]] | None = None  # blob keys or prefixes of a row
    # Asynchronous work: while `job_status_column` holds one of `job_statuses`, a worker claims
    # the row (job columns claimed_by, lease_until, attempts, hold_until, force_failure).
    job_statuses: tuple[str, ...] = ()
    job_status_column: str = "status"
    repo: Repository = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "repo",
            Repository(self.table, parent_column=self.parent_column, name_column=self.name_column),
        )

    @property
    def parent_column(self) -> str | None:
        return self.id_columns[-2] if len(self.id_columns) > 1 else None

    def ids_of(self, row: Any) -> tuple[str, ...]:
        return tuple(str(getattr(row, column)) for column in self.id_columns)


def _ai_family(
    key: str, label: str, table: Table, versions: Table, quota: str | None = None
) -> tuple[Family, Family]:
    """An AI prompt, agent or guardrail family and its versions' (`service.ai_resources`)."""
    parent_column = key.replace("-", "_") + "_id"
    return (
        Family(
            key,
            label,
            table,
            ("assistant_id", "id"),
            arn_type=key,
            taggable=True,
            name_column="name",
            quota=quota,
            quota_label=f"custom {label}s",
            children=(f"{key}-version",),
        ),
        Family(f"{key}-version", f"{label} version", versions, ("assistant_id", parent_column, "id")),
    )


_DECLARED = (
    Family(
        "knowledge-base",
        "Knowledge base",
        schema.knowledge_bases,
        ("id",),
        arn_type="knowledge-base",
        taggable=True,
        name_column="name",
        quota="knowledge_base_quota",
        quota_label="knowledge bases",
        children=("import-job", "upload", "quick-response", "content", "message-template"),
        job_statuses=("CREATE_IN_PROGRESS",),  # a MANAGED knowledge base's crawl
        job_status_column="ingestion_status",
    ),
    Family(
        "import-job",
        "Import job",
        schema.import_jobs,
        ("knowledge_base_id", "id"),
        owned_blobs=lambda row: (REPORT_BLOBS + row.id,),
        job_statuses=("START_IN_PROGRESS", "DELETE_IN_PROGRESS"),
    ),
    Family(
        "upload",
        "Upload",
        schema.uploads,
        ("knowledge_base_id", "id"),
        owned_blobs=lambda row: (UPLOAD_BLOBS + row.id,),
    ),
    Family(
        "quick-response",
        "Quick response",
        schema.quick_responses,
        ("knowledge_base_id", "id"),
        arn_type="quick-response",
        taggable=True,
        name_column="name",
        quota="quick_response_quota",
        quota_label="quick responses",
    ),
    Family(
        "content",
        "Content",
        schema.contents,
        ("knowledge_base_id", "id"),
        arn_type="content",
        taggable=True,
        name_column="name",
        quota="content_quota",
        quota_label="contents",
        children=("content-association", "passage"),
        owned_blobs=lambda row: (row.blob_key, row.pending_blob_key),
        # UPDATE_IN_PROGRESS is internal (shown as ACTIVE): a new upload being re-ingested.
        job_statuses=("CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS"),
    ),
    Family(
        "content-association",
        "Content association",
        schema.content_associations,
        ("knowledge_base_id", "content_id", "id"),
        arn_type="content-association",
        taggable=True,
    ),
    Family("passage", "Passage", schema.passages, ("knowledge_base_id", "content_id", "seq")),
    Family(
        "message-template",
        "Message template",
        schema.message_templates,
        ("knowledge_base_id", "id"),
        arn_type="message-template",
        taggable=True,
        name_column="name",
        quota="message_template_quota",
        quota_label="message templates",
        children=("message-template-version", "message-template-attachment"),
    ),
    Family(
        "message-template-version",
        "Message template version",
        schema.message_template_versions,
        ("knowledge_base_id", "message_template_id", "seq"),
        quota="message_template_version_quota",
        quota_label="versions",
    ),
    Family(
        "message-template-attachment",
        "Message template attachment",
        schema.message_template_attachments,
        ("knowledge_base_id", "message_template_id", "id"),
        owned_blobs=lambda row: (row.blob_key,),
    ),
    Family(
        "assistant",
        "Assistant",
        schema.assistants,
        ("id",),
        arn_type="assistant",
        taggable=True,
        name_column="name",
        quota="assistant_quota",
        quota_label="assistants",
        children=(
            "assistant-association",
            "session",
            "query-result",
            "feedback",
            "ai-agent",
            "ai-prompt",
            "ai-guardrail",
        ),
        # ACTIVE at once, unless the control plane holds or fails new assistants here.
        job_statuses=("CREATE_IN_PROGRESS",),
    ),
    Family(
        "assistant-association",
        "Assistant association",
        schema.assistant_associations,
        ("assistant_id", "id"),
        arn_type="association",
        taggable=True,
        quota="assistant_association_quota",
        quota_label="assistant associations",
    ),
    Family(
        "session",
        "Session",
        schema.sessions,
        ("assistant_id", "id"),
        arn_type="session",
        taggable=True,
        children=(
            "transcript-turn",
            "recommendation-trigger",
            "recommendation",
            "conversation-turn",
            "message",
            "span",
        ),
    ),
    Family(
        "transcript-turn", "Transcript turn", schema.transcript_turns, ("assistant_id", "session_id", "seq")
    ),
    Family(
        "recommendation-trigger",
        "Recommendation trigger",
        schema.recommendation_triggers,
        ("assistant_id", "session_id", "id"),
    ),
    Family("recommendation", "Recommendation", schema.recommendations, ("assistant_id", "session_id", "id")),
    Family(
        "conversation-turn",
        "Conversation turn",
        schema.conversation_turns,
        ("assistant_id", "session_id", "id"),
        job_statuses=("PROCESSING",),  # answered by the worker (worker.conversation_jobs)
    ),
    Family("message", "Message", schema.messages, ("assistant_id", "session_id", "id")),
    Family("span", "Span", schema.spans, ("assistant_id", "session_id", "id")),
    Family("query-result", "Query result", schema.query_results, ("assistant_id", "id")),
    *_ai_family("ai-prompt", "AI prompt", schema.ai_prompts, schema.ai_prompt_versions),
    *_ai_family("ai-agent", "AI agent", schema.ai_agents, schema.ai_agent_versions),
    *_ai_family(
        "ai-guardrail",
        "AI guardrail",
        schema.ai_guardrails,
        schema.ai_guardrail_versions,
        "ai_guardrail_quota",
    ),
    Family("feedback", "Feedback", schema.feedback, ("assistant_id", "id")),
)

FAMILIES: dict[str, Family] = {family.key: family for family in _DECLARED}
BY_ARN_TYPE: dict[str, Family] = {f.arn_type: f for f in _DECLARED if f.arn_type is not None}

KNOWLEDGE_BASE = FAMILIES["knowledge-base"]
IMPORT_JOB = FAMILIES["import-job"]
UPLOAD = FAMILIES["upload"]
QUICK_RESPONSE = FAMILIES["quick-response"]
CONTENT = FAMILIES["content"]
CONTENT_ASSOCIATION = FAMILIES["content-association"]
ASSISTANT = FAMILIES["assistant"]
ASSISTANT_ASSOCIATION = FAMILIES["assistant-association"]
SESSION = FAMILIES["session"]
TRANSCRIPT_TURN = FAMILIES["transcript-turn"]
RECOMMENDATION_TRIGGER = FAMILIES["recommendation-trigger"]
RECOMMENDATION = FAMILIES["recommendation"]
QUERY_RESULT = FAMILIES["query-result"]
FEEDBACK = FAMILIES["feedback"]
AI_PROMPT = FAMILIES["ai-prompt"]
AI_PROMPT_VERSION = FAMILIES["ai-prompt-version"]
AI_AGENT = FAMILIES["ai-agent"]
AI_AGENT_VERSION = FAMILIES["ai-agent-version"]
AI_GUARDRAIL = FAMILIES["ai-guardrail"]
AI_GUARDRAIL_VERSION = FAMILIES["ai-guardrail-version"]
CONVERSATION_TURN = FAMILIES["conversation-turn"]
MESSAGE = FAMILIES["message"]
SPAN = FAMILIES["span"]
MESSAGE_TEMPLATE = FAMILIES["message-template"]
MESSAGE_TEMPLATE_VERSION = FAMILIES["message-template-version"]
MESSAGE_TEMPLATE_ATTACHMENT = FAMILIES["message-template-attachment"]


JOB_FAMILIES: tuple[Family, ...] = tuple(f for f in _DECLARED if f.job_statuses)
PARENTS: dict[str, Family] = {key: family for family in _DECLARED for key in family.children}
for _key, _parent in PARENTS.items():
    if _parent.parent_column is None:  # a top-level parent: a row and it read in one query
        FAMILIES[_key].repo.join_parent(_parent.table)


def descendants(family: Family) -> list[Family]:
    """Every family below `family`, deepest first within each child, children in declared order."""
    found: list[Family] = []
    for key in family.children:
        child = FAMILIES[key]
        found += descendants(child)
        found.append(child)
    return found


def _check_declarations() -> None:
    for family in _DECLARED:
        for key in family.children:
            child = FAMILIES[key]
            if child.id_columns[: len(family.id_columns) - 1] != family.id_columns[:-1]:
                raise ValueError(f"{key} does not carry the id chain of its parent {family.key}")


_check_declarations()
