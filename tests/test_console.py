"""The console's frame: its URLs, the account and region switcher, its guards, its headers."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from browser import Console
from qconnect_local.testing.server import ServerProcess


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers or {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_the_console_root_leads_to_the_default_account_and_region(live_server: ServerProcess) -> None:
    status, headers, _ = _get(live_server.url + "/_qconnect/console")
    assert status == 303
    assert headers["location"] == "/_qconnect/console/123456789012/us-east-1/"


def test_pages_forbid_inline_script_and_framing(live_server: ServerProcess) -> None:
    status, headers, body = _get(live_server.url + "/_qconnect/console/123456789012/us-east-1/")
    assert status == 200
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert "<h1>123456789012 · us-east-1</h1>" in body


def test_a_url_that_names_no_account_is_a_clear_404(live_server: ServerProcess) -> None:
    status, _, body = _get(live_server.url + "/_qconnect/console/not-an-account/us-east-1/")
    assert status == 404
    assert "account id (12 digits)" in body
    status, _, body = _get(live_server.url + "/_qconnect/console/123456789012/us-east-1/no/such/page")
    assert status == 404
    assert "There is no console page" in body


def test_a_missing_resource_is_a_404_page_with_the_apis_error(console: Console) -> None:
    status, _, body = _get(console.url("knowledge-bases/00000000-0000-0000-0000-000000000000"))
    assert status == 404
    assert "ResourceNotFoundException" in body


def test_the_overview_lists_what_the_account_holds_and_nothing_of_another(console: Console) -> None:
    qc = console.client()
    mine = qc.create_knowledge_base(name="console-overview-kb", knowledgeBaseType="CUSTOM")["knowledgeBase"]
    other = console.server.client(account="111122223333")
    other.create_knowledge_base(name="someone-elses-kb", knowledgeBaseType="CUSTOM")
    page = console.open()
    assert page.get_by_role("link", name="console-overview-kb").is_visible()
    assert page.get_by_text("someone-elses-kb").count() == 0
    page.get_by_role("link", name="console-overview-kb").click()
    page.wait_for_url("**/knowledge-bases/" + mine["knowledgeBaseId"])


def test_the_switcher_moves_to_another_account(console: Console) -> None:
    other_account = "2" + console.account[1:]
    console.server.client(account=other_account).create_knowledge_base(
        name="in-the-other-account", knowledgeBaseType="CUSTOM"
    )
    page = console.open()
    page.get_by_label("Account").fill(other_account)
    page.get_by_role("button", name="Switch").click()
    page.wait_for_url(f"**/_qconnect/console/{other_account}/us-east-1/")
    assert page.get_by_role("link", name="in-the-other-account").is_visible()


def test_under_enforced_sigv4_the_console_needs_the_control_token(browser: Any, tmp_path: Any) -> None:
    with ServerProcess("--enforce-sigv4", "--control-token", "s3cret-token", data_dir=tmp_path) as server:
        status, headers, _ = _get(server.url + "/_qconnect/console/123456789012/us-east-1/")
        assert (status, headers["location"]) == (303, "/_qconnect/console/sign-in")
        status, _, _ = _get(
            server.url + "/_qconnect/console/123456789012/us-east-1/",
            {"Authorization": "Bearer s3cret-token"},
        )
        assert status == 200
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(server.url + "/_qconnect/console/")
            page.get_by_label("Control token").fill("wrong")
            page.get_by_role("button", name="Sign in").click()
            assert page.get_by_text("That is not the control token.").is_visible()
            page.get_by_label("Control token").fill("s3cret-token")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/_qconnect/console/123456789012/us-east-1/")
            assert page.locator("h1").inner_text() == "123456789012 · us-east-1"
        finally:
            context.close()
