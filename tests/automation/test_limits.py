"""Limits no rule can pass: the value of one automatic resolution, the day's total, and the
pause switch. A request a rule would resolve beyond a limit is held for an agent, with why."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal.automation.jobs import spent_today
from portal.automation.models import AutomationDecision
from portal.clock import utcnow
from portal.stores.models import Store
from portal.support.models import Resolution
from tests.automation.conftest import (
    add_rule,
    decision_of,
    file_as_shopper,
    reference_on,
    set_limits,
)
from tests.helpers.environment import PortalEnvironment, database
from tests.helpers.requests import in_database
from tests.helpers.shopper_flow import ShopperFlow

ANY_LOST = {"issue_types": ["Lost"]}


def file(env: PortalEnvironment, email: str, lines: list[tuple[object, int]] | None = None) -> str:
    order = env.shop.order(email=email, lines=lines)  # type: ignore[arg-type]
    flow = ShopperFlow(env)
    try:
        return reference_on(file_as_shopper(flow, order, email=email))
    finally:
        flow.close()


def resolutions(env: PortalEnvironment) -> list[Resolution]:
    with database(env) as db:
        return list(db.scalars(select(Resolution).order_by(Resolution.id)))


def test_a_resolution_over_the_value_limit_is_held(env: PortalEnvironment) -> None:
    add_rule(env, ANY_LOST, name="Every lost parcel")
    set_limits(env, per_resolution="30.00", per_day="1000.00")
    held = decision_of(env, file(env, "shirt@example.com", [(env.shop.shirt, 1)]))
    assert held.outcome == "held" and held.amount == 0
    assert "its value 58.00 USD is over the store's limit of 30.00 USD" in held.reason
    passed = decision_of(env, file(env, "mug@example.com"))
    assert passed.outcome == "reordered" and passed.amount == Decimal("24.00")
    assert [r.request_id for r in resolutions(env)] == [passed.request_id]


def test_the_daily_limit_holds_across_requests(env: PortalEnvironment) -> None:
    add_rule(env, ANY_LOST, name="Every lost parcel")
    set_limits(env, per_resolution="100.00", per_day="50.00")
    first = decision_of(env, file(env, "one@example.com"))
    second = decision_of(env, file(env, "two@example.com"))
    third = decision_of(env, file(env, "three@example.com"))
    assert [first.outcome, second.outcome] == ["reordered", "reordered"]  # 24 + 24 = 48
    assert third.outcome == "held"
    assert "would pass the store's daily limit of 50.00 USD" in third.reason
    assert "(48.00 USD)" in third.reason
    assert len(resolutions(env)) == 2


def test_yesterdays_resolutions_do_not_count_today(env: PortalEnvironment) -> None:
    add_rule(env, ANY_LOST, name="Every lost parcel")
    set_limits(env, per_resolution="100.00", per_day="30.00")
    first = decision_of(env, file(env, "yesterday@example.com"))
    assert first.outcome == "reordered"
    with database(env) as db:
        db.execute(
            update(AutomationDecision).values(created_at=first.created_at - timedelta(days=1))
        )
        db.commit()
    assert decision_of(env, file(env, "today@example.com")).outcome == "reordered"

    async def today(db: AsyncSession) -> Decimal:
        store = (await db.scalars(select(Store))).one()
        return await spent_today(db, store, utcnow())

    assert in_database(env, today) == Decimal("24.00")


def test_pausing_stops_every_rule_and_resuming_restarts(env: PortalEnvironment) -> None:
    add_rule(env, {"issue_types": ["Lost"]}, action="tag", text="lost", name="Tag lost")
    add_rule(env, ANY_LOST, name="Every lost parcel")
    set_limits(env, per_resolution="100.00", per_day="1000.00", paused=True)
    paused = decision_of(env, file(env, "paused@example.com"))
    assert paused.outcome == "paused" and paused.tags == []
    assert paused.reason == "Automation is paused for this store."
    time.sleep(0.5)
    assert resolutions(env) == []
    set_limits(env, per_resolution="100.00", per_day="1000.00", paused=False)
    resumed = decision_of(env, file(env, "resumed@example.com"))
    assert resumed.outcome == "reordered" and resumed.tags == ["lost"]


@pytest.mark.settings(worker_concurrency=2)
def test_with_two_workers_the_day_stays_within_its_limit(env: PortalEnvironment) -> None:
    add_rule(env, ANY_LOST, name="Every lost parcel")
    set_limits(env, per_resolution="100.00", per_day="100.00")
    references = [file(env, f"many{n}@example.com") for n in range(6)]
    found = [decision_of(env, r) for r in references]
    resolved = [d for d in found if d.outcome == "reordered"]
    assert len(resolved) == 4  # 4 x 24 = 96; a fifth would be 120
    assert sum((d.amount for d in resolved), Decimal(0)) <= Decimal("100.00")
