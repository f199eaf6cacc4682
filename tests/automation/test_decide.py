"""Judging a request against rules and limits, without I/O: the order of rules, which actions
decide, the paths a resolution may take, the limits, and the reason a request waits."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from portal.automation.conditions import Facts, checked, unmet
from portal.automation.decide import Limits, Rule, judge
from portal.automation.models import Outcome, RuleAction
from portal.errors import RuleRefused

FACTS = Facts(
    issue_type="Lost",
    resolution="reorder",
    value=Decimal("24.00"),
    currency="USD",
    item_count=1,
    has_address=True,
    product_ids=("gid://shopify/Product/7",),
    order_tags=("VIP",),
    in_stock=True,
    tracking_state="in_transit",
    earlier_claims=0,
    risk_signals=0,
)
LIMITS = Limits(Decimal("100"), Decimal("1000"))


def rule(n: int, action: RuleAction, text: str = "", **conditions: object) -> Rule:
    return Rule(n, 1, f"rule {n}", checked(conditions), action, text)


def test_the_first_deciding_rule_decides_after_tags_and_assignments() -> None:
    rules = [
        rule(1, RuleAction.TAG, "small", value_below="50"),
        rule(2, RuleAction.DENY, "no", issue_types=["Stolen"]),
        rule(3, RuleAction.RESOLVE, issue_types=["Lost"]),
        rule(4, RuleAction.HOLD),
    ]
    verdict = judge(rules, FACTS, LIMITS, Decimal(0))
    assert verdict is not None
    assert (verdict.outcome, verdict.rule, verdict.tags) == (
        Outcome.REORDERED,
        rules[2],
        ("small",),
    )
    assert verdict.amount == Decimal("24.00")


@pytest.mark.parametrize(
    ("facts", "outcome"),
    [
        ({}, Outcome.REORDERED),
        ({"resolution": "refund", "in_stock": False}, Outcome.REFUNDED),
        ({"resolution": "alternative"}, Outcome.WAITING),
        ({"in_stock": False}, Outcome.WAITING),
        ({"in_stock": None}, Outcome.WAITING),
        ({"has_address": False}, Outcome.WAITING),
    ],
)
def test_a_resolution_takes_the_shoppers_path_only_when_it_can(
    facts: dict[str, object], outcome: Outcome
) -> None:
    verdict = judge([rule(1, RuleAction.RESOLVE)], replace(FACTS, **facts), LIMITS, Decimal(0))  # type: ignore[arg-type]
    assert verdict is not None and verdict.outcome is outcome


def test_limits_hold_what_a_rule_would_resolve() -> None:
    resolve = [rule(1, RuleAction.RESOLVE)]
    over_one = judge(resolve, FACTS, Limits(Decimal("23.99"), Decimal("1000")), Decimal(0))
    assert over_one is not None and over_one.outcome is Outcome.HELD and over_one.amount == 0
    at_one = judge(resolve, FACTS, Limits(Decimal("24.00"), Decimal("1000")), Decimal(0))
    assert at_one is not None and at_one.outcome is Outcome.REORDERED
    over_day = judge(resolve, FACTS, Limits(Decimal("100"), Decimal("50")), Decimal("26.01"))
    assert over_day is not None and over_day.outcome is Outcome.HELD
    assert "daily limit of 50.00 USD" in over_day.reason
    at_day = judge(resolve, FACTS, Limits(Decimal("100"), Decimal("50")), Decimal("26.00"))
    assert at_day is not None and at_day.outcome is Outcome.REORDERED
    paused = judge(resolve, FACTS, replace(LIMITS, paused=True), Decimal(0))
    assert paused is not None and paused.outcome is Outcome.PAUSED


def test_no_rule_switched_on_means_no_verdict() -> None:
    assert judge([], FACTS, LIMITS, Decimal(0)) is None


def test_a_waiting_request_names_the_closest_rule_and_what_it_lacks() -> None:
    rules = [
        rule(1, RuleAction.RESOLVE, issue_types=["Stolen"], value_below="10", order_tag="x"),
        rule(2, RuleAction.RESOLVE, value_below="20"),
    ]
    verdict = judge(rules, FACTS, LIMITS, Decimal(0))
    assert verdict is not None and verdict.outcome is Outcome.WAITING
    assert verdict.reason == (
        "Rule “rule 2” did not act: the value 24.00 USD is not under 20.00 USD."
    )


def test_every_condition_is_checked() -> None:
    every = checked(
        {
            "issue_types": ["Damaged"],
            "resolutions": ["refund"],
            "value_below": "10",
            "value_at_least": "30",
            "max_items": 1,
            "products": "gid://shopify/Product/8",
            "order_tag": "wholesale",
            "in_stock": "no",
            "tracking_states": ["delivered"],
            "max_days_since_delivery": 3,
            "max_earlier_claims": 0,
            "max_risk_signals": 0,
        }
    )
    found = unmet(every, replace(FACTS, item_count=2, earlier_claims=2, risk_signals=1))
    assert len(found) == 12, found
    assert unmet(checked({"order_tag": "vip", "products": "7"}), FACTS) == []


@pytest.mark.parametrize(
    "values",
    [
        {"value_below": "-0.01"},
        {"value_below": "1e9"},
        {"max_items": 0},
        {"tracking_states": ["teleported"]},
        {"products": "gid://shopify/Product/abc"},
        {"order_tag": "a,b"},
        {"in_stock": "maybe"},
    ],
)
def test_out_of_bounds_conditions_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(RuleRefused):
        checked(values)
