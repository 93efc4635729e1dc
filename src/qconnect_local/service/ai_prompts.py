"""AI prompts: YAML templates checked per format and type, for a model the Region offers.

- The template (`templateConfiguration.textFullAIPromptEditTemplateConfiguration.text`) is
  YAML, checked by `engine.prompt_templates.parse_prompt` for the prompt's `type` and
  `apiFormat`: its required fields, and only the variables documented for the type. Any
  violation is a ValidationException naming the field or variable.
- `modelId` must be one ListModels offers in the assistant's Region for the prompt's type
  (`engine.model_catalog`), an id or a Bedrock ARN of one.
- `name`, `type`, `templateType` and `apiFormat` are fixed at create; an update may change the
  template, `modelId`, `inferenceConfiguration`, `description` and `visibilityStatus`.
- Each assistant has a SYSTEM prompt of every type (`service.system_ai`).
"""

from __future__ import annotations

from typing import Any, Final

from qconnect_local.engine.model_catalog import is_offered
from qconnect_local.engine.prompt_templates import PromptTemplate, PromptTemplateError, parse_prompt
from qconnect_local.protocol.errors import validation_error
from qconnect_local.service import ai_resources, system_ai
from qconnect_local.service.context import Call
from qconnect_local.service.families import AI_PROMPT, AI_PROMPT_VERSION
from qconnect_local.store import Connection

TEMPLATE: Final = "textFullAIPromptEditTemplateConfiguration"


def template_text(config: dict[str, Any]) -> str:
    return str(config["templateConfiguration"][TEMPLATE]["text"])


def parsed(prompt_type: str, config: dict[str, Any]) -> PromptTemplate:
    """The prompt's template, parsed (ValidationException when it is not valid)."""
    try:
        return parse_prompt(template_text(config), prompt_type=prompt_type, api_format=config["apiFormat"])
    except PromptTemplateError as error:
        raise validation_error(str(error)) from None


def _check(
    _conn: Connection, call: Call, _assistant: Any, prompt_type: str | None, config: dict[str, Any]
) -> dict[str, Any]:
    assert prompt_type is not None
    if TEMPLATE not in config["templateConfiguration"]:
        raise validation_error(f"templateConfiguration needs {TEMPLATE}")
    parsed(prompt_type, config)
    if not is_offered(call.region, config["modelId"], prompt_type):
        raise validation_error(
            f"Model {config['modelId']} is not offered for {prompt_type} prompts in {call.region}: "
            "see ListModels"
        )
    return config


KIND = ai_resources.Kind(
    family=AI_PROMPT,
    versions=AI_PROMPT_VERSION,
    member="aiPrompt",
    operation_stem="AIPrompt",
    members=("templateType", "modelId", "apiFormat", "templateConfiguration", "inferenceConfiguration"),
    updatable=("templateConfiguration", "modelId", "inferenceConfiguration"),
    summary_members=("templateType", "modelId", "apiFormat"),
    check=_check,
    system=system_ai.prompts,
)


def _referenced_by(
    conn: Connection, call: Call, assistant: Any, resource: ai_resources.Resource, number: int | None
) -> str | None:
    if number is None:
        # DeleteAIPrompt models no ConflictException: agents naming it fall back to the system prompt.
        return None
    return system_ai.agent_naming(conn, call, assistant, resource.id, number)


ai_resources.register(KIND, _referenced_by)
