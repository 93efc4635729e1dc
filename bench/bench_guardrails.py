"""Guardrail evaluation cost per message, with every policy on.

Run: `.venv/bin/python bench/bench_guardrails.py [--repeat N]`. Not part of the tests.
Checks a 300-character and a 3,000-character customer-service message (input and output, the
output with two source passages and a query for contextual grounding) against one compiled
guardrail with word filters (custom + PROFANITY), a denied topic, all six content filters at
HIGH, all 31 PII types (ANONYMIZE), a custom regex and both grounding filters. Beside it, a floor
from the same run: one compiled `re.search` of a single word over the same text. Prints the
median in microseconds and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable

from _results import Results, add_json_argument
from qconnect_local.engine.guardrail_lexicon import LEXICONS
from qconnect_local.engine.guardrails import PII_TYPES, compile_guardrail

CONFIG = {
    "blockedInputMessaging": "Sorry, I can't help with that.",
    "blockedOutputsMessaging": "Sorry, I can't answer that.",
    "wordPolicyConfig": {
        "wordsConfig": [{"text": "Acme Rival"}],
        "managedWordListsConfig": [{"type": "PROFANITY"}],
    },
    "topicPolicyConfig": {
        "topicsConfig": [
            {
                "name": "Investment advice",
                "definition": "Recommendations about investing money in stocks, bonds or cryptocurrency.",
                "examples": ["Should I buy Tesla stock?", "Is bitcoin a good investment?"],
                "type": "DENY",
            }
        ]
    },
    "contentPolicyConfig": {
        "filtersConfig": [
            {"type": t, "inputStrength": "HIGH", "outputStrength": "HIGH"} for t in sorted(LEXICONS)
        ]
    },
    "sensitiveInformationPolicyConfig": {
        "piiEntitiesConfig": [{"type": t, "action": "ANONYMIZE"} for t in sorted(PII_TYPES)],
        "regexesConfig": [{"name": "booking", "pattern": r"BK-\d{6}", "action": "ANONYMIZE"}],
    },
    "contextualGroundingPolicyConfig": {
        "filtersConfig": [{"type": "GROUNDING", "threshold": 0.5}, {"type": "RELEVANCE", "threshold": 0.3}]
    },
}

SENTENCES = (
    "Hi, I ordered a blue jacket last week and it still has not arrived.",
    "The tracking page says it left the warehouse on Monday at 10:30.",
    "You can reach me at jo.major@example.com or on (206) 555-0142 if needed.",
    "My order number is 48213 and the total was $149.99 with express delivery.",
    "Could you check whether it can be delivered to my office instead?",
    "Thanks a lot for your help, the last agent was very kind.",
)
SOURCES = (
    "Express delivery takes 2 business days; orders left the warehouse are tracked on the tracking page.",
    "Deliveries can be redirected to another address before they are out for delivery.",
)
QUERY = "where is my jacket order delivery"


def _message(length: int) -> str:
    text = ""
    index = 0
    while len(text) < length:
        text += SENTENCES[index % len(SENTENCES)] + " "
        index += 1
    return text[:length]


def _median_us(run: Callable[[], object], repeat: int) -> float:
    for _ in range(max(3, repeat // 20)):
        run()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=300)
    add_json_argument(parser)
    args = parser.parse_args()
    results = Results("bench_guardrails")
    started = time.perf_counter()
    guardrail = compile_guardrail(CONFIG)
    compiled_ms = (time.perf_counter() - started) * 1e3
    print(f"compile: {compiled_ms:.1f} ms (first compile; cached afterwards)")
    results.add("compile the guardrail (first time)", compiled_ms, "ms")
    floor_pattern = re.compile(r"\bwarranty\b")
    print(f"{'message':>8} {'check':>7} {'median µs':>10} {'floor µs':>9} {'ratio':>7}  action")
    for length in (300, 3000):
        text = _message(length)
        floor = _median_us(lambda text=text: floor_pattern.search(text), args.repeat)
        checks: dict[str, Callable[[], object]] = {
            "input": lambda text=text: guardrail.check_input(text),
            "output": lambda text=text: guardrail.check_output(text, sources=SOURCES, query=QUERY),
        }
        for name, check in checks.items():
            median = _median_us(check, args.repeat)
            action = check().action  # type: ignore[attr-defined]
            print(f"{length:>8} {name:>7} {median:>10.0f} {floor:>9.2f} {median / floor:>7.0f}  {action}")
            results.add(
                f"{name} check, {length:,} characters, every policy on",
                median,
                "µs",
                "floor: one re.search",
                floor,
            )
    results.finish(args.json)


if __name__ == "__main__":
    main()
