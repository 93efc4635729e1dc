"""AI prompts, agents and guardrails: checked when stored, versioned as immutable snapshots, named by
each other, with SYSTEM prompts and agents every assistant has; the assistant's default agents and
the models its Region offers."""

from __future__ import annotations

from typing import Any

import pytest

ANSWER = "prompt: |\n  Answer {{$.query}} using only {{$.contentExcerpt}}\n"
REFORMULATE = "messages:\n  - role: user\n    content: 'Make a search query of {{$.transcript}}'\n"
MODEL = "us.amazon.nova-pro-v1:0"


@pytest.fixture
def assistant_id(qc: Any) -> str:
    result: str = qc.create_assistant(name="support", type="AGENT")["assistant"]["assistantId"]
    return result


def make_prompt(
    qc: Any,
    assistant_id: str,
    name: str = "answers",
    *,
    text: str = ANSWER,
    prompt_type: str = "ANSWER_GENERATION",
    api_format: str = "TEXT_COMPLETIONS",
    model: str = MODEL,
) -> dict[str, Any]:
    prompt: dict[str, Any] = qc.create_ai_prompt(
        assistantId=assistant_id,
        name=name,
        type=prompt_type,
        templateType="TEXT",
        apiFormat=api_format,
        modelId=model,
        visibilityStatus="PUBLISHED",
        templateConfiguration={"textFullAIPromptEditTemplateConfiguration": {"text": text}},
    )["aiPrompt"]
    return prompt


def make_agent(qc: Any, assistant_id: str, settings: dict[str, Any], name: str = "search") -> dict[str, Any]:
    agent: dict[str, Any] = qc.create_ai_agent(
        assistantId=assistant_id,
        name=name,
        type="MANUAL_SEARCH",
        visibilityStatus="PUBLISHED",
        configuration={"manualSearchAIAgentConfiguration": settings},
    )["aiAgent"]
    return agent


def make_guardrail(qc: Any, assistant_id: str, name: str = "polite", **policies: Any) -> dict[str, Any]:
    guardrail: dict[str, Any] = qc.create_ai_guardrail(
        assistantId=assistant_id,
        name=name,
        blockedInputMessaging="Let's keep it friendly.",
        blockedOutputsMessaging="I can't answer that.",
        visibilityStatus="PUBLISHED",
        **policies,
    )["aiGuardrail"]
    return guardrail


# -- SYSTEM prompts and agents ---------------------------------------------------------------------


def test_every_assistant_has_a_system_prompt_of_each_type(qc: Any, assistant_id: str) -> None:
    system = qc.list_ai_prompts(assistantId=assistant_id, origin="SYSTEM")["aiPromptSummaries"]
    assert len(system) == 12
    assert {p["origin"] for p in system} == {"SYSTEM"}
    answer = next(p for p in system if p["type"] == "ANSWER_GENERATION")
    assert answer["name"] == "QConnectLocal-AnswerGeneration"
    got = qc.get_ai_prompt(assistantId=assistant_id, aiPromptId=answer["aiPromptId"] + ":1")
    assert got["versionNumber"] == 1
    assert (
        "{{$.contentExcerpt}}"
        in got["aiPrompt"]["templateConfiguration"]["textFullAIPromptEditTemplateConfiguration"]["text"]
    )
    other = qc.create_assistant(name="other", type="AGENT")["assistant"]["assistantId"]
    others = qc.list_ai_prompts(assistantId=other, origin="SYSTEM")["aiPromptSummaries"]
    assert not {p["aiPromptId"] for p in others} & {p["aiPromptId"] for p in system}


