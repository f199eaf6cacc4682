"""The job that lets a store's rules judge a newly filed request, and carries out what they
decide through the resolution service an agent's click uses (``portal.support.actions``): a
primary reorder or refund becomes a resolution row and its execution job in the same
transaction as the decision, so exactly-once, the emails, the invoice's deductions and the
timeline hold unchanged.

Payload ``{"reorder_id"}``. Shopify and Corso are asked first, with no connection held; then
one transaction per store at a time (``serialise``) re-reads the rules and the day's total,
so two workers cannot both pass the daily limit, and records one decision per request (a
unique key: a job run twice decides once; the run that loses the race fails and, retried,
finds the decision made)."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from portal.automation import decisions
from portal.automation import facts as gathering
from portal.automation import rules as store_rules
from portal.automation.conditions import Facts
from portal.automation.decide import Rule, Verdict, judge
from portal.automation.models import AutomationDecision, Outcome, RuleAction
from portal.clock import utcnow
from portal.db import serialise
from portal.errors import ActionRefused
from portal.jobs.worker import JobContext
from portal.reorders.models import ReorderRequest
from portal.runtime import Runtime
from portal.stores.models import Store
from portal.support import actions
from portal.support.actions import Agent, RuleActor
from portal.support.assignment import assignee

AUTOMATION = "automation"  # the timeline's actor for what no single rule did


async def evaluate_job(ctx: JobContext) -> dict[str, Any]:
    """Job ``automation.evaluate``."""
    request_id = int(ctx.job.payload["reorder_id"])
    runtime: Runtime = ctx.services
    async with ctx.sessions() as db:
        found = await _request(db, request_id)
        store = await db.get(Store, found.store_id) if found is not None else None
        waiting = found is not None and store is not None and await _undecided(db, found, store)
    if not waiting:
        return {"decided": False}
    assert found is not None and store is not None
    now = utcnow()
    known = await gathering.gather(runtime, found, store, now)
    async with ctx.sessions() as db, db.begin():
        await serialise(db, f"automation:{store.id}")
        return await _decide(db, runtime, request_id, store, known, now)


async def _request(
    db: AsyncSession, request_id: int, *, for_update: bool = False
) -> ReorderRequest | None:
    query = (
        select(ReorderRequest)
        .where(ReorderRequest.id == request_id)
        .options(selectinload(ReorderRequest.items), selectinload(ReorderRequest.photos))
    )
    return await db.scalar(query.with_for_update(of=ReorderRequest) if for_update else query)


async def _undecided(db: AsyncSession, request: ReorderRequest, store: Store) -> bool:
    """Whether the rules still have to judge the request: open, of an active store with a rule
    switched on, and not judged before."""
    if not (request.is_open and store.is_active):
        return False
    if not await store_rules.enabled_rules(db, store.id):
        return False
    decided = await db.scalar(
        select(AutomationDecision.id).where(AutomationDecision.request_id == request.id)
    )
    return decided is None


async def _decide(
    db: AsyncSession,
    runtime: Runtime,
    request_id: int,
    store: Store,
    known: Facts,
    now: datetime,
) -> dict[str, Any]:
    request = await _request(db, request_id, for_update=True)
    if request is None or not request.is_open:
        return {"decided": False}
    decision = AutomationDecision(
        request_id=request.id,
        store_id=store.id,
        outcome=Outcome.WAITING.value,
        facts=known.as_json(),
        created_at=now,
    )
    if await decisions.decision_for(db, request.id) is not None:
        return {"decided": False}  # an earlier run decided it
    db.add(decision)
    await db.flush()  # written before the day's total is read: SQLite's write lock serialises
    rules = await store_rules.enabled_rules(db, store.id)
    limits = await store_rules.limits_of(db, store.id)
    spent = await spent_today(db, store, now, but=decision.id)
    verdict = judge(rules, known, limits, spent)
    if verdict is None:  # the last rule was switched off meanwhile
        await db.delete(decision)
        return {"decided": False}
    _keep(decision, verdict)
    await carry_out(db, runtime, request, store, verdict)
    return {"decided": True, "outcome": verdict.outcome.value, "rule": decision.rule_id}


def _keep(decision: AutomationDecision, verdict: Verdict) -> None:
    decision.outcome = verdict.outcome.value
    decision.reason = verdict.reason
    decision.tags = list(verdict.tags)
    decision.amount = verdict.amount
    if verdict.rule is not None:
        decision.rule_id = verdict.rule.id
        decision.rule_version = verdict.rule.version
        decision.rule_name = verdict.rule.name


def day_start(store: Store, now: datetime) -> datetime:
    """The start of the store's day (its own time zone) that ``now`` falls in."""
    try:
        zone = ZoneInfo(store.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(), tzinfo=zone)


