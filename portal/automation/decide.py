"""Judging a request against a store's rules and limits, without I/O.

Rules are looked at in their order. A rule acts when every one of its conditions is met: tag
and assign rules act and let the next rules look; the first rule that resolves, denies, asks or
holds decides and stops. A rule that would resolve must also have a path: a primary reorder
needs every item in stock and an address, a refund nothing more, and an alternative reorder is
bought by an agent, never by a rule. Then the limits: a resolution worth more than the store's
limit per resolution, or one that would take the day's automatic resolutions over the daily
limit, is held for an agent instead. When no rule decides, the request waits, and the reason
names the rule that came closest and what it lacked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from portal.automation.conditions import Conditions, Facts, money, unmet
from portal.automation.models import Outcome, RuleAction
from portal.reorders.models import PreferredResolution


@dataclass(frozen=True)
class Rule:
    """A rule as judged: one version of it."""

    id: int
    version: int
    name: str
    conditions: Conditions
    action: RuleAction
    action_text: str = ""
    assignee_id: int | None = None


@dataclass(frozen=True)
class Limits:
    max_per_resolution: Decimal
    max_per_day: Decimal
    paused: bool = False


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str
    rule: Rule | None = None  # the rule that decided
    tags: tuple[str, ...] = ()
    acted: tuple[Rule, ...] = ()  # tag and assign rules that acted, in order
    amount: Decimal = Decimal("0.00")  # an automatic resolution's worth

    @property
    def assignee_id(self) -> int | None:
        chosen = [r.assignee_id for r in self.acted if r.action is RuleAction.ASSIGN]
        return chosen[-1] if chosen else None


@dataclass(frozen=True)
class Check:
    """What one rule makes of a request, limits aside."""

    rule: Rule
    unmet: list[str] = field(default_factory=list)
    outcome: Outcome | None = None  # what it would do when every condition is met

    @property
    def acts(self) -> bool:
        return not self.unmet


def resolution_path(facts: Facts) -> tuple[Outcome | None, str]:
    """How a rule would resolve the request as the shopper preferred, or why it cannot."""
    if facts.resolution == PreferredResolution.REFUND:
        return Outcome.REFUNDED, ""
    if facts.resolution == PreferredResolution.ALTERNATIVE:
        return None, "the shopper asked for an alternative, which an agent buys"
    if facts.in_stock is None:
        return None, "the stock could not be checked (Shopify did not answer)"
    if not facts.in_stock:
        return None, "not every item is in stock for a primary reorder"
    if not facts.has_address:
        return None, "the request has no shipping address for a reorder"
    return Outcome.REORDERED, ""


_DECIDED = {
    RuleAction.DENY: Outcome.DENIED,
    RuleAction.ASK: Outcome.ASKED,
    RuleAction.HOLD: Outcome.HELD,
}


def check(rule: Rule, facts: Facts) -> Check:
    missing = unmet(rule.conditions, facts)
    if rule.action is RuleAction.RESOLVE:
        outcome, cannot = resolution_path(facts)
        return Check(rule, [*missing, cannot] if cannot else missing, outcome)
    return Check(rule, missing, _DECIDED.get(rule.action))


def within_limits(amount: Decimal, limits: Limits, spent_today: Decimal, currency: str) -> str:
    """Why an automatic resolution worth ``amount`` may not go ahead; "" when it may."""
    if amount > limits.max_per_resolution:
        return (
            f"its value {money(amount, currency)} is over the store's limit of "
            f"{money(limits.max_per_resolution, currency)} per automatic resolution"
        )
    if spent_today + amount > limits.max_per_day:
        return (
            f"today's automatic resolutions ({money(spent_today, currency)}) and this one "
            f"would pass the store's daily limit of {money(limits.max_per_day, currency)}"
        )
    return ""


def judge(
    rules: Sequence[Rule], facts: Facts, limits: Limits, spent_today: Decimal
) -> Verdict | None:
    """What automation does with a request; None when the store has no rule switched on."""
    if not rules:
        return None
    if limits.paused:
        return Verdict(Outcome.PAUSED, "Automation is paused for this store.")
    acted: list[Rule] = []
    closest: Check | None = None
    for rule in rules:
        result = check(rule, facts)
        if not result.acts:
            if rule.action.decides and (closest is None or len(result.unmet) < len(closest.unmet)):
                closest = result
            continue
        if not rule.action.decides:
            acted.append(rule)
            continue
        return _decided(result, facts, limits, spent_today, tuple(acted))
    return Verdict(Outcome.WAITING, _waiting_reason(closest), None, _tags(acted), tuple(acted))


def _decided(
    result: Check, facts: Facts, limits: Limits, spent_today: Decimal, acted: tuple[Rule, ...]
) -> Verdict:
    rule, outcome = result.rule, result.outcome
    assert outcome is not None
    if outcome.resolved:
        over = within_limits(facts.value, limits, spent_today, facts.currency)
        if over:
            reason = f"Rule “{rule.name}” would resolve it, but {over}."
            return Verdict(Outcome.HELD, reason, rule, _tags(acted), acted)
        return Verdict(outcome, "", rule, _tags(acted), acted, facts.value)
    reason = f"Held for review by rule “{rule.name}”." if outcome is Outcome.HELD else ""
    return Verdict(outcome, reason, rule, _tags(acted), acted)


def _tags(acted: Sequence[Rule]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r.action_text for r in acted if r.action is RuleAction.TAG))


def _waiting_reason(closest: Check | None) -> str:
    if closest is None:
        return "No rule decides requests like this one."
    return f"Rule “{closest.rule.name}” did not act: {'; '.join(closest.unmet)}."
