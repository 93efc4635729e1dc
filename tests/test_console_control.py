"""The console's control-plane page: the clock, the transition holds and reset, behind confirmed forms.

These tests change the whole server (its clock, its holds, its data), so they run on a server of
their own rather than the session's shared one, and reset it before each test.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from browser import ARTEFACTS, Console
from polling import poll
from qconnect_local.testing.server import ServerProcess


class ControlConsole(Console):
    """A console tab that records the confirmation questions it is asked, and answers them."""

    def __init__(self, server: ServerProcess, page: Any, account: str) -> None:
        super().__init__(server, page, account)
        self.questions: list[str] = []
        self.confirm = True  # the answer to the next confirmation

    def answer(self, dialog: Any) -> None:
        self.questions.append(dialog.message)
        dialog.accept() if self.confirm else dialog.dismiss()

    def field(self, label: str) -> str:
        """The value shown beside `label` in the page's key/value tables."""
        text: str = (
            self.page.locator("table.fields tr", has=self.page.get_by_text(label, exact=True))
            .locator("td")
            .inner_text()
        )
        return text

    def clock(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.server.url + "/_qconnect/clock", timeout=10) as response:
            state: dict[str, Any] = json.load(response)
            return state


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(data_dir=tmp_path_factory.mktemp("console-control")) as server:
        yield server


@pytest.fixture
def control(
    browser: Any, own_server: ServerProcess, request: pytest.FixtureRequest
) -> Iterator[ControlConsole]:
    own_server.control("reset")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    account = "8" + "".join(secrets.choice("0123456789") for _ in range(11))
    tab = ControlConsole(own_server, context.new_page(), account)
    context.on("dialog", tab.answer)
    try:
        yield tab
        assert not tab.problems, tab.problems
    finally:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::")[-1])
        shots = Path(ARTEFACTS) / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        try:
            tab.page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        finally:
            context.close()


