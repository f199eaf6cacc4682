"""A store's rules and limits, as an admin changes them. Every change of a rule makes a new
version of it, kept with who made it and when; an edited rule is switched off until it is
switched on again (after a dry run). Every value is checked here; ``RuleRefused`` names the
field and nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.automation.conditions import Conditions, _money, _tag
from portal.automation.decide import Limits, Rule
from portal.automation.models import AutomationLimits, AutomationRule, RuleAction, RuleVersion
from portal.errors import ActionRefused, RuleRefused
from portal.support import assignment

MAX_NAME = 120
MAX_TEXT = 1000
MAX_RULES = 50
DEFAULT_LIMITS = Limits(max_per_resolution=Decimal("100.00"), max_per_day=Decimal("1000.00"))
# Placeholders a deny or ask template may use; filled in for each request.
PLACEHOLDERS = ("{order}", "{reference}", "{store}")


@dataclass(frozen=True)
class RuleInput:
    name: str
    conditions: Conditions
    action: RuleAction
    action_text: str = ""
    assignee_id: int | None = None


def as_rule(row: AutomationRule) -> Rule:
    return Rule(
        id=row.id,
        version=row.version,
        name=row.name,
        conditions=Conditions.from_json(row.conditions),
        action=RuleAction(row.action),
        action_text=row.action_text,
        assignee_id=row.assignee_id,
    )


def fill_template(text: str, *, order: str, reference: str, store: str) -> str:
    values = {"{order}": order, "{reference}": reference, "{store}": store}
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


# --- reading -----------------------------------------------------------------------------------


async def store_rules(session: AsyncSession, store_id: int) -> list[AutomationRule]:
    rows = await session.scalars(
        select(AutomationRule)
        .where(AutomationRule.store_id == store_id)
        .order_by(AutomationRule.position, AutomationRule.id)
    )
    return list(rows)


async def enabled_rules(session: AsyncSession, store_id: int) -> list[Rule]:
    return [as_rule(r) for r in await store_rules(session, store_id) if r.enabled]


async def store_rule(session: AsyncSession, store_id: int, rule_id: int) -> AutomationRule:
    """The rule ``rule_id`` of this store; another store's rule is not found."""
    row = await session.get(AutomationRule, rule_id)
    if row is None or row.store_id != store_id:
        raise LookupError(rule_id)
    return row


async def history(session: AsyncSession, rule_id: int) -> list[RuleVersion]:
    rows = await session.scalars(
        select(RuleVersion).where(RuleVersion.rule_id == rule_id).order_by(RuleVersion.version)
    )
    return list(rows)


async def limits_of(session: AsyncSession, store_id: int, *, for_update: bool = False) -> Limits:
    row = await _limits_row(session, store_id, for_update=for_update)
    if row is None:
        return DEFAULT_LIMITS
    return Limits(row.max_per_resolution, row.max_per_day, row.paused)


async def _limits_row(
    session: AsyncSession, store_id: int, *, for_update: bool = False
) -> AutomationLimits | None:
    query = select(AutomationLimits).where(AutomationLimits.store_id == store_id)
    return await session.scalar(query.with_for_update() if for_update else query)


# --- changing ----------------------------------------------------------------------------------


async def checked_input(
    session: AsyncSession,
    store_id: int,
    *,
    name: str,
    conditions: Conditions,
    action: str,
    action_text: str = "",
    assignee_id: int | None = None,
) -> RuleInput:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise RuleRefused("name", f"Give the rule a name of at most {MAX_NAME} characters.")
    try:
        chosen = RuleAction(action)
    except ValueError as exc:
        raise RuleRefused("action", "Choose what the rule does.") from exc
    text = _action_text(chosen, action_text)
    if chosen is RuleAction.ASSIGN:
        if assignee_id is None:
            raise RuleRefused("assignee_id", "Choose who the rule assigns requests to.")
        try:
            await assignment.assignee(session, store_id, assignee_id)
        except ActionRefused as exc:
            raise RuleRefused("assignee_id", exc.message) from exc
    else:
        assignee_id = None
    return RuleInput(name, conditions, chosen, text, assignee_id)


