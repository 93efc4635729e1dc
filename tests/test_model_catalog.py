"""The model catalog (engine/model_catalog.py docstring): what ListModels returns per Region."""

from __future__ import annotations

import pytest

from qconnect_local.engine.model_catalog import (
    REGION_MODELS,
    catalog_region,
    default_model,
    is_offered,
    list_models,
    model_id_of,
)
from qconnect_local.engine.prompt_templates import PROMPT_TYPES
from qconnect_local.spec import service_model

US_MODELS = [
    "anthropic.claude-3-haiku-20240307-v1:0",
    "us.anthropic.claude-3-haiku-20240307-v1:0",
    "us.anthropic.claude-3-5-haiku-20241022-v1:0",
    "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
    "us.anthropic.claude-sonnet-4-20250514-v1:0",
    "us.amazon.nova-pro-v1:0",
    "us.amazon.nova-lite-v1:0",
    "us.amazon.nova-micro-v1:0",
]


def ids(region: str, **filters: str) -> list[str]:
    return [summary["modelId"] for summary in list_models(region, **filters)]


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_the_us_regions_list_the_guides_models_in_order(region: str) -> None:
    assert ids(region) == US_MODELS


def test_the_other_regions_follow_the_guides_table() -> None:
    assert ids("ca-central-1") == ["anthropic.claude-3-haiku-20240307-v1:0"]
    assert ids("eu-west-2") == [
        "anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
    ]
    assert ids("eu-central-1") == [
        "anthropic.claude-3-haiku-20240307-v1:0",
        "eu.anthropic.claude-3-haiku-20240307-v1:0",
        "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "eu.anthropic.claude-sonnet-4-20250514-v1:0",
        "eu.amazon.nova-pro-v1:0",
        "eu.amazon.nova-lite-v1:0",
        "eu.amazon.nova-micro-v1:0",
    ]
    for region in ("ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2"):
        assert ids(region) == [
            "anthropic.claude-3-haiku-20240307-v1:0",
            "apac.anthropic.claude-3-haiku-20240307-v1:0",
            "apac.anthropic.claude-3-5-sonnet-20241022-v2:0",
            "apac.anthropic.claude-sonnet-4-20250514-v1:0",
            "apac.amazon.nova-pro-v1:0",
            "apac.amazon.nova-lite-v1:0",
            "apac.amazon.nova-micro-v1:0",
        ]


def test_an_unlisted_region_gets_the_us_east_1_list() -> None:
    assert catalog_region("eu-west-1") == "us-east-1"
    assert catalog_region("local") == "us-east-1"
    assert ids("eu-west-1") == US_MODELS
    assert catalog_region("eu-west-2") == "eu-west-2"


def test_summaries_use_the_model_shapes_members_and_enums() -> None:
    shape = service_model().shape_for("ModelSummary")
    enums = {
        "crossRegionStatus": set(shape.members["crossRegionStatus"].enum),
        "modelLifecycle": set(shape.members["modelLifecycle"].enum),
    }
    prompt_types = set(service_model().shape_for("AIPromptType").enum)
    for region in REGION_MODELS:
        for summary in list_models(region):
            assert set(summary) <= set(shape.members)
            assert set(shape.required_members) <= set(summary)
            assert 1 <= len(summary["modelId"]) <= 256 and 1 <= len(summary["displayName"]) <= 256
            for member, allowed in enums.items():
                assert summary[member] in allowed
            assert isinstance(summary["supportsPromptCaching"], bool)
            assert set(summary["supportedAIPromptTypes"]) <= prompt_types


def test_display_names_and_cross_region_status() -> None:
    by_id = {summary["modelId"]: summary for summary in list_models("us-east-1")}
    bare = by_id["anthropic.claude-3-haiku-20240307-v1:0"]
    assert (bare["displayName"], bare["crossRegionStatus"]) == ("Anthropic Claude 3 Haiku", "NONE")
    profile = by_id["us.amazon.nova-pro-v1:0"]
    assert (profile["displayName"], profile["crossRegionStatus"]) == ("US Amazon Nova Pro", "REGIONAL")
    assert list_models("ap-northeast-1")[4]["displayName"] == "APAC Amazon Nova Pro"


