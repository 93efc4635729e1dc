"""RenderMessageTemplate's renderer on a typical email, beside a `str.replace` floor.

Run: `.venv/bin/python bench/bench_render.py [--runs N] [--iterations N]`. Not part of the tests.
The email is about 10 kB (HTML and plain-text bodies, subject, two headers) with 50 placeholders
over 20 distinct keys from every namespace, three of them left unfilled. The floor is the least
any renderer must do: one `str.replace` per distinct placeholder per part, with the values
(HTML-escaped for the HTML body) prepared outside the timing. Each run times `--iterations` calls
in CPU time; the figure printed is the median run's time per call, in microseconds.
"""

from __future__ import annotations

import argparse
import html
import statistics
import time
from collections.abc import Callable
from typing import Any

from _results import Results, add_json_argument
from qconnect_local.engine.template_render import render_content

ATTRIBUTES: dict[str, Any] = {
    "systemAttributes": {"name": "Sofia Martinez", "customerEndpoint": {"address": "sofia@example.com"}},
    "agentAttributes": {"firstName": "Jorge", "lastName": "Souza"},
    "customerProfileAttributes": {
        "firstName": "Sofia",
        "lastName": "Martinez",
        "accountNumber": "ACC-1029384",
        "city": "Seattle",
        "postalCode": "98101",
        "custom": {"tier": "Gold & Platinum"},
        "calculatedAttributes": {"_lifetime_value": "1234.50"},
        "recommendations": [
            {
                "score": 0.93,
                "catalogItem": {"name": "Trail <Boots>", "price": "129.00", "link": "https://x/1"},
            },
            {"score": 0.71, "catalogItem": {"name": "Wool Socks", "price": "19.00", "link": "https://x/2"}},
        ],
    },
    "customAttributes": {"orderId": "o-55501", "deliveryDate": "12 May"},
    "caseAttributes": {"case_reason": "late delivery"},
}
KEYS = [
    "Attributes.System.Name",
    "Attributes.System.CustomerEndpointAddress",
    "Attributes.Agent.FirstName",
    "Attributes.Agent.LastName",
    "Attributes.Customer.FirstName",
    "Attributes.Customer.LastName",
    "Attributes.Customer.AccountNumber",
    "Attributes.Customer.City",
    "Attributes.Customer.PostalCode",
    "Attributes.Customer.Attributes.tier",
    "Attributes.Customer.CalculatedAttributes._lifetime_value",
    "Attributes.Customer.Recommendations.[0].CatalogItem.Name",
    "Attributes.Customer.Recommendations.[0].CatalogItem.Price",
    "Attributes.Customer.Recommendations.[1].CatalogItem.Name",
    "Attributes.Customer.Recommendations.[1].Score",
    "Attributes.Custom.orderId",
    "Attributes.Custom.deliveryDate",
    "Attributes.Case.case_reason",
    "Attributes.Custom.couponCode",  # unfilled
    "Attributes.Customer.Recommendations.[2].CatalogItem.Name",  # unfilled: out of range
]
FILLER = (
    "Thank you for contacting us about your recent order. We have reviewed the details and "
    "want to make sure everything is resolved to your satisfaction. "
)


def _body(placeholders: int, size: int, offset: int, line: Callable[[str, str], str]) -> str:
    """`size` characters of filler with `placeholders` placeholders spread evenly."""
    lines = []
    for i in range(placeholders):
        lines.append(line(FILLER, "{{" + KEYS[(offset + i) % len(KEYS)] + "}}"))
    text = "\n".join(lines)
    return text + FILLER * max(0, (size - len(text)) // len(FILLER))


def email() -> dict[str, Any]:
    """About 10 kB: 6 kB of HTML, 4 kB of plain text, 50 placeholders in all."""
    html_body = _body(24, 6_000, 0, lambda filler, p: f"<p>{filler}<b>{p}</b></p>")
    plain_body = _body(22, 4_000, 7, lambda filler, p: f"{filler}{p}")
    return {
        "email": {
            "subject": "Your order {{Attributes.Custom.orderId}}, {{Attributes.Customer.FirstName}}",
            "body": {"plainText": {"content": plain_body}, "html": {"content": html_body}},
            "headers": [
                {"name": "X-Case", "value": "{{Attributes.Case.case_reason}}"},
                {"name": "X-Agent", "value": "{{Attributes.Agent.FirstName}}"},
            ],
        }
    }


def _floor(content: dict[str, Any]) -> Callable[[], object]:
    """str.replace of every distinct placeholder in every part, values prepared in advance."""
    values = {}
    for key in KEYS:
        sms = {"sms": {"body": {"plainText": {"content": "{{" + key + "}}"}}}}
        values["{{" + key + "}}"] = render_content(sms, ATTRIBUTES, None).content["sms"]["body"]["plainText"][
            "content"
        ]
    escaped = {p: html.escape(v, quote=True) for p, v in values.items()}
    mail = content["email"]
    parts = [
        (mail["subject"], values),
        (mail["body"]["plainText"]["content"], values),
        (mail["body"]["html"]["content"], escaped),
        *((h["value"], values) for h in mail["headers"]),
    ]

    def run() -> object:
        out = []
        for text, table in parts:
            for placeholder, value in table.items():
                text = text.replace(placeholder, value)
            out.append(text)
        return out

    return run


def _per_call_us(call: Callable[[], object], runs: int, iterations: int) -> float:
    """Median over runs of CPU time per call, in microseconds."""
    samples = []
    for _ in range(runs):
        started = time.process_time()
        for _ in range(iterations):
            call()
        samples.append((time.process_time() - started) / iterations * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--iterations", type=int, default=2_000)
    add_json_argument(parser)
    args = parser.parse_args()
    results = Results("bench_render")
    content = email()
    mail = content["email"]
    size = len(mail["body"]["html"]["content"]) + len(mail["body"]["plainText"]["content"])
    result = render_content(content, ATTRIBUTES, None)
    print(f"email: {size:,} characters of body, unfilled: {result.not_interpolated}")
    floor = _floor(content)
    render_us = _per_call_us(lambda: render_content(content, ATTRIBUTES, None), args.runs, args.iterations)
    floor_us = _per_call_us(floor, args.runs, args.iterations)
    print(f"{'render_content p50':24} {render_us:>9.1f} µs")
    print(f"{'str.replace floor p50':24} {floor_us:>9.1f} µs")
    print(f"{'ratio':24} {render_us / floor_us:>9.1f} x")
    results.add(
        f"render_content, {size:,}-character email, 50 placeholders",
        render_us,
        "µs",
        "floor: str.replace of the placeholders",
        floor_us,
    )
    results.finish(args.json)


if __name__ == "__main__":
    main()
