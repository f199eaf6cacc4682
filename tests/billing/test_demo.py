"""The demo: sandbox Shopify's orders reach the invoices (a sync at start, webhooks after), and
the invoice of the current month agrees with an independent sum over the sandbox's orders; a
demo store's overview, with claims filed over its history, agrees with an independent reading of
the database and of the sandbox's orders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.billing.invoices import invoice_for
from portal.billing.months import month_of
from portal.billing.sync import SYNC_MONTH
from portal.db import create_engine, session_factory, sync_url
from portal.jobs.models import Job, JobStatus
from portal.settings import Settings
from portal.stores.models import Store
from sandbox.demo_server import bootstrap_demo, prepare_demo, start_webhooks
from sandbox.routes import create_demo_app
from sandbox.shopify.state import LineItemSeed, Order
from sandbox.world import SandboxWorld
from tests.billing.overview_rows import csv_rows, expected_figures, median_agrees, seed_claims
from tests.billing.portal_helpers import eventually
from tests.helpers.servers import free_port, serve
from tests.helpers.staff import StaffBrowser

T = TypeVar("T")


@dataclass
class Demo:
    settings: Settings
    world: SandboxWorld


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    database = tmp_path_factory.mktemp("billing-demo") / "demo.db"
    port = free_port()
    settings, world = prepare_demo(
        Settings(database_url=f"sqlite:///{database}"), host="127.0.0.1", port=port, keep=False
    )
    with serve(create_demo_app(settings, world), port=port):
        webhooks = start_webhooks(world)
        bootstrap_demo(settings, world)
        try:
            yield Demo(settings, world)
        finally:
            webhooks.stop()


def expected_premiums(
    orders: list[Order], protection_ids: set[int], month: str, zone: str
) -> Decimal:
    """Straight from the sandbox's records: protection bought, minus refunded, if not cancelled."""
    total = Decimal("0.00")
    for order in orders:
        if order.cancelled_at is not None or month_of(order.created_at, zone) != month:
            continue
        for line in order.line_items:
            if line.variant_id in protection_ids:
                charged = line.discounted_total
                total += charged - (charged * line.refunded_quantity / line.quantity)
    return total.quantize(Decimal("0.01"))


async def _stores_and_invoices(
    settings: Settings, month_for: dict[str, str]
) -> dict[str, tuple[Store, Decimal]]:
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            stores = (await db.scalars(select(Store))).all()
            found = {}
            for store in stores:
                invoice = await invoice_for(db, store, month_of(datetime.now(UTC), store.time_zone))
                found[store.shop_domain] = (store, invoice.premiums_total)
            return found
    finally:
        await engine.dispose()


async def _current_syncs_done(settings: Settings) -> bool:
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            jobs = (await db.scalars(select(Job).where(Job.kind == SYNC_MONTH))).all()
            stores = {s.id: s for s in (await db.scalars(select(Store))).all()}
    finally:
        await engine.dispose()
    current = [
        j
        for j in jobs
        if j.payload["month"]
        == month_of(datetime.now(UTC), stores[j.payload["store_id"]].time_zone)
    ]
    assert all(j.status != JobStatus.FAILED for j in current), [j.last_error for j in current]
    return bool(current) and all(j.status == JobStatus.DONE for j in current)


@pytest.mark.slow  # the demo's whole history is synced first: about half a minute
@pytest.mark.timeout(300)  # two bounded waits of 120 s each
def test_the_current_invoice_agrees_with_the_sandbox_orders(demo: Demo) -> None:
    eventually(lambda: asyncio.run(_current_syncs_done(demo.settings)), timeout=120)
    shopify = demo.world.shopify
    first = shopify.shops()[0]
    protection = next(p for p in first.products.values() if p.title == "Shipping Protection")
    order = shopify.add_order(
        first.domain,
        created_at=shopify.now(),
        line_items=[LineItemSeed(variant=protection.variants[0], quantity=1, discount="0.10")],
    )

    def agrees() -> bool:
        invoices = asyncio.run(_stores_and_invoices(demo.settings, {}))
        for domain, (store, premiums) in invoices.items():
            ids = {int(gid.rsplit("/", 1)[-1]) for gid in store.protection_variant_ids}
            month = month_of(datetime.now(UTC), store.time_zone)
            if premiums != expected_premiums(shopify.orders(domain), ids, month, store.time_zone):
                return False
        return True

    eventually(agrees, timeout=120)
    assert order.line_items[0].discount == Decimal("0.10")