def test_system_resources_are_neither_changed_nor_deleted(qc: Any, assistant_id: str) -> None:
    prompt = qc.list_ai_prompts(assistantId=assistant_id, origin="SYSTEM")["aiPromptSummaries"][0]
    with pytest.raises(qc.exceptions.ValidationException, match="SYSTEM"):
        qc.delete_ai_prompt(assistantId=assistant_id, aiPromptId=prompt["aiPromptId"])
    with pytest.raises(qc.exceptions.ValidationException, match="SYSTEM"):
        qc.update_ai_prompt(
            assistantId=assistant_id, aiPromptId=prompt["aiPromptId"], visibilityStatus="SAVED"
        )
    agent = qc.list_ai_agents(assistantId=assistant_id, origin="SYSTEM")["aiAgentSummaries"][0]
    with pytest.raises(qc.exceptions.ValidationException, match="SYSTEM"):
        qc.create_ai_agent_version(assistantId=assistant_id, aiAgentId=agent["aiAgentId"])


def test_system_agents_name_the_system_prompts(qc: Any, assistant_id: str) -> None:
    agents = qc.list_ai_agents(assistantId=assistant_id, origin="SYSTEM")["aiAgentSummaries"]
    assert len(agents) == 9
    search = next(a for a in agents if a["type"] == "MANUAL_SEARCH")
    prompt_id = search["configuration"]["manualSearchAIAgentConfiguration"]["answerGenerationAIPromptId"]
    prompt = qc.get_ai_prompt(assistantId=assistant_id, aiPromptId=prompt_id)
    assert prompt["aiPrompt"]["type"] == "ANSWER_GENERATION"
    assert prompt["aiPrompt"]["origin"] == "SYSTEM"


def test_lists_show_system_ones_first_then_the_customers_across_pages(qc: Any, assistant_id: str) -> None:
    mine = make_prompt(qc, assistant_id)
    seen, token = [], None
    while True:
        page = qc.list_ai_prompts(
            assistantId=assistant_id, maxResults=5, **({"nextToken": token} if token else {})
        )
        seen += page["aiPromptSummaries"]
        token = page.get("nextToken")
        if not token:
            break
    assert [p["origin"] for p in seen] == ["SYSTEM"] * 12 + ["CUSTOMER"]
    assert seen[-1]["aiPromptId"] == mine["aiPromptId"]
    customer = qc.list_ai_prompts(assistantId=assistant_id, origin="CUSTOMER")["aiPromptSummaries"]
    assert [p["aiPromptId"] for p in customer] == [mine["aiPromptId"]]


# -- prompts ---------------------------------------------------------------------------------------


def test_an_answer_generation_prompt_must_use_the_content_excerpt(qc: Any, assistant_id: str) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match=r"contentExcerpt"):
        make_prompt(qc, assistant_id, text="prompt: Answer {{$.query}}\n")


def test_a_variable_not_documented_for_the_type_is_refused(qc: Any, assistant_id: str) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match=r"transcript"):
        make_prompt(qc, assistant_id, text="prompt: '{{$.contentExcerpt}} {{$.transcript}}'\n")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("system: only a system\n", "messages"),
        ("messages:\n  - role: robot\n    content: hi {{$.transcript}}\n", "role"),
        ("messages: [unclosed\n", "YAML"),
    ],
)
def test_a_messages_template_is_checked_field_by_field(
    qc: Any, assistant_id: str, text: str, field: str
) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match=field):
        make_prompt(qc, assistant_id, text=text, prompt_type="QUERY_REFORMULATION", api_format="MESSAGES")


def test_the_model_must_be_offered_in_the_region(qc: Any, make_client: Any, assistant_id: str) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match="ListModels"):
        make_prompt(qc, assistant_id, model="eu.amazon.nova-pro-v1:0")
    europe = make_client(region="eu-central-1")
    european = europe.create_assistant(name="eu", type="AGENT")["assistant"]["assistantId"]
    assert (
        make_prompt(europe, european, model="eu.amazon.nova-pro-v1:0")["modelId"] == "eu.amazon.nova-pro-v1:0"
    )


