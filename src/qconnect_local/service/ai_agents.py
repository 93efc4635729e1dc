"""AI agents: a configuration of the agent's type that names prompts, guardrails and associations.

- `configuration` must hold exactly the member of the agent's `type`
  (MANUAL_SEARCH: `manualSearchAIAgentConfiguration`, ...): ValidationException otherwise.
- Every prompt it names (`…AIPromptId`, an id optionally qualified `:<n>` or `:$LATEST`) must be
  a prompt of the same assistant (a SYSTEM one included) and of the slot's type
  (`answerGenerationAIPromptId` takes an ANSWER_GENERATION prompt): ResourceNotFoundException
  for one that does not exist (or lacks that version), ValidationException for a wrong type.
  Guardrails (`…AIGuardrailId`) and `associationConfigurations[].associationId` (assistant
  associations) must exist in the assistant too: ResourceNotFoundException.
- `name` and `type` are fixed at create; an update replaces `configuration` when given.
- Each assistant has a SYSTEM agent of every type (`service.system_ai`).
"""

from __future__ import annotations

from typing import Any

from qconnect_local.protocol.errors import ServiceError, not_found, validation_error
from qconnect_local.service import ai_guardrails, ai_prompts, ai_resources, system_ai
from qconnect_local.service.context import Call
from qconnect_local.service.families import AI_AGENT, AI_AGENT_VERSION, ASSISTANT_ASSOCIATION
from qconnect_local.store import Connection


def _reference(
    conn: Connection, call: Call, assistant: Any, kind: ai_resources.Kind, value: str, where: str
) -> tuple[ai_resources.Resource, str]:
    """The state an agent's reference names, and the reference as stored (`id` or `id:<n>`, an
    ARN or `:$LATEST` made plain, so that every check of what is in use finds it); or
    ResourceNotFoundException naming the member."""
    try:
        resource, number = ai_resources.load_state(conn, call, kind, assistant, value)
    except ServiceError as error:
        if error.code == "ResourceNotFoundException":
            raise not_found(
                f"{where}: {kind.label} {value} not found in assistant {assistant.id}", value
            ) from None
        raise
    return resource, resource.id if number is None else f"{resource.id}:{number}"


def _check(
    conn: Connection, call: Call, assistant: Any, agent_type: str | None, config: dict[str, Any]
) -> dict[str, Any]:
    assert agent_type is not None
    expected = system_ai.configuration_member(agent_type)
    given = [m for m, v in config["configuration"].items() if v is not None]
    if given != [expected]:
        raise validation_error(f"An AI agent of type {agent_type} takes configuration.{expected}")
    settings = dict(config["configuration"][expected])
    config = {**config, "configuration": {expected: settings}}
    for slot in system_ai.slots(agent_type):
        value = settings.get(slot)
        if value is None:
            continue
        where = f"configuration.{expected}.{slot}"
        if slot.endswith(system_ai.PROMPT_SLOT):
            prompt, settings[slot] = _reference(conn, call, assistant, ai_prompts.KIND, value, where)
            wanted = system_ai.slot_prompt_type(slot)
            if prompt.type != wanted:
                raise validation_error(f"{where} takes a {wanted} prompt; {value} is a {prompt.type} prompt")
        else:
            _guardrail, settings[slot] = _reference(conn, call, assistant, ai_guardrails.KIND, value, where)
    for index, association in enumerate(settings.get("associationConfigurations") or ()):
        association_id = association.get("associationId")
        if association_id is None:
            continue
        found = ASSISTANT_ASSOCIATION.repo.find(conn, call.account, call.region, association_id, assistant.id)
        if found is None:
            raise not_found(
                f"configuration.{expected}.associationConfigurations[{index}].associationId: "
                f"assistant {assistant.id} has no association {association_id}",
                association_id,
            )
    return config


KIND = ai_resources.Kind(
    family=AI_AGENT,
    versions=AI_AGENT_VERSION,
    member="aiAgent",
    operation_stem="AIAgent",
    members=("configuration",),
    updatable=("configuration",),
    summary_members=("configuration",),
    check=_check,
    system=system_ai.agents,
)


def _referenced_by(
    _conn: Connection, _call: Call, assistant: Any, resource: ai_resources.Resource, number: int | None
) -> str | None:
    if number is None:
        return None  # DeleteAIAgent models no ConflictException: the assistant falls back to the system agent
    defaults = assistant.config.get("aiAgentConfiguration") or {}
    orchestrators = assistant.config.get("orchestratorConfigurationList") or []
    named = [entry.get("aiAgentId") for entry in defaults.values()]
    named += [entry.get("aiAgentId") for entry in orchestrators]
    if f"{resource.id}:{number}" in named:
        return f"the default AI agents of assistant {assistant.id}"
    return None


ai_resources.register(KIND, _referenced_by)
