"""Content ingestion and the passage index: throughput against the extraction libraries' floor,
and top-10 query latency at 5,000 contents.

Run: `.venv/bin/python bench/bench_ingest.py [--documents N] [--contents N] [--queries N]`.
Not part of the tests.

1. Ingestion. N mixed documents (a quarter each plain text, HTML, PDF, DOCX, made here) are
   uploaded and created as content through boto3 on the in-process service with the worker
   stopped; then the worker is started and timed until every content is ACTIVE. The floor is
   the same documents read by the libraries alone in the same run (bytes.decode, the stdlib
   HTML parser, pypdf, python-docx): the least any ingestion must spend. Reported: documents/s
   for both, the ratio, and our CPU time per document (process CPU time, steady under load).
2. Queries. `--contents` contents of about 120 words each (Zipf-distributed vocabulary) are
   indexed through `passages.replace_passages` (the worker's path), then `--queries` queries
   of 1 to 3 words run through `passages.search_passages` (top 10). Beside it, the bare FTS5
   MATCH over the same index (no join, no scope, no highlights) on the same connection.
   Reported: p50 and p99 of both, in milliseconds. `--postgres` runs this part on a fresh
   PostgreSQL database as well (beside the bare `@@` query ranked by `ts_rank`).
"""

from __future__ import annotations

import argparse
import io
import itertools
import random
import statistics
import time
from html.parser import HTMLParser
from typing import Any

import boto3

from _results import Results, add_json_argument
from qconnect_local.config import Settings
from qconnect_local.store import Store, passages
from qconnect_local.testing.mock import mock_qconnect

VOCABULARY = (
    "the to and you a of for your is we in it please can on with be this that will our have "
    "refund order delivery account password payment invoice shipping return exchange warranty "
    "support agent customer thanks sorry delay tracking number address update cancel subscription "
    "kettle lamp router printer battery charger cable screen keyboard mouse speaker headset"
)
WORDS = VOCABULARY.split()
TYPES = (
    "text/plain",
    "text/html",
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
)


def _zipf_words(rng: random.Random, vocabulary: list[str], count: int) -> list[str]:
    cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(vocabulary))))
    return rng.choices(vocabulary, cum_weights=cumulative, k=count)


def _document(kind: str, text: str) -> bytes:
    if kind == "text/plain":
        return text.encode()
    if kind == "text/html":
        head = "<head><title>t</title><script>var x=1;</script></head>"
        return f"<html>{head}<body><p>{text}</p></body></html>".encode()
    if kind == "application/pdf":
        from fpdf import FPDF

        pdf = FPDF()
        pdf.set_font("Helvetica", size=11)
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
        return bytes(pdf.output())
    import docx

    document = docx.Document()
    for paragraph in text.split(". "):
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _floor_read(kind: str, data: bytes) -> str:
    """The least work that reads a document's text: the libraries alone."""
    if kind == "text/plain":
        return data.decode()
    if kind == "text/html":
        parts: list[str] = []

        class Text(HTMLParser):
            def handle_data(self, value: str) -> None:
                parts.append(value)

        Text().feed(data.decode())
        return "".join(parts)
    if kind == "application/pdf":
        import pypdf

        return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    import docx

    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)


def ingestion(documents: int, results: Results) -> None:
    rng = random.Random(7)
    docs = [
        (TYPES[i % 4], _document(TYPES[i % 4], " ".join(_zipf_words(rng, WORDS, 300)) + "."))
        for i in range(documents)
    ]
    for kind, data in docs[:4]:  # warm: imports and first-use caches are not per-document costs
        _floor_read(kind, data)
    started = time.perf_counter()
    for kind, data in docs:
        _floor_read(kind, data)
    floor_seconds = time.perf_counter() - started

    settings = Settings(run_worker=False, content_quota=documents + 1)
    with mock_qconnect(settings) as mock:
        qc = boto3.client("qconnect", region_name="us-east-1")
        kb_id = qc.create_knowledge_base(name="bench", knowledgeBaseType="CUSTOM")["knowledgeBase"][
            "knowledgeBaseId"
        ]
        for i, (kind, data) in enumerate(docs):
            up = qc.start_content_upload(knowledgeBaseId=kb_id, contentType=kind)
            mock.request("PUT", up["url"], headers=up["headersToInclude"], data=data)
            qc.create_content(knowledgeBaseId=kb_id, name=f"doc-{i}", uploadId=up["uploadId"])
        cpu, wall = time.process_time(), time.perf_counter()
        mock.runtime.start_worker()
        while _active(mock.runtime.store) < documents:
            time.sleep(0.01)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    ratio = floor_seconds / wall
    print(f"ingestion, {documents:,} mixed documents (plain, HTML, PDF, DOCX):")
    print(f"  floor (extraction libraries alone) {documents / floor_seconds:>10,.1f} documents/s")
    print(f"  qconnect-local worker, to ACTIVE   {documents / wall:>10,.1f} documents/s")
    print(f"  ratio                              {ratio:>10.0%}")
    print(f"  CPU time per document              {cpu / documents * 1000:>10.2f} ms")
    results.add(
        f"ingest {documents:,} mixed documents to ACTIVE",
        documents / wall,
        "documents/s",
        "floor: extraction libraries alone",
        documents / floor_seconds,
    )
    results.add("ingestion CPU time per document", cpu / documents * 1000, "ms")


