"""The console's landing page for one account and region: what it holds, at a glance."""

from __future__ import annotations

from qconnect_local.server.console.framework import Crumb, Page, View, page


@page("GET", "")
def overview(view: View) -> Page:
    knowledge_bases, kb_next = view.page_of("ListKnowledgeBases", "knowledgeBaseSummaries")
    assistants, assistant_next = view.page_of("ListAssistants", "assistantSummaries")
    return Page(
        "overview.html",
        f"{view.account} · {view.region}",
        [Crumb("Console", view.url())],
        {
            "knowledge_bases": knowledge_bases,
            "more_knowledge_bases": kb_next is not None,
            "assistants": assistants,
            "more_assistants": assistant_next is not None,
        },
    )
