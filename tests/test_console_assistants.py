"""The console's assistant pages: assistants with their associations and sessions; a session's
transcript (posted from its page), its recommendation queue and its conversation with citations
that lead to the cited passage; and one SendMessage turn's span tree."""

from __future__ import annotations

import time
from typing import Any

import pytest

from browser import Console
from documents import create_content, custom_kb, wait_for_content

REFUNDS = "Refunds are paid within 5 business days. A refund goes back to the original card."
SHIPPING = "Parcels ship from our warehouse in Ohio. Delivery takes three days."
QUESTION = "When are refunds paid back to my card?"
HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"


@pytest.fixture
def helpdesk(console: Console) -> dict[str, str]:
    """An assistant answering from a knowledge base of two documents, and a session."""
    qc = console.client()
    kb_id = custom_kb(qc, name="console-helpdesk-docs")["knowledgeBaseId"]
    contents = {}
    for name, text in (("refunds", REFUNDS), ("shipping", SHIPPING)):
        content = create_content(console.target(), qc, kb_id, name, text.encode())
        wait_for_content(qc, kb_id, content["contentId"])
        contents[name] = content["contentId"]
    assistant_id = qc.create_assistant(name="console-helper", type="AGENT", tags={"team": "support"})[
        "assistant"
    ]["assistantId"]
    qc.create_assistant_association(
        assistantId=assistant_id, associationType="KNOWLEDGE_BASE", association={"knowledgeBaseId": kb_id}
    )
    session_id = qc.create_session(
        assistantId=assistant_id, name="contact-4711", description="a call about money"
    )["session"]["sessionId"]
    qc.update_session_data(
        assistantId=assistant_id,
        sessionId=session_id,
        data=[{"key": "tier", "value": {"stringValue": "gold"}}],
    )
    return {"assistant": assistant_id, "session": session_id, "kb": kb_id, "refunds": contents["refunds"]}


def answer_of(qc: Any, ids: dict[str, str], text: str) -> dict[str, Any]:
    """SendMessage, then GetNextMessage until the last answer has come."""
    sent = qc.send_message(
        assistantId=ids["assistant"],
        sessionId=ids["session"],
        type="TEXT",
        message={"value": {"text": {"value": text}}},
    )
    token, last, deadline = sent["nextMessageToken"], None, time.monotonic() + 30
    while token:
        last = qc.get_next_message(
            assistantId=ids["assistant"], sessionId=ids["session"], nextMessageToken=token
        )
        token = last.get("nextMessageToken")
        assert time.monotonic() < deadline, "the answer never came"
    assert last is not None
    return last


def test_an_utterance_posted_from_the_session_page_is_in_its_transcript_with_its_recommendations(
    console: Console, helpdesk: dict[str, str]
) -> None:
    page = console.open("assistants")
    page.get_by_role("link", name="console-helper").click()
    page.wait_for_url("**/assistants/" + helpdesk["assistant"])
    assert "team = support" in page.locator("table.fields").inner_text()
    assert page.get_by_role("link", name="AI agents").get_attribute("href", timeout=1000) == console.url(
        f"assistants/{helpdesk['assistant']}/ai-agents"
    ).removeprefix(console.server.url)
    association = page.locator("#associations ~ table").first.get_by_role("link")
    assert association.get_attribute("href") == console.url(f"knowledge-bases/{helpdesk['kb']}").removeprefix(
        console.server.url
    )
    page.get_by_role("link", name="contact-4711").click()
    page.wait_for_url("**/sessions/" + helpdesk["session"])
    assert page.locator("#custom-data").inner_text().split() == ["Key", "Value", "tier", "gold"]
    assert page.get_by_text("No utterance yet.").is_visible()

    page.get_by_label("Participant").select_option("CUSTOMER")
    page.get_by_label("Utterance").fill(QUESTION)
    page.get_by_role("button", name="Add utterance").click()
    page.wait_for_url("**/sessions/" + helpdesk["session"] + "#transcript")
    turns = page.locator("#transcript-turns li")
    assert turns.count() == 1
    assert turns.first.inner_text().startswith("CUSTOMER")
    assert turns.first.locator(".utterance").inner_text() == QUESTION

    # The customer's question queued the refunds document, under a QUERY trigger; reading the
    # page took nothing off the queue.
    trigger = page.locator("#triggers > li")
    assert trigger.count() == 1
    assert "QUERY trigger from ISSUE_DETECTION" in trigger.inner_text()
    recommendation = trigger.locator("tr.recommendation")
    assert recommendation.count() == 1
    assert recommendation.get_by_role("link", name="refunds").get_attribute("href") == console.url(
        f"knowledge-bases/{helpdesk['kb']}/contents/{helpdesk['refunds']}"
    ).removeprefix(console.server.url)
    assert recommendation.locator("td").last.inner_text() == "queued"
    queued = console.client().get_recommendations(
        assistantId=helpdesk["assistant"], sessionId=helpdesk["session"]
    )
    assert [r["document"]["contentReference"]["contentId"] for r in queued["recommendations"]] == [
        helpdesk["refunds"]
    ]

    # An agent's utterance is shown as the text it is, never as markup.
    page.get_by_label("Participant").select_option("AGENT")
    page.get_by_label("Utterance").fill(HOSTILE)
    page.get_by_role("button", name="Add utterance").click()
    page.wait_for_url("**#transcript")
    assert turns.count() == 2
    assert turns.nth(1).inner_text().startswith("AGENT")
    assert turns.nth(1).locator(".utterance").inner_text() == HOSTILE
    assert page.locator("#transcript-turns img, #transcript-turns script").count() == 0


