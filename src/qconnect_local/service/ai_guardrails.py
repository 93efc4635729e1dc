"""AI guardrails: policies compiled by `engine.guardrails` when stored, enforced on every
generative answer.

- The configuration must compile (an invalid custom regex, say, is a ValidationException naming
  the field). At most `Settings.ai_guardrail_quota` (3) per assistant.
- UpdateAIGuardrail replaces the policies: one it does not give is removed (the blocked
  messages are required on update, as on create).
- DeleteAIGuardrail (202) of a guardrail an AI agent still names is a ConflictException, as is
  DeleteAIGuardrailVersion of a version one names.
- There are no SYSTEM guardrails: ListAIGuardrails has no `origin` filter.
"""

from __future__ import annotations

from typing import Any, Final

from qconnect_local.engine.guardrails import GuardrailConfigError, compile_guardrail
from qconnect_local.protocol.errors import validation_error
from qconnect_local.service import ai_resources, system_ai
from qconnect_local.service.context import Call
from qconnect_local.service.families import AI_GUARDRAIL, AI_GUARDRAIL_VERSION
from qconnect_local.store import Connection

POLICIES: Final = (
    "topicPolicyConfig",
    "contentPolicyConfig",
    "wordPolicyConfig",
    "sensitiveInformationPolicyConfig",
    "contextualGroundingPolicyConfig",
)
MESSAGING: Final = ("blockedInputMessaging", "blockedOutputsMessaging")


MAX_WORDS: Final = 10_000  # Bedrock's limit on a word policy's custom words


def precheck(config: dict[str, Any]) -> None:
    """Compile the configuration before any transaction (compiling a large one takes time; the
    check in the transaction then finds it compiled)."""
    words = (config.get("wordPolicyConfig") or {}).get("wordsConfig") or []
    if len(words) > MAX_WORDS:
        raise validation_error(
            f"wordPolicyConfig.wordsConfig holds at most {MAX_WORDS:,} words; this has {len(words):,}"
        )
    try:
        compile_guardrail(config)
    except GuardrailConfigError as error:
        raise validation_error(str(error)) from None


def _check(
    _conn: Connection, _call: Call, _assistant: Any, _type: str | None, config: dict[str, Any]
) -> dict[str, Any]:
    precheck(config)
    return config


KIND = ai_resources.Kind(
    family=AI_GUARDRAIL,
    versions=AI_GUARDRAIL_VERSION,
    member="aiGuardrail",
    operation_stem="AIGuardrail",
    members=(*MESSAGING, *POLICIES),
    updatable=(*MESSAGING, *POLICIES),
    replaced_on_update=POLICIES,
    check=_check,
    has_origin=False,
    typed=False,
    precheck=precheck,
)


def _referenced_by(
    conn: Connection, call: Call, assistant: Any, resource: ai_resources.Resource, number: int | None
) -> str | None:
    return system_ai.agent_naming(conn, call, assistant, resource.id, number)


ai_resources.register(KIND, _referenced_by)