def _active(store: Store) -> int:
    from sqlalchemy import func, select

    from qconnect_local.store.schema import contents

    with store.read() as conn:
        return int(conn.execute(select(func.count()).where(contents.c.status == "ACTIVE")).scalar_one())


# The bare index query per store, with no scope, no join and no highlights: what any ranked
# full-text lookup of the same words costs on that database.
_BARE = {
    "sqlite": "SELECT rowid FROM passages_fts WHERE passages_fts MATCH :match ORDER BY rank LIMIT 10",
    "postgresql": "SELECT seq FROM passages_fts WHERE vector @@ to_tsquery('simple', :tsquery) "
    "ORDER BY ts_rank(vector, to_tsquery('simple', :tsquery)) DESC LIMIT 10",
}


def queries(contents: int, count: int, database_url: str | None, results: Results) -> None:
    from sqlalchemy import text as sql

    rng = random.Random(11)
    vocabulary = WORDS + sorted(
        {"".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(4, 10))) for _ in range(5000)}
    )
    store = Store(database_url) if database_url else Store.temporary()
    bare_sql = sql(_BARE[store.dialect])
    try:
        with store.write() as conn:
            for i in range(contents):
                text = " ".join(_zipf_words(rng, vocabulary, 120))
                cut = passages.PassageRow(position=0, start=0, end=len(text), text=text)
                passages.replace_passages(
                    conn,
                    account="123456789012",
                    region="us-east-1",
                    knowledge_base_id="kb",
                    content_id=f"c{i}",
                    passages=[cut],
                )
        asked = [" ".join(rng.sample(vocabulary[:400], rng.randint(1, 3))) for _ in range(count)]
        ours, bare = [], []
        with store.read() as conn:
            for text in asked:
                query = passages.PassageQuery(text, "123456789012", "us-east-1", ["kb"], top_k=10)
                started = time.perf_counter()
                passages.search_passages(conn, query)
                ours.append(time.perf_counter() - started)
                words = text.split()
                params = {"match": " OR ".join(f'"{w}"' for w in words), "tsquery": " | ".join(words)}
                started = time.perf_counter()
                conn.execute(bare_sql, params).all()
                bare.append(time.perf_counter() - started)
    finally:
        store.close()
    print(
        f"top-10 passage queries over {contents:,} contents ({store.dialect}), {count} queries of 1-3 words:"
    )
    figures = {}
    for label, times in (("bare index query (no scope)", bare), ("search_passages", ours)):
        p50, p99 = statistics.median(times) * 1000, statistics.quantiles(times, n=100)[98] * 1000
        print(f"  {label:<28} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
        figures[label] = (p50, p99)
    for index, level in enumerate(("p50", "p99")):
        results.add(
            f"search_passages top 10 over {contents:,} contents ({store.dialect}) {level}",
            figures["search_passages"][index],
            "ms",
            f"bare index query {level}",
            figures["bare index query (no scope)"][index],
        )


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--contents", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument(
        "--postgres", action="store_true", help="run the queries on a fresh PostgreSQL database too"
    )
    add_json_argument(parser)
    args = parser.parse_args(argv)
    results = Results("bench_ingest")
    ingestion(args.documents, results)
    queries(args.contents, args.queries, None, results)
    if args.postgres:
        from qconnect_local.testing.postgres import temporary_database

        with temporary_database("qconnect_bench") as url:
            queries(args.contents, args.queries, url, results)
    results.finish(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