async def spent_today(
    db: AsyncSession, store: Store, now: datetime, *, but: int | None = None
) -> Decimal:
    """What the store's automatic resolutions of today add up to."""
    query = select(func.coalesce(func.sum(AutomationDecision.amount), 0)).where(
        AutomationDecision.store_id == store.id,
        AutomationDecision.outcome.in_([Outcome.REORDERED.value, Outcome.REFUNDED.value]),
        AutomationDecision.created_at >= day_start(store, now),
    )
    if but is not None:
        query = query.where(AutomationDecision.id != but)
    return Decimal(str(await db.scalar(query) or 0))


async def carry_out(
    db: AsyncSession, runtime: Runtime, request: ReorderRequest, store: Store, verdict: Verdict
) -> None:
    """Do what the rules decided, each step named in the timeline by the rule that took it."""
    link = runtime.status_link(store, request.id)
    for side in verdict.acted:
        await _side_action(db, request, side)
    rule = verdict.rule
    if rule is None or verdict.outcome in (Outcome.HELD, Outcome.WAITING, Outcome.PAUSED):
        _note(db, request, verdict)
        return
    try:
        await _resolve(db, request, store, verdict.outcome, rule, link)
    except ActionRefused as exc:  # the request changed under the rule: an agent decides
        reason = f"Rule “{rule.name}” could not act: {exc.message}"
        by = actor(rule).name
        actions.record(db, request, "automation_waiting", by, public=False, message=reason)


async def _resolve(
    db: AsyncSession,
    request: ReorderRequest,
    store: Store,
    outcome: Outcome,
    rule: Rule,
    link: str,
) -> None:
    by = actor(rule)
    if outcome is Outcome.REORDERED:
        await actions.start_primary_reorder(db, request, by)
    elif outcome is Outcome.REFUNDED:
        await actions.start_refund(db, request, by)
    elif outcome is Outcome.DENIED:
        await actions.deny(db, request, store, _filled(rule, request, store), by, status_link=link)
    elif outcome is Outcome.ASKED:
        await actions.ask_for_information(
            db, request, store, _filled(rule, request, store), by, status_link=link
        )


def actor(rule: Rule) -> RuleActor:
    return RuleActor(rule.id, rule.version, rule.name)


async def _side_action(db: AsyncSession, request: ReorderRequest, rule: Rule) -> None:
    by = actor(rule)
    if rule.action is RuleAction.TAG:
        actions.record(db, request, "tagged", by.name, public=False, message=rule.action_text)
        return
    if rule.assignee_id is None:
        return
    try:
        chosen = await assignee(db, request.store_id, rule.assignee_id)
    except ActionRefused as exc:
        actions.record(db, request, "automation_note", by.name, public=False, message=exc.message)
        return
    actions.assign(db, request, Agent(chosen.id, chosen.email), by=by)


def _note(db: AsyncSession, request: ReorderRequest, verdict: Verdict) -> None:
    """Why the request waits for an agent, for the request page's timeline."""
    rule = verdict.rule
    by = actor(rule).name if rule is not None else AUTOMATION
    kind = "automation_held" if verdict.outcome is Outcome.HELD else "automation_waiting"
    actions.record(db, request, kind, by, public=False, message=verdict.reason)


def _filled(rule: Rule, request: ReorderRequest, store: Store) -> str:
    return store_rules.fill_template(
        rule.action_text, order=request.order_name, reference=request.reference, store=store.name
    )
