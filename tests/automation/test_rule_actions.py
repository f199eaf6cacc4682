"""The actions other than resolving: deny and ask email the shopper the rule's template with
the request filled in, tag and assign act and let the next rule decide, hold keeps the request
for an agent; each timeline line names the rule and its version."""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import User
from portal.reorders.models import RequestEvent, RequestStatus
from tests.automation.conftest import (
    add_rule,
    decision_of,
    file_as_shopper,
    reference_on,
    request_row,
)
from tests.helpers.environment import PortalEnvironment, database
from tests.helpers.shopper_flow import ShopperFlow
from tests.helpers.staff import create_user


def timeline(env: PortalEnvironment, request_id: int) -> list[tuple[str, str, str]]:
    with database(env) as db:
        rows = db.scalars(
            select(RequestEvent)
            .where(RequestEvent.request_id == request_id)
            .order_by(RequestEvent.id)
        )
        return [(e.kind, e.actor, e.message) for e in rows]


def test_a_denial_emails_the_rules_reason_with_the_request_filled_in(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    rule_id = add_rule(
        env,
        {"issue_types": ["Lost"], "resolutions": ["refund"]},
        action="deny",
        text="Order {order} ({reference}) is past what {store} covers.",
        name="No refunds for lost parcels",
    )
    order = env.shop.order(email="deny@example.com")
    status = file_as_shopper(shopper, order, resolution="refund", email="deny@example.com")
    reference = reference_on(status)
    assert decision_of(env, reference).outcome == "denied"
    row = request_row(env, reference)
    assert row.status == RequestStatus.DENIED
    expected = f"Order {order.name} ({reference}) is past what Test Goods covers."
    assert ("denied", f"rule #{rule_id} v2: No refunds for lost parcels", expected) in timeline(
        env, row.id
    )
    email = env.wait_for_email("deny@example.com", f"about your request {reference}")
    assert expected in email.text


def test_tag_and_assign_act_then_a_hold_keeps_the_request_for_an_agent(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    create_user(env.settings.database_url, "lead-agent@example.com", "agent")
    with database(env) as db:
        agent_id = db.scalars(select(User.id).where(User.email == "lead-agent@example.com")).one()
    tag = add_rule(env, {"issue_types": ["Lost"]}, action="tag", text="lost-parcel", name="Tag")
    assign = add_rule(env, {}, action="assign", name="To the lead", assignee_id=agent_id)
    add_rule(env, {"value_at_least": "10"}, action="hold", name="Hold everything over 10")
    order = env.shop.order(email="hold@example.com")
    status = file_as_shopper(shopper, order, email="hold@example.com")
    reference = reference_on(status)
    decision = decision_of(env, reference)
    assert decision.outcome == "held" and decision.tags == ["lost-parcel"]
    assert decision.reason == "Held for review by rule “Hold everything over 10”."
    row = request_row(env, reference)
    assert row.assigned_to_id == agent_id and row.status == RequestStatus.IN_REVIEW
    lines = timeline(env, row.id)
    assert ("tagged", f"rule #{tag} v2: Tag", "lost-parcel") in lines
    assert (
        "assigned",
        f"rule #{assign} v2: To the lead",
        "Assigned to lead-agent@example.com",
    ) in lines
    assert any(kind == "automation_held" for kind, _, _ in lines)
