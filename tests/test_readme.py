"""The README's examples run as written (against a real server), so that they stay true."""

from __future__ import annotations

import contextlib
import io
import re
import urllib.request
from pathlib import Path
from typing import Any

from conftest import Target
from documents import create_content, wait_for_content
from qconnect_local.testing.server import ServerProcess

README = Path(__file__).resolve().parent.parent / "README.md"
README_URL = "http://127.0.0.1:4567"


def example(heading: str) -> str:
    """The first Python block under the README heading `heading`."""
    text = README.read_text()
    section = text[text.index(f"### {heading}\n") :]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None, heading
    return found.group(1)


def run(code: str, server: ServerProcess, namespace: dict[str, Any]) -> str:
    """Run an example against `server`; what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code.replace(README_URL, server.url), "README.md", "exec"), namespace)
    return printed.getvalue()


def test_the_assistants_example_queries_retrieves_and_recommends(live_server: ServerProcess) -> None:
    live_server.control("reset")
    qc = live_server.client()
    kb = qc.create_knowledge_base(name="manuals", knowledgeBaseType="CUSTOM")["knowledgeBase"]
    manual = b"Resetting the device. To reset the device, hold the power button for ten seconds."
    content = create_content(
        Target("server", live_server.url, None), qc, kb["knowledgeBaseId"], "manual", manual
    )
    assert wait_for_content(qc, kb["knowledgeBaseId"], content["contentId"])["status"] == "ACTIVE"
    namespace: dict[str, Any] = {"qc": qc, "kb": kb, "urllib": urllib}
    printed = run(example("Assistants, retrieval and recommendations"), live_server, namespace)
    lines = printed.splitlines()
    assert lines[0].endswith(
        "manual Resetting the device. To reset the device, hold the power button for ten seconds."
    )
    assert lines[1] in ("HIGH manual", "MEDIUM manual")
    assert namespace["passages"][0]["contentText"].startswith("Resetting the device.")
