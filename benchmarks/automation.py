"""From submit to a Shopify order or refund, with a rule and no agent.

Starts the production layout (``portal sandbox``, then ``portal serve`` and ``portal worker``
processes; ``tests/helpers/layout.py``) on SQLite or a scratch PostgreSQL database, switches
on one rule in each sandbox store ("lost: resolve as the shopper preferred", limits out of the
way), and prepares N requests as shoppers do (``tests/helpers/crowd.py``: look the order up,
enter the emailed code, fill the form: one draft per line item, each asking for a refund)
without submitting them, with the shops on Shopify's enterprise plan. Then it moves the shops
to the standard plan (100 points a second) and:

1. idle: submits a few requests one at a time, each once the last is resolved: the time from
   submit to Shopify's order or refund when nothing else is queued;
2. burst: waits for the stores' buckets to refill, submits the rest (``--at-once`` shoppers
   at a time) and times each from submit to its order or refund (median, p99), and the
   automatic resolutions per second against what the buckets allowed: every point the stores
   had at the start plus what they regained, over the points one resolution took (the queries'
   actual cost as the sandbox counts it: reads at submit, the risk and rule jobs, the order or
   refund), and the share of that ceiling reached.

It checks that every request was resolved by the rule, each with its own Shopify order or
refund (one resolution per request, no two naming the same one), and that no job failed or met
throttling, and prints the figures.

    .venv/bin/python -m benchmarks.automation                  # SQLite, one worker process
    .venv/bin/python -m benchmarks.automation --workers 2 \
        --database-url postgresql://postgres@127.0.0.1:5432/test

On PostgreSQL a scratch database is created beside the given one and dropped afterwards. Not
part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select

from benchmarks.pages import cpu_seconds
from benchmarks.queue import scratch_database
from portal.automation import rules
from portal.automation.conditions import checked
from portal.automation.models import AutomationDecision
from portal.clock import utcnow
from portal.db import create_engine as create_async_engine
from portal.db import session_factory, sync_url
from portal.jobs.models import Job
from portal.reorders.models import ReorderRequest
from portal.stores.models import Store
from portal.support.models import Resolution
from tests.helpers.crowd import (
    CONTINUE,
    HIDDEN,
    MAX_WAITS,
    Abandoned,
    Calls,
    Mail,
    Seen,
    Shopper,
    calls_between,
    is_waiting,
    reading_mail,
    shopify_calls,
    submit_action,
)
from tests.helpers.layout import Layout, deployed
from tests.helpers.shopper_flow import QUANTITY, REPORTABLE, csrf_of

PREPARING_AT_ONCE = 6
# Refunds: the sandbox's catalogue has variants out of stock, whose reorders a rule leaves to
# an agent (the tests cover reorders); every refund here can be automatic.
PREFERRED = "refund"
IDLE_REQUESTS = 5
BUCKET_QUERY = "query BucketLevel { shop { name } }"
BUCKET_PROBE = "BucketLevel"


@dataclass(frozen=True)
class Draft:
    """A filled-in request at its review step: the shopper's cookies and the submit form."""

    store: str
    cookies: httpx.Cookies
    action: str
    csrf: str


# --- preparing ----------------------------------------------------------------------------------


def switch_on_rules(database_url: str) -> None:
    async def work() -> None:
        engine = create_async_engine(database_url)
        try:
            async with session_factory(engine)() as db, db.begin():
                for store in (await db.scalars(select(Store))).all():
                    given = await rules.checked_input(
                        db,
                        store.id,
                        name="Lost or stolen: as the shopper preferred",
                        conditions=checked({"issue_types": sorted(set(REPORTABLE.values()))}),
                        action="resolve",
                    )
                    row = await rules.create_rule(db, store.id, given, by="benchmark", now=utcnow())
                    rules.switch(db, row, True, by="benchmark", now=utcnow())
                    await rules.set_limits(
                        db,
                        store.id,
                        max_per_resolution=Decimal("100000"),
                        max_per_day=Decimal("1000000"),
                        paused=False,
                        by="benchmark",
                        now=utcnow(),
                    )
        finally:
            await engine.dispose()

    asyncio.run(work())


def orders_to_claim(layout: Layout) -> list[dict[str, Any]]:
    """The orders a shopper can file for, taking the stores in turn: the burst spends both
    stores' buckets, as the ceiling counts them (in the sandbox's order, one store's orders
    come first, and a burst drawn from them alone had half the points the ceiling counted)."""
    orders = httpx.get(f"{layout.sandbox_url}/orders.json", timeout=30).json()["orders"]
    by_store: dict[str, list[dict[str, Any]]] = {}
    for o in orders:
        if o["protected"] and o["parcel"] in REPORTABLE and not o["cancelled"] and o["email"]:
            by_store.setdefault(o["store"], []).append(o)
    turns = itertools.zip_longest(*by_store.values())
    return [o for turn in turns for o in turn if o is not None]


