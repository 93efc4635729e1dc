"""The models an assistant's AI prompts may name, per AWS Region (what ListModels returns).

Pure data, from the Amazon Connect admin guide's table "models supported by system and custom prompts".
`list_models` gives `ModelSummary` dicts (member names as in the API model) in the table's order for
the Region: the in-Region model(s) first, then the cross-Region inference profiles as the guide lists
them. What the guide does not say is this emulator's choice:

* Regions: us-east-1, us-west-2, ca-central-1, eu-west-2, eu-central-1, ap-northeast-1,
  ap-northeast-2, ap-southeast-1 and ap-southeast-2 are in the table. Any other Region (including a
  made-up local one) gets the us-east-1 list, so an emulator run under any Region name works.
* `displayName`: Bedrock's style: "Anthropic Claude 3 Haiku" for an in-Region model, and "US ...",
  "EU ...", "APAC ..." for a cross-Region inference profile.
* `crossRegionStatus`: `REGIONAL` for a `us.`/`eu.`/`apac.` inference profile, `NONE` otherwise
  (no `global.` profile is listed, so nothing is `GLOBAL`).
* `supportsPromptCaching`: true for the models the guide names (Claude Sonnet 4, 3.7 Sonnet,
  3.5 Haiku, Nova Pro/Lite/Micro); false for Claude 3 Haiku and Claude 3.5 Sonnet v2.
* `supportedAIPromptTypes`: every model supports all twelve AI prompt types (AWS documents no
  exception).
* `modelLifecycle`: `LEGACY` for Claude 3.5 Sonnet v2 (Anthropic retired the Claude 3.5 Sonnet models
  during 2025), `ACTIVE` for all others. No `legacyTimestamp`/`endOfLifeTimestamp` is given, and
  `globalResiliencyStatus` is omitted (it is present only for callers to which global resiliency
  applies).
* A model may also be named by its Bedrock ARN (`arn:aws:bedrock:...:foundation-model/<id>` or
  `...:inference-profile/<id>`); `is_offered` reads the id from it.

`default_model(region, prompt_type)` is the model of the system prompts: in the US, the guide's
defaults (Claude 3.7 Sonnet for agent-assist answers, Nova Pro for self-service and orchestration,
Nova Lite for prompts that do not use the knowledge base); elsewhere the nearest equivalent the
Region offers, by a fixed preference list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from qconnect_local.engine.prompt_templates import PROMPT_TYPES

FALLBACK_REGION: Final = "us-east-1"
LIFECYCLES: Final = ("ACTIVE", "LEGACY")

# Base model id -> (display name, supports prompt caching, lifecycle).
_BASE_MODELS: Final[Mapping[str, tuple[str, bool, str]]] = {
    "anthropic.claude-3-haiku-20240307-v1:0": ("Anthropic Claude 3 Haiku", False, "ACTIVE"),
    "anthropic.claude-3-5-haiku-20241022-v1:0": ("Anthropic Claude 3.5 Haiku", True, "ACTIVE"),
    "anthropic.claude-3-5-sonnet-20241022-v2:0": ("Anthropic Claude 3.5 Sonnet v2", False, "LEGACY"),
    "anthropic.claude-3-7-sonnet-20250219-v1:0": ("Anthropic Claude 3.7 Sonnet", True, "ACTIVE"),
    "anthropic.claude-sonnet-4-20250514-v1:0": ("Anthropic Claude Sonnet 4", True, "ACTIVE"),
    "amazon.nova-pro-v1:0": ("Amazon Nova Pro", True, "ACTIVE"),
    "amazon.nova-lite-v1:0": ("Amazon Nova Lite", True, "ACTIVE"),
    "amazon.nova-micro-v1:0": ("Amazon Nova Micro", True, "ACTIVE"),
}
_GEO_PREFIXES: Final = {"us": "US", "eu": "EU", "apac": "APAC"}

_HAIKU3: Final = "anthropic.claude-3-haiku-20240307-v1:0"
_HAIKU35: Final = "anthropic.claude-3-5-haiku-20241022-v1:0"
_SONNET35: Final = "anthropic.claude-3-5-sonnet-20241022-v2:0"
_SONNET37: Final = "anthropic.claude-3-7-sonnet-20250219-v1:0"
_SONNET4: Final = "anthropic.claude-sonnet-4-20250514-v1:0"
_NOVA: Final = ("amazon.nova-pro-v1:0", "amazon.nova-lite-v1:0", "amazon.nova-micro-v1:0")


def _profiles(geo: str, *bases: str) -> tuple[str, ...]:
    return tuple(f"{geo}.{base}" for base in bases)


_US: Final = (_HAIKU3, *_profiles("us", _HAIKU3, _HAIKU35, _SONNET37, _SONNET4, *_NOVA))
_EU: Final = (_HAIKU3, *_profiles("eu", _HAIKU3, _SONNET37, _SONNET4, *_NOVA))
_APAC: Final = (_HAIKU3, *_profiles("apac", _HAIKU3, _SONNET35, _SONNET4, *_NOVA))

REGION_MODELS: Final[Mapping[str, tuple[str, ...]]] = {
    "us-east-1": _US,
    "us-west-2": _US,
    "ca-central-1": (_HAIKU3,),
    "eu-west-2": (_HAIKU3, _SONNET37),
    "eu-central-1": _EU,
    "ap-northeast-1": _APAC,
    "ap-northeast-2": _APAC,
    "ap-southeast-1": _APAC,
    "ap-southeast-2": _APAC,
}

# System-prompt model roles, each a preference list of base models (the first the Region offers wins).
_RAG_ANSWER: Final = (_SONNET37, _SONNET4, _SONNET35, _HAIKU35, _HAIKU3)
_SELF_SERVICE: Final = ("amazon.nova-pro-v1:0", *_RAG_ANSWER)
_LIGHT: Final = ("amazon.nova-lite-v1:0", _HAIKU35, _HAIKU3)
_ROLE_OF_TYPE: Final[Mapping[str, tuple[str, ...]]] = {
    "ANSWER_GENERATION": _RAG_ANSWER,
    "EMAIL_RESPONSE": _RAG_ANSWER,
    "EMAIL_GENERATIVE_ANSWER": _RAG_ANSWER,
    "SELF_SERVICE_ANSWER_GENERATION": _SELF_SERVICE,
    "SELF_SERVICE_PRE_PROCESSING": _SELF_SERVICE,
    "ORCHESTRATION": _SELF_SERVICE,
    "INTENT_LABELING_GENERATION": _LIGHT,
    "QUERY_REFORMULATION": _LIGHT,
    "EMAIL_OVERVIEW": _LIGHT,
    "EMAIL_QUERY_REFORMULATION": _LIGHT,
    "NOTE_TAKING": _LIGHT,
    "CASE_SUMMARIZATION": _LIGHT,
}


def catalog_region(region: str) -> str:
    """The Region whose list applies: the Region itself if the table has it, else us-east-1."""
    return region if region in REGION_MODELS else FALLBACK_REGION


def list_models(
    region: str, *, prompt_type: str | None = None, lifecycle: str | None = None
) -> list[dict[str, Any]]:
    """ModelSummary dicts for the Region, in table order, filtered like ListModels' query parameters."""
    summaries = [_summary(model_id) for model_id in REGION_MODELS[catalog_region(region)]]
    return [
        summary
        for summary in summaries
        if (prompt_type is None or prompt_type in summary["supportedAIPromptTypes"])
        and (lifecycle is None or summary["modelLifecycle"] == lifecycle)
    ]


