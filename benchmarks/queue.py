"""How fast the support queue answers on a large table.

Seeds a scratch database with N reorder requests (default 1,000,000) spread over two years and
50 stores of very different sizes, most of them long closed, then times the queue's own service
calls (median and 99th percentile of 50 runs): the first page, a deep page, every filter, every
kind of search (names, partial emails and tracking numbers too), the risk filter and the
per-status counts. Prints a table and the plan of the first-page query.

    .venv/bin/python -m benchmarks.queue                      # PostgreSQL, 1,000,000 requests
    .venv/bin/python -m benchmarks.queue --rows 200000 --database-url sqlite:///var/bench.db

On PostgreSQL a database is created beside the one in ``--database-url`` and dropped at the
end; on SQLite the file is created and deleted. ``--keep`` keeps it (and prints its URL) so that
``--seeded --database-url URL`` times it again without seeding. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import ClauseElement, Executable, Select, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from portal.db import create_engine, is_sqlite, session_factory
from portal.migrate import upgrade
from portal.reorders.models import (
    IssueType,
    PreferredResolution,
    ReorderRequest,
    RequestStatus,
)
from portal.stores.models import Store
from portal.support import queue
from portal.support.queue import Assignment, Cursor, QueueFilters, QueueQuery, parse_search

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
STORES = 50
AGENTS = 20
SPAN_SECONDS = 2 * 365 * 86_400
OPEN_SHARE = 0.03  # the newest 3% of requests are still open
RUNS = 50
BEFORE_CAP = 10_000  # the counts' cap before the counters of migration 0012
# The search indexes of migration 0011 (PostgreSQL), built once after seeding.
SEARCH_INDEX = (
    "CREATE INDEX ix_reorder_requests_search_trgm ON reorder_requests"
    " USING gin (search_text gin_trgm_ops)"
)
SEARCH_BY_AGE = (
    "CREATE INDEX ix_reorder_requests_search_by_age ON reorder_requests (created_at, id)"
    " INCLUDE (status, store_id, issue_type, resolution, assigned_to_id, risk_count, search_text)"
)
# A candidate, not in the models: the status index carrying every filtered column, so counts
# and pages under the issue / resolution filters never visit the table (PostgreSQL only).
COVERING_INDEX = (
    "CREATE INDEX ix_reorder_requests_queue_covering ON reorder_requests"
    " (status, created_at, id) INCLUDE (store_id, issue_type, resolution, assigned_to_id)"
)


# --- scratch database -------------------------------------------------------------------------


@contextmanager
def scratch_database(url: str, *, keep: bool = False) -> Iterator[str]:
    """A new database to seed, removed afterwards unless ``keep``."""
    if is_sqlite(url):
        path = Path(make_url(url).database or "var/queue-benchmark.db")
        try:
            yield f"sqlite:///{path}"
        finally:
            if keep:
                print(f"\nkept: sqlite:///{path}")
            else:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = f"portal_bench_{uuid.uuid4().hex[:10]}"
    _admin(url, f'CREATE DATABASE "{name}"')
    kept = make_url(url).set(database=name).render_as_string(hide_password=False)
    try:
        yield kept
    finally:
        if keep:
            print(f"\nkept: {kept}")
        else:
            _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(url: str, statement: str) -> None:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(statement.encode())


# --- seeding ----------------------------------------------------------------------------------

# Deterministic "random" numbers 0..999 per row, so both databases hold the same requests.
_R = {
    "store": 2654435761,
    "status": 40503,
    "assign": 7919,
    "issue": 104729,
    "wish": 15485863,
    "risk": 32452843,
}

# Customers' names: 40 first names by 50 last names, so a first name is on 1 request in 40 and
# a last name on 1 in 50 (the name searches below look for one of each).
FIRST_NAMES = (  # noqa: SIM905 (a word list reads best as words)
    "Priya Omar Jane Sam Ana Li Noah Emma Liam Mia Aiko Ravi Chen Sofia Yusuf Elena Kofi Nina"
    " Tomas Zara Ivan Maya Leo Ines Arjun Lena Omari Hana Diego Alma Farah Theo Ruth Ken Ada"
    " Bilal Iris Marco Nadia Oskar"
).split()
LAST_NAMES = (  # noqa: SIM905
    "Haddad Doe Smith Garcia Nguyen Kim Patel Rossi Muller Silva Tanaka Okafor Ivanova Cohen"
    " Larsen Novak Dubois Khan Moreau Jensen Costa Ali Weber Sato Lopez Brown Wilson Mensah"
    " Fischer Romano Berg Petrov Hassan Suzuki Meyer Clarke Varga Horvat Reyes Ortiz Popescu"
    " Nowak Eriksen Demir Yilmaz Santos Bauer Keller Morales Abbasi"
).split()
RISKY_SHARE = 20  # requests in 1,000 carrying unreviewed risk signals

REQUESTS_SELECT = """
SELECT
  g, reference, 'k' || g, 1 + (r_store * r_store) / 20000, 'gid://shopify/Order/' || g,
  order_name, email, customer_name,
  CASE r_issue % 5 WHEN 0 THEN 'Lost' WHEN 1 THEN 'Stolen' WHEN 2 THEN 'Damaged'
    WHEN 3 THEN 'Wrong_Item' ELSE 'Missing_Item' END,
  '',
  CASE r_wish % 3 WHEN 0 THEN 'reorder' WHEN 1 THEN 'alternative' ELSE 'refund' END,
  '',
  'USD',
  25.00,
  CASE
    WHEN g > {open_after} THEN
      CASE r_status % 3 WHEN 0 THEN 'submitted' WHEN 1 THEN 'in_review' ELSE 'needs_info' END
    WHEN r_status < 3 THEN 'needs_info'
    WHEN r_status < 450 THEN 'reordered'
    WHEN r_status < 700 THEN 'refunded'
    WHEN r_status < 850 THEN 'resolved'
    ELSE 'denied' END,
  CASE WHEN r_assign < 300 THEN NULL ELSE 1 + r_assign % {agents} END,
  {created_at},
  {created_at},
  tracking,
  lower(reference || ' ' || order_name || ' ' || email || ' ' || customer_name || ' ' || tracking),
  CASE WHEN r_risk < {risky} THEN 1 + r_risk % 3 ELSE 0 END
