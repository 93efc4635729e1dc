"""The SYSTEM AI prompts and agents every assistant has, and where agents name prompts.

They are not stored: each is made from `engine.system_prompts` and the model, the same for the
same assistant every time. Ids are name-based UUIDs (version 5) of the assistant id, the kind
and the type, so they are stable and never clash with another assistant's. Each has version 1
only, equal to its current state, made when the assistant was. A SYSTEM agent of a type names
the SYSTEM prompt of each of its prompt slots, qualified `:1`; it has no guardrail.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from typing import Any, Final

from qconnect_local.engine.model_catalog import default_model
from qconnect_local.engine.system_prompts import all_system_prompts, prompt_name
from qconnect_local.service.ai_resources import SYSTEM, Resource
from qconnect_local.service.context import Call
from qconnect_local.service.families import AI_AGENT, AI_AGENT_VERSION
from qconnect_local.spec import service_model
from qconnect_local.store import Connection

NAMESPACE: Final = uuid.UUID("6f1c2a9e-3b7d-5e4f-9a8b-1c2d3e4f5a6b")
PROMPT_SLOT: Final = "AIPromptId"
GUARDRAIL_SLOT: Final = "AIGuardrailId"
TEMPLATE: Final = "textFullAIPromptEditTemplateConfiguration"


def system_id(assistant_id: str, kind: str, resource_type: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{assistant_id}/{kind}/{resource_type}"))


def _upper_snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).upper()


def _camel(upper_snake: str) -> str:
    first, *rest = upper_snake.lower().split("_")
    return first + "".join(word.capitalize() for word in rest)


def configuration_member(agent_type: str) -> str:
    """MANUAL_SEARCH -> manualSearchAIAgentConfiguration (the AIAgentConfiguration union member)."""
    return f"{_camel(agent_type)}AIAgentConfiguration"


def slot_prompt_type(slot: str) -> str:
    """answerGenerationAIPromptId -> ANSWER_GENERATION: the prompt type a prompt slot takes."""
    return _upper_snake(slot.removesuffix(PROMPT_SLOT))


@functools.cache
def agent_types() -> tuple[str, ...]:
    enum = service_model().shape_for("AIAgentType").enum
    return tuple(enum)


@functools.cache
def slots(agent_type: str) -> tuple[str, ...]:
    """The members of an agent type's configuration that name prompts or guardrails."""
    union = service_model().shape_for("AIAgentConfiguration")
    shape = union.members[configuration_member(agent_type)]
    return tuple(m for m in shape.members if m.endswith((PROMPT_SLOT, GUARDRAIL_SLOT)))


def prompts(call: Call, assistant: Any) -> list[Resource]:
    """The assistant's SYSTEM prompts, one per AIPromptType, in enum order."""
    return [
        Resource(
            id=system_id(assistant.id, "ai-prompt", prompt.type),
            assistant_id=assistant.id,
            name=prompt.name,
            type=prompt.type,
            visibility_status="PUBLISHED",
            description=prompt.description,
            config={
                "templateType": "TEXT",
                "modelId": default_model(call.region, prompt.type),
                "apiFormat": prompt.api_format,
                "templateConfiguration": {TEMPLATE: {"text": prompt.text}},
            },
            status="ACTIVE",
            modified_at=assistant.created_at,
            origin=SYSTEM,
        )
        for prompt in all_system_prompts()
    ]


def agents(_call: Call, assistant: Any) -> list[Resource]:
    """The assistant's SYSTEM agents, one per AIAgentType, in enum order."""
    found = []
    for agent_type in agent_types():
        configuration = {
            slot: f"{system_id(assistant.id, 'ai-prompt', slot_prompt_type(slot))}:1"
            for slot in slots(agent_type)
            if slot.endswith(PROMPT_SLOT)
        }
        found.append(
            Resource(
                id=system_id(assistant.id, "ai-agent", agent_type),
                assistant_id=assistant.id,
                name=prompt_name(agent_type),
                type=agent_type,
                visibility_status="PUBLISHED",
                description=f"The system {agent_type} AI agent of qconnect-local",
                config={"configuration": {configuration_member(agent_type): configuration}},
                status="ACTIVE",
                modified_at=assistant.created_at,
                origin=SYSTEM,
            )
        )
    return found


def system_agent(call: Call, assistant: Any, agent_type: str) -> Resource:
    return next(agent for agent in agents(call, assistant) if agent.type == agent_type)


def agent_naming(
    conn: Connection, call: Call, assistant: Any, resource_id: str, number: int | None
) -> str | None:
    """An AI agent of the assistant (current or a version) whose configuration names the
    resource (version `number`, or any version when None), described for a message; or None."""
    needle = f'"{resource_id}' if number is None else f'"{resource_id}:{number}"'
    for row in AI_AGENT.repo.where(conn, assistant_id=assistant.id):
        if needle in json.dumps(row.config):
            return f"AI agent {row.id}"
    for version in AI_AGENT_VERSION.repo.where(conn, assistant_id=assistant.id):
        if needle in json.dumps(version.snapshot):
            return f"version {version.version_number} of AI agent {version.ai_agent_id}"
    return None