def is_offered(region: str, model_id: str, prompt_type: str) -> bool:
    """Whether an AI prompt of this type in this Region may name this model (id or Bedrock ARN)."""
    wanted = model_id_of(model_id)
    return any(summary["modelId"] == wanted for summary in list_models(region, prompt_type=prompt_type))


def default_model(region: str, prompt_type: str) -> str:
    """The model of the system prompt of this type in this Region."""
    offered = REGION_MODELS[catalog_region(region)]
    for base in _ROLE_OF_TYPE.get(prompt_type, _LIGHT):
        for model_id in offered:
            if _base_of(model_id) == base:
                return model_id
    return offered[0]


def model_id_of(reference: str) -> str:
    """The model id in a model id or a Bedrock foundation-model / inference-profile ARN."""
    if reference.startswith("arn:") and "/" in reference:
        resource = reference.split(":", 5)[-1]
        kind, _, rest = resource.partition("/")
        if kind in ("foundation-model", "inference-profile"):
            return rest
    return reference


def _base_of(model_id: str) -> str:
    """The foundation model behind an id: `us.amazon.nova-pro-v1:0` -> `amazon.nova-pro-v1:0`."""
    geo, _, rest = model_id.partition(".")
    return rest if geo in _GEO_PREFIXES else model_id


def _summary(model_id: str) -> dict[str, Any]:
    """One ModelSummary (a fresh dict, so a caller may change it)."""
    base = _base_of(model_id)
    name, caching, lifecycle = _BASE_MODELS[base]
    geo = model_id.partition(".")[0] if base != model_id else None
    return {
        "modelId": model_id,
        "displayName": f"{_GEO_PREFIXES[geo]} {name}" if geo else name,
        "crossRegionStatus": "REGIONAL" if geo else "NONE",
        "supportsPromptCaching": caching,
        "supportedAIPromptTypes": list(PROMPT_TYPES),
        "modelLifecycle": lifecycle,
    }