def test_names_are_unique_per_assistant(qc: Any, assistant_id: str) -> None:
    make_prompt(qc, assistant_id)
    with pytest.raises(qc.exceptions.ConflictException):
        make_prompt(qc, assistant_id)


def test_an_update_changes_the_template_and_keeps_the_fixed_members(qc: Any, assistant_id: str) -> None:
    prompt = make_prompt(qc, assistant_id)
    changed = "prompt: |\n  Reply briefly to {{$.query}} from {{$.contentExcerpt}}\n"
    updated = qc.update_ai_prompt(
        assistantId=assistant_id,
        aiPromptId=prompt["aiPromptId"],
        visibilityStatus="SAVED",
        templateConfiguration={"textFullAIPromptEditTemplateConfiguration": {"text": changed}},
    )["aiPrompt"]
    assert updated["visibilityStatus"] == "SAVED"
    assert updated["templateConfiguration"]["textFullAIPromptEditTemplateConfiguration"]["text"] == changed
    assert (updated["name"], updated["type"], updated["apiFormat"]) == (
        "answers",
        "ANSWER_GENERATION",
        "TEXT_COMPLETIONS",
    )
    with pytest.raises(qc.exceptions.ValidationException, match="contentExcerpt"):
        qc.update_ai_prompt(
            assistantId=assistant_id,
            aiPromptId=prompt["aiPromptId"],
            visibilityStatus="SAVED",
            templateConfiguration={
                "textFullAIPromptEditTemplateConfiguration": {"text": "prompt: 'Just {{$.query}}'"}
            },
        )


# -- versions --------------------------------------------------------------------------------------


def test_versions_are_immutable_snapshots_numbered_from_one(qc: Any, assistant_id: str) -> None:
    prompt = make_prompt(qc, assistant_id)
    prompt_id = prompt["aiPromptId"]
    first = qc.create_ai_prompt_version(assistantId=assistant_id, aiPromptId=prompt_id)
    assert first["versionNumber"] == 1
    qc.update_ai_prompt(
        assistantId=assistant_id, aiPromptId=prompt_id, visibilityStatus="SAVED", description="new"
    )
    assert qc.create_ai_prompt_version(assistantId=assistant_id, aiPromptId=prompt_id)["versionNumber"] == 2
    old = qc.get_ai_prompt(assistantId=assistant_id, aiPromptId=f"{prompt_id}:1")
    assert (old["versionNumber"], old["aiPrompt"]["visibilityStatus"]) == (1, "PUBLISHED")
    assert "description" not in old["aiPrompt"]
    current = qc.get_ai_prompt(assistantId=assistant_id, aiPromptId=f"{prompt_id}:$LATEST")
    assert current["aiPrompt"]["description"] == "new"
    assert "versionNumber" not in current
    listed = qc.list_ai_prompt_versions(assistantId=assistant_id, aiPromptId=prompt_id)[
        "aiPromptVersionSummaries"
    ]
    assert [v["versionNumber"] for v in listed] == [1, 2]
    assert listed[0]["aiPromptSummary"]["aiPromptId"] == prompt_id
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.get_ai_prompt(assistantId=assistant_id, aiPromptId=f"{prompt_id}:3")


def test_a_version_is_refused_when_the_resource_changed_after_modified_time(
    qc: Any, assistant_id: str
) -> None:
    prompt = make_prompt(qc, assistant_id)
    seen = prompt["modifiedTime"]
    assert qc.create_ai_prompt_version(
        assistantId=assistant_id, aiPromptId=prompt["aiPromptId"], modifiedTime=seen
    )
    qc.update_ai_prompt(assistantId=assistant_id, aiPromptId=prompt["aiPromptId"], visibilityStatus="SAVED")
    with pytest.raises(qc.exceptions.ConflictException, match="modified"):
        qc.create_ai_prompt_version(
            assistantId=assistant_id, aiPromptId=prompt["aiPromptId"], modifiedTime=seen
        )


