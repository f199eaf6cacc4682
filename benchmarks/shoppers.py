"""Shoppers filing at once against Shopify's standard-plan bucket (1,000 points, 100 a second).

Starts the production layout (``portal sandbox --plan standard``, ``portal serve`` and ``portal
worker`` processes, see ``tests/helpers/layout.py``) on a PostgreSQL server of its own (or the
database ``--database-url`` names: a scratch database is made beside it), then sends every
shopper through the whole flow at once, each from its own address, as a browser without
JavaScript would (``tests/helpers/crowd.py``): look the order up, read the code from the mail,
pick an item, review, submit; a waiting page is waited on as the browser would.

Prints shoppers filed, error pages (answers of 4xx or 5xx), Shopify's queries and the share it
answered THROTTLED (the sandbox's own count), the step latency p50/p99 and the wall time.

    .venv/bin/python -m benchmarks.shoppers                # 20 shoppers, one store
    .venv/bin/python -m benchmarks.shoppers --case crowd   # 200, two stores, 4 web, 2 workers

Not part of the test suite (tests/test_shoppers_under_load.py runs the small case).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.queue import scratch_database
from tests.helpers.crowd import CASES, Case, Result, percentile, run_case
from tests.helpers.postgres_cluster import postgres_cluster


@contextmanager
def database(url: str | None) -> Iterator[str]:
    if url:
        with scratch_database(url) as scratch:
            yield scratch
        return
    with postgres_cluster() as cluster:
        yield cluster.url


def run(case: Case, *, database_url: str | None, settings: tuple[str, ...]) -> Result:
    """One run of ``case`` on a fresh layout and database."""
    with (
        tempfile.TemporaryDirectory(prefix="shoppers-") as directory,
        database(database_url) as url,
    ):
        return run_case(case, directory=Path(directory), database_url=url, settings=settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", choices=sorted(CASES), default="one-store")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--database-url", help="a PostgreSQL server to make a scratch db on")
    parser.add_argument(
        "--setting", action="append", default=[], help="an extra PORTAL_X=y for the portal"
    )
    args = parser.parse_args()
    case = CASES[args.case]
    results = []
    for round_number in range(args.rounds):
        result = run(case, database_url=args.database_url, settings=tuple(args.setting))
        results.append(result)
        print(f"round {round_number + 1}: {json.dumps(result.report())}", flush=True)
        if result.failed:
            print("  not filed:", json.dumps(dict(list(result.failed.items())[:5])))
        if result.errors:
            print("  error pages:", result.errors)
            print("  logged:", *result.failures, sep="\n    ")
        for name, calls in result.operations.items():
            print(f"  Shopify {name:<24} admitted {calls.admitted:<6} THROTTLED {calls.throttled}")
        for step, seconds in sorted(result.steps.items()):
            p50, p99 = statistics.median(seconds), percentile(seconds, 0.99)
            print(
                f"  {step:<16} n={len(seconds):<5}"
                f" p50 {p50 * 1000:7.0f} ms  p99 {p99 * 1000:7.0f} ms"
            )
    if len(results) > 1:
        medians = {
            key: statistics.median(r.report()[key] for r in results) for key in results[0].report()
        }
        print(f"medians of {len(results)} rounds: {json.dumps(medians)}")


if __name__ == "__main__":
    main()