def prepare(layout: Layout, orders: list[dict[str, Any]], wanted: int) -> list[Draft]:
    """Drafts at the review step, ``PREPARING_AT_ONCE`` shoppers at a time, until there are
    ``wanted`` of them or no orders left."""

    async def work() -> list[Draft]:
        live = [p.port for p in layout.web if p.port is not None]
        seen = Seen()
        drafts: list[Draft] = []
        async with reading_mail(layout.sandbox_url) as mail:
            for start in range(0, len(orders), PREPARING_AT_ONCE):
                batch = list(enumerate(orders))[start : start + PREPARING_AT_ONCE]
                shoppers = [Shopper(n, o, stores[o["store"]], live, seen) for n, o in batch]
                for found in await asyncio.gather(*(review_each_line(s, mail) for s in shoppers)):
                    drafts.extend(found)
                if len(drafts) >= wanted:
                    break
        return drafts

    stores = {s["slug"]: s for s in layout.services()["stores"]}
    return asyncio.run(work())


async def review_each_line(shopper: Shopper, mail: Mail) -> list[Draft]:
    """Verify one order and leave a draft at the review step for each of its lines; an order
    whose shopper could not go on is left out."""
    slug = shopper.store["slug"]
    drafts = []
    try:
        form = await shopper.verify(mail)
        if form is None:
            return []
        for number, field in enumerate(QUANTITY.findall(form.text)):
            if number:  # the next line on a fresh form, as after pressing Back
                form = await shopper.send("GET", f"/{slug}/request")
            review = await shopper.review(form, field, resolution=PREFERRED)
            if review is not None:
                action = submit_action(review)
                drafts.append(Draft(slug, shopper.client.cookies, action, csrf_of(review)))
    except (httpx.HTTPError, Abandoned) as exc:
        print(f"order {shopper.order['number']} left out: {exc!r}", file=sys.stderr)
        return []
    finally:
        await shopper.client.aclose()
    return drafts


def submit(base: str, draft: Draft) -> bool:
    """Press Submit, and Continue on a "one moment" page as a browser does; whether the portal
    filed the request (a 303 to its status page)."""
    with httpx.Client(base_url=base, cookies=draft.cookies, timeout=120) as shopper:
        answer = shopper.post(draft.action, data={"csrf_token": draft.csrf})
        for _ in range(MAX_WAITS):
            again = CONTINUE.search(answer.text) if is_waiting(answer) else None
            if again is None:
                break
            time.sleep(int(again.group(2)))
            fields = {html.unescape(k): html.unescape(v) for k, v in HIDDEN.findall(again.group(3))}
            answer = shopper.post(html.unescape(again.group(1)), data=fields)
    if answer.status_code != 303:
        print(f"submit answered {answer.status_code}", file=sys.stderr)
    return answer.status_code == 303


def move_to_plan(layout: Layout, plan: str) -> None:
    """Every sandbox shop on ``plan``."""
    for store in layout.services()["stores"]:
        moved = httpx.post(
            f"{layout.sandbox_url}/shops/{store['shop_domain']}/plan",
            data={"plan": plan},
            timeout=30,
        )
        if moved.status_code != 303:
            raise RuntimeError(f"the sandbox kept {store['shop_domain']}'s plan: {moved.text}")


# --- measuring ----------------------------------------------------------------------------------


def bucket_levels(layout: Layout) -> dict[str, dict[str, float]]:
    """Each store's Shopify bucket now, from the cost Shopify reports on a tiny query."""
    levels = {}
    for store in layout.services()["stores"]:
        answer = httpx.post(
            store["graphql_endpoint"],
            json={"query": BUCKET_QUERY, "operationName": BUCKET_PROBE},
            headers={"X-Shopify-Access-Token": store["access_token"]},
            timeout=30,
        ).json()
        status = answer["extensions"]["cost"]["throttleStatus"]
        levels[store["slug"]] = {
            "available": float(status["currentlyAvailable"]),
            "restore": float(status["restoreRate"]),
            "size": float(status["maximumAvailable"]),
        }
    return levels


@contextmanager
def watching_buckets(layout: Layout) -> Iterator[list[float]]:
    """Each store's points available, read once a second while the block runs: whether the
    buckets or something else held the burst back."""
    levels: list[float] = []
    done = threading.Event()

    def watch() -> None:
        while not done.wait(1.0):
            levels.extend(level["available"] for level in bucket_levels(layout).values())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield levels
    finally:
        done.set()
        watcher.join()


