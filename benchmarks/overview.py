"""How fast a store's overview answers on PostgreSQL for a store with 100,000 requests.

Seeds a scratch database (beside the one in ``--database-url``, dropped at the end) with one
store: N reorder requests over two years (default 100,000; one or two items each, every kind of
end, the newest 3% still open), a succeeded resolution for each reordered, refunded or resolved
request, and the premiums of ``--orders-per-request`` protected orders per request (default 8:
800,000 premiums) over the same two years (the triggers of migration 0018 keep the overview's
summaries as the rows go in). Then times the overview page over real HTTP (the portal under
uvicorn in its own process on loopback, a signed-in agent, the page rendered in full) for each
period, median and 99th percentile of ``--runs`` requests (default 20) after one warm-up, two of
its CSV tables and the list of invoice months: first with every month open (each month's
deductions from the resolutions, as the database keeps them by month), then again once every
month before the current one is closed (closed with the invoice's own code: their totals are
read as frozen).

    .venv/bin/python -m benchmarks.overview
    .venv/bin/python -m benchmarks.overview --rows 100000 --runs 50

``--keep`` keeps the database and prints its URL; ``--seeded --database-url URL`` times it again.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import insert, select, text

from benchmarks.queue import SPAN_SECONDS, scratch_database
from portal.accounts import service as accounts
from portal.accounts.guard import COOKIE
from portal.billing import invoices
from portal.billing.months import month_of
from portal.clock import utcnow
from portal.db import create_engine, session_factory
from portal.migrate import upgrade
from portal.stores.models import Store
from tests.helpers.layout import answers, wait_until
from tests.helpers.portal import portal_settings
from tests.helpers.servers import free_port

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
SLUG = "big-store"
ZONE = "America/New_York"
PRODUCTS = 40
STAFF_EMAIL = "agent@example.com"

# Deterministic spreads: r_* are 0..999 per row.
REQUESTS = """
INSERT INTO reorder_requests (id, reference, submit_key, store_id, shopify_order_id, order_name,
  email, customer_name, issue_type, description, resolution, alternative_wish, currency,
  items_total, status, created_at, updated_at, closed_at, tracking_numbers, search_text,
  risk_count)
SELECT g, 'RR-' || lpad(upper(to_hex(g)), 6, '0'), 'k' || g, 1, 'gid://shopify/Order/' || g,
  '#' || (1000 + g), 'shopper' || (g % 30000) || '@example.com', 'Jane Doe',
  CASE (g * 104729) % 1000 % 5 WHEN 0 THEN 'Lost' WHEN 1 THEN 'Stolen' WHEN 2 THEN 'Damaged'
    WHEN 3 THEN 'Wrong_Item' ELSE 'Missing_Item' END,
  '', CASE (g * 15485863) % 3 WHEN 0 THEN 'reorder' WHEN 1 THEN 'alternative' ELSE 'refund' END,
  '', 'USD', 25.00, status, created, created,
  CASE WHEN status IN ('submitted', 'in_review', 'needs_info') THEN NULL
    ELSE created + ((g * 7919) % 1000) * INTERVAL '1 hour' / 4 END,
  '', '', 0
FROM (
  SELECT g, CAST(:start AS timestamptz) + g * (:step * INTERVAL '1 second') AS created,
    CASE
      WHEN g > :open_after THEN CASE g % 3 WHEN 0 THEN 'submitted' WHEN 1 THEN 'in_review'
        ELSE 'needs_info' END
      WHEN (g * 40503) % 1000 < 450 THEN 'reordered'
      WHEN (g * 40503) % 1000 < 700 THEN 'refunded'
      WHEN (g * 40503) % 1000 < 850 THEN 'resolved'
      ELSE 'denied' END AS status
  FROM generate_series(CAST(1 AS bigint), :rows) AS g
) AS s
"""
ITEMS = """
INSERT INTO request_items (request_id, line_item_id, title, quantity, unit_price)
SELECT r.id, 'gid://shopify/LineItem/' || r.id || '-' || n,
  'Product ' || lpad((((r.id::bigint * 7919 + n * 104729) % 1000) ^ 2 / 25000)::int::text, 2, '0'),
  1 + (r.id + n) % 3, 12.50
