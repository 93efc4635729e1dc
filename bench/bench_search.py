"""SearchQuickResponses at scale: load 100,000 quick responses, time typical searches.

Run: `.venv/bin/python bench/bench_search.py [--rows N] [--repeat N]`. Not part of the tests.
Rows go in through `quick_responses.insert_many` (the import worker's path); searches go
through an unmodified boto3 client against the in-process service, so the times include the
protocol work a user waits for. Prints p50/p99 per search, in milliseconds.
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from typing import Any

import boto3

from _results import Results, add_json_argument
from qconnect_local.config import Settings
from qconnect_local.service import quick_responses
from qconnect_local.testing.mock import mock_qconnect

# Word frequencies follow Zipf's law (rank r has weight 1/r), as in real text: function words
# take the top ranks, support vocabulary sits in the next few hundred, invented words fill the tail.
FUNCTION_WORDS_TEXT = (
    "the to and you a of for your is we in it please can on with be this that will our have are "
    "as at or if an by from us not all any so do my me i"
)
SUPPORT_WORDS_TEXT = (
    "refund order delivery account password payment invoice shipping return exchange warranty "
    "support agent customer thanks sorry delay tracking number address update cancel subscription "
    "discount coupon billing charge card holiday hours store manager escalate survey feedback policy"
)


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    function_words, support_words = FUNCTION_WORDS_TEXT.split(), SUPPORT_WORDS_TEXT.split()
    invented = sorted({"".join(rng.choices(letters, k=rng.randint(3, 11))) for _ in range(size)})
    rng.shuffle(invented)
    words = function_words + invented
    for position, word in enumerate(support_words):
        words.insert(len(function_words) + 20 + 12 * position, word)
    return words


def _items(rng: random.Random, rows: int, words: list[str]) -> list[dict[str, Any]]:
    # Zipf-like: a few words are frequent, most are rare, as in real text.
    cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(words))))
    items = []
    for i in range(rows):
        title = rng.choices(words, cum_weights=cumulative, k=rng.randint(2, 4))
        body = rng.choices(words, cum_weights=cumulative, k=rng.randint(20, 60))
        item: dict[str, Any] = {
            "name": f"{' '.join(title)} {i}",
            "content": {"content": " ".join(body)},
            "shortcutKey": f"k{i}",
            "isActive": rng.random() < 0.8,
            "channels": rng.choice([["Chat"], ["Email"], ["Chat", "Email"]]),
            "language": rng.choice(["en_US", "de_DE", "fr_FR"]),
        }
        if rng.random() < 0.5:
            item["description"] = " ".join(rng.choices(words, cum_weights=cumulative, k=8))
        items.append(item)
    return items


SEARCHES: dict[str, dict[str, Any]] = {
    "word in content": {"queries": [{"name": "content", "values": ["warranty"], "operator": "CONTAINS"}]},
    "two words in content": {
        "queries": [{"name": "content", "values": ["tracking number"], "operator": "CONTAINS"}]
    },
    "type-ahead on name": {
        "queries": [{"name": "name", "values": ["deliv"], "operator": "CONTAINS_AND_PREFIX"}]
    },
    "typo, fuzzy": {
        "queries": [
            {"name": "content", "values": ["pasword"], "operator": "CONTAINS", "allowFuzziness": True}
        ]
    },
    "two fields, priorities, filters": {
        "queries": [
            {"name": "name", "values": ["refund"], "operator": "CONTAINS", "priority": "HIGH"},
            {"name": "content", "values": ["refund policy"], "operator": "CONTAINS", "priority": "LOW"},
        ],
        "filters": [
            {"name": "isActive", "values": ["true"], "operator": "EQUALS"},
            {"name": "channels", "values": ["Chat"], "operator": "EQUALS"},
        ],
    },
    "filters only, ordered by name": {
        "filters": [{"name": "language", "values": ["de_DE"], "operator": "EQUALS"}],
        "orderOnField": {"name": "name", "order": "ASC"},
    },
    "function word (worst case)": {
        "queries": [{"name": "content", "values": ["please"], "operator": "CONTAINS"}]
    },
}


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--page-size", type=int, default=25)
    add_json_argument(parser)
    args = parser.parse_args()
    results = Results("bench_search")
    rng = random.Random(7)
    settings = Settings(quick_response_quota=args.rows, run_worker=False)
    with mock_qconnect(settings) as mock:
        qc = boto3.client("qconnect", region_name="us-east-1")
        kb = qc.create_knowledge_base(name="bench", knowledgeBaseType="QUICK_RESPONSES")["knowledgeBase"]
        kb_id = kb["knowledgeBaseId"]
        items = _items(rng, args.rows, _vocabulary(rng, 20_000))
        started = time.perf_counter()
        with mock.runtime.store.write() as conn:
            for first in range(0, len(items), 5_000):
                quick_responses.insert_many(
                    conn,
                    account="123456789012",
                    region="us-east-1",
                    kb_id=kb_id,
                    items=items[first : first + 5_000],
                    import_job_id=None,
                    now=mock.runtime.clock.now(),
                    modified_by=quick_responses.modified_by("123456789012"),
                )
        loaded = time.perf_counter() - started
        print(f"loaded {args.rows} quick responses in {loaded:.1f} s")
        results.add(f"load {args.rows:,} quick responses (insert_many)", loaded, "s")
        print(f"{'search':34} {'results':>8} {'p50 ms':>8} {'p99 ms':>8}")
        for label, expression in SEARCHES.items():
            samples = []
            found = 0
            for _ in range(args.repeat):
                begin = time.perf_counter()
                page = qc.search_quick_responses(
                    knowledgeBaseId=kb_id, searchExpression=expression, maxResults=args.page_size
                )
                samples.append((time.perf_counter() - begin) * 1000)
                found = len(page["results"])
            p50, p99 = _percentile(samples, 0.5), _percentile(samples, 0.99)
            print(f"{label:34} {found:>8} {p50:>8.1f} {p99:>8.1f}")
            results.add(f"SearchQuickResponses p50, {label}", p50, "ms")
            results.add(f"SearchQuickResponses p99, {label}", p99, "ms")
    results.finish(args.json)


if __name__ == "__main__":
    main()
