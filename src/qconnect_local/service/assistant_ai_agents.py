"""Which AI agents an assistant runs by default, and the models its Region offers.

- UpdateAssistantAIAgent: the agent (`configuration.aiAgentId`, optionally qualified) must be an
  agent of the assistant (a SYSTEM one included: ResourceNotFoundException otherwise) whose type
  is `aiAgentType` (ValidationException). `enabled: false` is accepted for
  ANSWER_RECOMMENDATION only (it turns transcript-triggered answers off). With
  `orchestratorUseCase` (`Connect.SelfService`, `Connect.AgentAssistance`; ORCHESTRATION agents
  only) the agent goes into `orchestratorConfigurationList` for that use case, replacing the
  one there; otherwise into `aiAgentConfiguration` under its type.
- RemoveAssistantAIAgent takes it out again (nothing configured: nothing to do), so the SYSTEM
  agent of the type runs.
- ListModels: `engine.model_catalog` for the assistant's Region, filtered by `aiPromptType` and
  `modelLifecycle`, in offset pages.
"""

from __future__ import annotations

from typing import Any, Final

from qconnect_local.engine.model_catalog import list_models
from qconnect_local.protocol.errors import validation_error
from qconnect_local.service import ai_agents, ai_resources, assistants, resources
from qconnect_local.service.context import Call
from qconnect_local.service.families import ASSISTANT
from qconnect_local.service.registry import operation

USE_CASES: Final = ("Connect.SelfService", "Connect.AgentAssistance")
DEFAULTS: Final = "aiAgentConfiguration"
ORCHESTRATORS: Final = "orchestratorConfigurationList"


def check_use_case_name(use_case: str | None) -> None:
    """An orchestrator use case must be one Amazon Connect has (ValidationException)."""
    if use_case is not None and use_case not in USE_CASES:
        raise validation_error(f"orchestratorUseCase must be one of {', '.join(USE_CASES)}, not {use_case}")


def _check_use_case(use_case: str | None, agent_type: str) -> None:
    check_use_case_name(use_case)
    if use_case is not None and agent_type != "ORCHESTRATION":
        raise validation_error(f"orchestratorUseCase applies to ORCHESTRATION agents, not {agent_type}")


@operation("UpdateAssistantAIAgent")
def update_assistant_ai_agent(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    agent_type, configuration = params["aiAgentType"], params["configuration"]
    use_case = params.get("orchestratorUseCase")
    _check_use_case(use_case, agent_type)
    if configuration.get("enabled") is False and agent_type != "ANSWER_RECOMMENDATION":
        raise validation_error("enabled: false is accepted for ANSWER_RECOMMENDATION agents only")
    with call.runtime.store.write() as conn:
        assistant = resources.load_locked(conn, call, ASSISTANT, params["assistantId"])
        agent, _number = ai_resources.load_state(
            conn, call, ai_agents.KIND, assistant, configuration["aiAgentId"]
        )
        if agent.type != agent_type:
            raise validation_error(f"AI agent {agent.id} is of type {agent.type}, not {agent_type}")
        config = dict(assistant.config)
        if use_case is None:
            config[DEFAULTS] = {**config.get(DEFAULTS, {}), agent_type: configuration}
        else:
            kept = [e for e in config.get(ORCHESTRATORS, []) if e["orchestratorUseCase"] != use_case]
            config[ORCHESTRATORS] = [
                *kept,
                {"aiAgentId": configuration["aiAgentId"], "orchestratorUseCase": use_case},
            ]
        ASSISTANT.repo.update(conn, assistant.seq, {"config": config, "modified_at": call.now()})
        row = ASSISTANT.repo.find_any(conn, assistant.id)
        return {"assistant": assistants.summary(call, row, resources.tags_of(conn, call, ASSISTANT, row))}


@operation("RemoveAssistantAIAgent")
def remove_assistant_ai_agent(call: Call, params: dict[str, Any]) -> None:
    agent_type, use_case = params["aiAgentType"], params.get("orchestratorUseCase")
    _check_use_case(use_case, agent_type)
    with call.runtime.store.write() as conn:
        assistant = resources.load_locked(conn, call, ASSISTANT, params["assistantId"])
        config = dict(assistant.config)
        if use_case is None:
            config[DEFAULTS] = {k: v for k, v in config.get(DEFAULTS, {}).items() if k != agent_type}
        else:
            config[ORCHESTRATORS] = [
                e for e in config.get(ORCHESTRATORS, []) if e["orchestratorUseCase"] != use_case
            ]
        if config != assistant.config:
            ASSISTANT.repo.update(conn, assistant.seq, {"config": config, "modified_at": call.now()})


@operation("ListModels")
def list_models_(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    with call.runtime.store.read() as conn:
        assistant = assistants.load(conn, call, params["assistantId"])
    models = list_models(
        call.region, prompt_type=params.get("aiPromptType"), lifecycle=params.get("modelLifecycle")
    )
    filters = f"{params.get('aiPromptType')}|{params.get('modelLifecycle')}"
    scope = f"{call.operation}|{call.account}|{call.region}|{assistant.id}|{filters}"
    page, next_token = ai_resources.mixed_page(call, params, scope, models, None)
    return {"modelSummaries": page, "nextToken": next_token}
