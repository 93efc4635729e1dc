"""Resource behaviour: plain functions taking model member names in and giving them out.

Importing this package registers every implemented operation with `registry` (and the
download links of the families that hand some out with `links`).
"""

# Imported for their side effect: each module registers its operations.
from qconnect_local.service import (  # noqa: F401
    ai_agents,
    ai_guardrails,
    ai_prompts,
    assistant_ai_agents,
    assistant_associations,
    assistants,
    content_associations,
    contents,
    conversations,
    import_jobs,
    knowledge_bases,
    message_template_attachments,
    message_template_search,
    message_template_versions,
    message_templates,
    quick_response_search,
    quick_responses,
    recommendations,
    retrieval,
    sessions,
    tags,
    uploads,
)
from qconnect_local.service.registry import handlers

__all__ = ["handlers"]