def _action_text(action: RuleAction, text: str) -> str:
    text = text.strip()
    if action is RuleAction.TAG:
        tag = _tag(text, "action_text")
        if not tag:
            raise RuleRefused("action_text", "Give the tag the rule adds.")
        return tag
    if action in (RuleAction.DENY, RuleAction.ASK):
        if not text or len(text) > MAX_TEXT:
            what = "reason" if action is RuleAction.DENY else "question"
            raise RuleRefused(
                "action_text", f"Write the {what} the shopper is emailed (at most {MAX_TEXT})."
            )
        stray = text
        for placeholder in PLACEHOLDERS:
            stray = stray.replace(placeholder, "")
        if "{" in stray or "}" in stray:
            raise RuleRefused(
                "action_text", "Use only the placeholders {order}, {reference} and {store}."
            )
        return text
    return ""


def _snapshot(row: AutomationRule) -> dict[str, Any]:
    return {
        "name": row.name,
        "enabled": row.enabled,
        "position": row.position,
        "conditions": row.conditions,
        "action": row.action,
        "action_text": row.action_text,
        "assignee_id": row.assignee_id,
    }


def _changed(
    session: AsyncSession, row: AutomationRule, change: str, by: str, now: datetime
) -> None:
    row.updated_by, row.updated_at = by, now
    session.add(
        RuleVersion(
            rule_id=row.id,
            version=row.version,
            change=change,
            snapshot=_snapshot(row),
            changed_by=by,
            changed_at=now,
        )
    )


async def create_rule(
    session: AsyncSession, store_id: int, given: RuleInput, *, by: str, now: datetime
) -> AutomationRule:
    """A new rule, last in the list and switched off."""
    count = await session.scalar(select(func.count()).where(AutomationRule.store_id == store_id))
    if (count or 0) >= MAX_RULES:
        raise RuleRefused("name", f"A store has at most {MAX_RULES} rules.")
    last = await session.scalar(
        select(func.max(AutomationRule.position)).where(AutomationRule.store_id == store_id)
    )
    row = AutomationRule(
        store_id=store_id,
        position=(last or 0) + 1,
        enabled=False,
        version=1,
        updated_at=now,
        updated_by=by,
        **_values(given),
    )
    session.add(row)
    await session.flush()
    _changed(session, row, "created", by, now)
    return row


def _values(given: RuleInput) -> dict[str, Any]:
    return {
        "name": given.name,
        "conditions": given.conditions.as_json(),
        "action": given.action.value,
        "action_text": given.action_text,
        "assignee_id": given.assignee_id,
    }


def update_rule(
    session: AsyncSession, row: AutomationRule, given: RuleInput, *, by: str, now: datetime
) -> None:
    """A new version of the rule; it is switched off until switched on again."""
    for name, value in _values(given).items():
        setattr(row, name, value)
    row.enabled = False
    row.version += 1
    _changed(session, row, "edited", by, now)


def switch(session: AsyncSession, row: AutomationRule, on: bool, *, by: str, now: datetime) -> None:
    if row.enabled == on:
        return
    row.enabled = on
    row.version += 1
    _changed(session, row, "switched on" if on else "switched off", by, now)


async def move(
    session: AsyncSession, row: AutomationRule, up: bool, *, by: str, now: datetime
) -> None:
    """Swap the rule with its neighbour above (or below)."""
    rules = await store_rules(session, row.store_id)
    index = next(i for i, r in enumerate(rules) if r.id == row.id)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(rules):
        return
    neighbour = rules[other]
    for position, rule in enumerate(rules, start=1):
        rule.position = position
    row.position, neighbour.position = neighbour.position, row.position
    row.version += 1
    _changed(session, row, "moved up" if up else "moved down", by, now)


async def set_limits(
    session: AsyncSession,
    store_id: int,
    *,
    max_per_resolution: Any,
    max_per_day: Any,
    paused: bool,
    by: str,
    now: datetime,
) -> None:
    per_resolution = _money(max_per_resolution, "max_per_resolution")
    per_day = _money(max_per_day, "max_per_day")
    if per_resolution is None:
        raise RuleRefused("max_per_resolution", "Give the most one resolution may be worth.")
    if per_day is None:
        raise RuleRefused("max_per_day", "Give the most a day's resolutions may add up to.")
    row = await _limits_row(session, store_id, for_update=True)
    if row is None:
        row = AutomationLimits(store_id=store_id)
        session.add(row)
    row.max_per_resolution, row.max_per_day, row.paused = per_resolution, per_day, paused
    row.updated_at, row.updated_by = now, by
