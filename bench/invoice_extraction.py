"""Benchmark of invoice extraction (declarations.reading): time per page.

Reads each generated layout (tests/declarations/invoice_pdfs.py) and a 20-page
invoice several times, in this process, exactly as the worker's task does
(read_invoice_pdf on the PDF's bytes), and prints JSON: per layout and overall, the
milliseconds per page (median, p95), and whether every field was read right.

    .venv/bin/python bench/invoice_extraction.py [--rounds N] [--long-rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from declarations.reading.invoice import read_invoice_pdf
from tests.declarations.invoice_pdfs import (
    LAYOUTS,
    InvoiceSpec,
    invoice_pdf,
    many_lines,
    multipage_invoice,
)

LONG = InvoiceSpec(number="LONG-20", lines=many_lines(600))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(per_page_ms: list[float], cpu_ms: list[float]) -> dict:
    return {
        "samples": len(per_page_ms),
        "median_ms_per_page": round(statistics.median(per_page_ms), 1),
        "p95_ms_per_page": round(percentile(per_page_ms, 0.95), 1),
        # CPU time of this process: what the page costs when other work shares the cores.
        "median_cpu_ms_per_page": round(statistics.median(cpu_ms), 1),
        "p95_cpu_ms_per_page": round(percentile(cpu_ms, 0.95), 1),
    }


def _lines(lines) -> list[tuple]:
    return [(line.description, line.quantity, line.unit_price, line.amount) for line in lines]


def correct(facts, spec: InvoiceSpec) -> bool:
    return (
        facts.number == spec.number
        and facts.date == spec.date
        and facts.seller == spec.seller.name
        and facts.buyer == spec.buyer.name
        and facts.currency == spec.currency
        and facts.total == spec.total
        and _lines(facts.lines) == _lines(spec.lines)
    )


def measure(content: bytes, spec: InvoiceSpec, rounds: int):
    """(wall ms per page, CPU ms per page, pages, every field read right)"""
    per_page, cpu, pages, right = [], [], 0, True
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        reading = read_invoice_pdf(content, max_pages=100, budget_seconds=600)
        elapsed_ms = (time.perf_counter() - started) * 1000
        cpu_ms = (time.process_time() - started_cpu) * 1000
        pages = reading.pages
        per_page.append(elapsed_ms / pages)
        cpu.append(cpu_ms / pages)
        right = right and correct(reading.facts, spec)
    return per_page, cpu, pages, right


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="reads of each layout")
    parser.add_argument("--long-rounds", type=int, default=5, help="reads of the 20-page invoice")
    args = parser.parse_args()

    read_invoice_pdf(invoice_pdf("table")[0], max_pages=100, budget_seconds=600)  # imports
    layouts, everything, everything_cpu = {}, [], []
    for name in sorted(LAYOUTS):
        content, spec = invoice_pdf(name)
        per_page, cpu, pages, right = measure(content, spec, args.rounds)
        everything += per_page
        everything_cpu += cpu
        layouts[name] = {
            "pages": pages,
            "bytes": len(content),
            "correct": right,
            **summary(per_page, cpu),
        }
    long_pdf = multipage_invoice(LONG, lines_per_page=30)
    per_page, cpu, pages, right = measure(long_pdf, LONG, args.long_rounds)
    long = {
        "pages": pages,
        "lines": len(LONG.lines),
        "bytes": len(long_pdf),
        "correct": right,
        "median_seconds_per_invoice": round(statistics.median(per_page) * pages / 1000, 2),
        **summary(per_page, cpu),
    }
    print(
        json.dumps(
            {
                "layouts": layouts,
                "all_layouts": summary(everything, everything_cpu),
                "twenty_pages": long,
                "python": sys.version.split()[0],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
