"""Protocol micro-benchmark: the per-request cost of `serialize_output` and `parse_input`.

Outputs are shaped like what the handlers return (GetKnowledgeBase, ListKnowledgeBases with
ten summaries, GetImportJob); requests are what boto3 sends (botocore's own serializer builds
them). Each case runs `--iterations` times per round; the figure is the median over
`--rounds` rounds of process CPU time, in microseconds per call (CPU time rather than wall
time: the machines this runs on are shared).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence

from _results import Results, add_json_argument
from qconnect_local.protocol.http import Request
from qconnect_local.protocol.parser import parse_input
from qconnect_local.protocol.router import default_router
from qconnect_local.protocol.serializer import serialize_output
from qconnect_local.spec import operation

ACCOUNT, REGION = "111122223333", "us-east-1"
KB_ID = "3f6e2b7a-1c4d-4e5f-8a9b-0c1d2e3f4a5b"
WHEN = datetime(2024, 2, 29, 12, 34, 56, 789000, tzinfo=UTC)


def _knowledge_base(index: int) -> dict[str, Any]:
    kb_id = f"{KB_ID[:-2]}{index:02d}"
    return {
        "knowledgeBaseId": kb_id,
        "knowledgeBaseArn": f"arn:aws:wisdom:{REGION}:{ACCOUNT}:knowledge-base/{kb_id}",
        "name": f"kb-{index}",
        "knowledgeBaseType": "QUICK_RESPONSES",
        "status": "ACTIVE",
        "description": "Answers for the support desk",
        "tags": {"team": "support", "env": "test"},
        "lastModifiedTime": WHEN,
        "serverSideEncryptionConfiguration": {"kmsKeyId": "alias/aws/wisdom"},
    }


def _import_job() -> dict[str, Any]:
    job_id = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
    return {
        "importJobId": job_id,
        "knowledgeBaseId": KB_ID,
        "uploadId": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
        "knowledgeBaseArn": f"arn:aws:wisdom:{REGION}:{ACCOUNT}:knowledge-base/{KB_ID}",
        "importJobType": "QUICK_RESPONSES",
        "status": "COMPLETE",
        "createdTime": WHEN,
        "lastModifiedTime": WHEN,
        "metadata": {"source": "bench"},
        "externalSourceConfiguration": None,
        "url": f"http://localhost:8080/_qconnect/blobs/{job_id}?X-Expires=1709210096&X-Signature=" + "a" * 64,
        "urlExpiry": WHEN,
    }


def _request(name: str, params: dict[str, Any]) -> tuple[Request, dict[str, str]]:
    op = operation(name)
    prepared = create_serializer("rest-json", include_validation=True).serialize_to_request(params, op)
    body = prepared["body"]
    query = prepared["query_string"]
    request = Request(
        method=prepared["method"],
        raw_path=prepared["url_path"],
        query_string=percent_encode_sequence(query) if query else "",
        headers={k.lower(): v for k, v in prepared["headers"].items()},
        body=body.encode() if isinstance(body, str) else body,
    )
    return request, default_router().match(request.method, request.raw_path).labels


def _cases(
    parse: Callable[..., Any] = parse_input, serialize: Callable[..., Any] = serialize_output
) -> dict[str, Callable[[], Any]]:
    """The timed calls; `parse`/`serialize` may be another version of the two, to compare."""
    get_kb, get_job, list_kb = (
        operation("GetKnowledgeBase"),
        operation("GetImportJob"),
        operation("ListKnowledgeBases"),
    )
    kb_out = {"knowledgeBase": _knowledge_base(0)}
    list_out = {"knowledgeBaseSummaries": [_knowledge_base(i) for i in range(10)], "nextToken": "t" * 40}
    job_out = {"importJob": _import_job()}
    requests = {
        "GetKnowledgeBase": _request("GetKnowledgeBase", {"knowledgeBaseId": KB_ID}),
        "CreateKnowledgeBase": _request(
            "CreateKnowledgeBase",
            {
                "clientToken": "c0ffee00-1234-4abc-8def-0123456789ab",
                "name": "support-answers",
                "knowledgeBaseType": "QUICK_RESPONSES",
                "description": "Answers for the support desk",
                "serverSideEncryptionConfiguration": {"kmsKeyId": "alias/aws/wisdom"},
                "tags": {"team": "support", "env": "test"},
            },
        ),
        "ListKnowledgeBases": _request("ListKnowledgeBases", {"maxResults": 10, "nextToken": "t" * 40}),
        "GetImportJob": _request(
            "GetImportJob", {"knowledgeBaseId": KB_ID, "importJobId": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"}
        ),
    }
    cases: dict[str, Callable[[], Any]] = {
        "serialize GetKnowledgeBase": lambda: serialize(get_kb, kb_out, "r"),
        "serialize ListKnowledgeBases (10)": lambda: serialize(list_kb, list_out, "r"),
        "serialize GetImportJob": lambda: serialize(get_job, job_out, "r"),
    }
    for name, (request, labels) in requests.items():
        op = operation(name)
        cases[f"parse {name}"] = lambda op=op, request=request, labels=labels: parse(op, request, labels)
    return cases


def _time(call: Callable[[], Any], iterations: int) -> float:
    start = time.process_time()
    for _ in range(iterations):
        call()
    return (time.process_time() - start) / iterations * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    add_json_argument(parser)
    args = parser.parse_args()
    results = Results("bench_protocol")
    for label, call in _cases().items():
        call()  # compile whatever is compiled on first use
        figures = [_time(call, args.iterations) for _ in range(args.rounds)]
        print(f"{label:38s} {statistics.median(figures):8.2f} us")
        results.add(f"{label}, CPU per call", statistics.median(figures), "µs")
    results.finish(args.json)


if __name__ == "__main__":
    main()