def wait_for_refill(layout: Layout) -> dict[str, dict[str, float]]:
    while True:
        levels = bucket_levels(layout)
        if all(v["available"] >= v["size"] - 5 for v in levels.values()):
            return levels
        time.sleep(1)


@dataclass(frozen=True)
class Outcome:
    latencies: list[float]  # seconds from submit to Shopify's answer
    first_filed: datetime
    last_resolved: datetime
    resolved: int
    filed: int
    failed_jobs: int
    throttled_jobs: int
    decided_by_rule: int
    distinct_outcomes: int  # distinct Shopify orders and refunds among the resolutions
    resolutions: int  # every resolution row of these requests, failed ones too


def settled(database_url: str, since: datetime, expected: int, timeout: float) -> Outcome:
    """Wait until ``expected`` requests filed since ``since`` are resolved, then read them."""
    engine = create_engine(sync_url(database_url))
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as db:
                rows = db.execute(
                    select(
                        ReorderRequest.created_at,
                        Resolution.resolved_at,
                        Resolution.status,
                        Resolution.id,
                        Resolution.shopify_order_id,
                        Resolution.shopify_refund_id,
                        Resolution.kind,
                    )
                    .join(Resolution, Resolution.request_id == ReorderRequest.id, isouter=True)
                    .where(ReorderRequest.created_at >= since)
                ).all()
            done = [r for r in rows if r.status == "succeeded"]
            if len(done) >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        with engine.connect() as db:
            jobs = db.execute(select(Job.status, Job.attempts, Job.last_error)).all()
            decided = db.scalar(
                select(func.count())
                .select_from(AutomationDecision)
                .where(AutomationDecision.created_at >= since)
                .where(AutomationDecision.outcome.in_(["reordered", "refunded"]))
            )
    finally:
        engine.dispose()
    latencies = sorted((r.resolved_at - r.created_at).total_seconds() for r in done)
    shopify = {r.shopify_refund_id or r.shopify_order_id for r in done if r.kind == "refund"} | {
        r.shopify_order_id for r in done if r.kind == "primary_reorder"
    }
    return Outcome(
        latencies=latencies,
        first_filed=min(r.created_at for r in rows),
        last_resolved=max(r.resolved_at for r in done),
        resolved=len(done),
        filed=len(rows),
        failed_jobs=sum(j.status == "failed" for j in jobs),
        throttled_jobs=sum("hrottl" in (j.last_error or "") for j in jobs),
        decided_by_rule=int(decided or 0),
        distinct_outcomes=len(shopify - {None}),
        resolutions=sum(r.id is not None for r in rows),
    )


def p99(values: list[float]) -> float:
    return values[min(len(values) - 1, round(0.99 * (len(values) - 1)))]


# --- the run ------------------------------------------------------------------------------------


def run(
    database_url: str,
    scratch: Path,
    *,
    requests: int,
    workers: int,
    concurrency: int,
    at_once: int,
) -> int:
    with (
        deployed(
            scratch,
            database_url=database_url,
            workers=workers,
            plan="enterprise",  # shoppers prepare quickly; the measuring is on "standard"
            settings=[f"PORTAL_WORKER_CONCURRENCY={concurrency}"],
        ) as layout,
    ):
        base = f"http://127.0.0.1:{layout.web[0].port}"
        switch_on_rules(database_url)
        orders = orders_to_claim(layout)
        drafts = prepare(layout, orders, wanted=requests + IDLE_REQUESTS)
        if len(drafts) < requests + IDLE_REQUESTS:
            print(
                f"only {len(drafts)} lines can be claimed in the sandbox's orders", file=sys.stderr
            )
            return 1
        idle, burst = drafts[:IDLE_REQUESTS], drafts[IDLE_REQUESTS : IDLE_REQUESTS + requests]
        move_to_plan(layout, "standard")
        wait_for_refill(layout)
        idle_latencies = []
        for draft in idle:
            since = utcnow()
            submit(base, draft)
            idle_latencies.extend(settled(database_url, since, 1, 60).latencies)
        start_levels = wait_for_refill(layout)
        calls_before = shopify_calls(layout.sandbox_url)
        processes = {p.name: p.popen.pid for p in layout.web + layout.workers + layout.others}
        cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
        since, started = utcnow(), time.monotonic()
        with watching_buckets(layout) as levels:
            with ThreadPoolExecutor(at_once) as pool:
                filed = sum(pool.map(lambda d: submit(base, d), burst))
            outcome = settled(database_url, since, filed, timeout=1800)
        wall = time.monotonic() - started
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in processes.items()}
        calls = calls_between(calls_before, shopify_calls(layout.sandbox_url))
        calls.pop(BUCKET_PROBE, None)  # watching_buckets' own reads
        spent = sum(c.points for c in calls.values())
        report(database_url, workers, concurrency, idle_latencies, outcome, start_levels, spent)
        queries_per_resolution(calls, outcome.resolved)
        cpu_per_resolution(cpu, wall, outcome.resolved)
        if levels:
            print(
                f"the buckets' points during the burst (each second, both stores):"
                f" median {statistics.median(levels):.0f}, lowest {min(levels):.0f}"
            )
        print(f"submitted {requests}, filed {filed}")
        ok = (
            outcome.resolved == outcome.filed == filed == requests
            and outcome.decided_by_rule == requests
            and outcome.resolutions == outcome.distinct_outcomes == requests
            and outcome.failed_jobs == 0
            and outcome.throttled_jobs == 0
        )
        return 0 if ok else 1


