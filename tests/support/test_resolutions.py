"""The three resolution paths against the sandbox shop, through the queue and the worker, with
Shopify throttling, failing, timing out and losing responses: always one order or refund."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from portal.db import create_engine, session_factory
from portal.errors import ActionRefused
from portal.reorders.models import ReorderRequest, RequestStatus
from portal.support import actions
from portal.support.actions import Agent
from portal.support.models import Resolution
from tests.helpers.environment import SHOP, PortalEnvironment
from tests.helpers.requests import (
    file_request,
    in_database,
    load_request,
    resolutions_of,
    wait_until_settled,
)

AGENT = Agent(id=0, email="agent@example.com")


pytestmark = pytest.mark.settings(shopify_timeout=1.0)


def start(env: PortalEnvironment, request_id: int, path: str) -> Resolution:
    async def work(db: AsyncSession) -> Resolution:
        async with db.begin():
            request = await db.get(ReorderRequest, request_id)
            assert request is not None
            if path == "reorder":
                return await actions.start_primary_reorder(db, request, AGENT)
            return await actions.start_refund(db, request, AGENT)

    return in_database(env, work)


def reorders_in_shop(env: PortalEnvironment) -> list[object]:
    return [o for o in env.shop.world.orders(SHOP) if o.source_identifier]


FAULTS = {
    "none": lambda f: None,
    "503": lambda f: f.fail_next(status=503, times=2),
    "500": lambda f: f.fail_next(status=500, times=1),
    "429": lambda f: f.fail_next(status=429, times=1, retry_after=0.2),
    "lost response": lambda f: f.drop_after_mutation(times=1),
    "timeout": lambda f: setattr(f, "latency", 1.5),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_primary_reorder_creates_exactly_one_paid_order(env: PortalEnvironment, fault: str) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2)])
    request = file_request(env, order, quantities={order.line_items[0].id: 2})
    FAULTS[fault](env.shop.world.faults(SHOP))
    start(env, request.id, "reorder")
    if fault == "timeout":
        import threading

        threading.Timer(2.5, lambda: setattr(env.shop.world.faults(SHOP), "latency", 0)).start()
    resolution = wait_until_settled(env, request.id, timeout=60)
    assert resolution.status == "succeeded", resolution.error
    [replacement] = reorders_in_shop(env)
    assert replacement.financial_status == "PAID"  # type: ignore[attr-defined]
    assert request.reference in (replacement.note or "")  # type: ignore[attr-defined]
    assert [(li.variant_id, li.quantity) for li in replacement.line_items] == [  # type: ignore[attr-defined]
        (env.shop.mug.id, 2)
    ]
    assert resolution.shopify_order_name == replacement.name  # type: ignore[attr-defined]
    assert resolution.amount == Decimal("48.00") and resolution.deducted
    done = load_request(env, request.id)
    assert done.status == RequestStatus.REORDERED
    assert [e.kind for e in done.events if e.public][-1] == "reorder_created"
    env.wait_for_email("jane@example.com", f"replacement order {replacement.name}")  # type: ignore[attr-defined]
    receipts = [m for m in env.mailbox.to("jane@example.com") if m.sender.startswith("shopify")]
    assert len(receipts) == 1


@pytest.mark.parametrize("fault", list(FAULTS))
def test_refund_returns_the_money_exactly_once(env: PortalEnvironment, fault: str) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2), (env.shop.shirt, 1)])
    request = file_request(env, order, resolution="refund", quantities={order.line_items[0].id: 1})
    FAULTS[fault](env.shop.world.faults(SHOP))
    start(env, request.id, "refund")
    if fault == "timeout":
        import threading

        threading.Timer(2.5, lambda: setattr(env.shop.world.faults(SHOP), "latency", 0)).start()
    resolution = wait_until_settled(env, request.id, timeout=60)
    assert resolution.status == "succeeded", resolution.error
    refunds = env.shop.world.order(SHOP, order.id).refunds  # type: ignore[union-attr]
    assert len(refunds) == 1
    assert refunds[0].total_refunded == Decimal("24.00")
    assert [(r.line_item_id, r.quantity, r.restock_type) for r in refunds[0].line_items] == [
        (order.line_items[0].id, 1, "NO_RESTOCK")
    ]
    assert resolution.amount == Decimal("24.00") and resolution.deducted
    assert load_request(env, request.id).status == RequestStatus.REFUNDED
    env.wait_for_email("jane@example.com", "your refund of $24.00")
    notices = [m for m in env.mailbox.to("jane@example.com") if m.sender.startswith("shopify")]
    assert len(notices) == 1


def test_stock_that_ran_out_fails_the_reorder_and_leaves_the_request_open(
    env: PortalEnvironment,
) -> None:
    order = env.shop.order(lines=[(env.shop.lamp, 1)])
    request = file_request(env, order)
    start(env, request.id, "reorder")
    resolution = wait_until_settled(env, request.id)
    assert resolution.status == "failed" and "Stock ran out" in (resolution.error or "")
    assert reorders_in_shop(env) == []
    assert load_request(env, request.id).status == RequestStatus.NEEDS_ATTENTION
    second = start(env, request.id, "refund")  # another path is still open
    assert wait_until_settled(env, request.id).id == second.id
    assert load_request(env, request.id).status == RequestStatus.REFUNDED


def test_two_agents_pressing_refund_together_make_one_refund(env: PortalEnvironment) -> None:
    import asyncio

    order = env.shop.order()
    request = file_request(env, order, resolution="refund")

    async def press(engine: AsyncEngine) -> str:
        async with session_factory(engine)() as db, db.begin():
            current = await db.get(ReorderRequest, request.id)
            assert current is not None
            try:
                await actions.start_refund(db, current, AGENT)
            except ActionRefused:
                return "refused"
        return "started"

    async def both() -> list[str]:
        engines = [create_engine(env.settings.database_url) for _ in range(2)]
        try:
            return list(await asyncio.gather(*(press(e) for e in engines)))
        finally:
            for e in engines:
                await e.dispose()

    outcomes = asyncio.run(both())
    assert sorted(outcomes) == ["refused", "started"]
    wait_until_settled(env, request.id)
    assert len(resolutions_of(env, request.id)) == 1
    assert len(env.shop.world.order(SHOP, order.id).refunds) == 1  # type: ignore[union-attr]