def test_prompt_caching_follows_the_guide() -> None:
    caching = {summary["modelId"]: summary["supportsPromptCaching"] for summary in list_models("us-east-1")}
    assert caching["us.anthropic.claude-3-7-sonnet-20250219-v1:0"] is True
    assert caching["us.amazon.nova-micro-v1:0"] is True
    assert caching["us.anthropic.claude-3-haiku-20240307-v1:0"] is False


def test_the_lifecycle_filter() -> None:
    assert ids("ap-northeast-1", lifecycle="LEGACY") == ["apac.anthropic.claude-3-5-sonnet-20241022-v2:0"]
    assert "apac.anthropic.claude-3-5-sonnet-20241022-v2:0" not in ids("ap-northeast-1", lifecycle="ACTIVE")
    assert ids("us-east-1", lifecycle="ACTIVE") == US_MODELS
    assert ids("us-east-1", lifecycle="LEGACY") == []


@pytest.mark.parametrize("prompt_type", PROMPT_TYPES)
def test_every_model_supports_every_prompt_type(prompt_type: str) -> None:
    assert ids("us-east-1", prompt_type=prompt_type) == US_MODELS


def test_results_are_fresh_copies() -> None:
    list_models("us-east-1")[0]["supportedAIPromptTypes"].clear()
    assert list_models("us-east-1")[0]["supportedAIPromptTypes"] == list(PROMPT_TYPES)


def test_is_offered() -> None:
    assert is_offered("us-east-1", "us.amazon.nova-pro-v1:0", "ANSWER_GENERATION")
    assert not is_offered("eu-central-1", "us.amazon.nova-pro-v1:0", "ANSWER_GENERATION")
    assert not is_offered("ca-central-1", "anthropic.claude-3-7-sonnet-20250219-v1:0", "QUERY_REFORMULATION")
    assert is_offered("eu-west-2", "anthropic.claude-3-7-sonnet-20250219-v1:0", "QUERY_REFORMULATION")
    assert not is_offered("us-east-1", "us.amazon.nova-pro-v1:0", "NOT_A_TYPE")
    assert not is_offered("us-east-1", "gpt-4", "ANSWER_GENERATION")


def test_a_model_may_be_named_by_its_bedrock_arn() -> None:
    profile = "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.amazon.nova-pro-v1:0"
    foundation = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    assert model_id_of(profile) == "us.amazon.nova-pro-v1:0"
    assert is_offered("us-east-1", profile, "ANSWER_GENERATION")
    assert is_offered("us-east-1", foundation, "ANSWER_GENERATION")
    assert model_id_of("arn:aws:bedrock:us-east-1:1:agent/x") == "arn:aws:bedrock:us-east-1:1:agent/x"


def test_default_models_in_the_us_are_the_guides() -> None:
    assert default_model("us-east-1", "ANSWER_GENERATION") == "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
    assert default_model("us-west-2", "SELF_SERVICE_ANSWER_GENERATION") == "us.amazon.nova-pro-v1:0"
    assert default_model("us-east-1", "SELF_SERVICE_PRE_PROCESSING") == "us.amazon.nova-pro-v1:0"
    assert default_model("us-east-1", "QUERY_REFORMULATION") == "us.amazon.nova-lite-v1:0"


def test_default_models_elsewhere_are_offered_equivalents() -> None:
    assert (
        default_model("ap-southeast-2", "ANSWER_GENERATION") == "apac.anthropic.claude-sonnet-4-20250514-v1:0"
    )
    assert (
        default_model("eu-west-2", "SELF_SERVICE_PRE_PROCESSING")
        == "anthropic.claude-3-7-sonnet-20250219-v1:0"
    )
    assert default_model("ca-central-1", "ORCHESTRATION") == "anthropic.claude-3-haiku-20240307-v1:0"
    assert default_model("eu-central-1", "NOTE_TAKING") == "eu.amazon.nova-lite-v1:0"


@pytest.mark.parametrize("region", [*REGION_MODELS, "sa-east-1"])
@pytest.mark.parametrize("prompt_type", PROMPT_TYPES)
def test_every_default_model_is_offered(region: str, prompt_type: str) -> None:
    assert is_offered(region, default_model(region, prompt_type), prompt_type)