def report(
    database_url: str,
    workers: int,
    concurrency: int,
    idle: list[float],
    outcome: Outcome,
    start: dict[str, dict[str, float]],
    spent: float,
) -> None:
    """``spent``: the points Shopify's buckets took for the burst, as the sandbox counts them
    (each query's actual cost)."""
    window = (outcome.last_resolved - outcome.first_filed).total_seconds()
    allowed = sum(start[s]["available"] + start[s]["restore"] * window for s in start)
    per_resolution = spent / max(1, outcome.resolved)
    rate = outcome.resolved / window
    ceiling = allowed / per_resolution / window
    backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    print(f"\n{backend}, {workers} worker process(es) x {concurrency} workers, standard plan")
    print(
        f"idle, one at a time ({len(idle)}): median {statistics.median(idle):.2f} s,"
        f" max {max(idle):.2f} s"
    )
    lat = outcome.latencies
    print(
        f"burst of {outcome.filed}: resolved {outcome.resolved}"
        f" (by the rule: {outcome.decided_by_rule}), submit to order/refund"
        f" median {statistics.median(lat):.2f} s, p99 {p99(lat):.2f} s"
    )
    restore = next(iter(start.values()))["restore"]
    print(
        f"rate {rate:.2f} resolutions/s; the buckets allowed {ceiling:.2f}/s"
        f" ({per_resolution:.1f} points a resolution, {len(start)} stores at"
        f" {restore:.0f} points/s): {rate / ceiling:.2f} of the ceiling"
    )
    print(
        f"resolutions: {outcome.resolutions}, distinct Shopify orders and refunds:"
        f" {outcome.distinct_outcomes}; jobs failed: {outcome.failed_jobs},"
        f" jobs that met throttling: {outcome.throttled_jobs}"
    )


def queries_per_resolution(calls: dict[str, Calls], resolved: int) -> None:
    """Shopify's queries during the burst by operation, per resolution (and THROTTLED ones)."""
    for name, c in calls.items():
        print(
            f"  {name:<24} {c.admitted / max(1, resolved):5.2f} a resolution,"
            f" {c.points / max(1, resolved):6.1f} points"
            f" ({c.admitted} admitted, {c.throttled} THROTTLED)"
        )


def cpu_per_resolution(cpu: dict[str, float], wall: float, resolved: int) -> None:
    """Each process's CPU time over the burst, per resolution, and the cores they kept busy
    together (from submit to the last resolution, PostgreSQL's own processes not counted)."""
    each = ", ".join(f"{name} {1000 * s / max(1, resolved):.0f}" for name, s in cpu.items())
    total = sum(cpu.values())
    print(
        f"CPU ms a resolution: {each}; in all {1000 * total / max(1, resolved):.0f}"
        f" ({total / wall:.2f} cores busy of {os.cpu_count()})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="sqlite", help="sqlite, or a PostgreSQL URL")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=8, help="workers in each process")
    parser.add_argument("--at-once", type=int, default=16, help="shoppers submitting at once")
    args = parser.parse_args()
    sizes = {
        "requests": args.requests,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "at_once": args.at_once,
    }
    with tempfile.TemporaryDirectory() as directory:
        scratch = Path(directory)
        if args.database_url == "sqlite":
            return run(f"sqlite:///{scratch / 'automation.db'}", scratch, **sizes)
        with scratch_database(args.database_url) as url:
            return run(url, scratch, **sizes)


if __name__ == "__main__":
    sys.exit(main())
