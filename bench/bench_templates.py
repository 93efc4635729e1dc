"""RenderMessageTemplate and SearchMessageTemplates through boto3, in process, beside floors.

Run: `.venv/bin/python bench/bench_templates.py [--calls N]`. Not part of the tests.

- Render: the 10 kB email of `bench_render.py` (50 placeholders) stored as a template and
  rendered with its attributes through `mock_qconnect()`; beside it, in the same run, the
  `str.replace` floor of `bench_render.py` over the same placeholders, and GetKnowledgeBase
  (the cost of one boto3 call with a small answer, the floor of any operation here).
- Search: a knowledge base of 200 templates (the default quota) with 20 versions each, one of
  them active; a name query with a qualifier filter over `$LATEST` and `$ACTIVE_VERSION`
  (400 entries), and the same search without queries (every entry ordered by name).

Each figure is the median (p50) and p90 wall time per call over `--calls` calls, and the CPU
time per call (the process's own CPU counters around the calls).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).parent))

from _results import Results, add_json_argument
from bench_render import ATTRIBUTES, _floor, email
from qconnect_local.config import Settings
from qconnect_local.testing import mock_qconnect

TEMPLATES = 200
VERSIONS = 20


def timed(call: Callable[[], object], calls: int) -> tuple[float, float, float]:
    """(p50 µs, p90 µs, CPU µs) per call."""
    samples = []
    cpu_started = time.process_time()
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1e6)
    cpu = (time.process_time() - cpu_started) / calls * 1e6
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9)], cpu


def line(label: str, figures: tuple[float, float, float]) -> tuple[float, float, float]:
    p50, p90, cpu = figures
    print(f"  {label:<44} p50 {p50:>9,.0f} µs   p90 {p90:>9,.0f} µs   CPU {cpu:>9,.0f} µs/call")
    return figures


def populate(qc: Any, kb_id: str, templates: int, versions: int) -> None:
    """`templates` SMS templates with `versions` versions each (the language changes between versions)."""
    languages = ["en_US", "de_DE", "fr_FR", "es_ES"]
    for i in range(templates):
        template_id = qc.create_message_template(
            knowledgeBaseId=kb_id,
            name=f"notice {i} order update" if i % 10 == 0 else f"notice {i}",
            description="sent when an order changes",
            channelSubtype="SMS",
            content={"sms": {"body": {"plainText": {"content": f"Order {i}: {{{{Attributes.Custom.id}}}}"}}}},
        )["messageTemplate"]["messageTemplateId"]
        for v in range(versions):
            qc.update_message_template(
                knowledgeBaseId=kb_id, messageTemplateId=template_id, language=languages[v % len(languages)]
            )
            qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
        qc.activate_message_template(
            knowledgeBaseId=kb_id, messageTemplateId=template_id, versionNumber=versions
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"20 templates x 3 versions (not {TEMPLATES} x {VERSIONS}): a smoke run",
    )
    add_json_argument(parser)
    args = parser.parse_args()
    templates, versions = (20, 3) if args.quick else (TEMPLATES, VERSIONS)
    results = Results("bench_templates")
    with mock_qconnect(Settings(log_requests=False)):
        qc = boto3.client(
            "qconnect", region_name="us-east-1", aws_access_key_id="123456789012", aws_secret_access_key="x"
        )
        kb_id = qc.create_knowledge_base(name="templates", knowledgeBaseType="MESSAGE_TEMPLATES")[
            "knowledgeBase"
        ]["knowledgeBaseId"]
        content = email()
        template_id = qc.create_message_template(
            knowledgeBaseId=kb_id, name="order email", channelSubtype="EMAIL", content=content
        )["messageTemplate"]["messageTemplateId"]

        def render() -> object:
            return qc.render_message_template(
                knowledgeBaseId=kb_id, messageTemplateId=template_id, attributes=ATTRIBUTES
            )

        floor = _floor(content)
        print("RenderMessageTemplate, 10 kB email with 50 placeholders:")
        rendered = line("RenderMessageTemplate (boto3, in process)", timed(render, args.calls))
        replaced = line("floor: str.replace of the same placeholders", timed(floor, args.calls * 10))
        get_kb = line(
            "floor: GetKnowledgeBase (boto3, in process)",
            timed(lambda: qc.get_knowledge_base(knowledgeBaseId=kb_id), args.calls),
        )

        started = time.perf_counter()
        search_kb = qc.create_knowledge_base(name="many", knowledgeBaseType="MESSAGE_TEMPLATES")[
            "knowledgeBase"
        ]["knowledgeBaseId"]
        populate(qc, search_kb, templates, versions)
        print(f"SearchMessageTemplates, {templates} templates x {versions} versions "
              f"(built in {time.perf_counter() - started:.0f} s):")  # fmt: skip
        qualifier = {"name": "qualifier", "values": ["$LATEST", "$ACTIVE_VERSION"], "operator": "EQUALS"}
        query = {
            "queries": [{"name": "name", "values": ["order"], "operator": "CONTAINS"}],
            "filters": [qualifier],
        }
        ordered = {"filters": [qualifier], "orderOnField": {"name": "name"}}
        named = line(
            "name query, $LATEST + $ACTIVE_VERSION",
            timed(
                lambda: qc.search_message_templates(knowledgeBaseId=search_kb, searchExpression=query),
                args.calls,
            ),
        )
        ordered_only = line(
            "no query, ordered by name (first 100 of 400)",
            timed(
                lambda: qc.search_message_templates(knowledgeBaseId=search_kb, searchExpression=ordered),
                args.calls,
            ),
        )
        listed = line(
            "floor: ListMessageTemplates (first 100)",
            timed(lambda: qc.list_message_templates(knowledgeBaseId=search_kb), args.calls),
        )
    results.add(
        "RenderMessageTemplate p50, 10 kB email", rendered[0], "µs", "GetKnowledgeBase p50", get_kb[0]
    )
    results.add("RenderMessageTemplate CPU per call", rendered[2], "µs", "GetKnowledgeBase CPU", get_kb[2])
    results.add("str.replace floor of the same email", replaced[0], "µs")
    for label, figures in (("name query", named), ("no query, ordered by name", ordered_only)):
        results.add(
            f"SearchMessageTemplates p50, {label}",
            figures[0] / 1000,
            "ms",
            "ListMessageTemplates p50",
            listed[0] / 1000,
        )
    results.finish(args.json)


if __name__ == "__main__":
    main()