def test_a_version_an_agent_names_cannot_be_deleted(qc: Any, assistant_id: str) -> None:
    prompt_id = make_prompt(qc, assistant_id)["aiPromptId"]
    qc.create_ai_prompt_version(assistantId=assistant_id, aiPromptId=prompt_id)
    qc.create_ai_prompt_version(assistantId=assistant_id, aiPromptId=prompt_id)
    make_agent(qc, assistant_id, {"answerGenerationAIPromptId": f"{prompt_id}:1"})
    with pytest.raises(qc.exceptions.ConflictException, match="AI agent"):
        qc.delete_ai_prompt_version(assistantId=assistant_id, aiPromptId=prompt_id, versionNumber=1)
    qc.delete_ai_prompt_version(assistantId=assistant_id, aiPromptId=prompt_id, versionNumber=2)
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.get_ai_prompt(assistantId=assistant_id, aiPromptId=f"{prompt_id}:2")


# -- agents ----------------------------------------------------------------------------------------


def test_an_agents_configuration_must_be_its_types(qc: Any, assistant_id: str) -> None:
    with pytest.raises(qc.exceptions.ValidationException, match="manualSearchAIAgentConfiguration"):
        qc.create_ai_agent(
            assistantId=assistant_id,
            name="x",
            type="MANUAL_SEARCH",
            visibilityStatus="PUBLISHED",
            configuration={"selfServiceAIAgentConfiguration": {}},
        )


def test_an_agent_names_existing_prompts_of_the_slots_type(qc: Any, assistant_id: str) -> None:
    unknown = "3f6e2b7a-1c4d-4e5f-8a9b-0c1d2e3f4a5b"
    with pytest.raises(qc.exceptions.ResourceNotFoundException, match="answerGenerationAIPromptId"):
        make_agent(qc, assistant_id, {"answerGenerationAIPromptId": unknown})
    reformulation = make_prompt(
        qc,
        assistant_id,
        "reformulate",
        text=REFORMULATE,
        prompt_type="QUERY_REFORMULATION",
        api_format="MESSAGES",
    )
    with pytest.raises(qc.exceptions.ValidationException, match="ANSWER_GENERATION"):
        make_agent(qc, assistant_id, {"answerGenerationAIPromptId": reformulation["aiPromptId"]})
    answers = make_prompt(qc, assistant_id)
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        make_agent(qc, assistant_id, {"answerGenerationAIPromptId": answers["aiPromptId"] + ":4"})
    agent = make_agent(qc, assistant_id, {"answerGenerationAIPromptId": answers["aiPromptId"]})
    assert agent["origin"] == "CUSTOMER"


def test_an_agent_names_existing_guardrails_and_associations(qc: Any, assistant_id: str) -> None:
    unknown = "3f6e2b7a-1c4d-4e5f-8a9b-0c1d2e3f4a5b"
    with pytest.raises(qc.exceptions.ResourceNotFoundException, match="answerGenerationAIGuardrailId"):
        make_agent(qc, assistant_id, {"answerGenerationAIGuardrailId": unknown})
    with pytest.raises(qc.exceptions.ResourceNotFoundException, match="associationId"):
        make_agent(qc, assistant_id, {"associationConfigurations": [{"associationId": unknown}]})
    guardrail = make_guardrail(qc, assistant_id)
    agent = make_agent(qc, assistant_id, {"answerGenerationAIGuardrailId": guardrail["aiGuardrailId"]})
    with pytest.raises(qc.exceptions.ConflictException, match=agent["aiAgentId"]):
        qc.delete_ai_guardrail(assistantId=assistant_id, aiGuardrailId=guardrail["aiGuardrailId"])


# -- guardrails ------------------------------------------------------------------------------------


