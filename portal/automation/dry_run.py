"""What a rule would have done to a store's last requests, before it is switched on: how many it
would have resolved, what they are worth, and where it disagrees with what happened to them.

Each request is judged on the facts kept when automation judged it at filing; a request filed
while the store had no rule switched on is judged on what Shopify and Corso say now, as of the
day it was filed. The store's limit per resolution applies (a resolution over it would have been
held); the daily limit does not, since the requests are spread over many days.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from portal.automation import facts as gathering
from portal.automation import rules as store_rules
from portal.automation.conditions import Facts
from portal.automation.decide import Limits, Rule, check, within_limits
from portal.automation.models import AutomationDecision, Outcome
from portal.reorders.models import ReorderRequest, RequestStatus
from portal.runtime import Runtime
from portal.stores.models import Store

DEFAULT_LAST = 50
MAX_LAST = 200
AT_ONCE = 4  # requests whose facts are asked of Shopify and Corso at the same time

# What happened to a request, by its status; an open one has not been decided yet.
HAPPENED = {
    RequestStatus.REORDERED.value: "reordered",
    RequestStatus.REFUNDED.value: "refunded",
    RequestStatus.RESOLVED.value: "alternative reorder",
    RequestStatus.DENIED.value: "denied",
}
WOULD = {
    Outcome.REORDERED: "reordered",
    Outcome.REFUNDED: "refunded",
    Outcome.DENIED: "denied",
    Outcome.ASKED: "asked for information",
    Outcome.HELD: "held for review",
}


@dataclass(frozen=True)
class Judged:
    reference: str
    value: Decimal
    currency: str
    would: str  # what the rule would have done; "" when it would not act
    why_not: str  # the conditions it lacks, or the limit that holds it
    happened: str  # what happened to the request; "open" while undecided

    @property
    def disagrees(self) -> bool:
        """The rule would have resolved what was denied or settled another way, or denied what
        was resolved; holding or asking never disagrees, and an open request cannot."""
        if self.happened == "open" or not self.would:
            return False
        if self.would in ("reordered", "refunded"):
            return self.would != self.happened
        if self.would == "denied":
            return self.happened != "denied"
        return False


@dataclass(frozen=True)
class DryRun:
    last: int
    currency: str
    judged: list[Judged] = field(default_factory=list)

    @property
    def acted(self) -> int:
        return sum(bool(j.would) for j in self.judged)

    @property
    def resolved(self) -> list[Judged]:
        return [j for j in self.judged if j.would in ("reordered", "refunded")]

    @property
    def money(self) -> Decimal:
        return sum((j.value for j in self.resolved), Decimal("0.00"))

    @property
    def held_by_limit(self) -> int:
        return sum(j.would == "held for review" and bool(j.why_not) for j in self.judged)

    @property
    def disagreements(self) -> list[Judged]:
        return [j for j in self.judged if j.disagrees]


async def dry_run(runtime: Runtime, store: Store, rule: Rule, *, last: int) -> DryRun:
    last = max(1, min(last, MAX_LAST))
    async with runtime.sessions() as db:
        requests = list(
            await db.scalars(
                select(ReorderRequest)
                .where(ReorderRequest.store_id == store.id)
                .order_by(ReorderRequest.created_at.desc(), ReorderRequest.id.desc())
                .limit(last)
                .options(selectinload(ReorderRequest.items), selectinload(ReorderRequest.photos))
            )
        )
        kept = await _kept_facts(db, [r.id for r in requests])
        limits = await store_rules.limits_of(db, store.id)
    turns = asyncio.Semaphore(AT_ONCE)

    async def facts_of(request: ReorderRequest) -> Facts:
        if request.id in kept:
            return kept[request.id]
        async with turns:
            return await gathering.gather(runtime, request, store, request.created_at)

    every = await asyncio.gather(*(facts_of(r) for r in requests))
    judged = [
        _judge(rule, r, f, limits.max_per_resolution) for r, f in zip(requests, every, strict=True)
    ]
    return DryRun(last, store.currency, judged)


async def _kept_facts(db: AsyncSession, request_ids: list[int]) -> dict[int, Facts]:
    if not request_ids:
        return {}
    rows = await db.execute(
        select(AutomationDecision.request_id, AutomationDecision.facts).where(
            AutomationDecision.request_id.in_(request_ids)
        )
    )
    return {request_id: Facts.from_json(values) for request_id, values in rows if values}


def _judge(rule: Rule, request: ReorderRequest, facts: Facts, per_resolution: Decimal) -> Judged:
    would, why_not = _would(rule, facts, per_resolution)
    happened = HAPPENED.get(request.status, "open")
    return Judged(
        request.reference, request.items_total, request.currency, would, why_not, happened
    )


def _would(rule: Rule, facts: Facts, per_resolution: Decimal) -> tuple[str, str]:
    result = check(rule, facts)
    if not result.acts:
        return "", "; ".join(result.unmet)
    outcome = result.outcome
    if outcome is None:  # tag or assign
        return rule.action.value, ""
    if outcome.resolved:
        over = within_limits(facts.value, _one_limit(per_resolution), Decimal(0), facts.currency)
        if over:
            return "held for review", over
    return WOULD[outcome], ""


def _one_limit(per_resolution: Decimal) -> Limits:
    return Limits(max_per_resolution=per_resolution, max_per_day=Decimal("1e12"))
