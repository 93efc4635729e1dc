"""The import's in-file repeat check (`csv_format._SeenValues`): exact lines, no false repeats.

It keeps digests packed in bytearrays, so a digest can also occur across two records; only a
whole record counts.
"""

from __future__ import annotations

import io

from qconnect_local.worker import csv_format
from qconnect_local.worker.csv_format import read_quick_response_rows, value_digest


def test_a_value_is_found_with_the_line_it_was_first_met_on() -> None:
    seen = csv_format._SeenValues()
    for line in range(2, 20_002):
        seen.add(value_digest(f"name {line}"), line)

    assert seen.line_of(value_digest("name 2")) == 2
    assert seen.line_of(value_digest("name 20001")) == 20_001
    assert seen.line_of(value_digest("name 20002")) is None
    assert seen.line_of(value_digest("name 2 ")) is None


def test_a_digest_straddling_two_records_is_not_a_repeat() -> None:
    seen = csv_format._SeenValues()
    # Bucket 1 (first bytes 00 01); its record is 00 01 00 01 'x'*12 then line 3 in 6 bytes.
    seen.add(b"\x00\x01\x00\x01" + b"x" * 12, 3)
    straddling = b"\x00\x01" + b"x" * 12 + b"\x00\x00"  # the record's bytes 2..17: same bucket

    assert seen.line_of(straddling) is None
    seen.add(straddling, 7)
    assert seen.line_of(straddling) == 7
    assert seen.line_of(b"\x00\x01\x00\x01" + b"x" * 12) == 3


def test_values_that_differ_only_in_undecodable_bytes_are_not_repeats() -> None:
    assert value_digest("a\udcff") != value_digest("a\ufffd")
    assert value_digest("a\udcff") != value_digest("a")


def test_large_line_numbers_are_reported_exactly() -> None:
    seen = csv_format._SeenValues()
    seen.add(value_digest("far"), 2**40 + 5)

    assert seen.line_of(value_digest("far")) == 2**40 + 5


def test_repeats_in_a_file_of_many_rows_are_reported_with_their_first_line() -> None:
    lines = [f"name {i},text {i},key{i}" for i in range(5_000)]
    lines += ["name 17,again,other", "fresh,again,key4999"]
    body = ("Name,Content,Shortcut key\n" + "\n".join(lines) + "\n").encode()

    with read_quick_response_rows(
        io.BytesIO(body), region="us-east-1", account="1", instance_id=None
    ) as rows:
        failed = [row for row in rows if not row.ok]

    assert [(row.line, row.errors) for row in failed] == [
        (5_002, ("Name: 'name 17' is already used on line 19",)),
        (5_003, ("Shortcut key: 'key4999' is already used on line 5001",)),
    ]