FROM (
  SELECT g, r_store, r_status, r_assign, r_issue, r_wish, r_risk,
    {reference} AS reference,
    '#' || (1000 + g) AS order_name,
    'shopper' || (g % {customers}) || '@example.com' AS email,
    {first_name} || ' ' || {last_name} AS customer_name,
    {tracking} AS tracking
  FROM (
    SELECT g,
      ({g} * {store}) % 1000 AS r_store, ({g} * {status}) % 1000 AS r_status,
      ({g} * {assign}) % 1000 AS r_assign, ({g} * {issue}) % 1000 AS r_issue,
      ({g} * {wish}) % 1000 AS r_wish, ({g} * {risk}) % 1000 AS r_risk
    FROM {series}
  ) AS numbers
) AS s
"""
COLUMNS = (
    "id, reference, submit_key, store_id, shopify_order_id, order_name, email, customer_name,"
    " issue_type, description, resolution, alternative_wish, currency, items_total, status,"
    " assigned_to_id, created_at, updated_at, tracking_numbers, search_text, risk_count"
)


def _pick(names: tuple[str, ...] | list[str], index: str) -> str:
    """A CASE choosing one of ``names`` by the SQL expression ``index`` (0-based)."""
    whens = " ".join(f"WHEN {n} THEN '{name}'" for n, name in enumerate(names))
    return f"(CASE {index} {whens} END)"


def requests_insert(url: str, rows: int, start: datetime) -> str:
    sqlite = is_sqlite(url)
    step = SPAN_SECONDS / rows
    if sqlite:
        stamp = start.strftime("%Y-%m-%d %H:%M:%S")
        offset = f"'+' || CAST(g * {step} AS INTEGER) || ' seconds'"
        # the six-digit fraction matches how SQLAlchemy writes datetimes to SQLite
        created = f"strftime('%Y-%m-%d %H:%M:%S', '{stamp}', {offset}) || '.000000'"
        parts = {
            "reference": "'RR-' || printf('%06X', g)",
            "series": "series",
            "g": "g",
            "created_at": created,
            "tracking": "printf('1Z%010X', g * 7919)",
            "first_name": _pick(FIRST_NAMES, f"(g % {len(FIRST_NAMES)})"),
            "last_name": _pick(LAST_NAMES, f"((g / {len(FIRST_NAMES)}) % {len(LAST_NAMES)})"),
        }
        # only integers and timestamps made here are formatted in; nothing comes from outside
        series = f"SELECT 1 UNION ALL SELECT g + 1 FROM series WHERE g < {rows}"  # noqa: S608
        prefix = f"WITH RECURSIVE series(g) AS ({series}) "
    else:
        parts = {
            "reference": "'RR-' || lpad(upper(to_hex(g)), 6, '0')",
            "series": f"generate_series(1, {rows}) AS g",
            "g": "g::bigint",
            "created_at": f"TIMESTAMPTZ '{start.isoformat()}' + g * INTERVAL '{step} seconds'",
            "tracking": "'1Z' || lpad(upper(to_hex(g::bigint * 7919)), 10, '0')",
            "first_name": _pick(FIRST_NAMES, f"(g % {len(FIRST_NAMES)})"),
            "last_name": _pick(LAST_NAMES, f"((g / {len(FIRST_NAMES)}) % {len(LAST_NAMES)})"),
        }
        prefix = ""
    select = REQUESTS_SELECT.format(
        customers=max(1, rows // 3),
        open_after=int(rows * (1 - OPEN_SHARE)),
        agents=AGENTS,
        risky=RISKY_SHARE,
        **_R,
        **parts,
    )
    return f"{prefix}INSERT INTO reorder_requests ({COLUMNS}) {select}"


async def seed(
    engine: AsyncEngine, url: str, rows: int, start: datetime, *, covering: bool
) -> None:
    async with engine.begin() as connection:
        # Core inserts apply the columns' own defaults (token kind, scopes, claim windows...)
        await connection.execute(
            insert(Store),
            [
                {
                    "id": n,
                    "name": f"Store {n:02d}",
                    "slug": f"store-{n}",
                    "shop_domain": f"store-{n}.myshopify.com",
                    "sealed_access_token": "not-a-token",
                    "api_version": "2025-04",
                    "support_email": "help@example.com",
                    "created_at": start,
                }
                for n in range(1, STORES + 1)
            ],
        )
        for n in range(1, AGENTS + 1):
            await connection.execute(
                text(
                    "INSERT INTO users (id, email, password_hash, role, created_at,"
                    " password_changed_at, disabled, failed_logins) VALUES"
                    " (:id, :email, 'x', 'agent', :at, :at, false, 0)"
                ),
                {"id": n, "email": f"agent{n}@example.com", "at": start},
            )
        if not is_sqlite(url):  # one index build after the rows, not a million index inserts
            await connection.exec_driver_sql("DROP INDEX ix_reorder_requests_search_trgm")
            await connection.exec_driver_sql("DROP INDEX ix_reorder_requests_search_by_age")
        await connection.execute(text(requests_insert(url, rows, start)))
        if not is_sqlite(url):
            await connection.exec_driver_sql(SEARCH_INDEX)
            await connection.exec_driver_sql(SEARCH_BY_AGE)
    if is_sqlite(url):
        async with engine.connect() as connection:
            await connection.exec_driver_sql("ANALYZE")
        return
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as connection:
        if covering:
            await connection.exec_driver_sql("DROP INDEX ix_reorder_requests_queue")
            await connection.exec_driver_sql(COVERING_INDEX)
        await connection.exec_driver_sql("VACUUM ANALYZE reorder_requests")


# --- timing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    case: str
    median_ms: float
    p99_ms: float
    min_ms: float
    rows: str


async def timed(
    name: str, work: Callable[[], Awaitable[Any]], describe: Callable[[Any], str]
) -> Timing:
    await work()  # warm the caches once; the table shows steady-state answers
    seconds, result = [], None
    for _ in range(RUNS):
        began = time.perf_counter()
        result = await work()
        seconds.append(time.perf_counter() - began)
    ms = [s * 1000 for s in seconds]
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98]
    return Timing(name, statistics.median(ms), p99, min(ms), describe(result))


def page_rows(page: queue.QueuePage) -> str:
    return f"{len(page.rows)}{'+' if page.next_cursor else ''}"


def count_cells(counts: list[queue.StatusCount]) -> str:
    return " ".join(f"{c.count}{'+' if c.capped else ''}" for c in counts)


def both_cells(result: tuple[queue.QueuePage, list[queue.StatusCount]]) -> str:
    page, counts = result
    return f"{page_rows(page)} | {count_cells(counts)}"


class Explain(Executable, ClauseElement):
    inherit_cache = False

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement


@compiles(Explain, "postgresql")
def _explain_postgresql(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + compiler.process(element.statement, **kw)


@compiles(Explain, "sqlite")
def _explain_sqlite(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN QUERY PLAN " + compiler.process(element.statement, **kw)


async def explain(db: AsyncSession, statement: Select[*tuple[Any, ...]]) -> str:
    found = (await db.execute(Explain(statement))).all()
    return "\n".join(" | ".join(str(cell) for cell in row[-1:]) for row in found)


async def run(
    url: str, rows: int, deep_pages: int, *, covering: bool, seeded: bool, only: str | None
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=SPAN_SECONDS + 3600)
    engine = create_engine(url)
    try:
        if not seeded:
            began = time.perf_counter()
            await seed(engine, url, rows, start, covering=covering)
            print(f"seeded {rows:,} requests in {time.perf_counter() - began:.1f} s")
        async with session_factory(engine)() as db:
            await report(db, rows, deep_pages, only)
    finally:
        await engine.dispose()


async def report(db: AsyncSession, rows: int, deep_pages: int, only: str | None) -> None:
    at = datetime.now(UTC)
    agent = QueueQuery(QueueFilters(), store_scope=None, staff_id=1, now=at)
    every = replace(agent, filters=QueueFilters(status="any"))
    big_store, small_store = 1, STORES

    def with_filters(**changes: Any) -> QueueQuery:
        return replace(every, filters=replace(every.filters, **changes))

    def page(query: QueueQuery, after: Cursor | None = None) -> Callable[[], Awaitable[Any]]:
        return lambda: queue.queue_page(db, query, after=after)

    def counts(
        query: QueueQuery, cap: int | None = queue.COUNT_CAP
    ) -> Callable[[], Awaitable[Any]]:
        return lambda: queue.status_counts(db, query, cap=cap)

    def counted(query: QueueQuery, cap: int | None) -> Callable[[], Awaitable[Any]]:
        """The counts as they were before the counters: a count of the table, up to ``cap``."""

        async def count() -> list[queue.StatusCount]:
            row = (await db.execute(queue.counts_statement(query, cap))).one()
            return [
                queue.StatusCount(s, min(n, cap or n), capped=cap is not None and n > cap)
                for s, n in zip(RequestStatus, row, strict=True)
            ]

        return count

    def page_and_counted(query: QueueQuery) -> Callable[[], Awaitable[Any]]:
        """The queue page as it was read before the counters (counts capped at 10,000)."""

        async def both() -> tuple[queue.QueuePage, list[queue.StatusCount]]:
            return await queue.queue_page(db, query), await counted(query, BEFORE_CAP)()

        return both

    def page_and_counts(query: QueueQuery) -> Callable[[], Awaitable[Any]]:
        """What the queue page reads: its first page and the per-status counts."""

        async def both() -> tuple[queue.QueuePage, list[queue.StatusCount]]:
            return await queue.queue_page(db, query), await queue.status_counts(db, query)

        return both

    print("\nfollowing the cursor", end="", flush=True)
    cursor, followed, began = None, 0, time.perf_counter()
    while followed < deep_pages:
        result = await queue.queue_page(db, every, after=cursor)
        cursor, followed = result.next_cursor, followed + 1
        if cursor is None:
            break
    per_page = (time.perf_counter() - began) * 1000 / followed
    print(f": {followed} pages, {per_page:.2f} ms a page on average")
    last_id = await db.scalar(text("SELECT max(id) FROM reorder_requests"))
    near_end = await db.get(ReorderRequest, max(1, int(last_id or 1) - 1000))
    assert near_end is not None
    end_cursor = Cursor(near_end.created_at, near_end.id)

    sample = await db.get(ReorderRequest, rows // 2)
    assert sample is not None
    cases: list[tuple[str, Callable[[], Awaitable[Any]], Callable[[Any], str]]] = [
        ("PAGE + COUNTS: open (the default)", page_and_counts(agent), both_cells),
        (
            "PAGE + COUNTS: open, counted as before (capped at 10,000)",
            page_and_counted(agent),
            both_cells,
        ),
        ("PAGE + COUNTS: any status", page_and_counts(every), both_cells),
        (
            "PAGE + COUNTS: assigned to me",
            page_and_counts(with_filters(assignment=Assignment.ME)),
            both_cells,
        ),
        (
            "PAGE + COUNTS: merchant scope (largest store)",
            page_and_counts(replace(agent, store_scope=big_store)),
            both_cells,
        ),
        (
            "PAGE + COUNTS: issue = Damaged",
            page_and_counts(with_filters(issue_type=IssueType.DAMAGED)),
            both_cells,
        ),
        (
            "PAGE + COUNTS: last name search",
            page_and_counts(with_filters(search=parse_search("haddad"))),
            both_cells,
        ),
        ("first page: open (the default)", page(agent), page_rows),
        ("first page: any status", page(every), page_rows),
        (f"page {followed + 1} (cursor followed)", page(every, cursor), page_rows),
        ("page near the end (seeded cursor)", page(every, end_cursor), page_rows),
        ("status = in_review", page(with_filters(status="in_review")), page_rows),
        ("status = reordered", page(with_filters(status="reordered")), page_rows),
        ("store: the largest", page(with_filters(store_id=big_store)), page_rows),
        ("store: the smallest", page(with_filters(store_id=small_store)), page_rows),
        (
            "store: smallest, open",
            page(with_filters(status="open", store_id=small_store)),
            page_rows,
        ),
        (
            "merchant scope (smallest store)",
            page(replace(every, store_scope=small_store)),
            page_rows,
        ),
        ("issue = Damaged", page(with_filters(issue_type=IssueType.DAMAGED)), page_rows),
        (
            "resolution = refund",
            page(with_filters(resolution=PreferredResolution.REFUND)),
            page_rows,
        ),
        ("older than 30 days", page(with_filters(older_than_days=30)), page_rows),
        (
            "open, older than 30 days",
            page(with_filters(status="open", older_than_days=30)),
            page_rows,
        ),
        ("assigned to me", page(with_filters(assignment=Assignment.ME)), page_rows),
        (
            "open, assigned to me",
            page(with_filters(status="open", assignment=Assignment.ME)),
            page_rows,
        ),
        ("unassigned", page(with_filters(assignment=Assignment.UNASSIGNED)), page_rows),
        (
            "search: reference",
            page(with_filters(search=parse_search(sample.reference.lower()))),
            page_rows,
        ),
        (
            "search: order number",
            page(with_filters(search=parse_search(sample.order_name))),
            page_rows,
        ),
        ("search: email", page(with_filters(search=parse_search(sample.email.upper()))), page_rows),
        (
            "search: last name (haddad)",
            page(with_filters(search=parse_search("haddad"))),
            page_rows,
        ),
        ("search: first name (Priya)", page(with_filters(search=parse_search("Priya"))), page_rows),
        (
            "search: full name",
            page(with_filters(search=parse_search(sample.customer_name))),
            page_rows,
        ),
        (
            "search: open, last name",
            page(with_filters(status="open", search=parse_search("haddad"))),
            page_rows,
        ),
        (
            "search: partial email",
            page(with_filters(search=parse_search(sample.email.split("@")[0] + "@"))),
            page_rows,
        ),
        (
            "search: tracking number, last 8",
            page(with_filters(search=parse_search(sample.tracking_numbers[-8:]))),
            page_rows,
        ),
        (
            "search: a name nobody has",
            page(with_filters(search=parse_search("zzyzx"))),
            page_rows,
        ),
        ("has risk signals", page(with_filters(risky=True)), page_rows),
        ("open, has risk signals", page(with_filters(status="open", risky=True)), page_rows),
        (
            "has risk signals, smallest store",
            page(with_filters(risky=True, store_id=small_store)),
            page_rows,
        ),
        ("counts: every store (kept counters)", counts(every), count_cells),
        ("counts: every store, counted exactly", counted(every, None), count_cells),
        ("counts: smallest store", counts(with_filters(store_id=small_store)), count_cells),
        (
            "counts: issue = Damaged, capped at 1,000",
            counts(with_filters(issue_type=IssueType.DAMAGED)),
            count_cells,
        ),
        (
            "counts: issue = Damaged, counted exactly",
            counts(with_filters(issue_type=IssueType.DAMAGED), None),
            count_cells,
        ),
        (
            "counts, email search",
            counts(with_filters(search=parse_search(sample.email))),
            count_cells,
        ),
        (
            "counts, last name search",
            counts(with_filters(search=parse_search("haddad"))),
            count_cells,
        ),
        ("counts, has risk signals", counts(with_filters(risky=True)), count_cells),
    ]
    chosen = [case for case in cases if only is None or only.casefold() in case[0].casefold()]
    timings = [await timed(name, work, describe) for name, work, describe in chosen]
    print_table(timings)
    print("\nplan of the first-page query (default filters: open requests, every store):\n")
    print(await explain(db, queue.page_statement(agent, None)))
    print("\nplan of a deep page (any status, cursor near the end):\n")
    print(await explain(db, queue.page_statement(every, end_cursor)))


def print_table(timings: list[Timing]) -> None:
    width = max(len(t.case) for t in timings)
    print(f"\n{'case':<{width}}  {'median ms':>9}  {'p99 ms':>7}  {'min ms':>7}  rows")
    print(f"{'-' * width}  {'-' * 9}  {'-' * 7}  {'-' * 7}  {'-' * 20}")
    for t in timings:
        print(
            f"{t.case:<{width}}  {t.median_ms:>9.2f}  {t.p99_ms:>7.2f}  {t.min_ms:>7.2f}  {t.rows}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--deep-pages", type=int, default=1000)
    parser.add_argument(
        "--covering-index",
        action="store_true",
        help="replace ix_reorder_requests_queue with a covering candidate (PostgreSQL)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the seeded database and print its URL (to time it again with --seeded)",
    )
    parser.add_argument(
        "--seeded",
        action="store_true",
        help="--database-url is a database this benchmark seeded and kept: time it as it is",
    )
    parser.add_argument(
        "--only", help="time only the cases whose name contains this (e.g. 'page + counts')"
    )
    args = parser.parse_args()
    if args.seeded:
        asyncio.run(
            run(
                args.database_url,
                args.rows,
                args.deep_pages,
                covering=False,
                seeded=True,
                only=args.only,
            )
        )
        return
    with scratch_database(args.database_url, keep=args.keep) as url:
        upgrade(url)
        asyncio.run(
            run(
                url,
                args.rows,
                args.deep_pages,
                covering=args.covering_index,
                seeded=False,
                only=args.only,
            )
        )


if __name__ == "__main__":
    main()