def test_a_guardrail_is_deleted_with_202(qc: Any, assistant_id: str) -> None:
    guardrail = make_guardrail(qc, assistant_id)
    answer = qc.delete_ai_guardrail(assistantId=assistant_id, aiGuardrailId=guardrail["aiGuardrailId"])
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.get_ai_guardrail(assistantId=assistant_id, aiGuardrailId=guardrail["aiGuardrailId"])


def test_at_most_three_custom_guardrails_per_assistant(qc: Any, assistant_id: str) -> None:
    for n in range(3):
        make_guardrail(qc, assistant_id, f"g{n}")
    with pytest.raises(qc.exceptions.ServiceQuotaExceededException):
        make_guardrail(qc, assistant_id, "g3")


def test_a_guardrail_that_cannot_compile_is_refused(qc: Any, assistant_id: str) -> None:
    regexes = {"regexesConfig": [{"name": "broken", "pattern": "([a-z", "action": "BLOCK"}]}
    with pytest.raises(qc.exceptions.ValidationException, match="pattern"):
        make_guardrail(qc, assistant_id, sensitiveInformationPolicyConfig=regexes)


def test_an_update_replaces_the_policies(qc: Any, assistant_id: str) -> None:
    words = {"wordsConfig": [{"text": "darn"}]}
    guardrail = make_guardrail(qc, assistant_id, wordPolicyConfig=words)
    assert guardrail["wordPolicyConfig"] == words
    content = {"filtersConfig": [{"type": "INSULTS", "inputStrength": "HIGH", "outputStrength": "HIGH"}]}
    updated = qc.update_ai_guardrail(
        assistantId=assistant_id,
        aiGuardrailId=guardrail["aiGuardrailId"],
        visibilityStatus="PUBLISHED",
        blockedInputMessaging="No.",
        blockedOutputsMessaging="No!",
        contentPolicyConfig=content,
    )["aiGuardrail"]
    assert updated["contentPolicyConfig"] == content
    assert "wordPolicyConfig" not in updated
    assert updated["blockedOutputsMessaging"] == "No!"


# -- the assistant's default agents and models -----------------------------------------------------


def test_the_assistant_runs_the_agent_it_is_given(qc: Any, assistant_id: str) -> None:
    agent = make_agent(qc, assistant_id, {})
    version = qc.create_ai_agent_version(assistantId=assistant_id, aiAgentId=agent["aiAgentId"])[
        "versionNumber"
    ]
    named = f"{agent['aiAgentId']}:{version}"
    assistant = qc.update_assistant_ai_agent(
        assistantId=assistant_id, aiAgentType="MANUAL_SEARCH", configuration={"aiAgentId": named}
    )["assistant"]
    assert assistant["aiAgentConfiguration"] == {"MANUAL_SEARCH": {"aiAgentId": named}}
    with pytest.raises(qc.exceptions.ConflictException, match="default AI agents"):
        qc.delete_ai_agent_version(
            assistantId=assistant_id, aiAgentId=agent["aiAgentId"], versionNumber=version
        )
    qc.remove_assistant_ai_agent(assistantId=assistant_id, aiAgentType="MANUAL_SEARCH")
    assert "aiAgentConfiguration" not in qc.get_assistant(assistantId=assistant_id)["assistant"]
    qc.delete_ai_agent_version(assistantId=assistant_id, aiAgentId=agent["aiAgentId"], versionNumber=version)


def test_the_default_agent_must_be_of_the_type_it_is_set_for(qc: Any, assistant_id: str) -> None:
    agent = make_agent(qc, assistant_id, {})
    with pytest.raises(qc.exceptions.ValidationException, match="MANUAL_SEARCH"):
        qc.update_assistant_ai_agent(
            assistantId=assistant_id,
            aiAgentType="SELF_SERVICE",
            configuration={"aiAgentId": agent["aiAgentId"]},
        )
    with pytest.raises(qc.exceptions.ValidationException, match="ANSWER_RECOMMENDATION"):
        qc.update_assistant_ai_agent(
            assistantId=assistant_id,
            aiAgentType="MANUAL_SEARCH",
            configuration={"aiAgentId": agent["aiAgentId"], "enabled": False},
        )


