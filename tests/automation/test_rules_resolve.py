"""A shopper files a request a rule matches: the rule resolves it through the same service and
job as an agent's click, and the status page shows the replacement order without an agent. A
request that fails one condition waits, with the rule's reason on the agent's pages."""

from __future__ import annotations

import time

from sqlalchemy import select

from portal.reorders.models import RequestEvent, RequestStatus
from portal.support.models import Resolution
from tests.automation.conftest import (
    ADMIN,
    READY_RULE,
    add_rule,
    decision_of,
    file_as_shopper,
    reference_on,
    request_row,
)
from tests.helpers.environment import SHOP, PortalEnvironment, database
from tests.helpers.requests import wait_until_settled
from tests.helpers.shopper_flow import ShopperFlow
from tests.helpers.staff import StaffBrowser, create_user


def replacements(env: PortalEnvironment) -> list[object]:
    return [o for o in env.shop.world.orders(SHOP) if o.source_identifier]


def test_a_matching_request_becomes_one_paid_reorder_without_an_agent(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    rule_id = add_rule(env, READY_RULE)
    order = env.shop.order(email="first@example.com")
    status = file_as_shopper(shopper, order, email="first@example.com")
    reference = reference_on(status)
    decision = decision_of(env, reference)
    assert decision.outcome == "reordered" and decision.rule_id == rule_id
    assert decision.rule_version == 2  # created, then switched on
    row = request_row(env, reference)
    resolution = wait_until_settled(env, row.id)
    assert resolution.status == "succeeded" and resolution.deducted
    [replacement] = replacements(env)
    assert replacement.financial_status == "PAID"  # type: ignore[attr-defined]
    page = shopper.client.get(status.url)
    assert f"your new order is {replacement.name}" in page.text  # type: ignore[attr-defined]
    assert request_row(env, reference).status == RequestStatus.REORDERED
    with database(env) as db:
        events = list(db.scalars(select(RequestEvent).where(RequestEvent.request_id == row.id)))
    started = next(e for e in events if e.kind == "reorder_started")
    assert started.actor.startswith(f"rule #{rule_id} v2: Lost, under 50")
    assert resolution.agent_email == started.actor
    env.wait_for_email("first@example.com", "replacement")


def test_a_refund_preferred_is_refunded_once(env: PortalEnvironment, shopper: ShopperFlow) -> None:
    add_rule(env, {"issue_types": ["Lost"], "value_below": "50"}, name="Small lost: as preferred")
    order = env.shop.order(email="refund@example.com")
    status = file_as_shopper(shopper, order, resolution="refund", email="refund@example.com")
    row = request_row(env, reference_on(status))
    resolution = wait_until_settled(env, row.id)
    assert resolution.kind == "refund" and resolution.status == "succeeded"
    assert request_row(env, row.reference).status == RequestStatus.REFUNDED
    shop_order = env.shop.world.order(SHOP, order.id)
    assert shop_order is not None and len(shop_order.refunds) == 1
    assert not replacements(env)


def test_a_request_failing_one_condition_waits_with_the_rules_reason(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    add_rule(env, READY_RULE)
    order = env.shop.order(email="big@example.com", lines=[(env.shop.shirt, 1)])
    status = file_as_shopper(shopper, order, email="big@example.com")
    reference = reference_on(status)
    decision = decision_of(env, reference)
    assert decision.outcome == "waiting"
    assert decision.reason.endswith(  # the only condition it fails
        "did not act: the value 58.00 USD is not under 50.00 USD."
    )
    time.sleep(0.5)
    with database(env) as db:
        assert not list(db.scalars(select(Resolution)))
    assert request_row(env, reference).status == RequestStatus.SUBMITTED
    create_user(env.settings.database_url, ADMIN, "admin")
    agent = StaffBrowser(env.base_url)
    try:
        agent.sign_in(ADMIN)
        queue = agent.get("/support/queue")
        assert "is not under 50.00 USD" in queue.text and reference in queue.text
        page = agent.get(f"/support/requests/{reference}")
        assert page.status_code == 200
        assert "the value 58.00 USD is not under 50.00 USD" in page.text
        assert 'data-outcome="waiting"' in page.text
    finally:
        agent.close()


def test_a_second_claim_in_a_year_is_left_to_an_agent(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    add_rule(env, READY_RULE)
    first = env.shop.order(email="again@example.com")
    file_as_shopper(shopper, first, email="again@example.com")
    second = env.shop.order(email="again@example.com")
    other = ShopperFlow(env)
    try:
        status = file_as_shopper(other, second, email="again@example.com")
    finally:
        other.close()
    decision = decision_of(env, reference_on(status))
    assert decision.outcome == "waiting"
    assert "the customer made 1 other claims in the last year, more than 0" in decision.reason