def _post(url: str, fields: dict[str, str]) -> tuple[int, str]:
    """A form POST as another site (or a script) could send it; redirects are not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), method="POST")
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_clock_is_frozen_and_advanced_from_the_control_page(control: ControlConsole) -> None:
    page = control.open("control")
    assert control.field("Frozen") == "no"
    page.get_by_role("button", name="Freeze the clock").click()
    page.wait_for_url("**/control?done=freeze")
    assert page.get_by_role("status").inner_text() == "The clock is frozen."
    assert control.field("Frozen") == "yes"
    frozen_at = datetime.fromisoformat(control.field("Now"))

    page.get_by_label("Seconds").fill("3600")
    page.get_by_role("button", name="Advance the clock").click()
    page.wait_for_url("**/control?done=advance")
    assert datetime.fromisoformat(control.field("Now")) == frozen_at + timedelta(hours=1)
    assert control.clock() == {"now": control.field("Now"), "frozen": True, "offsetSeconds": 0.0}
    assert control.questions == ["Freeze the clock?", "Advance the clock?"]

    page.get_by_role("button", name="Unfreeze the clock").click()
    page.wait_for_url("**/control?done=unfreeze")
    assert control.field("Frozen") == "no"
    assert control.clock()["frozen"] is False


def test_a_negative_advance_is_an_error_page_with_the_control_planes_reason(control: ControlConsole) -> None:
    page = control.open("control")
    before = control.clock()
    page.get_by_label("Seconds").fill("-60")
    with page.expect_navigation() as answered:
        page.get_by_role("button", name="Advance the clock").click()
    assert answered.value.status == 400
    alert = page.get_by_role("alert").inner_text()
    assert "advanceSeconds must be a number of seconds from 0" in alert
    assert "the service clock never goes back" in alert
    after = control.clock()
    assert after["offsetSeconds"] == before["offsetSeconds"] == 0.0
    # The browser logs the 400 it was answered; that one is expected here.
    expected = (
        "console error: Failed to load resource: the server responded with a status of 400 (Bad Request)"
    )
    assert control.problems == [expected]
    control.problems.clear()


def _start_import(control: ControlConsole, kb_id: str) -> str:
    qc = control.client()
    up = qc.start_content_upload(knowledgeBaseId=kb_id, contentType="text/csv")
    body = b"Name,Content\nGreeting,Hello there\n"
    urllib.request.urlopen(
        urllib.request.Request(up["url"], data=body, method="PUT", headers=up["headersToInclude"]), timeout=10
    ).close()
    job = qc.start_import_job(knowledgeBaseId=kb_id, importJobType="QUICK_RESPONSES", uploadId=up["uploadId"])
    job_id: str = job["importJob"]["importJobId"]
    return job_id


def test_import_jobs_are_held_the_hold_is_listed_and_released(control: ControlConsole) -> None:
    qc = control.client()
    kb_id = qc.create_knowledge_base(name="held-imports", knowledgeBaseType="QUICK_RESPONSES")[
        "knowledgeBase"
    ]["knowledgeBaseId"]
    page = control.open("control")
    assert page.get_by_text("No holds").is_visible()
    page.get_by_label("Hold jobs of").select_option(label="import-job · START_IN_PROGRESS")
    page.get_by_role("button", name="Hold", exact=True).click()
    page.wait_for_url("**/control?done=hold")
    row = page.locator("#holds tbody tr")
    assert row.count() == 1
    assert row.inner_text().split("\t")[:3] == ["import-job", "START_IN_PROGRESS", "until released"]

    job_id = _start_import(control, kb_id)
    time.sleep(1.0)  # ample time for the worker to finish so small a file, were it not held
    assert (
        qc.get_import_job(knowledgeBaseId=kb_id, importJobId=job_id)["importJob"]["status"]
        == "START_IN_PROGRESS"
    )

    row.get_by_role("button", name="Release").click()
    page.wait_for_url("**/control?done=release&released=1")
    assert page.get_by_role("status").inner_text() == "Released. Held jobs that proceeded now: 1."
    assert page.get_by_text("No holds").is_visible()
    job = poll(
        lambda: qc.get_import_job(knowledgeBaseId=kb_id, importJobId=job_id)["importJob"],
        lambda job: job["status"] != "START_IN_PROGRESS",
        what="the released import",
    )
    assert job["status"] == "COMPLETE"


def test_reset_asks_for_confirmation_then_forgets_every_knowledge_base(control: ControlConsole) -> None:
    control.client().create_knowledge_base(name="forgotten-by-reset", knowledgeBaseType="CUSTOM")
    page = control.open()
    assert page.get_by_role("link", name="forgotten-by-reset").is_visible()
    page.get_by_role("link", name="Control plane").click()
    page.wait_for_url("**/control")
    assert "every resource of every account" in page.get_by_role("note").inner_text()

    control.confirm = False  # the user thinks twice
    page.get_by_role("button", name="Reset the server").click()
    assert control.questions == ["Reset the server?"]
    assert page.url.endswith("/control")
    assert len(control.client().list_knowledge_bases()["knowledgeBaseSummaries"]) == 1

    control.confirm = True
    page.get_by_role("button", name="Reset the server").click()
    page.wait_for_url("**/control?done=reset")
    assert page.get_by_role("status").inner_text().startswith("The server was reset")
    page.get_by_role("link", name="Overview").click()
    assert page.get_by_text("No knowledge bases in this account and region.").is_visible()
    assert page.get_by_text("forgotten-by-reset").count() == 0


def test_a_post_without_the_form_token_is_refused_and_without_confirmation_does_nothing(
    control: ControlConsole,
) -> None:
    qc = control.client()
    qc.create_knowledge_base(name="still-here", knowledgeBaseType="CUSTOM")
    html = urllib.request.urlopen(control.url("control"), timeout=10).read().decode()
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert token is not None

    status, body = _post(control.url("control/reset"), {"confirm": "yes"})
    assert status == 403
    assert "did not come from this console" in body
    status, _ = _post(control.url("control/reset"), {"csrf": "0" * 64, "confirm": "yes"})
    assert status == 403

    status, body = _post(control.url("control/reset"), {"csrf": token.group(1)})
    assert status == 400
    assert "not confirmed" in body
    status, _ = _post(control.url("control/clock"), {"csrf": token.group(1), "action": "freeze"})
    assert status == 400

    assert [kb["name"] for kb in qc.list_knowledge_bases()["knowledgeBaseSummaries"]] == ["still-here"]
    assert control.clock()["frozen"] is False
    status, _ = _post(control.url("control/reset"), {"csrf": token.group(1), "confirm": "yes"})
    assert status == 303  # the same form, confirmed and with its token, does reset
    assert qc.list_knowledge_bases()["knowledgeBaseSummaries"] == []
