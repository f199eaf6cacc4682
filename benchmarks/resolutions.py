"""How many refunds and primary reorders a store's Shopify bucket lets the portal resolve a second.

Starts the portal with its worker against the sandbox Shopify and Corso on loopback (the test
layout, ``tests/helpers/environment.py``), puts the shop on Shopify's standard plan (100 points a
second), files N requests and starts their resolutions as an agent would (the resolution service
queues a job; the worker talks to Shopify), first N refunds, then N primary reorders. For each
phase it prints:

- resolutions a second, from the first start until the last resolution settled;
- the points one resolution cost: the actual points the sandbox bucket was charged, over N,
  counted until the worker finished the billing jobs the resolutions' webhooks queued;
- the ceiling the bucket allows (restore rate / points per resolution) and the share of it
  reached;
- median and p99 seconds from the agent's start to the resolution settled after Shopify's answer;
- how many calls Shopify answered THROTTLED;
- and checks that each order got exactly one refund, or exactly one replacement order.

    .venv/bin/python -m benchmarks.resolutions                 # SQLite, 40 of each
    .venv/bin/python -m benchmarks.resolutions -n 80 --database-url postgresql://postgres@127.0.0.1:5432/test

The bucket starts empty, so what is measured is the sustained rate, not a burst from a full
bucket. On PostgreSQL a scratch database is created beside the given one and dropped afterwards.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Secret

from portal.clock import utcnow
from portal.jobs.models import Job, JobStatus
from portal.reorders.models import ReorderRequest
from portal.support import actions
from portal.support.actions import Agent
from portal.support.models import Resolution
from sandbox.shopify.bucket import LeakyBucket
from sandbox.shopify.records import VariantSeed
from sandbox.webhooks import WebhookSender
from tests.helpers.databases import migrate, migrated_sqlite_template, scratch_postgres_database
from tests.helpers.environment import SHOP, PortalEnvironment, portal_environment
from tests.helpers.requests import file_request, in_database, resolutions_of
from tests.helpers.servers import allow_servers

AGENT = Agent(id=0, email="agent@example.com")
PLAN = "standard"
WEBHOOK_SECRET = "whsec-benchmark-" + "w" * 20


@dataclass
class Meter:
    """What the sandbox bucket was charged (actual points) and how often it refused, from its
    own counts since the meter was made."""

    bucket: LeakyBucket
    points_before: float = 0.0
    throttled_before: int = 0

    @classmethod
    def on(cls, bucket: LeakyBucket) -> Meter:
        counts = bucket.counts()
        return cls(bucket, sum(counts["points"].values()), counts["throttled"])

    @property
    def spent(self) -> float:
        return sum(self.bucket.counts()["points"].values()) - self.points_before

    @property
    def throttled(self) -> int:
        return int(self.bucket.counts()["throttled"]) - self.throttled_before


def start(env: PortalEnvironment, request_id: int, path: str) -> None:
    async def work(db: AsyncSession) -> None:
        async with db.begin():
            request = await db.get(ReorderRequest, request_id)
            assert request is not None
            if path == "reorder":
                await actions.start_primary_reorder(db, request, AGENT)
            else:
                await actions.start_refund(db, request, AGENT)

    in_database(env, work)


def settled(env: PortalEnvironment, ids: list[int], timeout: float) -> dict[int, Resolution]:
    deadline = time.monotonic() + timeout
    done: dict[int, Resolution] = {}
    while time.monotonic() < deadline and len(done) < len(ids):
        for request_id in ids:
            if request_id not in done:
                found = resolutions_of(env, request_id)
                if found and found[-1].status != "pending":
                    done[request_id] = found[-1]
        time.sleep(0.2)
    return done


def jobs_left(env: PortalEnvironment) -> int:
    async def work(db: AsyncSession) -> int:
        due = Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)) & (Job.run_after <= utcnow())
        return int(await db.scalar(select(func.count()).where(due)) or 0)

    return in_database(env, work)


def idle(env: PortalEnvironment, timeout: float) -> None:
    """Bounded wait until the worker has nothing left (the webhooks' billing jobs included)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and jobs_left(env):
        time.sleep(0.2)


def phase(env: PortalEnvironment, path: str, count: int, timeout: float) -> dict[str, Any]:
    shop = env.shop
    plenty = shop.world.add_product(
        SHOP,
        title=f"Canvas Tote ({path})",
        variants=[
            VariantSeed(title="Natural", sku=f"TOTE-{path}", price="32.00", inventory=10_000)
        ],
    ).variants[0]
    orders = [shop.order(lines=[(plenty, 1)]) for _ in range(count)]
    resolution = "refund" if path == "refund" else "reorder"
    requests = [file_request(env, o, resolution=resolution) for o in orders]
    bucket = shop.world.bucket(SHOP)
    time.sleep(1.0)  # the new orders' webhooks reach the queue
    idle(env, timeout)  # and the worker does what they and filing queued
    bucket.drain()
    meter = Meter.on(bucket)
    started: dict[int, float] = {}
    first = time.monotonic()
    for request in requests:
        started[request.id] = time.time()
        start(env, request.id, path)
    done = settled(env, [r.id for r in requests], timeout)
    elapsed = time.monotonic() - first
    time.sleep(0.5)  # the webhooks of the last refunds or orders reach the queue
    idle(env, timeout)  # and their billing jobs spend what they spend
    latencies = [
        (r.resolved_at.timestamp() if r.resolved_at else time.time()) - started[i]
        for i, r in done.items()
    ]
    return {
        "path": path,
        "count": count,
        "settled": sum(1 for r in done.values() if r.status == "succeeded"),
        "elapsed": elapsed,
        "points": meter.spent / count,
        "throttled": meter.throttled,
        "latencies": latencies,
        "exactly_once": exactly_once(env, orders, path),
    }


def exactly_once(env: PortalEnvironment, orders: list[Any], path: str) -> bool:
    world = env.shop.world
    if path == "refund":
        return all(len(world.order(SHOP, o.id).refunds) == 1 for o in orders)  # type: ignore[union-attr]
    replacements = [o for o in world.orders(SHOP) if o.source_identifier]
    by_note = [sum(1 for r in replacements if o.name in (r.note or "")) for o in orders]
    return all(n == 1 for n in by_note)


def report(result: dict[str, Any], restore_rate: float) -> str:
    rate = result["settled"] / result["elapsed"]
    ceiling = restore_rate / result["points"] if result["points"] else float("inf")
    latencies = sorted(result["latencies"]) or [0.0]
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return (
        f"{result['path']:8s} {result['settled']}/{result['count']} settled in "
        f"{result['elapsed']:.1f} s: {rate:.2f}/s; {result['points']:.1f} points each, ceiling "
        f"{ceiling:.2f}/s ({rate / ceiling:.2f} of it); click to Shopify median "
        f"{statistics.median(latencies):.2f} s, p99 {p99:.2f} s; THROTTLED {result['throttled']}; "
        f"exactly one per order: {'yes' if result['exactly_once'] else 'NO'}"
    )


@contextmanager
def webhooks(env: PortalEnvironment) -> Iterator[None]:
    """The sandbox shop's webhooks, delivered to the portal as Shopify would (the billing
    refreshes they queue spend the same bucket)."""
    url = env.base_url + "/webhooks/shopify"
    sender = WebhookSender(env.shop.world, url=url, secret=WEBHOOK_SECRET).start()
    try:
        yield
    finally:
        sender.stop()


@contextmanager
def database(url: str | None) -> Iterator[str]:
    if url:
        with scratch_postgres_database(url) as scratch:
            migrate(scratch)
            yield scratch
        return
    with tempfile.TemporaryDirectory() as directory:
        yield f"sqlite:///{migrated_sqlite_template(Path(directory))}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="resolutions of each kind (max 200)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL admin URL")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per phase")
    parser.add_argument("--concurrency", type=int, default=8, help="jobs the worker runs at once")
    args = parser.parse_args(argv)
    count = max(1, min(args.n, 200))
    allow_servers("benchmarks.resolutions")  # loopback servers, as the end-to-end tests start
    secret = Secret(WEBHOOK_SECRET)
    with (
        database(args.database_url) as url,
        tempfile.TemporaryDirectory() as tmp,
        portal_environment(
            url,
            Path(tmp),
            shopify_max_retries=5,
            shopify_client_secret=secret,
            worker_concurrency=max(1, min(args.concurrency, 32)),
        ) as env,
        webhooks(env),
    ):
        env.shop.world.set_plan(SHOP, PLAN)
        restore_rate = env.shop.world.bucket(SHOP).restore_rate
        print(
            f"plan {PLAN}: {restore_rate:.0f} points/s; {count} of each; the worker runs "
            f"{env.settings.worker_concurrency} jobs at once",
            flush=True,
        )
        results = [phase(env, path, count, args.timeout) for path in ("refund", "reorder")]
    for result in results:
        print(report(result, restore_rate))
    return 0 if all(r["exactly_once"] and r["settled"] == count for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