def test_a_cited_answer_links_to_the_cited_passage_and_its_turn_to_the_span_tree(
    console: Console, helpdesk: dict[str, str]
) -> None:
    qc = console.client()
    answer = answer_of(qc, helpdesk, QUESTION)
    text = answer["response"]["value"]["text"]["value"]
    citations = answer["response"]["value"]["text"]["citations"]
    assert citations, answer
    first = citations[0]["citationSpan"]
    cited = text[first["beginOffsetInclusive"] : first["endOffsetExclusive"]]

    page = console.open(f"assistants/{helpdesk['assistant']}/sessions/{helpdesk['session']}")
    messages = page.locator("#messages > li")
    assert messages.count() == 2
    assert messages.nth(0).inner_text().startswith("CUSTOMER")
    bot = messages.nth(1)
    assert bot.inner_text().startswith("BOT")
    assert bot.locator(".message-text").inner_text().replace("[1]", "").replace("[2]", "").strip() == text
    assert bot.locator("mark").first.inner_text() == cited
    link = bot.locator("a.citation").first
    assert link.inner_text() == "refunds"
    assert bot.locator(".citations li").first.locator("q").inner_text() == cited

    link.click()
    page.wait_for_url(f"**/knowledge-bases/{helpdesk['kb']}/contents/{helpdesk['refunds']}#passage-*")
    fragment = page.url.rsplit("#", 1)[1]
    assert cited in " ".join(page.locator(f"#{fragment}").inner_text().split())

    page.go_back()
    page.wait_for_url("**/sessions/" + helpdesk["session"])
    assert page.locator("#messages > li").nth(1).get_by_role("link", name="Trace of this turn").count() == 0
    page.locator("#messages > li").nth(0).get_by_role("link", name="Trace of this turn").click()
    page.wait_for_url("**/messages/*")
    assert page.locator("#turn-messages").inner_text().count(QUESTION) == 1
    assert text in page.locator("#turn-messages").inner_text()

    tree = page.locator("#span-tree")
    roots = tree.locator(":scope > li.span")
    assert roots.count() == 1
    root = roots.first
    assert root.locator(":scope > .span-head").inner_text().split()[1:3] == ["SERVER", "OK"]
    # The root spans the whole turn: its bar is the whole track.
    assert root.locator(":scope > .span-time rect.bar").get_attribute("width") == "1000.0"
    children = root.locator(":scope > .span-children > li.span")
    names = [
        children.nth(i).locator(":scope > .span-head .span-name").inner_text()
        for i in range(children.count())
    ]
    assert "retrieve" in names
    model_calls = [n for n in names if n.startswith("SELF_SERVICE_ANSWER_GENERATION")]
    assert len(model_calls) == 1, names
    retrieve = children.nth(names.index("retrieve"))
    assert f"1 passages for: {QUESTION}" in retrieve.locator(":scope > details.output").inner_text()
    generation = children.nth(names.index(model_calls[0]))
    assert generation.locator(":scope > .span-head").inner_text().split()[-2:] == ["CLIENT", "OK"]
    prompt = generation.locator(":scope > details.prompt").inner_text()
    assert "Refunds are paid within 5 business days." in prompt  # the excerpt the model was given
    usage = generation.locator(":scope > table.token-usage").inner_text()
    numbers = [int(line.split("\t")[1]) for line in usage.splitlines()]
    assert numbers[0] > 0 and numbers[1] > 0 and numbers[2] == numbers[0] + numbers[1]
    assert generation.locator(":scope .span-time rect.bar").count() == 1
    prompt_link = generation.locator(":scope > table.span-facts tr", has_text="AI prompt").get_by_role("link")
    assert f"/assistants/{helpdesk['assistant']}/ai-prompts/" in (prompt_link.get_attribute("href") or "")
