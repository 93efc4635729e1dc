"""The console's AI agents, prompts and guardrails: lists with their origin, `$LATEST` and the
versions side by side, the assistant's default version, links from an agent to what it names,
and a prompt rendered with one session's values."""

from __future__ import annotations

from typing import Any

from browser import Console

MODEL = "us.amazon.nova-pro-v1:0"
ANSWER = "prompt: |\n  Answer {{$.query}} using only {{$.contentExcerpt}}\n"
REFORMULATE = (
    "messages:\n  - role: user\n    content: 'Search for order {{$.Custom.orderId}} given {{$.transcript}}'\n"
)


def _prompt(qc: Any, assistant_id: str, name: str, text: str, prompt_type: str, api_format: str) -> str:
    prompt = qc.create_ai_prompt(
        assistantId=assistant_id,
        name=name,
        type=prompt_type,
        templateType="TEXT",
        apiFormat=api_format,
        modelId=MODEL,
        visibilityStatus="PUBLISHED",
        templateConfiguration={"textFullAIPromptEditTemplateConfiguration": {"text": text}},
    )["aiPrompt"]
    prompt_id: str = prompt["aiPromptId"]
    return prompt_id


def test_an_agent_shows_latest_and_versions_side_by_side_and_links_its_prompt(console: Console) -> None:
    qc = console.client()
    assistant_id = qc.create_assistant(name="console-ai", type="AGENT")["assistant"]["assistantId"]
    prompt_id = _prompt(qc, assistant_id, "careful-answers", ANSWER, "ANSWER_GENERATION", "TEXT_COMPLETIONS")
    qc.create_ai_prompt_version(assistantId=assistant_id, aiPromptId=prompt_id)
    settings = {"manualSearchAIAgentConfiguration": {"answerGenerationAIPromptId": f"{prompt_id}:1"}}
    agent_id = qc.create_ai_agent(
        assistantId=assistant_id,
        name="search-desk",
        type="MANUAL_SEARCH",
        visibilityStatus="PUBLISHED",
        configuration=settings,
        description="as published",
    )["aiAgent"]["aiAgentId"]
    qc.create_ai_agent_version(assistantId=assistant_id, aiAgentId=agent_id)
    qc.update_ai_agent(
        assistantId=assistant_id, aiAgentId=agent_id, visibilityStatus="SAVED", description="a later draft"
    )
    qc.update_assistant_ai_agent(
        assistantId=assistant_id, aiAgentType="MANUAL_SEARCH", configuration={"aiAgentId": f"{agent_id}:1"}
    )

    page = console.open(f"assistants/{assistant_id}/ai-agents")
    system_row = page.get_by_role("row", name="QConnectLocal-ManualSearch")
    assert "SYSTEM" in system_row.inner_text()
    assert "CUSTOMER" in page.get_by_role("row", name="search-desk").inner_text()
    page.get_by_role("link", name="search-desk").click()
    page.wait_for_url(f"**/ai-agents/{agent_id}")

    latest, version = page.locator("section#latest"), page.locator("section#version-1")
    assert latest.get_by_role("heading", name="$LATEST").is_visible()
    assert version.get_by_role("heading", name="Version 1").is_visible()
    assert latest.is_visible() and version.is_visible()
    assert latest.bounding_box()["y"] == version.bounding_box()["y"]  # side by side, not stacked
    assert "a later draft" in latest.inner_text() and "SAVED" in latest.inner_text()
    assert "as published" in version.inner_text() and "PUBLISHED" in version.inner_text()
    assert "Default for MANUAL_SEARCH" in version.inner_text()
    assert "Default for" not in latest.inner_text()

    version.get_by_role("link", name="careful-answers").click()
    page.wait_for_url(f"**/ai-prompts/{prompt_id}#version-1")
    assert (
        "Answer {{$.query}} using only {{$.contentExcerpt}}"
        in page.locator("section#version-1 pre").first.inner_text()
    )


def test_a_prompt_preview_fills_its_variables_from_the_chosen_session(console: Console) -> None:
    qc = console.client()
    assistant_id = qc.create_assistant(name="console-preview", type="AGENT")["assistant"]["assistantId"]
    prompt_id = _prompt(qc, assistant_id, "find-order", REFORMULATE, "QUERY_REFORMULATION", "MESSAGES")
    session_id = qc.create_session(assistantId=assistant_id, name="contact-77")["session"]["sessionId"]
    qc.update_session_data(
        assistantId=assistant_id,
        sessionId=session_id,
        data=[{"key": "orderId", "value": {"stringValue": "A-42 <b>"}}],
    )

    page = console.open(f"assistants/{assistant_id}/ai-prompts/{prompt_id}")
    page.get_by_role("link", name="Preview with a session").click()
    page.wait_for_url("**/preview")
    assert page.locator("tr.variable-empty").count() == 2  # no session yet: nothing to fill them with
    page.get_by_label("Session").select_option(label=f"contact-77 ({session_id})")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_url(f"**/preview?session={session_id}*")

    filled = page.locator("tr.variable-filled")
    assert filled.count() == 1
    assert "{{$.Custom.orderId}}" in filled.inner_text() and "A-42 <b>" in filled.inner_text()
    assert "{{$.transcript}}" in page.locator("tr.variable-empty").inner_text()
    assert page.locator("pre[data-part='message']").inner_text() == "Search for order A-42 <b> given "