def test_an_orchestrator_use_case_fills_the_orchestrator_list(qc: Any, assistant_id: str) -> None:
    orchestration = next(
        a
        for a in qc.list_ai_agents(assistantId=assistant_id, origin="SYSTEM")["aiAgentSummaries"]
        if a["type"] == "ORCHESTRATION"
    )
    assistant = qc.update_assistant_ai_agent(
        assistantId=assistant_id,
        aiAgentType="ORCHESTRATION",
        configuration={"aiAgentId": orchestration["aiAgentId"]},
        orchestratorUseCase="Connect.SelfService",
    )["assistant"]
    assert assistant["orchestratorConfigurationList"] == [
        {"aiAgentId": orchestration["aiAgentId"], "orchestratorUseCase": "Connect.SelfService"}
    ]
    qc.remove_assistant_ai_agent(
        assistantId=assistant_id, aiAgentType="ORCHESTRATION", orchestratorUseCase="Connect.SelfService"
    )
    assert "orchestratorConfigurationList" not in qc.get_assistant(assistantId=assistant_id)["assistant"]


def test_list_models_serves_the_regions_table_with_its_filters(qc: Any, assistant_id: str) -> None:
    models = qc.list_models(assistantId=assistant_id)["modelSummaries"]
    assert MODEL in {m["modelId"] for m in models}
    assert not any(m["modelId"].startswith("eu.") for m in models)
    legacy = qc.list_models(assistantId=assistant_id, modelLifecycle="LEGACY")["modelSummaries"]
    assert all(m["modelLifecycle"] == "LEGACY" for m in legacy)
    first = qc.list_models(assistantId=assistant_id, maxResults=2)
    rest = qc.list_models(assistantId=assistant_id, maxResults=100, nextToken=first["nextToken"])
    assert [m["modelId"] for m in first["modelSummaries"] + rest["modelSummaries"]] == [
        m["modelId"] for m in models
    ]


# -- hostile identifiers and references -------------------------------------------------------------


def test_a_version_number_too_large_for_any_store_names_nothing(qc: Any, assistant_id: str) -> None:
    prompt_id = make_prompt(qc, assistant_id)["aiPromptId"]
    for qualifier in ("9" * 40, "0"):
        with pytest.raises(qc.exceptions.ResourceNotFoundException):
            qc.get_ai_prompt(assistantId=assistant_id, aiPromptId=f"{prompt_id}:{qualifier}")
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        make_agent(qc, assistant_id, {"answerGenerationAIPromptId": f"{prompt_id}:{'9' * 30}"})


def test_a_reference_by_arn_is_in_use_as_much_as_one_by_id(qc: Any, assistant_id: str) -> None:
    prompt = make_prompt(qc, assistant_id)
    qc.create_ai_prompt_version(assistantId=assistant_id, aiPromptId=prompt["aiPromptId"])
    agent = make_agent(qc, assistant_id, {"answerGenerationAIPromptId": prompt["aiPromptArn"] + ":1"})
    named = agent["configuration"]["manualSearchAIAgentConfiguration"]["answerGenerationAIPromptId"]
    assert named == f"{prompt['aiPromptId']}:1"
    with pytest.raises(qc.exceptions.ConflictException):
        qc.delete_ai_prompt_version(
            assistantId=assistant_id, aiPromptId=prompt["aiPromptId"], versionNumber=1
        )


def test_a_guardrail_takes_at_most_ten_thousand_words(qc_unvalidated: Any, assistant_id: str) -> None:
    words = {"wordsConfig": [{"text": f"w{i}"} for i in range(10_001)]}
    with pytest.raises(qc_unvalidated.exceptions.ValidationException, match="10,000"):
        make_guardrail(qc_unvalidated, assistant_id, wordPolicyConfig=words)