async def _every_sync_done(settings: Settings) -> bool:
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            jobs = (await db.scalars(select(Job).where(Job.kind == SYNC_MONTH))).all()
    finally:
        await engine.dispose()
    assert all(j.status != JobStatus.FAILED for j in jobs), [j.last_error for j in jobs]
    return bool(jobs) and all(j.status == JobStatus.DONE for j in jobs)


def _sync_query(settings: Settings, read: Callable[[Session], T]) -> T:
    engine = create_sync_engine(sync_url(settings.database_url))
    try:
        with Session(engine) as db:
            return read(db)
    finally:
        engine.dispose()


@pytest.mark.slow  # the demo's whole history is synced first
@pytest.mark.timeout(300)
def test_the_overview_agrees_with_the_database_and_the_sandbox_orders(demo: Demo) -> None:
    eventually(lambda: asyncio.run(_every_sync_done(demo.settings)), timeout=180)
    account = next(a for a in demo.world.accounts if a.role == "merchant" and a.store_slug)
    now = datetime.now(UTC)

    def claims(db: Session) -> Store:
        store = db.scalars(select(Store).where(Store.slug == account.store_slug)).one()
        seed_claims(db, store.id, now=now)
        return Store(
            id=store.id,
            slug=store.slug,
            shop_domain=store.shop_domain,
            time_zone=store.time_zone,
            protection_variant_ids=list(store.protection_variant_ids),
        )

    store = _sync_query(demo.settings, claims)
    browser = StaffBrowser(demo.settings.base_url)
    try:
        assert browser.sign_in(account.email, account.password).status_code == 303
        tables = {
            table: browser.get(f"/support/overview/{store.slug}/{table}.csv?months=24")
            for table in ("months", "reasons", "resolutions", "products", "trend")
        }
        page = browser.get(f"/support/overview/{store.slug}/?months=24")
    finally:
        browser.close()
    assert page.status_code == 200 and all(t.status_code == 200 for t in tables.values())
    months = csv_rows(tables["months"].text)
    expected = _sync_query(
        demo.settings, lambda db: expected_figures(db, store.id, [m["month"] for m in months])
    )
    orders = demo.world.shopify.orders(store.shop_domain)
    protection = {int(gid.rsplit("/", 1)[-1]) for gid in store.protection_variant_ids}
    assert sum(Decimal(m["premiums"]) for m in months) > 0  # the demo's orders are there
    for row in months:
        want = expected.months[row["month"]]
        from_orders = expected_premiums(orders, protection, row["month"], store.time_zone)
        assert Decimal(row["premiums"]) == want["premiums"] == from_orders, row
        assert Decimal(row["deductions"]) == want["deductions"], row
        assert int(row["requests"]) == want["requests"], row
        premiums, deductions = Decimal(row["premiums"]), Decimal(row["deductions"])
        ratio = (deductions / premiums).quantize(Decimal("0.0001")) if premiums else None
        assert row["loss_ratio"] == ("" if ratio is None else str(ratio))
    counted = {
        name: {
            r[key]: int(r["requests"]) for r in csv_rows(tables[name].text) if r["requests"] != "0"
        }
        for name, key in (("reasons", "reason"), ("resolutions", "resolution"))
    }
    assert counted["reasons"] == dict(expected.reasons) and sum(expected.reasons.values()) > 0
    assert counted["resolutions"] == dict(expected.outcomes)
    products = {r["product"]: int(r["quantity"]) for r in csv_rows(tables["products"].text)}
    assert products == dict(expected.products.most_common(10))
    trend = {r["figure"]: r for r in csv_rows(tables["trend"].text)}
    assert median_agrees(trend["median_days_to_resolution"]["period"], expected.median_days)
    total = sum((Decimal(str(m["premiums"])) for m in expected.months.values()), Decimal(0))
    assert Decimal(trend["premiums"]["period"]) == total
    assert f'data-value="{total}"' in page.text  # the page shows what the CSV says