FROM reorder_requests r CROSS JOIN generate_series(0, 1) AS n
WHERE n = 0 OR r.id % 2 = 0
"""
RESOLUTIONS = """
INSERT INTO resolutions (request_id, store_id, kind, status, amount, currency, deducted,
  agent_email, description, created_at, resolved_at)
SELECT id, 1,
  CASE status WHEN 'reordered' THEN 'primary_reorder' WHEN 'refunded' THEN 'refund'
    ELSE 'alternative_reorder' END,
  'succeeded', 20 + (id % 40), 'USD', status <> 'resolved', 'agent1@example.com', '',
  closed_at, closed_at
FROM reorder_requests WHERE status IN ('reordered', 'refunded', 'resolved')
"""
PREMIUMS = """
INSERT INTO premiums (store_id, shopify_order_id, order_name, ordered_at, month, currency,
  charged, amount, cancelled, refunded_quantity, updated_at)
SELECT 1, 'gid://shopify/Order/p' || g, '#p' || g, ordered,
  to_char(ordered AT TIME ZONE :zone, 'YYYY-MM'), 'USD', 2.95,
  CASE WHEN g % 50 = 0 THEN 0 ELSE 2.95 END, g % 50 = 0, 0, ordered
FROM (
  SELECT g, CAST(:start AS timestamptz) + g * (:step * INTERVAL '1 second') AS ordered
  FROM generate_series(CAST(1 AS bigint), :orders) AS g
) AS s
"""


async def seed(url: str, rows: int, orders_per_request: int, start: datetime) -> None:
    engine = create_engine(url)
    orders = rows * orders_per_request
    try:
        async with engine.begin() as db:
            # a Core insert applies the columns' own defaults (token kind, claim windows...)
            await db.execute(
                insert(Store),
                [
                    {
                        "id": 1,
                        "name": "Big Store",
                        "slug": SLUG,
                        "shop_domain": f"{SLUG}.myshopify.com",
                        "sealed_access_token": "not-a-token",
                        "api_version": "2025-04",
                        "support_email": "help@example.com",
                        "time_zone": ZONE,
                        "currency": "USD",
                        "created_at": start,
                    }
                ],
            )
            common = {"start": start.isoformat(), "rows": rows}
            await db.execute(
                text(REQUESTS),
                {**common, "step": SPAN_SECONDS / rows, "open_after": int(rows * 0.97)},
            )
            await db.execute(text(ITEMS))
            await db.execute(text(RESOLUTIONS))
            await db.execute(
                text(PREMIUMS),
                {
                    "start": start.isoformat(),
                    "step": SPAN_SECONDS / orders,
                    "orders": orders,
                    "zone": ZONE,
                },
            )
            await db.execute(text(PREMIUM_MONTHS))
            await db.execute(text("SELECT setval('reorder_requests_id_seq', :n)"), {"n": rows})
        autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        async with autocommit.connect() as db:
            await db.exec_driver_sql("VACUUM ANALYZE")
    finally:
        await engine.dispose()


# the ledger keeps each month's premiums beside its rows (billing.ledger); seeded rows need it too
PREMIUM_MONTHS = """
INSERT INTO premium_months (store_id, month, amount)
SELECT store_id, month, SUM(amount) FROM premiums GROUP BY store_id, month
"""


async def close_past_months(url: str) -> int:
    """Close every month before the current one with the invoice's own code. Newest first: an
    open month just before each one closed keeps composing it from its own month alone (oldest
    first, each close would read every frozen invoice before it); the frozen totals are the same
    here, as no resolution lands after its month was closed."""
    engine = create_engine(url)
    closed = 0
    try:
        async with session_factory(engine)() as db:
            store = await db.scalar(select(Store).where(Store.slug == SLUG))
            assert store is not None
            current = month_of(utcnow(), store.time_zone)
            for summary in await invoices.invoice_months(db, store, now=utcnow()):
                if summary.month < current and not summary.closed:
                    await invoices.close_invoice(
                        db, store, summary.month, closed_by="admin@example.com", now=utcnow()
                    )
                    await db.commit()
                    closed += 1
    finally:
        await engine.dispose()
    return closed


async def staff_session(url: str) -> str:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db, db.begin():
            # a database timed again (--seeded) already has the agent
            user = await accounts.find_user(db, STAFF_EMAIL) or await accounts.create_user(
                db,
                email=STAFF_EMAIL,
                role="agent",
                password="correct horse battery staple",  # noqa: S106 (a scratch database)
                store_id=None,
                now=utcnow(),
            )
            return await accounts.start_session(db, user, now=utcnow())
    finally:
        await engine.dispose()


def timed(client: httpx.Client, path: str, runs: int) -> tuple[float, float, int]:
    """Median and p99 in ms of ``runs`` GETs of ``path`` after one warm-up; and its size."""
    answer = client.get(path)
    answer.raise_for_status()
    ms = []
    for _ in range(runs):
        began = time.perf_counter()
        answer = client.get(path)
        ms.append((time.perf_counter() - began) * 1000)
        answer.raise_for_status()
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98]
    return statistics.median(ms), p99, len(answer.content)


@contextmanager
def portal_process(url: str) -> Iterator[str]:
    """The portal under uvicorn in a process of its own (one worker, as ``portal serve``)."""
    port = free_port()
    environ = {**os.environ, **portal_settings(url, log_level="warning").environ(changed_only=True)}
    command = [sys.executable, "-m", "uvicorn", "portal.app:create_app_from_env", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    command += ["--log-level", "warning"]
    process = subprocess.Popen(command, env=environ)  # noqa: S603 (our own interpreter)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until("the portal", lambda: answers(f"{base_url}/readyz"))
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def report(url: str, runs: int, token: str) -> None:
    with (
        portal_process(url) as base_url,
        httpx.Client(base_url=base_url, timeout=60, cookies={COOKIE: token}) as client,
    ):
        cases = [
            (f"overview, last {m} months", f"/support/overview/{SLUG}/?months={m}")
            for m in (3, 6, 12, 24)
        ]
        cases += [
            (f"{table}.csv, last 12 months", f"/support/overview/{SLUG}/{table}.csv?months=12")
            for table in ("months", "products")
        ]
        cases.append(("invoice months (every month)", f"/support/invoices/{SLUG}/"))
        width = max(len(name) for name, _ in cases)
        print(f"\n{'case':<{width}}  {'median ms':>9}  {'p99 ms':>7}  bytes")
        for name, path in cases:
            median, p99, size = timed(client, path, runs)
            print(f"{name:<{width}}  {median:>9.1f}  {p99:>7.1f}  {size:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--orders-per-request", type=int, default=8)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    parser.add_argument("--seeded", action="store_true", help="time --database-url as it is")
    args = parser.parse_args()
    if args.seeded:
        report(args.database_url, args.runs, asyncio.run(staff_session(args.database_url)))
        return
    with scratch_database(args.database_url, keep=args.keep) as url:
        upgrade(url)
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=SPAN_SECONDS + 3600)
        began = time.perf_counter()
        asyncio.run(seed(url, args.rows, args.orders_per_request, start))
        print(
            f"seeded {args.rows:,} requests and {args.rows * args.orders_per_request:,} premiums"
            f" in {time.perf_counter() - began:.1f} s"
        )
        token = asyncio.run(staff_session(url))
        print("\nevery month open: each month's deductions from the resolutions")
        report(url, args.runs, token)
        began = time.perf_counter()
        closed = asyncio.run(close_past_months(url))
        print(f"\nclosed {closed} months in {time.perf_counter() - began:.1f} s")
        print("every month before the current one closed, as an admin closes each invoice")
        report(url, args.runs, token)


if __name__ == "__main__":
    main()
