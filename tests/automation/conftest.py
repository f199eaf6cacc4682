"""Rules set up through the same service as the admin pages, and requests filed as a shopper
files them (so the evaluation job is queued at submit), for every test here."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.automation import rules
from portal.automation.conditions import checked
from portal.automation.models import AutomationDecision
from portal.clock import utcnow
from portal.reorders.models import ReorderRequest
from portal.stores.models import Store
from sandbox.shopify.state import Order as SandboxOrder
from tests.helpers.environment import PortalEnvironment, database
from tests.helpers.requests import in_database
from tests.helpers.shopper_flow import ShopperFlow

ADMIN = "rules-admin@example.com"
# The demo's rule: lost, under 50, in stock, the customer's first claim in a year: reorder.
READY_RULE = {
    "issue_types": ["Lost"],
    "value_below": "50",
    "in_stock": "yes",
    "max_earlier_claims": "0",
}


@pytest.fixture
def shopper(env: PortalEnvironment) -> Iterator[ShopperFlow]:
    flow = ShopperFlow(env)
    yield flow
    flow.close()


def add_rule(
    env: PortalEnvironment,
    conditions: dict[str, Any],
    *,
    action: str = "resolve",
    text: str = "",
    name: str = "Lost, under 50, in stock, first claim in a year: reorder",
    enabled: bool = True,
    slug: str | None = None,
    assignee_id: int | None = None,
) -> int:
    async def work(db: AsyncSession) -> int:
        async with db.begin():
            store = (await db.scalars(select(Store).where(Store.slug == (slug or env.slug)))).one()
            given = await rules.checked_input(
                db,
                store.id,
                name=name,
                conditions=checked(conditions),
                action=action,
                action_text=text,
                assignee_id=assignee_id,
            )
            row = await rules.create_rule(db, store.id, given, by=ADMIN, now=utcnow())
            if enabled:
                rules.switch(db, row, True, by=ADMIN, now=utcnow())
            return row.id

    return in_database(env, work)


def set_limits(
    env: PortalEnvironment, *, per_resolution: str, per_day: str, paused: bool = False
) -> None:
    async def work(db: AsyncSession) -> None:
        async with db.begin():
            store = (await db.scalars(select(Store).where(Store.slug == env.slug))).one()
            await rules.set_limits(
                db,
                store.id,
                max_per_resolution=Decimal(per_resolution),
                max_per_day=Decimal(per_day),
                paused=paused,
                by=ADMIN,
                now=utcnow(),
            )

    in_database(env, work)


def file_as_shopper(
    shopper: ShopperFlow,
    order: SandboxOrder,
    *,
    issue: str = "Lost",
    resolution: str = "reorder",
    quantity: int = 1,
    email: str = "jane@example.com",
) -> httpx.Response:
    """Verify, fill in, review and submit: the status page the shopper lands on."""
    form = verify(shopper, order, email)
    assert shopper.quantity_fields(form), form.text[:3000]
    field = shopper.quantity_fields(form)[0]
    review = shopper.file(form, issue=issue, resolution=resolution, quantities={field: quantity})
    assert review.status_code == 200, review.text[:2000]
    status = shopper.submit(review)
    assert status.status_code == 200 and "/s/" in status.url.path, status.text[:2000]
    return status


def verify(shopper: ShopperFlow, order: SandboxOrder, email: str) -> httpx.Response:
    """Look the order up and enter the code of the email this look-up sent (not an earlier
    one: the same customer may verify several orders)."""
    env = shopper.env

    def codes() -> list[str]:
        found = [e for e in env.mailbox.to(email) if "is your code" in e.subject]
        return [m.group(1) for e in found if (m := re.search(r"\b(\d{6})\b", e.text))]

    before = len(codes())
    page = shopper.look_up(order.name, email)
    deadline = time.monotonic() + 15
    while len(codes()) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert codes(), page.text[-3000:]
    return shopper.enter_code(page, codes()[-1])


def reference_on(page: httpx.Response) -> str:
    found = re.search(r"reference ([A-Z0-9-]+)", page.text)
    assert found is not None
    return found.group(1)


def decision_of(env: PortalEnvironment, reference: str, timeout: float = 30) -> AutomationDecision:
    """Bounded wait for the rules to judge the request (not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database(env) as db:
            found = db.scalar(
                select(AutomationDecision)
                .join(ReorderRequest, ReorderRequest.id == AutomationDecision.request_id)
                .where(ReorderRequest.reference == reference)
            )
            if found is not None:
                return found
        time.sleep(0.1)
    raise AssertionError(f"the rules did not judge {reference}")


def request_row(env: PortalEnvironment, reference: str) -> ReorderRequest:
    with database(env) as db:
        return db.scalars(select(ReorderRequest).where(ReorderRequest.reference == reference)).one()
